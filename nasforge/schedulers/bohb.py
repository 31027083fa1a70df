"""BOHB (Falkner et al., "BOHB: robust and efficient hyperparameter optimization at scale", ICML 2018).

Hyperband's brackets, with new trials proposed by a model instead of at random: a fraction
``random_fraction`` of them is sampled at random; the rest come from a *proposer* fitted on the results
recorded at the largest budget that has at least ``min_points`` of them (falling back to random samples
while no budget has enough). The proposer is an ordinary :class:`~nasforge.strategies.base.Strategy`
(TPE, a kernel-density model, by default; any registered strategy works), built afresh at each proposal
and told the results at that budget as completed trials, so it is as replayable as any strategy.
"""

from __future__ import annotations

from typing import Any

from nasforge.checks import check_int, check_probability
from nasforge.schedulers.hyperband import Hyperband
from nasforge.trial import Candidate, Trial, TrialState


class BOHB(Hyperband):
    """Hyperband brackets + a model-based proposer per budget.

    Args:
        min_budget, max_budget, eta: as for :class:`Hyperband`.
        proposer: the strategy that proposes from the results at one budget (default ``"tpe"``).
        proposer_options: keyword parameters of that strategy.
        random_fraction: share of new trials sampled at random.
        min_points: results a budget needs before its model is used.
    """

    name = "bohb"

    def __init__(self, min_budget: float = 1, max_budget: float | None = None, eta: float = 3,
                 proposer: str = "tpe", proposer_options: dict[str, Any] | None = None,
                 random_fraction: float = 1 / 3, min_points: int = 6, **params: Any) -> None:
        from nasforge.strategies import STRATEGIES

        STRATEGIES.get(proposer)  # an unknown name fails now, naming the registered ones
        check_probability("random_fraction", random_fraction, inclusive_high=True)
        check_int("min_points", min_points, 1)
        super().__init__(min_budget=min_budget, max_budget=max_budget, eta=eta, proposer=proposer,
                         proposer_options=dict(proposer_options or {}), random_fraction=random_fraction,
                         min_points=min_points, **params)
        self.proposer, self.random_fraction, self.min_points = proposer, float(random_fraction), min_points

    def model_budget(self) -> float | None:
        """The largest budget with at least ``min_points`` recorded results (``None``: none yet)."""
        for budget in reversed(self.budgets):
            if sum(1 for t in self.trials if self.value_at(t, budget) is not None) >= self.min_points:
                return budget
        return None

    def propose(self, strategy: Any) -> Candidate:
        space = strategy.space
        rng = self.rng(1)
        budget = self.model_budget()
        if budget is None or rng.random() < self.random_fraction:
            known = {space.canonical_hash(t.architecture) for t in self.trials}
            for _ in range(50):
                arch = space.sample(rng)
                if space.canonical_hash(arch) not in known:
                    break
            return Candidate(arch, info={"proposed_by": "random"})
        from nasforge.strategies import STRATEGIES

        model = STRATEGIES.create(self.proposer, **self.params["proposer_options"])
        model.setup(space, self.seed + len(self.trials))
        for t in self.trials:
            value = self.value_at(t, budget)
            if value is not None:
                raw = self.sign * value
                model.tell(Trial(t.number, t.architecture, TrialState.COMPLETE, value,
                                 {self.objective: raw}, budget))
            else:
                model.mark_pending(Candidate(t.architecture))
        proposal = model.ask()
        return Candidate(proposal.architecture, info={"proposed_by": f"{self.proposer}@{budget:g}"})
