"""SMAC-style Bayesian optimisation with a random-forest surrogate (Hutter, Hoos & Leyton-Brown,
"Sequential Model-Based Optimization for General Algorithm Configuration", LION 2011).

A scikit-learn random forest is fitted on the one-hot (flat view) encoding of the told trials; the
mean and spread of its trees' predictions give a Gaussian belief per candidate, scored by expected
improvement. As in SMAC, the acquisition is maximised by a local search: starting from the best
told architectures and the best random candidates, the search moves to the neighbour
(``space.neighbours``) of highest EI while it improves; random candidates are interleaved. The forest
is refitted every ``refit_every`` tells on the history up to that point (so replay is exact).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.candidates import candidate_pool, single_threaded
from nasforge.trial import Candidate, TrialState


class SMACStrategy(Strategy):
    """Random-forest EI with local search over neighbours plus random candidates.

    Args:
        n_initial: random samples before the forest is used.
        n_trees: trees of the forest.
        n_random: random candidates per ask (a subsample of the whole space when it is enumerable).
        n_starts: local searches start from this many best told architectures and best random ones.
        ls_steps: at most this many moves per local search.
        refit_every: refit the forest every this many tells; ``None`` (default) refits every
            ``max(1, told // 50)`` tells (every tell up to 100 trials, every 20 at 1,000).
        max_train: fit on at most this many trials (the best half plus the most recent).
    """

    name = "smac"

    def __init__(
        self,
        n_initial: int = 10,
        n_trees: int = 30,
        n_random: int = 1000,
        n_starts: int = 5,
        ls_steps: int = 5,
        refit_every: int | None = None,
        max_train: int = 250,
    ) -> None:
        super().__init__(
            n_initial=positive_int("n_initial", n_initial),
            n_trees=positive_int("n_trees", n_trees),
            n_random=positive_int("n_random", n_random),
            n_starts=positive_int("n_starts", n_starts),
            ls_steps=positive_int("ls_steps", ls_steps, 0),
            refit_every=None if refit_every is None else positive_int("refit_every", refit_every),
            max_train=positive_int("max_train", max_train, 2),
        )

    def on_setup(self) -> None:
        self._forest = None
        self._fit_mark = -1
        self._codes: dict[str, np.ndarray] = {}
        self._nbr_cache: dict[str, list[tuple[Architecture, str]]] = {}

    def _neighbours(self, arch: Architecture) -> list[tuple[Architecture, str]]:
        """Neighbours of ``arch`` with their canonical hashes (cached)."""
        key = self._key(arch)
        found = self._nbr_cache.get(key)
        if found is None:
            found = [(nb, self._key(nb)) for nb in self._space().neighbours(arch)]
            self._nbr_cache[key] = found
        return found

    def _encode(self, archs: list[Architecture], keys: list[str] | None = None) -> np.ndarray:
        space = self._space()
        rows = []
        for i, arch in enumerate(archs):
            key = self._key(arch) if keys is None else keys[i]
            code = self._codes.get(key)
            if code is None:
                code = space.encode(arch, "onehot")
                self._codes[key] = code
            rows.append(code)
        return np.stack(rows)

    def _fit(self) -> float:
        """Refit the forest when due; returns the incumbent value (max told)."""
        from sklearn.ensemble import RandomForestRegressor

        told = len(self.history)
        every = self.params["refit_every"] or max(1, told // 50)
        mark = max(told // every * every, 1)
        done = [t for t in self.history[:mark] if t.state is TrialState.COMPLETE and t.value is not None]
        if self._forest is None or self._fit_mark != mark:
            cap = self.params["max_train"]
            if len(done) > cap:
                best = sorted(done, key=lambda t: t.value, reverse=True)[: cap // 2]  # type: ignore
                chosen = {id(t) for t in best}
                done_fit = best + [t for t in reversed(done) if id(t) not in chosen][: cap - len(best)]
            else:
                done_fit = done
            x = self._encode([t.architecture for t in done_fit])
            y = np.array([t.value for t in done_fit])
            forest = RandomForestRegressor(
                n_estimators=self.params["n_trees"], min_samples_leaf=1, max_features=0.8,
                random_state=int(np.random.default_rng([self.seed, mark, 3]).integers(2**31)),
            )
            self._forest = forest.fit(x, y)
            self._fit_mark = mark
        return max(t.value for t in self.completed)  # type: ignore[type-var,return-value]

    def _ei(self, x: np.ndarray, best: float) -> np.ndarray:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        trees = self._forest.estimators_  # type: ignore[union-attr]
        preds = np.stack([tree.tree_.predict(x32).reshape(len(x32), -1)[:, 0] for tree in trees])
        mu, sigma = preds.mean(0), preds.std(0) + 1e-6
        u = (mu - best) / sigma
        return (mu - best) * ndtr(u) + sigma * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)

    @single_threaded
    def propose(self) -> Candidate:
        space = self._space()
        if len(self.completed) < max(self.params["n_initial"], 2):
            return Candidate(space.sample(self.rng))
        best = self._fit()
        known = {**self.pending, **dict.fromkeys(self.evaluated)}
        archs, keys = candidate_pool(
            space, self.rng, known, (), n_random=self.params["n_random"], max_pool=self.params["n_random"]
        )
        scored: dict[str, tuple[float, Architecture]] = {}
        if archs:
            ei = self._ei(self._encode(archs, keys), best)
            scored = {k: (float(e), a) for k, e, a in zip(keys, ei, archs, strict=True)}
        n = self.params["n_starts"]
        top_told = sorted(self.completed, key=lambda t: t.value, reverse=True)[:n]  # type: ignore
        starts = [(t.architecture, scored.get(self._key(t.architecture), (-1.0,))[0]) for t in top_told]
        starts += [(a, e) for e, a in sorted(scored.values(), key=lambda ea: -ea[0])[:n]]
        # all local searches advance together: one forest evaluation per step
        for _ in range(self.params["ls_steps"]):
            moves: list[tuple[int, list[Architecture], list[str]]] = []
            for i, (current, _) in enumerate(starts):
                fresh = [(nb, k) for nb, k in self._neighbours(current) if k not in known]
                if fresh:
                    moves.append((i, [nb for nb, _ in fresh], [k for _, k in fresh]))
            if not moves:
                break
            flat_archs = [a for _, nbrs, _ in moves for a in nbrs]
            flat_keys = [k for _, _, keys in moves for k in keys]
            ei = self._ei(self._encode(flat_archs, flat_keys), best)
            for k, e, a in zip(flat_keys, ei, flat_archs, strict=True):
                scored[k] = (float(e), a)
            offset, moved = 0, False
            for i, nbrs, _ in moves:
                part = ei[offset: offset + len(nbrs)]
                offset += len(nbrs)
                j = int(np.argmax(part))
                if part[j] > starts[i][1]:
                    starts[i] = (nbrs[j], float(part[j]))
                    moved = True
            if not moved:
                break
        if not scored:
            return Candidate(space.sample(self.rng))
        key = max(scored, key=lambda k: scored[k][0])
        return Candidate(scored[key][1], info={"ei": scored[key][0]})
