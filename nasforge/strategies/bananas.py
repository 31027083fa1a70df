"""BANANAS: Bayesian optimisation with neural architectures for NAS (White, Neiswanger & Savani,
"BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021).

An ensemble of small MLPs (PyTorch, one thread, trained as one batched model) predicts the objective
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

from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.study.trial import Candidate, Trial

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
    """

    name = "bananas"

    def __init__(
        self,
        n_initial: int = 10,
        ensemble: int = 5,
        hidden: int = 32,
        epochs: int = 150,
        n_parents: int = 10,
        n_mutations: int = 100,
        acquisition: str = "its",
        beta: float = 0.5,
        encoding: str = "auto",
        max_train: int = 300,
    ) -> None:
        if acquisition not in ACQUISITIONS:
            raise ConfigError(f"acquisition must be one of {list(ACQUISITIONS)}, got {acquisition!r}")
        if encoding not in ("auto", "path", "onehot"):
            raise ConfigError(f"encoding must be one of ['auto', 'path', 'onehot'], got {encoding!r}")
        if not isinstance(beta, (int, float)) or not math.isfinite(beta) or beta < 0:
            raise ConfigError(f"beta must be a finite number >= 0, got {beta!r}")
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

    def _encode(self, archs: list[Architecture], keys: list[str]) -> np.ndarray:
        rows = []
        for arch, key in zip(archs, keys, strict=True):
            code = self._codes.get(key)
            if code is None:
                code = self._space().encode(arch, self.kind).astype(np.float32)
                self._codes[key] = code
            rows.append(code)
        return np.stack(rows)

    def _training(self) -> list[Trial]:
        done = self.completed
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
            for nb in space.neighbours(parent):
                add(nb)
        for _ in range(self.params["n_mutations"]):
            arch = parents[int(self.rng.integers(len(parents)))]
            for _ in range(1 + int(self.rng.integers(3))):
                arch = space.mutate(arch, self.rng)
            add(arch)
        return archs, keys

    def propose(self) -> Candidate:
        space = self._space()
        train = self._training()
        if len(train) < max(self.params["n_initial"], 2):
            return Candidate(space.sample(self.rng))
        ranked = sorted(train, key=lambda t: t.value, reverse=True)  # type: ignore[arg-type,return-value]
        archs, keys = self._candidates(ranked)
        if not archs:
            return Candidate(space.sample(self.rng))
        x_train = self._encode([t.architecture for t in train], [self._key(t.architecture) for t in train])
        x_cand = self._encode(archs, keys)
        cols = np.flatnonzero(x_train.any(0) | x_cand.any(0))
        y = np.array([t.value for t in train], dtype=np.float32)
        mean, std = ensemble_predict(
            x_train[:, cols], y, x_cand[:, cols], ensemble=self.params["ensemble"],
            hidden=self.params["hidden"], epochs=self.params["epochs"],
            seed=(self.seed, len(self.history), 4),
        )
        if self.params["acquisition"] == "its":
            score = mean + std * self.rng.standard_normal(len(mean))
        else:
            score = mean + self.params["beta"] * std
        pick = int(np.argmax(score))
        return Candidate(archs[pick], info={"predicted": float(mean[pick])})


def ensemble_predict(
    x: np.ndarray,
    y: np.ndarray,
    x_new: np.ndarray,
    ensemble: int = 5,
    hidden: int = 32,
    epochs: int = 150,
    seed: tuple[int, ...] = (0,),
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``ensemble`` two-hidden-layer MLPs (one batched torch model, full-batch Adam, seeded by
    ``seed``) on ``(x, y)`` and return the mean and spread of their predictions on ``x_new``."""
    import torch

    e, h = ensemble, hidden
    gen = torch.Generator().manual_seed(int(np.random.default_rng(list(seed)).integers(2**62)))
    x = np.asarray(x, dtype=np.float32)
    x_new = np.asarray(x_new, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
    xt = torch.from_numpy(x).expand(e, -1, -1)
    yt = torch.from_numpy((y - y_mean) / y_std).expand(e, -1)
    d = x.shape[1]

    def init(fan_in: int, shape: tuple[int, ...]) -> torch.Tensor:
        bound = 1.0 / math.sqrt(fan_in)
        return ((torch.rand(shape, generator=gen) * 2 - 1) * bound).requires_grad_()

    w1, b1 = init(d, (e, d, h)), init(d, (e, 1, h))
    w2, b2 = init(h, (e, h, h)), init(h, (e, 1, h))
    w3, b3 = init(h, (e, h, 1)), init(h, (e, 1, 1))

    def forward(inp: torch.Tensor) -> torch.Tensor:
        z = torch.relu(torch.baddbmm(b1, inp, w1))
        z = torch.relu(torch.baddbmm(b2, z, w2))
        return torch.baddbmm(b3, z, w3).squeeze(-1)

    opt = torch.optim.Adam([w1, b1, w2, b2, w3, b3], lr=0.01, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((forward(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = forward(torch.from_numpy(x_new).expand(e, -1, -1)).numpy() * y_std + y_mean
    return pred.mean(0), pred.std(0) + 1e-6
