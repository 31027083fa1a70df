"""Successive halving and Hyperband (Li et al., "Hyperband", JMLR 2018), synchronous within a bracket.

Bracket ``s`` (``s = s_max .. 0``, ``s_max = floor(log_eta(R / r))``) starts
``n = ceil((s_max + 1) / (s + 1) * eta**s)`` trials at budget ``R * eta**-s`` and, each time a rung is
complete (every member paused, stopped or failed), promotes the best ``floor(n_k / eta)`` of rung ``k``
to budget ``R * eta**(k + 1 - s)``: the *same* trials continue from their checkpoints. The rest can no
longer be promoted. Hyperband cycles through the brackets ``s_max, s_max - 1, .., 0, s_max, ..``;
successive halving runs bracket ``s_max`` again and again. Budgets are whole epochs.

With several workers a new bracket opens whenever every open bracket is waiting for a rung, so no
worker idles (promotions always go first). With one worker the order is the paper's.
When the study may start no more new trials, a partly filled bracket is completed with what it has.
"""

from __future__ import annotations

import math
from typing import Any

from nasforge.checks import check_int
from nasforge.schedulers.base import Assignment, Scheduler, check_budgets, rung_budgets, sched_info
from nasforge.trial import Trial, TrialState


class Hyperband(Scheduler):
    """Hyperband: brackets of successive halving with different starting budgets.

    Args:
        min_budget: smallest budget (epochs) a trial is started with (``r``).
        max_budget: largest budget (``R``); default: the evaluator's epochs.
        eta: the halving rate (keep the best ``1/eta`` of a rung), ``>= 2``.
    """

    name = "hyperband"

    def __init__(self, min_budget: float = 1, max_budget: float | None = None, eta: float = 3,
                 **params: Any) -> None:
        check_budgets(min_budget, max_budget, eta)
        super().__init__(min_budget=min_budget, max_budget=max_budget, eta=eta, **params)
        self.min_budget, self.eta = float(min_budget), float(eta)
        self.budgets: list[float] = []
        self.members: dict[int, list[Trial]] = {}

    def on_setup(self) -> None:
        check_budgets(self.min_budget, self.max_budget, self.eta)
        self.budgets = rung_budgets(self.min_budget, self.max_budget, self.eta)

    @property
    def s_max(self) -> int:
        return len(self.budgets) - 1

    def bracket_s(self, bracket: int) -> int:
        """``s`` of bracket number ``bracket`` (the number of promotions its first trials may get)."""
        return self.s_max - bracket % (self.s_max + 1)

    def bracket_budgets(self, bracket: int) -> list[float]:
        s = self.bracket_s(bracket)
        return self.budgets[self.s_max - s:]

    def bracket_size(self, bracket: int) -> int:
        s = self.bracket_s(bracket)
        return math.ceil((self.s_max + 1) / (s + 1) * self.eta ** s - 1e-9)

    # -- state --------------------------------------------------------------------------------
    def on_sync(self) -> None:
        self.members = {}
        for t in self.trials:
            self.members.setdefault(int(sched_info(t).get("bracket", 0)), []).append(t)

    def _rung(self, trial: Trial, budgets: list[float]) -> int:
        budget = float(trial.budget or budgets[0])
        return min(range(len(budgets)), key=lambda k: abs(budgets[k] - budget))

    def _target(self, bracket: int) -> int:
        """Trials rung 0 of ``bracket`` waits for: its size, or what it has once the study may start no
        more trials, or once a member was promoted (a bracket closed early stays closed on resume)."""
        size = self.bracket_size(bracket)
        members = self.members.get(bracket, [])
        budgets = self.bracket_budgets(bracket)
        closed = not self.allow_new or any(self._rung(t, budgets) > 0 for t in members)
        return len(members) if closed and len(members) < size else size

    def rung_state(self, bracket: int, k: int) -> tuple[bool, list[Trial], list[Trial]]:
        """``(complete, entered, ranked)`` of rung ``k`` of ``bracket``: whether every member has its
        result, the trials that entered it, and those with a value at its budget, best first."""
        budgets = self.bracket_budgets(bracket)
        members = self.members.get(bracket, [])
        entered = [t for t in members if self._rung(t, budgets) >= k]
        expected = self._target(bracket) if k == 0 else None
        if k > 0:
            done, below, _ = self.rung_state(bracket, k - 1)
            expected = max(1, int(len(below) // self.eta)) if done else None
        complete = expected is not None and len(entered) >= expected and not any(
            t.state is TrialState.RUNNING and self._rung(t, budgets) == k for t in entered
        )
        scored = [(self.value_at(t, budgets[k]), t) for t in entered]
        ranked = [t for v, t in sorted(((v, t) for v, t in scored if v is not None),
                                       key=lambda p: (-p[0], p[1].number))]
        return complete, entered, ranked

    def _promotions(self, bracket: int) -> list[tuple[Trial, float]]:
        budgets = self.bracket_budgets(bracket)
        out = []
        for k in range(len(budgets) - 1):
            complete, entered, ranked = self.rung_state(bracket, k)
            if not complete:
                break
            for t in ranked[: max(1, int(len(entered) // self.eta))]:
                if self._rung(t, budgets) == k and self.paused(t):
                    out.append((t, budgets[k + 1]))
        return out

    # -- decisions ----------------------------------------------------------------------------
    def next(self) -> Assignment | None:
        for bracket in sorted(self.members):
            for trial, budget in self._promotions(bracket):
                return Assignment("promote", budget, bracket, trial.number)
        current = max(self.members) if self.members else -1
        if current >= 0 and len(self.members[current]) < self._target(current):
            return Assignment("new", self.bracket_budgets(current)[0], current)
        if not self.allow_new:
            return None
        return Assignment("new", self.bracket_budgets(current + 1)[0], current + 1)

    def promotable(self, trial: Trial) -> bool:
        if not self.paused(trial):
            return False
        bracket = int(sched_info(trial).get("bracket", 0))
        budgets = self.bracket_budgets(bracket)
        k = self._rung(trial, budgets)
        complete, entered, ranked = self.rung_state(bracket, k)
        top = {t.number for t in ranked[: max(1, int(len(entered) // self.eta))]}
        return not complete or trial.number in top


class SuccessiveHalving(Hyperband):
    """Successive halving (Jamieson & Talwalkar 2016): Hyperband's most aggressive bracket, repeated.

    Args:
        min_budget, max_budget, eta: as for :class:`Hyperband`.
        n_configs: trials per bracket (default ``eta ** s_max``, the paper's choice).
    """

    name = "successive-halving"

    def __init__(self, min_budget: float = 1, max_budget: float | None = None, eta: float = 3,
                 n_configs: int | None = None, **params: Any) -> None:
        check_int("n_configs", n_configs, 1, allow_none=True)
        extra = {} if n_configs is None else {"n_configs": n_configs}
        super().__init__(min_budget=min_budget, max_budget=max_budget, eta=eta, **extra, **params)
        self.n_configs = n_configs

    def bracket_s(self, bracket: int) -> int:
        return self.s_max

    def bracket_size(self, bracket: int) -> int:
        if self.n_configs is not None:
            return self.n_configs
        return round(self.eta ** self.s_max)
