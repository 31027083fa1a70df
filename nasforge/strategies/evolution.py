"""Evolution with tournament selection (Real, Moore, Selle, Saxena, Suematsu, Tan, Le & Kurakin,
"Large-Scale Evolution of Image Classifiers", ICML 2017).

The paper's loop: a population of ``population`` individuals (random at first); at each step two
individuals are drawn at random, the *worse* of the pair is removed (killed) and the better one is
the parent of a child made by one mutation from the space (``space.mutate``: add / change / remove a
layer where the space has layers, change an op or an input elsewhere); the trained child joins the
population. Unlike regularized evolution, the worst dies, not the oldest.

Under asynchronous ask/tell the two halves of a step happen at different times: the parent is the
winner of a binary tournament drawn at ``ask`` (``tournament`` > 2 gives a stronger selection
pressure), and the removal is a separate binary tournament drawn when the child is told, with a
generator seeded from (seed, trials told), so the population is a function of the told trials.
Failed trials are never admitted.
"""

from __future__ import annotations

import numpy as np

from nasforge.errors import ConfigError
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.inheritance import child_candidate, inherit_params
from nasforge.trial import Candidate, Trial, TrialState


class Evolution(Strategy):
    """Tournament-selection evolution where the loser of a pair dies.

    Args:
        population: population size (the paper used 1,000 at scale; 20 suits 100-trial budgets).
        tournament: number of individuals compared to choose a parent (2 in the paper).
        inherit_weights: children start from their parent's weights, as in the paper (see
            :mod:`nasforge.strategies.inheritance`); ``inherit_epochs``: their training budget.
    """

    name = "evolution"

    def __init__(self, population: int = 20, tournament: int = 2, inherit_weights: bool = False,
                 inherit_epochs: int | None = None) -> None:
        population = positive_int("population", population, 2)
        tournament = positive_int("tournament", tournament)
        if tournament > population:
            raise ConfigError(
                f"`tournament <= population` must hold, but got (tournament={tournament}, "
                f"population={population})"
            )
        super().__init__(population=population, tournament=tournament,
                         **inherit_params(inherit_weights, inherit_epochs))
        self.members: list[Trial] = []

    def on_setup(self) -> None:
        self.members = []
        self._born = 0

    def propose(self) -> Candidate:
        space = self._space()
        if self._born < self.params["population"] or not self.members:
            return Candidate(space.sample(self.rng))
        k = min(self.params["tournament"], len(self.members))
        picks = self.rng.choice(len(self.members), size=k, replace=False)
        parent = max((self.members[i] for i in picks), key=lambda t: t.value)  # type: ignore[arg-type,return-value]
        return child_candidate(space, parent, space.mutate(parent.architecture, self.rng), self.params)

    def observe(self, trial: Trial) -> None:
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            return
        self._born += 1
        self.members.append(trial)
        if len(self.members) > self.params["population"]:
            rng = np.random.default_rng([self.seed, len(self.history), 1])
            i, j = rng.choice(len(self.members), size=2, replace=False)
            a, b = self.members[i], self.members[j]
            loser = i if (a.value, -a.number) < (b.value, -b.number) else j  # type: ignore[operator]
            del self.members[loser]
