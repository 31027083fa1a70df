"""BANANAS: Bayesian optimisation with neural architectures for NAS (White, Neiswanger & Savani,
"BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021).

An ensemble of small MLPs (numpy, trained as one batched model) predicts the objective
from the *path encoding* (``space.encode(arch, "path")``: which input-to-output op sequences the cell
contains); spaces without a graph view fall back to the one-hot flat view. Candidates come from
mutating the best architectures so far (all one-edit neighbours of the top ``n_parents`` plus random
multi-edit mutations), and the acquisition is independent Thompson sampling (a draw from
``N(mean, std)`` of the ensemble per candidate) or UCB. Input columns that are zero on every training
and candidate row are dropped, which keeps the path encoding small. Training is seeded from
(seed, trials told), so replaying the history gives the same next proposal.
"""

from __future__ import annotations

import math

import numpy as np

from nasforge.checks import check_choice, check_number
from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.candidates import single_threaded
from nasforge.trial import Candidate, Trial, TrialState

ACQUISITIONS = ("its", "ucb")
_MAX_PATH_DIMS = 20_000  # longer path encodings (deep chains) fall back to one-hot


class BananasStrategy(Strategy):
    """Path-encoding MLP ensemble + Thompson sampling / UCB over mutations of the best.

    Args:
        n_initial: random samples before the ensemble is used.
        ensemble: number of MLPs.
        hidden: width of the two hidden layers.
        epochs: full-batch Adam steps per fit.
        n_parents: neighbours of this many best architectures are candidates.
        n_mutations: extra random multi-edit mutations of the parents.
        acquisition: ``its`` (independent Thompson sampling) or ``ucb``.
        beta: UCB exploration weight.
        encoding: ``auto`` (path where the space has a graph view with at most 20,000 possible
            paths, else onehot), ``path`` or ``onehot``.
        max_train: fit on at most this many trials (the best half plus the most recent).
        refit_every: refit the ensemble every this many tells; ``None`` (default) refits every
            ``max(1, told // 25)`` tells (every tell up to 50 trials, every 40 at 1,000).
    """

    name = "bananas"

    def __init__(
        self,
        n_initial: int = 10,
        ensemble: int = 5,
        hidden: int = 32,
        epochs: int = 100,
        n_parents: int = 10,
        n_mutations: int = 100,
        acquisition: str = "its",
        beta: float = 0.5,
        encoding: str = "auto",
        max_train: int = 200,
        refit_every: int | None = None,
    ) -> None:
        check_choice("acquisition", acquisition, ACQUISITIONS)
        check_choice("encoding", encoding, ("auto", "path", "onehot"))
        check_number("beta", beta, 0)
        super().__init__(
            n_initial=positive_int("n_initial", n_initial),
            ensemble=positive_int("ensemble", ensemble, 2),
            hidden=positive_int("hidden", hidden),
            epochs=positive_int("epochs", epochs),
            n_parents=positive_int("n_parents", n_parents),
            n_mutations=positive_int("n_mutations", n_mutations, 0),
            acquisition=acquisition,
            beta=float(beta),
            encoding=encoding,
            max_train=positive_int("max_train", max_train, 2),
            refit_every=None if refit_every is None else positive_int("refit_every", refit_every),
        )

    def on_setup(self) -> None:
        space = self._space()
        kind = self.params["encoding"]
        if kind == "auto":
            kind = "onehot"
            if "path" in space.encodings():
                probe = space.encode(space.sample(np.random.default_rng(0)), "path")
                kind = "path" if probe.size <= _MAX_PATH_DIMS else "onehot"
        elif kind not in space.encodings():
            raise ConfigError(
                f"encoding {kind!r} is not available for space {space.name!r}; "
                f"choose one of {list(space.encodings())}"
            )
        self.kind = kind
        self._codes: dict[str, np.ndarray] = {}
        self._nbr_cache: dict[str, list[Architecture]] = {}
        self._fitted: tuple[np.ndarray, Ensemble] | None = None
        self._fit_mark = -1

    def _encode(self, archs: list[Architecture], keys: list[str]) -> np.ndarray:
        rows = []
        for arch, key in zip(archs, keys, strict=True):
            code = self._codes.get(key)
            if code is None:
                code = self._space().encode(arch, self.kind).astype(np.float32)
                self._codes[key] = code
            rows.append(code)
        return np.stack(rows)

    def _neighbours(self, arch: Architecture) -> list[Architecture]:
        key = self._key(arch)
        found = self._nbr_cache.get(key)
        if found is None:
            found = self._space().neighbours(arch)
            self._nbr_cache[key] = found
        return found

    def _training(self, done: list[Trial]) -> list[Trial]:
        cap = self.params["max_train"]
        if len(done) <= cap:
            return done
        best = sorted(done, key=lambda t: t.value, reverse=True)[: cap // 2]  # type: ignore
        chosen = {id(t) for t in best}
        return best + [t for t in reversed(done) if id(t) not in chosen][: cap - len(best)]

    def _candidates(self, ranked: list[Trial]) -> tuple[list[Architecture], list[str]]:
        space = self._space()
        parents = [t.architecture for t in ranked[: self.params["n_parents"]]]
        archs: list[Architecture] = []
        keys: list[str] = []
        seen = set(self.pending) | self.evaluated

        def add(arch: Architecture) -> None:
            key = self._key(arch)
            if key not in seen:
                seen.add(key)
                archs.append(arch)
                keys.append(key)

        for parent in parents:
            for nb in self._neighbours(parent):
                add(nb)
        for _ in range(self.params["n_mutations"]):
            arch = parents[int(self.rng.integers(len(parents)))]
            for _ in range(1 + int(self.rng.integers(3))):  # 1 to 3 random edits
                nbrs = self._neighbours(arch)
                arch = nbrs[int(self.rng.integers(len(nbrs)))] if nbrs else space.mutate(arch, self.rng)
            add(arch)
        return archs, keys

    @single_threaded
    def propose(self) -> Candidate:
        space = self._space()
        if len(self.completed) < max(self.params["n_initial"], 2):
            return Candidate(space.sample(self.rng))
        ranked = sorted(self.completed, key=lambda t: t.value, reverse=True)  # type: ignore[arg-type,return-value]
        archs, keys = self._candidates(ranked)
        if not archs:
            return Candidate(space.sample(self.rng))
        cols, model = self._model()
        mean, std = model.predict(self._encode(archs, keys)[:, cols])
        if self.params["acquisition"] == "its":
            score = mean + std * self.rng.standard_normal(len(mean))
        else:
            score = mean + self.params["beta"] * std
        pick = int(np.argmax(score))
        return Candidate(archs[pick], info={"predicted": float(mean[pick])})

    def _model(self) -> tuple[np.ndarray, Ensemble]:
        """The ensemble fitted on the history up to the last refit point (a function of #told)."""
        told = len(self.history)
        every = self.params["refit_every"] or max(1, told // 25)
        mark = told // every * every
        if self._fitted is None or self._fit_mark != mark:
            done = [t for t in self.history[:mark] if t.state is TrialState.COMPLETE and t.value is not None]
            train = self._training(done or self.completed)
            x = self._encode([t.architecture for t in train], [self._key(t.architecture) for t in train])
            cols = np.flatnonzero(x.any(0))
            y = np.array([t.value for t in train], dtype=np.float64)
            model = fit_ensemble(
                x[:, cols], y, ensemble=self.params["ensemble"], hidden=self.params["hidden"],
                epochs=self.params["epochs"], seed=(self.seed, mark, 4),
            )
            self._fitted, self._fit_mark = (cols, model), mark
        return self._fitted


class Ensemble:
    """Fitted weights of an MLP ensemble (see :func:`fit_ensemble`)."""

    def __init__(self, params: list[np.ndarray], y_mean: float, y_std: float) -> None:
        self.params = params
        self.y_mean = y_mean
        self.y_std = y_std

    def predict(self, x_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread over the members of the predictions on ``x_new``."""
        w1, c1, w2, c2, w3, c3 = self.params
        xn = np.asarray(x_new, dtype=np.float32)
        hidden = np.maximum(np.maximum(xn @ w1 + c1, 0.0) @ w2 + c2, 0.0)
        pred = (hidden @ w3 + c3)[..., 0].astype(np.float64) * self.y_std + self.y_mean
        return pred.mean(0), pred.std(0) + 1e-6


def ensemble_predict(
    x: np.ndarray,
    y: np.ndarray,
    x_new: np.ndarray,
    ensemble: int = 5,
    hidden: int = 32,
    epochs: int = 150,
    seed: tuple[int, ...] = (0,),
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_ensemble` on ``(x, y)``, then the mean and spread of the predictions on ``x_new``."""
    return fit_ensemble(x, y, ensemble, hidden, epochs, seed).predict(x_new)


def fit_ensemble(
    x: np.ndarray,
    y: np.ndarray,
    ensemble: int = 5,
    hidden: int = 32,
    epochs: int = 150,
    seed: tuple[int, ...] = (0,),
    lr: float = 0.01,
    weight_decay: float = 1e-4,
) -> Ensemble:
    """Fit ``ensemble`` two-hidden-layer ReLU MLPs (independent inits, full-batch Adam on the squared
    error, seeded by ``seed``) on ``(x, y)``. Written with numpy (batched over the ensemble), which
    is faster than torch for nets this small and keeps the fit exactly reproducible."""
    rng = np.random.default_rng(list(seed))
    e, h = ensemble, hidden
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
    t = ((y - y_mean) / y_std)[None, :, None].astype(np.float32)
    n, d = x.shape

    def init(fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    params = [init(d, (e, d, h)), init(d, (e, 1, h)), init(h, (e, h, h)), init(h, (e, 1, h)),
              init(h, (e, h, 1)), init(h, (e, 1, 1))]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        w1, c1, w2, c2, w3, c3 = params
        a1 = np.maximum(x @ w1 + c1, 0.0)
        a2 = np.maximum(a1 @ w2 + c2, 0.0)
        out = a2 @ w3 + c3
        g_out = 2.0 * (out - t) / n
        g_w3 = a2.transpose(0, 2, 1) @ g_out
        g_a2 = (g_out @ w3.transpose(0, 2, 1)) * (a2 > 0)
        g_w2 = a1.transpose(0, 2, 1) @ g_a2
        g_a1 = (g_a2 @ w2.transpose(0, 2, 1)) * (a1 > 0)
        g_w1 = np.einsum("nd,enh->edh", x, g_a1)
        grads = [g_w1, g_a1.sum(1, keepdims=True), g_w2, g_a2.sum(1, keepdims=True),
                 g_w3, g_out.sum(1, keepdims=True)]
        for p, g, m, v in zip(params, grads, moments, squares, strict=True):
            g = g + weight_decay * p
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + eps)
    return Ensemble(params, y_mean, y_std)
