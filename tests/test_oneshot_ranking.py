"""The ranking study's metrics (nasforge.bench.ranking) on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.bench.ranking import bootstrap_ci, kendall, rank_metrics, spearman, topk_overlap
from nasforge.errors import ConfigError

TRUTH = [0.1, 0.5, 0.3, 0.9, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0]


def test_perfect_and_reversed_rankings() -> None:
    scores = [10 * t + 3 for t in TRUTH]  # any increasing map ranks the same
    assert kendall(scores, TRUTH) == pytest.approx(1.0)
    assert spearman(scores, TRUTH) == pytest.approx(1.0)
    assert topk_overlap(scores, TRUTH, 5) == 1.0
    rev = [-s for s in scores]
    assert kendall(rev, TRUTH) == pytest.approx(-1.0)
    assert spearman(rev, TRUTH) == pytest.approx(-1.0)
    assert topk_overlap(rev, TRUTH, 5) == 0.0


def test_known_values() -> None:
    # one adjacent swap among 4 items: 5 concordant, 1 discordant pair -> tau 4/6; rho 1 - 6*2/(4*15) = 0.8
    assert kendall([1, 2, 4, 3], [1, 2, 3, 4]) == pytest.approx(4 / 6)
    assert spearman([1, 2, 4, 3], [1, 2, 3, 4]) == pytest.approx(0.8)
    # true top-3 are positions {3, 4, 5}; the estimator's top-3 are {0, 4, 5}: 2 of 3
    assert topk_overlap([9, 1, 2, 3, 8, 7], [0, 1, 2, 5, 4, 3], 3) == pytest.approx(2 / 3)
    assert topk_overlap([1, 2], [1, 2], 10) == 1.0  # k capped at the number of items


def test_ties_are_broken_by_position() -> None:
    assert topk_overlap([1, 1, 1, 1], [4, 3, 2, 1], 2) == 1.0  # earlier positions win ties
    assert topk_overlap([1, 1, 1, 1], [1, 2, 3, 4], 2) == 0.0


def test_bootstrap_interval_contains_value_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    scores = truth + rng.normal(scale=1.0, size=40)
    value, lo, hi = bootstrap_ci(kendall, scores, truth, boot=300, seed=3)
    assert lo < value < hi and -1 <= lo and hi <= 1 and hi - lo > 0.05
    assert bootstrap_ci(kendall, scores, truth, boot=300, seed=3) == (value, lo, hi)
    assert bootstrap_ci(kendall, scores, truth, boot=300, seed=4) != (value, lo, hi)
    perfect = bootstrap_ci(kendall, truth, truth, boot=200, seed=0)
    assert perfect == pytest.approx((1.0, 1.0, 1.0))


def test_constant_scores_give_nan_not_a_crash() -> None:
    value, lo, hi = bootstrap_ci(spearman, [1.0] * 5, [1, 2, 3, 4, 5], boot=20)
    assert math.isnan(value) and math.isnan(lo) and math.isnan(hi)


def test_rank_metrics_shape_and_bad_input() -> None:
    out = rank_metrics(TRUTH, TRUTH, k=3, boot=50)
    assert out["k"] == 3
    assert [round(v, 6) for v in out["tau"]] == [1.0, 1.0, 1.0]
    assert out["topk"][0] == 1.0 and len(out["rho"]) == 3
    with pytest.raises(ConfigError, match="equal length"):
        kendall([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="k must be"):
        topk_overlap([1, 2], [1, 2], 0)
