"""Median stopping (Golovin et al., "Google Vizier", KDD 2017).

Every trial is started with the full budget. After ``grace`` epochs, a running trial is stopped at step
``t`` when its best value so far is worse than the median, over the finished trials that reached
``t``, of their running averages up to ``t`` (and at least ``min_trials`` such trials exist).
"""

from __future__ import annotations

import statistics
from typing import Any

from nasforge.checks import check_int, check_number
from nasforge.schedulers.base import Assignment, Decision, Scheduler, reached
from nasforge.trial import TrialState


class MedianStopping(Scheduler):
    """Stop trials whose best value trails the median of the others' running averages.

    Args:
        max_budget: budget of every trial (default: the evaluator's epochs).
        grace: epochs before any trial may be stopped.
        min_trials: finished trials needed at a step before stopping there.
    """

    name = "median-stopping"
    pauses = False

    def __init__(self, max_budget: float | None = None, grace: int = 1, min_trials: int = 3,
                 **params: Any) -> None:
        check_number("max_budget", max_budget, 0.0, low_open=True, allow_none=True)
        check_int("grace", grace, 0)
        check_int("min_trials", min_trials, 1)
        super().__init__(max_budget=max_budget, grace=grace, min_trials=min_trials, **params)
        self.grace, self.min_trials = grace, min_trials

    def next(self) -> Assignment | None:
        return Assignment("new", self.max_budget, 0) if self.allow_new else None

    def running_average(self, trial: Any, step: float) -> float | None:
        values = [self.sign * float(m[self.objective]) for s, m in trial.intermediate
                  if s <= step + 1e-9 and isinstance(m.get(self.objective), (int, float))]
        return sum(values) / len(values) if values else None

    def on_report(self, number: int, step: float, metrics: dict[str, float]) -> Decision:
        value = self.observe(number, step, metrics)
        if value is None or step < self.grace:
            return Decision.CONTINUE
        averages = []
        for t in self.trials:
            done = t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            if t.number != number and done and reached(t) >= step:
                avg = self.running_average(t, step)
                if avg is not None:
                    averages.append(avg)
        if len(averages) < self.min_trials:
            return Decision.CONTINUE
        best = max(v for _, v in self.live.get(number, [(step, value)]))
        return Decision.STOP if best < statistics.median(averages) else Decision.CONTINUE

    def promotable(self, trial: Any) -> bool:
        return False
