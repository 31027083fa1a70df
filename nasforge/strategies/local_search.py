"""Local search: best-improvement hill climbing over the space's neighbourhood with random restarts.

White, Nolen, Ravi & Savani ("Local Search is State of the Art for Neural Architecture Search
Benchmarks", 2020) show this simple method is a strong NAS baseline. A climb starts at a random
architecture; every neighbour of the current point (``space.neighbours``) is evaluated; the climb
moves to the best neighbour if it improves on the current point, else the point is a local optimum
and the search restarts from a new random architecture.

Under ask/tell each ``ask`` proposes an unevaluated, non-pending neighbour of the current point; the
move is made once all neighbours are told. The climb is a function of the told trials only.
"""

from __future__ import annotations

import numpy as np

from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.inheritance import child_candidate, inherit_params
from nasforge.trial import Candidate, Trial, TrialState


class LocalSearch(Strategy):
    """Best-improvement hill climbing with random restarts.

    Args:
        max_neighbours: evaluate at most this many neighbours of a point (a random subset, fixed per
            point) before moving; bounds the cost in spaces with large neighbourhoods.
        inherit_weights: neighbours start from the current point's weights (see
            :mod:`nasforge.strategies.inheritance`); ``inherit_epochs``: their training budget.
    """

    name = "local-search"

    def __init__(self, max_neighbours: int = 1000, inherit_weights: bool = False,
                 inherit_epochs: int | None = None) -> None:
        super().__init__(max_neighbours=positive_int("max_neighbours", max_neighbours),
                         **inherit_params(inherit_weights, inherit_epochs))

    def on_setup(self) -> None:
        self.current: Trial | None = None
        self._nbrs: list[str] = []
        self._nbr_arch: dict[str, Architecture] = {}
        self.values: dict[str, float | None] = {}
        self.climbs = 0

    def _set_current(self, trial: Trial | None) -> None:
        self.current = trial
        self._nbrs, self._nbr_arch = [], {}
        if trial is None:
            self.climbs += 1
            return
        space = self._space()
        nbrs = space.neighbours(trial.architecture)
        cap = self.params["max_neighbours"]
        if len(nbrs) > cap:
            rng = np.random.default_rng([self.seed, trial.number, 2])
            nbrs = [nbrs[i] for i in sorted(rng.choice(len(nbrs), size=cap, replace=False))]
        for nb in nbrs:
            key = self._key(nb)
            if key not in self._nbr_arch:
                self._nbrs.append(key)
                self._nbr_arch[key] = nb

    def propose(self) -> Candidate:
        space = self._space()
        if self.current is not None:
            fresh = [k for k in self._nbrs if k not in self.pending and k not in self.evaluated]
            if fresh:
                key = fresh[int(self.rng.integers(len(fresh)))]
                return child_candidate(space, self.current, self._nbr_arch[key], self.params)
        return Candidate(space.sample(self.rng))

    def observe(self, trial: Trial) -> None:
        key = self._key(trial.architecture)
        ok = trial.state is TrialState.COMPLETE and trial.value is not None
        self.values[key] = trial.value if ok else None
        if self.current is None:
            if ok:
                self._set_current(trial)
            return
        if any(k not in self.values for k in self._nbrs):
            return
        scored = [(self.values[k], k) for k in self._nbrs if self.values[k] is not None]
        best = max(scored, default=None, key=lambda vk: vk[0])
        if best is not None and best[0] > self.current.value:  # type: ignore[operator]
            winner = next(t for t in reversed(self.history) if self._key(t.architecture) == best[1])
            self._set_current(winner)
        else:
            self._set_current(None)  # local optimum: restart from a random point
