"""Rank-agreement metrics between an estimator's scores and ground-truth accuracies, with bootstrap intervals.

* :func:`kendall` / :func:`spearman`: Kendall's tau-b and Spearman's rho (scipy);
* :func:`topk_overlap`: the share of the true top-``k`` that is also in the estimator's top-``k``
  (ties broken by position, so the value is deterministic);
* :func:`bootstrap_ci`: a percentile bootstrap interval of any of them (resampling the architectures
  with replacement; resamples on which the statistic is undefined, e.g. constant scores, are skipped);
* :func:`rank_metrics`: all three with their intervals, as plain data (what the ranking study reports).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from nasforge.checks import check_int
from nasforge.errors import ConfigError

Metric = Callable[[np.ndarray, np.ndarray], float]

__all__ = ["bootstrap_ci", "kendall", "rank_metrics", "spearman", "topk_overlap"]


def _pair(scores: Sequence[float], truth: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(scores, dtype=float), np.asarray(truth, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ConfigError(f"scores and truth must be two 1-D sequences of equal length >= 2, got shapes "
                          f"{x.shape} and {y.shape}")
    return x, y


def kendall(scores: Sequence[float], truth: Sequence[float]) -> float:
    """Kendall's tau-b of ``scores`` against ``truth`` (nan when either is constant)."""
    x, y = _pair(scores, truth)
    return float(kendalltau(x, y).statistic)


def spearman(scores: Sequence[float], truth: Sequence[float]) -> float:
    """Spearman's rank correlation of ``scores`` against ``truth`` (nan when either is constant)."""
    x, y = _pair(scores, truth)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def _top(values: np.ndarray, k: int) -> set[int]:
    order = np.lexsort((np.arange(len(values)), -values))  # highest first, ties: earlier position first
    return {int(i) for i in order[:k]}


def topk_overlap(scores: Sequence[float], truth: Sequence[float], k: int = 5) -> float:
    """``|top_k(scores) & top_k(truth)| / k`` (positions; ``k`` capped at the number of items)."""
    check_int("k", k, 1)
    x, y = _pair(scores, truth)
    k = min(k, len(x))
    return len(_top(x, k) & _top(y, k)) / k


def bootstrap_ci(metric: Metric, scores: Sequence[float], truth: Sequence[float], *, boot: int = 2000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """``(value, low, high)``: ``metric(scores, truth)`` and its percentile bootstrap interval at ``level``
    over ``boot`` resamples (with replacement) of the pairs; ``(value, nan, nan)`` if no resample is
    finite."""
    check_int("boot", boot, 1)
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1), got {level!r}")
    x, y = _pair(scores, truth)
    value = float(metric(x, y))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(boot):
        idx = rng.integers(0, len(x), len(x))
        with np.errstate(all="ignore"):
            v = float(metric(x[idx], y[idx]))
        if np.isfinite(v):
            draws.append(v)
    if not draws:
        return value, float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return value, float(lo), float(hi)


def rank_metrics(scores: Sequence[float], truth: Sequence[float], *, k: int = 5, boot: int = 2000,
                 seed: int = 0) -> dict[str, Any]:
    """``{"tau": [v, lo, hi], "rho": [...], "topk": [...], "k": k}`` with 95% bootstrap intervals (the
    three metrics share the resample indices through ``seed``)."""
    def top(a: np.ndarray, b: np.ndarray) -> float:
        return topk_overlap(a, b, k)

    out: dict[str, Any] = {"k": min(k, len(scores))}
    for name, metric in (("tau", kendall), ("rho", spearman), ("topk", top)):
        out[name] = list(bootstrap_ci(metric, scores, truth, boot=boot, seed=seed))
    return out
