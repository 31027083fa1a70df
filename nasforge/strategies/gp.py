"""Gaussian-process Bayesian optimisation with an architecture kernel.

The kernel follows NASBOWL (Ru, Wan, Dong & Osborne, "Interpretable Neural Architecture Search via
Bayesian Optimisation with Weisfeiler-Lehman Kernels", ICLR 2021): architectures are compared through
the Weisfeiler-Lehman subtree features of their graphs (``to_graph``); spaces without a graph view use
the flat categorical view, where the normalised one-hot dot product is a Hamming / arc-style kernel
(Swersky et al., 2014). The GP uses the exponentiated form ``k(x, x') = exp((<x, x'> - 1) / l)`` of
the normalised feature dot product, with length scale ``l`` and noise chosen by marginal likelihood
over a small grid, and proposes the candidate of highest expected improvement (Jones et al., 1998).
``kernel="arc"`` (Swersky et al. 2013) and ``kernel="otmann"`` (NASBOT's optimal-transport distance,
Kandasamy et al. 2018) replace the feature dot product by the similarities of
:mod:`nasforge.strategies.kernels` (same exponentiated form, same hyperparameter selection).

Values are warped before fitting (``transform="log"``, an output warping in the spirit of HEBO,
Cowen-Rivers et al. 2022): near-duplicate top scores are spread apart and the long tail of poor
architectures is squashed, so the GP models the region that matters.

Candidates: in an enumerable space (e.g. the 26,206 NAS-Bench-Graph entries, listed once per process
with a precomputed sparse feature matrix) a uniform subsample of ``max_candidates`` unevaluated
architectures plus every unevaluated neighbour of the ``n_parents`` best; elsewhere those neighbours
plus ``n_random`` random samples. Caps on the training set and the candidate set keep one ask+tell
cheap at thousands of trials.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.special import ndtr

from nasforge.checks import check_choice, check_number
from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.candidates import (
    FEATURE_KINDS,
    FeatureMap,
    SpaceIndex,
    candidate_pool,
    has_graph,
    single_threaded,
)
from nasforge.strategies.gp_prior import slope
from nasforge.strategies.kernels import KERNELS, make_kernel
from nasforge.trial import Candidate, Trial, TrialState

_LENGTHSCALES = (0.05, 0.1, 0.2, 0.4, 0.8)
_WL_AUTO = (0, 1, 2, 3)  # the WL rounds ``wl_iterations="auto"`` chooses from by marginal likelihood
_OTMANN_CANDIDATES = 300
_NOISES = (0.01, 0.03, 0.1, 0.3)
TRANSFORMS = ("log", "none")
AMPLITUDES = ("fixed", "ml")


def warp(y: np.ndarray, kind: str = "log") -> np.ndarray:
    """Standardised targets; ``log`` is ``-log(max(y) + m - y)`` with ``m = (max - median) / 10``,
    which spreads the top of the distribution and squashes the long tail of poor architectures."""
    y = np.asarray(y, dtype=float)
    if kind == "log" and len(y) > 1:
        top = y.max()
        margin = max((top - float(np.median(y))) / 10.0, 1e-9)
        y = -np.log(top + margin - y)
    return (y - y.mean()) / (y.std() or 1.0)


class GPStrategy(Strategy):
    """GP-EI over architectures with a WL (graph) or Hamming (flat) kernel.

    Args:
        n_initial: random samples before the GP is used.
        features: ``auto`` (WL + one-hot on graph spaces, else one-hot), or one of
            ``wl``, ``path``, ``onehot``, ``wl+onehot``, ``path+onehot``.
        max_train: at most this many told trials fit the GP (the best half plus the most recent).
        max_candidates: score at most this many architectures of an enumerable space (a uniform
            subsample per ask when the space is larger; fewer once over 100 trials are told).
        n_random: random candidates per ask in spaces too large to enumerate.
        n_parents: the neighbours of this many best architectures are always candidates.
        refit_every: re-select the kernel hyperparameters every this many tells; ``None`` (default)
            every ``max(1, told // 50)`` tells.
        kernel: ``wl`` (the feature kernel of ``features``: WL + one-hot on graph spaces, one-hot
            elsewhere), ``onehot`` (one-hot features only), ``arc`` (Swersky et al.'s arc kernel for
            conditional spaces) or ``otmann`` (NASBOT's optimal-transport distance); see
            :mod:`nasforge.strategies.kernels`. ``otmann`` scores at most 300 candidates per ask.
        xi: exploration margin of expected improvement (in standard deviations of the values).
        transform: ``log`` warps the values with :func:`warp` before fitting (focus on the top),
            ``none`` only standardises them.
        wl_iterations: Weisfeiler-Lehman relabelling rounds ``h`` of the WL features (0: node labels
            only), or ``"auto"``: h in 0..3 chosen with the length scale and noise by marginal
            likelihood at every refit, as NASBOWL does. The default 2 was chosen on
            NAS-Bench-Graph's tuning seeds 0-29 (mean regret 0.390 pp against 0.413 for h=1, 0.403
            for h=3; ``benchmarks/results/kernels_tune/``).
        score_budget: in an enumerable space, the candidates scored per ask are capped at
            ``score_budget / told`` (the variance costs one triangular solve per candidate), at
            least 400 and at most ``max_candidates``.
        amplitude: ``fixed`` keeps the kernel's signal variance at 1 (the standardised values'
            variance); ``ml`` sets it by profile likelihood (its closed-form optimum for each length
            scale and noise ratio), which scales the predictive deviations that expected improvement
            weighs.
    """

    name = "gp"

    def __init__(
        self,
        n_initial: int = 10,
        features: str = "auto",
        max_train: int = 120,
        max_candidates: int = 30_000,
        n_random: int = 1000,
        n_parents: int = 5,
        refit_every: int | None = None,
        xi: float = 0.0,
        transform: str = "log",
        kernel: str = "wl",
        wl_iterations: int | str = 2,
        score_budget: int = 500_000,
        amplitude: str = "fixed",
    ) -> None:
        check_choice("features", features, FEATURE_KINDS)
        check_choice("kernel", kernel, KERNELS)
        check_choice("transform", transform, TRANSFORMS)
        check_number("xi", xi, 0)
        check_choice("amplitude", amplitude, AMPLITUDES)
        super().__init__(
            n_initial=positive_int("n_initial", n_initial),
            features=features,
            max_train=positive_int("max_train", max_train, 2),
            max_candidates=positive_int("max_candidates", max_candidates),
            n_random=positive_int("n_random", n_random),
            n_parents=positive_int("n_parents", n_parents, 0),
            refit_every=None if refit_every is None else positive_int("refit_every", refit_every),
            xi=float(xi),
            transform=transform,
            kernel=kernel,
            wl_iterations=_rounds(wl_iterations),
            score_budget=positive_int("score_budget", score_budget),
            amplitude=amplitude,
        )

    def on_setup(self) -> None:
        features = "onehot" if self.params["kernel"] == "onehot" else self.params["features"]
        self.kernel = make_kernel(self.params["kernel"])
        h = self.params["wl_iterations"]
        uses_wl = features in ("wl", "wl+onehot") or (features == "auto" and has_graph(self._space()))
        rounds = (_WL_AUTO if uses_wl else (2,)) if h == "auto" else (h,)  # no WL features: one view
        self._views: dict[int, tuple[SpaceIndex | None, FeatureMap]] = {}
        for r in rounds:
            index = SpaceIndex.get(self._space(), features, r)
            fmap = index.fmap if index is not None else FeatureMap(self._space(), features, r)
            self._views[r] = (index, fmap)
        self._use_view(2 if h == "auto" else h)  # auto: h=2 until the first refit chooses
        self._hyper: tuple[float, float] | None = None
        self._scale = 1.0  # the kernel's signal variance (``amplitude="ml"``: by profile likelihood)
        self._hyper_at = -1
        self._prior: Any = None  # warm start: a prior mean from earlier studies (gp_prior.py)
        self._prior_all: np.ndarray | None = None
        self._pool_rows: np.ndarray | None = None
        if self.warm_start:
            from nasforge.strategies.gp_prior import SourcePrior

            # the prior keeps the features of the view in use now, whatever rounds the GP picks later
            self._prior_rounds = self.wl_rounds
            prior = SourcePrior(self.warm_start, self._space(), self._matrix)
            self._prior = prior if prior.ok else None
            if self._prior is not None and self.index is not None:
                self._prior_all = self._prior.mean(self.index.matrix)

    def _use_view(self, h: int) -> None:
        """Score with the features of ``h`` WL rounds (one of the views built at setup)."""
        self.wl_rounds = h
        self.index, self.fmap = self._views[h]

    def _training(self, done: list[Trial] | None = None) -> list[Trial]:
        done = self.completed if done is None else done
        cap = self.params["max_train"]
        if len(done) <= cap:
            return done
        best = sorted(done, key=lambda t: t.value, reverse=True)[: cap // 2]  # type: ignore[arg-type]
        chosen = {id(t) for t in best}
        recent = [t for t in reversed(done) if id(t) not in chosen][: cap - len(best)]
        return best + recent

    @single_threaded
    def propose(self) -> Candidate:
        space = self._space()
        train = self._training()
        if len(train) < max(self.params["n_initial"], 2):
            return Candidate(space.sample(self.rng))
        parents = [t.architecture for t in sorted(train, key=lambda t: t.value, reverse=True)]  # type: ignore
        parents = parents[: self.params["n_parents"]]
        ls, noise = self._hyperparameters()  # first: it chooses the WL rounds the pool is scored with
        pool = self._pool(parents)
        if pool is None:
            return Candidate(space.sample(self.rng))
        archs, x_cand = pool
        train_archs = [t.architecture for t in train]
        z = warp(np.array([t.value for t in train], dtype=float), self.params["transform"])
        gram = self._similarity(train_archs, train_archs)
        chol = _cholesky(np.exp((gram - 1.0) / ls), noise)
        x_train = self._matrix(train_archs)
        width = max(x_cand.shape[1], x_train.shape[1])  # the vocabulary may have grown meanwhile
        x_cand.resize((x_cand.shape[0], width))
        x_train.resize((x_train.shape[0], width))
        prior_train, prior_cand = self._prior_means(train, archs)  # warm start; zeros without
        b = slope(z, prior_train)
        alpha = cho_solve((chol, True), z - b * prior_train)
        if self.kernel is None:
            s_cand = (x_cand @ x_train.T).toarray()
        else:
            s_cand = self.kernel.similarity(self._space(), archs, train_archs)
        k_cand = np.exp((s_cand - 1.0) / ls)
        mu = k_cand @ alpha + b * prior_cand
        v = solve_triangular(chol, k_cand.T, lower=True)
        sigma = np.sqrt(self._scale * np.maximum(1.0 + noise - np.einsum("ij,ij->j", v, v), 1e-12))
        best = z.max() + self.params["xi"]
        u = (mu - best) / sigma
        ei = (mu - best) * ndtr(u) + sigma * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
        pick = int(np.argmax(ei + 1e-12 * self.rng.random(len(ei))))
        return Candidate(archs[pick], info={"ei": float(ei[pick])})

    def _prior_means(self, train: list[Trial], cand: list[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        """The warm-start prior mean at the training points and the candidates (zeros without one)."""
        if self._prior is None:
            return np.zeros(len(train)), np.zeros(len(cand))
        index = self._views[self._prior_rounds][0]
        if self._prior_all is not None and self._pool_rows is not None:
            pos = [index.position.get(self._key(t.architecture)) for t in train]
            if all(p is not None for p in pos):
                return self._prior_all[pos], self._prior_all[self._pool_rows]
        x_train = self._matrix([t.architecture for t in train], self._prior_rounds)
        return self._prior.mean(x_train), self._prior.mean(self._matrix(cand, self._prior_rounds))

    def _similarity(self, a: list[Architecture], b: list[Architecture]) -> np.ndarray:
        """The kernel's similarity matrix ``S`` (``S(x, x) = 1``) between ``a`` and ``b``."""
        if self.kernel is not None:
            return self.kernel.similarity(self._space(), a, b)
        xa = self._matrix(a)
        xb = xa if a is b else self._matrix(b)
        width = max(xa.shape[1], xb.shape[1])
        xa.resize((xa.shape[0], width))
        xb.resize((xb.shape[0], width))
        return (xa @ xb.T).toarray()

    def _matrix(self, archs: list[Architecture], rounds: int | None = None) -> Any:
        """Feature rows of ``archs`` (from the whole-space index where possible), with the WL
        rounds in use or those of ``rounds``."""
        index, fmap = (self.index, self.fmap) if rounds is None else self._views[rounds]
        keys = [self._key(a) for a in archs]
        if index is not None and all(k in index.position for k in keys):
            return index.matrix[[index.position[k] for k in keys]]
        x = fmap.matrix(archs, keys)
        x.resize((x.shape[0], max(len(fmap.vocab), 1)))
        return x

    def _pool(self, parents: list[Architecture]) -> tuple[list[Architecture], Any] | None:
        """Candidates (architectures, feature rows): unknown neighbours of the parents plus a
        uniform subsample of the rest of the space (or random samples if not enumerable)."""
        space = self._space()
        known = {**self.pending, **dict.fromkeys(self.evaluated)}
        index = self.index
        if index is None:
            n_random = self.params["n_random"]
            if self.params["kernel"] == "otmann":
                n_random = min(n_random, _OTMANN_CANDIDATES)
            archs, keys = candidate_pool(space, self.rng, known, parents, n_random=n_random,
                                         whole_space=False)
            if not archs:
                return None
            if self.params["kernel"] == "otmann" and len(archs) > n_random:  # a transport per pair
                pick = np.sort(self.rng.choice(len(archs), size=n_random, replace=False))
                archs, keys = [archs[i] for i in pick], [keys[i] for i in pick]
            x = self.fmap.matrix(archs, keys)
            x.resize((x.shape[0], max(len(self.fmap.vocab), 1)))
            self._pool_rows = None
            return archs, x
        rows = index.unknown(known)
        if len(rows) == 0:
            return None
        # the variance costs n_train^2 per candidate: fewer candidates when the training set is large
        cap = min(self.params["max_candidates"],
                  max(400, self.params["score_budget"] // max(len(self.completed), 1)))
        if self.params["kernel"] == "otmann":
            cap = min(cap, _OTMANN_CANDIDATES)
        if len(rows) > cap:
            near = [index.position.get(self._key(nb)) for p in parents for nb in space.neighbours(p)]
            near = [i for i in near if i is not None and index.hashes[i] not in known]
            rows = np.union1d(rows[self.rng.choice(len(rows), size=cap, replace=False)], near).astype(int)
        self._pool_rows = rows
        return [index.archs[i] for i in rows], index.matrix[rows]

    def _hyperparameters(self) -> tuple[float, float]:
        """(length scale, noise) by marginal likelihood, re-selected every ``refit_every`` tells on
        the history up to the last multiple of ``refit_every`` (so replay gives the same values);
        with ``wl_iterations="auto"`` the WL rounds too (left in use by :meth:`_use_view`)."""
        told = len(self.history)
        every = self.params["refit_every"] or max(1, told // 50)
        mark = max(told // every * every, 1)
        if self._hyper is not None and self._hyper_at == mark:
            return self._hyper
        prefix = [t for t in self.history[:mark] if t.state is TrialState.COMPLETE and t.value is not None]
        train = self._training(prefix)
        if len(train) < 2:
            train = self._training()
        z = warp(np.array([t.value for t in train], dtype=float), self.params["transform"])
        archs = [t.architecture for t in train]
        best: tuple[float, float, float, int, float] | None = None
        eye = np.eye(len(z))
        profile = self.params["amplitude"] == "ml"
        for h in self._views:
            self._use_view(h)
            gram = self._similarity(archs, archs)
            for ls in _LENGTHSCALES:
                base = np.exp((gram - 1.0) / ls)
                for noise in _NOISES:
                    try:
                        chol = cholesky(base + noise * eye, lower=True)
                    except np.linalg.LinAlgError:
                        continue
                    alpha = cho_solve((chol, True), z)
                    quad = float(z @ alpha)
                    # ml: the signal variance s2 at its closed-form optimum quad / n, noise as a ratio to it
                    scale = max(quad / len(z), 1e-12) if profile else 1.0
                    logdet = float(np.log(np.diag(chol)).sum())
                    ll = -0.5 * quad / scale - 0.5 * len(z) * math.log(scale) - logdet
                    if best is None or ll > best[0]:
                        best = (ll, ls, noise, h, scale)
        self._hyper = (best[1], best[2]) if best is not None else (0.2, 0.1)
        self._scale = best[4] if best is not None else 1.0
        self._use_view(best[3] if best is not None else next(iter(self._views)))
        self._hyper_at = mark
        return self._hyper

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


def _rounds(value: Any) -> int | str:
    """``wl_iterations``: an integer >= 0 or ``"auto"``."""
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"wl_iterations must be an integer >= 0 or 'auto', got {value!r}")
    return positive_int("wl_iterations", value, 0)


def _cholesky(k: np.ndarray, noise: float) -> np.ndarray:
    """Lower Cholesky factor of ``k + noise I``; more jitter where ``k`` is not positive definite
    (an exponentiated OTMANN distance need not be)."""
    eye = np.eye(len(k))
    for extra in (0.0, 1e-6, 1e-4, 1e-2, 1e-1, 1.0):
        try:
            return cholesky(k + (noise + extra) * eye, lower=True)
        except np.linalg.LinAlgError:
            continue
    return cholesky(eye * (1.0 + noise), lower=True)
