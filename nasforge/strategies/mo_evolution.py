"""Multi-objective regularized evolution: aging evolution (Real et al., AAAI 2019) whose tournament
compares by Pareto rank and crowding distance instead of one value.

As in :mod:`~nasforge.strategies.regularized_evolution`, the population is a queue of the
``population`` most recently told trials (the oldest dies, failed ones age out but never win); until it
is full candidates are random samples. Each child is ``space.mutate`` of the winner of a tournament of
``sample`` members drawn uniformly: the member of lowest constrained-domination rank *within the
population*, ties broken by the larger crowding distance, then the more recent trial
(:mod:`nasforge.multiobjective.selection`). In a single-objective study the rank is the value order,
so it is regularized evolution.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nasforge.errors import ConfigError
from nasforge.multiobjective.selection import rank_crowding, usable
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Candidate, Trial, TrialState


class MORegularizedEvolution(Strategy):
    """Aging evolution with a crowded Pareto tournament.

    Args:
        population: size of the population queue.
        sample: tournament size, ``1 <= sample <= population``.
    """

    name = "mo-evolution"

    def __init__(self, population: int = 20, sample: int = 5) -> None:
        population = positive_int("population", population, 2)
        sample = positive_int("sample", sample)
        if sample > population:
            raise ConfigError(
                f"`sample <= population` must hold, but got (sample={sample}, population={population})"
            )
        super().__init__(population=population, sample=sample)
        self.population: deque[Trial] = deque(maxlen=population)

    def on_setup(self) -> None:
        self.population = deque(maxlen=self.params["population"])

    def propose(self) -> Candidate:
        space = self._space()
        rows = usable(list(self.population), self.objectives)
        if len(self.population) < self.params["population"] or not rows:
            return Candidate(space.sample(self.rng))
        rank, crowd = rank_crowding(np.array([c for _, c, _ in rows]), np.array([v for _, _, v in rows]))
        k = min(self.params["sample"], len(rows))
        picks = self.rng.choice(len(rows), size=k, replace=False)
        win = min(picks, key=lambda i: (rank[i], -crowd[i], -rows[i][0].number))
        parent = rows[int(win)][0]
        return Candidate(space.mutate(parent.architecture, self.rng), parent=parent.number)

    def observe(self, trial: Trial) -> None:
        if trial.state in (TrialState.COMPLETE, TrialState.FAILED):
            self.population.append(trial)
