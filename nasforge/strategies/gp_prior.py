"""The GP strategy's warm-start prior: a prior mean learnt from earlier studies (:mod:`nasforge.warmstart`).

The source studies' trials become one pooled data set: each architecture's target is its mean
quantile over the sources that ran it (:func:`nasforge.warmstart.source_quantiles`), standardised. A
kernel ridge regression with the GP's own kernel (``exp((<x, x'> - 1) / l)`` on the same features,
``l = 0.2``, noise 0.1) on that set is the prior mean ``m(x)``. The target GP then models the residual
``z - b * m(x)`` of its warped values ``z``, with ``b >= 0`` the least-squares slope of ``z`` on ``m``
over its training set (so an unrelated source is ignored: ``b`` near 0), and predicts
``b * m(x) + GP(x)``. This is the "prior mean from related tasks" form of transfer in Bayesian
optimisation (e.g. the ranking-weighted and prior-mean transfer surrogates surveyed by Bai et al.,
2023); replay holds because ``m`` is a function of the recorded warm-start data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, cholesky

_LENGTHSCALE = 0.2
_NOISE = 0.1
_CHUNK = 4000


class SourcePrior:
    """``m(x)`` from warm-start data; ``features`` maps architectures to the GP's feature rows."""

    def __init__(self, data: dict[str, Any], space: Any, features: Callable[[list[Any]], Any]) -> None:
        from nasforge.warmstart import source_quantiles

        pooled = source_quantiles(data, space)
        archs = [arch for arch, _ in pooled.values()]
        y = np.array([np.mean(q) for _, q in pooled.values()], dtype=float)
        self.ok = len(archs) >= 2
        if not self.ok:
            return
        self.x = features(archs)
        z = (y - y.mean()) / (y.std() or 1.0)
        gram = (self.x @ self.x.T).toarray()
        chol = cholesky(np.exp((gram - 1.0) / _LENGTHSCALE) + _NOISE * np.eye(len(z)), lower=True)
        self.alpha = cho_solve((chol, True), z)

    def mean(self, rows: Any) -> np.ndarray:
        """``m`` at the feature rows ``rows`` (sparse, as the GP's), computed in chunks."""
        out = np.empty(rows.shape[0])
        x = self.x
        if rows.shape[1] != x.shape[1]:  # the feature vocabulary grows as new architectures are seen
            width = max(rows.shape[1], x.shape[1])
            rows, x = rows.copy(), x.copy()
            rows.resize((rows.shape[0], width))
            x.resize((x.shape[0], width))
        for start in range(0, rows.shape[0], _CHUNK):
            block = rows[start:start + _CHUNK]
            k = np.exp(((block @ x.T).toarray() - 1.0) / _LENGTHSCALE)
            out[start:start + _CHUNK] = k @ self.alpha
        return out


def slope(z: np.ndarray, m: np.ndarray) -> float:
    """Least-squares slope of ``z`` on ``m`` (both centred), clipped at 0."""
    mc = m - m.mean()
    denom = float(mc @ mc)
    return max(0.0, float((z - z.mean()) @ mc) / denom) if denom > 1e-12 else 0.0
