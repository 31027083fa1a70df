"""NSGA-II on genotypes (Deb, Pratap, Agarwal & Meyarivan, IEEE TEC 2002), steady-state for ask/tell.

The population is the ``population`` best told trials under NSGA-II's order (constrained
domination rank, then crowding distance; :mod:`nasforge.multiobjective.selection`), kept elitist: each
told trial joins it and, past ``population``, the worst row leaves ((mu + 1) truncation; Durillo et al.
2009 found the steady-state variant at least as good as the generational one). Until ``population``
trials are told, candidates are random samples. Afterwards a child is made from parents chosen by
binary crowded tournaments: with probability ``crossover_prob`` a crossover of two parents (the space's
``crossover(a, b, rng)`` where it has one, else uniform crossover of the flat categorical view), then,
with probability ``mutation_prob`` (always when no crossover happened or the crossover gave back a
parent), the space's ``mutate``. Failed trials never enter the population. The population is a
function of the told trials (replay gives the same), and the per-ask generator is the base class's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.checks import check_number
from nasforge.multiobjective.selection import better, rank_crowding, survivors, usable
from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Candidate, Trial


def flat_crossover(space: Any, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
    """Uniform crossover of the flat view: each decision from ``a`` or ``b`` with probability 1/2."""
    fa, fb = space.to_flat(a), space.to_flat(b)
    pick = rng.random(len(fa)) < 0.5
    return space.from_flat([int(x) if p else int(y) for x, y, p in zip(fa, fb, pick, strict=True)])


def crossover(space: Any, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
    """The space's own ``crossover`` if it has one, else :func:`flat_crossover`."""
    own = getattr(space, "crossover", None)
    if callable(own):
        return own(a, b, rng)
    return flat_crossover(space, a, b, rng)


class NSGA2(Strategy):
    """Steady-state NSGA-II with the space's mutation and a crossover.

    Args:
        population: population size (elitist; 20 suits 100-trial budgets).
        crossover_prob: probability that a child is a crossover of two parents.
        mutation_prob: probability that a crossover child is also mutated.
    """

    name = "nsga2"

    def __init__(self, population: int = 20, crossover_prob: float = 0.5, mutation_prob: float = 0.5) -> None:
        check_number("crossover_prob", crossover_prob, 0, 1)
        check_number("mutation_prob", mutation_prob, 0, 1)
        super().__init__(population=positive_int("population", population, 2),
                         crossover_prob=float(crossover_prob), mutation_prob=float(mutation_prob))
        self.members: list[tuple[Trial, np.ndarray, float]] = []

    def on_setup(self) -> None:
        self.members = []
        self._told_usable = 0

    def propose(self) -> Candidate:
        space = self._space()
        if self._told_usable < self.params["population"] or len(self.members) < 2:
            return Candidate(space.sample(self.rng))
        costs = np.array([c for _, c, _ in self.members])
        viol = np.array([v for _, _, v in self.members])
        rank, crowd = rank_crowding(costs, viol)

        def tournament() -> Trial:
            i, j = self.rng.choice(len(self.members), size=2, replace=False)
            return self.members[better(int(i), int(j), rank, crowd)][0]

        first = tournament()
        child, crossed = first.architecture, False
        if self.rng.random() < self.params["crossover_prob"]:
            second = tournament()
            child = crossover(space, first.architecture, second.architecture, self.rng)
            parents = {space.canonical_hash(first.architecture), space.canonical_hash(second.architecture)}
            crossed = space.canonical_hash(child) not in parents
        if not crossed or self.rng.random() < self.params["mutation_prob"]:
            child = space.mutate(child, self.rng)
        return Candidate(child, parent=first.number)

    def observe(self, trial: Trial) -> None:
        row = usable([trial], self.objectives)
        if not row:
            return
        self._told_usable += 1
        self.members = survivors([*self.members, *row], self.params["population"])
