"""Cheap objectives and their density, for LEMONADE (:mod:`nasforge.strategies.lemonade`).

A *cheap* objective is one computable from a genotype without training it: the parameter count
(``params``) and the multiply-accumulates of one forward pass (``macs``) of the network the space's
builder makes for the task's input shape and class count (the study's task descriptor,
``Strategy.task``; without one, a nominal task per input kind, :data:`NOMINAL`). They are the metrics
:class:`~nasforge.estimate.train.TrainEvaluator` reports under the same names, so what LEMONADE
predicts before training is what the trial then reports.

:class:`CheapObjectives` caches the values per canonical hash and returns them as ``log10`` (sizes
span decades; the density is estimated on the log scale). :func:`inverse_density_weights` fits a
Gaussian kernel density estimate (scikit-learn's ``KernelDensity``) on reference points and returns,
for query points, probabilities proportional to ``1 / density`` -- LEMONADE's rule for preferring
sparse regions of the cheap objectives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture

#: metrics a strategy can compute from a genotype alone
CHEAP = ("params", "macs")
#: (input shape, classes) used when the strategy was not told the study's task
NOMINAL: dict[str, tuple[tuple[int, ...], int]] = {
    "1d": ((1, 40), 10), "2d": ((1, 16, 16), 10), "tabular": ((16,), 10),
}
#: smallest per-objective spread (decades) the bandwidth is scaled by: one front point, or several
#: of one size, still give a smooth density
MIN_SCALE = 0.1


def check_cheap(names: Sequence[str]) -> list[str]:
    """``names`` validated against :data:`CHEAP` (at least one, distinct)."""
    out = [str(n) for n in names]
    bad = [n for n in out if n not in CHEAP]
    if bad or not out or len(set(out)) != len(out):
        raise ConfigError(f"cheap must name distinct cheap objectives from {list(CHEAP)} (computable "
                          f"without training), got {list(names)!r}")
    return out


class CheapObjectives:
    """``log10`` of the cheap objectives of genotypes of ``space`` for a task (cached by hash)."""

    def __init__(self, space: Any, names: Sequence[str], task: dict[str, Any] | None = None) -> None:
        self.space = space
        self.names = check_cheap(names)
        kind = str(space.params.get("input_kind", "1d"))
        shape, classes = NOMINAL.get(kind, NOMINAL["1d"])
        if task and task.get("input_shape") and task.get("num_classes"):
            shape, classes = tuple(int(d) for d in task["input_shape"]), int(task["num_classes"])
        self.input_shape, self.num_classes = shape, classes
        self._cache: dict[str, np.ndarray] = {}

    def raw(self, arch: Architecture) -> dict[str, int]:
        """The cheap metrics of ``arch`` (not logged), by building its network once."""
        import torch

        from nasforge.estimate.metrics import count_macs, count_params
        from nasforge.models import BUILDERS

        with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's RNG
            torch.manual_seed(0)
            model = BUILDERS.get(self.space.name)(self.space, arch, self.input_shape, self.num_classes)
        out = {"params": count_params(model)}
        if "macs" in self.names:
            out["macs"] = count_macs(model, self.input_shape)
        return out

    def __call__(self, arch: Architecture) -> np.ndarray:
        key = self.space.canonical_hash(arch)
        if key not in self._cache:
            raw = self.raw(arch)
            self._cache[key] = np.log10(np.array([max(float(raw[n]), 1.0) for n in self.names]))
        return self._cache[key]

    def matrix(self, archs: Sequence[Architecture]) -> np.ndarray:
        """``(n, len(names))`` array of the log cheap objectives of ``archs``."""
        return np.array([self(a) for a in archs], dtype=float).reshape(len(archs), len(self.names))


def density(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Gaussian KDE of ``reference`` rows evaluated at ``query`` rows. Each column is scaled by the
    reference's standard deviation (at least :data:`MIN_SCALE`) and the bandwidth is Scott's factor
    ``n ** (-1 / (d + 4))`` in those units."""
    from sklearn.neighbors import KernelDensity

    ref = np.asarray(reference, dtype=float)
    qry = np.asarray(query, dtype=float)
    n, d = ref.shape
    scale = np.maximum(ref.std(axis=0), MIN_SCALE)
    kde = KernelDensity(kernel="gaussian", bandwidth=float(n ** (-1.0 / (d + 4))))
    kde.fit(ref / scale)
    return np.exp(kde.score_samples(qry / scale))


def inverse_density_weights(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Probabilities over the ``query`` rows proportional to ``1 / density`` under the KDE of
    ``reference`` (LEMONADE's Eq. 1 and 2); uniform when there is nothing to compare."""
    qry = np.asarray(query, dtype=float)
    if len(qry) == 0:
        return np.zeros(0)
    if len(reference) == 0:
        return np.full(len(qry), 1.0 / len(qry))
    dens = density(reference, qry)
    inv = 1.0 / np.maximum(dens, 1e-300)
    inv = np.minimum(inv, 1e300)
    return inv / inv.sum()


def weighted_order(weights: np.ndarray, rng: np.random.Generator) -> list[int]:
    """A random order of the indices where each next one is drawn with probability proportional to its
    weight among those left (sampling without replacement; Efraimidis & Spirakis keys)."""
    w = np.asarray(weights, dtype=float)
    keys = np.log(rng.random(len(w))) / np.maximum(w, 1e-300)
    return [int(i) for i in np.argsort(-keys, kind="stable")]


__all__ = ["CHEAP", "CheapObjectives", "check_cheap", "density", "inverse_density_weights",
           "weighted_order"]
