"""ASHA (Li et al., "A system for massively parallel hyperparameter tuning", MLSys 2020).

Rungs ``k = 0 .. K`` at budgets ``R * eta**(k - K)`` (whole epochs, the last one ``R``). Nothing waits
for a full rung:

* **promotion** variant: a trial pauses at each rung. Whenever a worker is free, the highest rung
  ``k < K`` holding a paused trial in the top ``floor(n_k / eta)`` of the ``n_k`` results recorded at
  rung ``k`` promotes it (the same trial continues from its checkpoint); otherwise a new trial starts at
  rung 0. A paused trial stays promotable while its rung grows.
* **stopping** variant: every trial is started with the full budget ``R``; at each rung's epoch its
  report is ranked against every result recorded at that rung so far (stored and live) and the trial is
  stopped unless it is in the top ``1/eta`` (the first ``eta - 1`` arrivals always continue).
"""

from __future__ import annotations

import math
from typing import Any

from nasforge.checks import check_choice
from nasforge.schedulers.base import Assignment, Decision, Scheduler, check_budgets, rung_budgets
from nasforge.trial import Trial, TrialState


class ASHA(Scheduler):
    """Asynchronous successive halving.

    Args:
        min_budget, max_budget, eta: as for Hyperband.
        variant: ``"promotion"`` (pause and promote) or ``"stopping"`` (start at ``R``, stop early).
    """

    name = "asha"

    def __init__(self, min_budget: float = 1, max_budget: float | None = None, eta: float = 3,
                 variant: str = "promotion", **params: Any) -> None:
        check_budgets(min_budget, max_budget, eta)
        check_choice("variant", variant, ("promotion", "stopping"))
        super().__init__(min_budget=min_budget, max_budget=max_budget, eta=eta, variant=variant, **params)
        self.min_budget, self.eta, self.variant = float(min_budget), float(eta), variant
        self.budgets: list[float] = []

    @property
    def pauses(self) -> bool:  # type: ignore[override]
        return self.variant == "promotion"

    def on_setup(self) -> None:
        self.budgets = rung_budgets(self.min_budget, self.max_budget, self.eta)

    def results(self, k: int) -> dict[int, float]:
        """Trial number -> value recorded at rung ``k`` (stored trials and live reports)."""
        budget = self.budgets[k]
        out = {}
        for t in self.trials:
            value = self.value_at(t, budget)
            if value is not None:
                out[t.number] = value
        for number, reports in self.live.items():
            for step, value in reports:
                if abs(step - budget) < 1e-9:
                    out[number] = value
        return out

    def top(self, k: int) -> list[int]:
        """Trial numbers in the top ``floor(n_k / eta)`` of rung ``k`` (best first, ties by number)."""
        res = self.results(k)
        ranked = sorted(res, key=lambda n: (-res[n], n))
        return ranked[: int(len(ranked) // self.eta)]

    def next(self) -> Assignment | None:
        if self.variant == "promotion":
            by_number = {t.number: t for t in self.trials}
            for k in range(len(self.budgets) - 2, -1, -1):
                for number in self.top(k):
                    t = by_number.get(number)
                    at_k = t is not None and abs(float(t.budget or 0) - self.budgets[k]) < 1e-9
                    if at_k and self.paused(t):  # type: ignore[arg-type]
                        return Assignment("promote", self.budgets[k + 1], 0, number)
        if not self.allow_new:
            return None
        first = self.budgets[0] if self.variant == "promotion" else self.budgets[-1]
        return Assignment("new", first, 0)

    def on_report(self, number: int, step: float, metrics: dict[str, float]) -> Decision:
        value = self.observe(number, step, metrics)
        if self.variant != "stopping" or value is None:
            return Decision.CONTINUE
        for k, budget in enumerate(self.budgets[:-1]):
            if abs(step - budget) < 1e-9:
                res = self.results(k)
                better = sum(1 for n, v in res.items() if n != number and v > value)
                keep = max(1, math.floor(len(res) / self.eta))
                if len(res) >= self.eta and better >= keep:
                    return Decision.STOP
        return Decision.CONTINUE

    def promotable(self, trial: Trial) -> bool:
        return self.variant == "promotion" and self.paused(trial) and trial.state is TrialState.PRUNED
