"""Regularized (aging) evolution (Real, Aggarwal, Huang & Le, AAAI 2019).

A population of the ``population`` most recently *born* (told) models is kept as a queue. Until it
is full, candidates are random samples. Afterwards each candidate is the mutation of the best of
``sample`` models drawn uniformly (without replacement) from the population; when a child is told it
joins the population and the *oldest* member dies (aging), not the worst. Failed trials count as
born (they age out) but never win a tournament.
"""

from __future__ import annotations

from collections import deque

from nasforge.errors import ConfigError
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.inheritance import child_candidate, inherit_params
from nasforge.trial import Candidate, Trial, TrialState


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection.

    Args:
        population: size of the population queue (P in the paper).
        sample: tournament size (S in the paper), ``1 <= sample <= population``.
        inherit_weights: children start from their parent's weights (see
            :mod:`nasforge.strategies.inheritance`); ``inherit_epochs``: their training budget.
    """

    name = "regularized-evolution"

    def __init__(self, population: int = 20, sample: int = 5, inherit_weights: bool = False,
                 inherit_epochs: int | None = None) -> None:
        population = positive_int("population", population, 2)
        sample = positive_int("sample", sample)
        if sample > population:
            raise ConfigError(
                f"`sample <= population` must hold, but got (sample={sample}, population={population})"
            )
        super().__init__(population=population, sample=sample,
                         **inherit_params(inherit_weights, inherit_epochs))
        self.population: deque[Trial] = deque(maxlen=population)

    def on_setup(self) -> None:
        self.population = deque(maxlen=self.params["population"])

    def propose(self) -> Candidate:
        space = self._space()
        alive = [t for t in self.population if t.state is TrialState.COMPLETE and t.value is not None]
        if len(self.population) < self.params["population"] or not alive:
            return Candidate(space.sample(self.rng))
        members = list(self.population)
        picks = self.rng.choice(len(members), size=self.params["sample"], replace=False)
        contenders = [members[i] for i in picks if members[i].value is not None]
        if not contenders:
            contenders = alive
        parent = max(contenders, key=lambda t: t.value)  # type: ignore[arg-type,return-value]
        child = space.mutate(parent.architecture, self.rng)
        return child_candidate(space, parent, child, self.params)

    def observe(self, trial: Trial) -> None:
        if trial.state in (TrialState.COMPLETE, TrialState.FAILED):
            self.population.append(trial)  # deque(maxlen) drops the oldest
