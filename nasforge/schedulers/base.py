"""The :class:`Scheduler` contract: how much budget each trial gets, and continue / stop / pause.

The strategy says *what* to try; a scheduler says *how much budget*. It is ask/tell like a strategy,
seeded, and its state is a function of the stored trials: :meth:`Scheduler.sync` rebuilds it from the
study's trials (by number) before every decision, so resume is replay and nothing is pickled.

What a scheduler reads from a stored trial:

* ``trial.info["sched"]``: ``{"bracket": b, "first_budget": B0}`` written when the trial was created,
  plus ``"continued": k`` once it was promoted ``k`` times;
* ``trial.budget``: the budget of its current (or last) segment;
* ``trial.intermediate``: one ``(epoch, metrics)`` report per epoch (all segments), from which the value
  at each rung is read;
* ``trial.state``: RUNNING (in flight), COMPLETE (reached the maximum budget), PRUNED (paused at a rung,
  or stopped), FAILED.

Decisions:

* :meth:`Scheduler.next` -> :class:`Assignment`: promote a paused trial to a larger budget (the same
  trial continues from its checkpoint), or start a new trial at a budget, or ``None`` (wait).
* :meth:`Scheduler.on_report` -> :class:`Decision` for each epoch's report of a running trial.
* :meth:`Scheduler.promotable`: whether a paused trial may still be promoted (else its checkpoint goes).
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasforge.checks import check_int, check_number
from nasforge.errors import ConfigError
from nasforge.trial import Candidate, Trial, TrialState


class Decision(enum.StrEnum):
    """A scheduler's answer to one intermediate report."""

    CONTINUE = "continue"
    STOP = "stop"  # the trial ends here for good (PRUNED)
    PAUSE = "pause"  # the trial ends here, keeps its training state and may be promoted later


@dataclass(frozen=True)
class Assignment:
    """What to run next: ``kind`` ``"new"`` (a new trial at ``budget`` in ``bracket``) or ``"promote"``
    (continue trial ``trial`` to ``budget``)."""

    kind: str
    budget: float
    bracket: int = 0
    trial: int | None = None


def sched_info(trial: Trial) -> dict[str, Any]:
    """The scheduler record of a trial (``{}`` for trials run without a scheduler)."""
    info = trial.info.get("sched")
    return info if isinstance(info, dict) else {}


def reached(trial: Trial) -> float:
    """Epochs (budget) the trial has reached: its last report's step, else its metrics' ``epochs``."""
    if trial.intermediate:
        return float(trial.intermediate[-1][0])
    epochs = trial.metrics.get("epochs")
    if isinstance(epochs, (int, float)):
        return float(epochs)
    return float(trial.budget or 0) if trial.state is TrialState.COMPLETE else 0.0


def raw_at(trial: Trial, step: float, metric: str) -> float | None:
    """The ``metric`` reported at ``step`` (``None`` when not reported)."""
    for s, metrics in trial.intermediate:
        if abs(float(s) - float(step)) < 1e-9:
            value = metrics.get(metric)
            return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
    return None


def check_budgets(min_budget: Any, max_budget: Any, eta: Any = None) -> None:
    """``0 < min_budget <= max_budget`` and ``eta >= 2``; raises :class:`ConfigError` naming the value."""
    check_number("min_budget", min_budget, 0.0, low_open=True)
    check_number("max_budget", max_budget, 0.0, low_open=True, allow_none=True)
    if max_budget is not None and min_budget > max_budget:
        raise ConfigError(
            f"min_budget <= max_budget must hold, but got (min_budget={min_budget}, max_budget={max_budget})"
        )
    if eta is not None:
        check_number("eta", eta, 2.0)


def has_budget(evaluator: Any) -> bool:
    """Whether an evaluator takes a budget (training epochs, or a benchmark with fidelities)."""
    return bool(getattr(evaluator, "supports_budget", hasattr(evaluator, "epochs")))


class Scheduler(ABC):
    """Base class of multi-fidelity schedulers.

    Constructors only store keyword parameters (``self.params``). Every scheduler accepts
    ``keep_checkpoints`` (keep the training state of trials that can no longer be promoted).
    :meth:`setup` binds the seed, the objective and the maximum budget (the evaluator's default budget
    when ``max_budget`` is not given).
    """

    name: ClassVar[str] = ""
    #: whether trials may be paused at a rung and continued later (their training state is kept)
    pauses: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        keep = params.get("keep_checkpoints", False)
        if not isinstance(keep, bool):
            raise ConfigError(f"keep_checkpoints must be true or false, got {keep!r}")
        self.params: dict[str, Any] = dict(params)
        self.keep_checkpoints = keep
        self.seed = 0
        self.objective = "valid_acc"
        self.sign = 1.0
        self.max_budget = float(params.get("max_budget") or 0.0)
        self.trials: list[Trial] = []
        self.allow_new = True
        self.live: dict[int, list[tuple[float, float]]] = {}  # running trials' reports (value, sign applied)

    # -- life cycle ---------------------------------------------------------------------------
    def resolve_max_budget(self, default_budget: float | None) -> float:
        """The maximum budget this scheduler runs with (its ``max_budget``, else ``default_budget``: the
        evaluator's epochs), its budgets checked against it; :class:`ConfigError` naming the value."""
        given = self.params.get("max_budget")
        if given is None:
            if default_budget is None:
                raise ConfigError(f"scheduler {self.name!r} needs max_budget (or an evaluator with epochs)")
            given = default_budget
        check_budgets(self.params.get("min_budget", 1), float(given), self.params.get("eta"))
        return float(given)

    def setup(self, seed: int = 0, objective: str = "valid_acc", direction: str = "maximize",
              default_budget: float | None = None) -> Scheduler:
        """Bind seed, objective and maximum budget; resets all state. Returns ``self``."""
        check_int("seed", seed, 0)
        self.seed = int(seed)
        self.objective = objective
        self.sign = -1.0 if direction == "minimize" else 1.0
        self.max_budget = self.resolve_max_budget(default_budget)
        self.trials, self.live = [], {}
        self.on_setup()
        return self

    def on_setup(self) -> None:
        """Hook: build what depends on the maximum budget (rungs, brackets)."""

    def sync(self, trials: Sequence[Trial], allow_new: bool = True) -> None:
        """Rebuild the state from the study's trials (by number; requeued ones are left out).
        ``allow_new=False``: the study may start no more new trials (only promotions)."""
        self.trials = [t for t in trials if not t.info.get("requeued") and sched_info(t)]
        self.allow_new = allow_new
        running = {t.number for t in self.trials if t.state is TrialState.RUNNING}
        self.live = {n: v for n, v in self.live.items() if n in running}
        self.on_sync()

    def on_sync(self) -> None:
        """Hook: derive brackets / rungs from ``self.trials``."""

    # -- decisions ----------------------------------------------------------------------------
    @abstractmethod
    def next(self) -> Assignment | None:
        """The next thing to run (a promotion or a new trial), or ``None`` to wait."""

    def on_report(self, number: int, step: float, metrics: dict[str, float]) -> Decision:
        """Answer one epoch's report of running trial ``number`` (default: continue)."""
        self.observe(number, step, metrics)
        return Decision.CONTINUE

    def observe(self, number: int, step: float, metrics: dict[str, float]) -> float | None:
        """Remember a live report; returns its value (sign applied) or ``None``."""
        raw = metrics.get(self.objective)
        if not isinstance(raw, (int, float)) or not math.isfinite(raw):
            return None
        value = self.sign * float(raw)
        self.live.setdefault(number, []).append((float(step), value))
        return value

    def promotable(self, trial: Trial) -> bool:
        """Whether paused ``trial`` may still be promoted (default: while it is paused below the top)."""
        return self.paused(trial)

    def propose(self, strategy: Any) -> Candidate:
        """The architecture of a new trial (default: the study's strategy is asked)."""
        return strategy.ask()

    # -- helpers ------------------------------------------------------------------------------
    def value_at(self, trial: Trial, budget: float) -> float | None:
        """The trial's objective at ``budget`` (sign applied: higher is better), or ``None``."""
        raw = raw_at(trial, budget, self.objective)
        if raw is None and trial.state is not TrialState.RUNNING and trial.value is not None \
                and abs(reached(trial) - budget) < 1e-9:
            return float(trial.value)
        return None if raw is None else self.sign * raw

    def paused(self, trial: Trial) -> bool:
        """PRUNED at the end of its segment (its budget reached, below the maximum): may continue."""
        return (trial.state is TrialState.PRUNED and trial.budget is not None
                and reached(trial) >= float(trial.budget) - 1e-9 and float(trial.budget) < self.max_budget
                and not sched_info(trial).get("stopped"))

    def rng(self, *salt: int) -> np.random.Generator:
        """A generator derived from ``(seed, trials so far, *salt)`` (never carried over: replayable)."""
        return np.random.default_rng([self.seed, len(self.trials), *salt])

    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., **params}``; JSON-serialisable."""
        return {"name": self.name, **self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def rung_budgets(min_budget: float, max_budget: float, eta: float, integer: bool = True) -> list[float]:
    """``max_budget * eta**-k`` for ``k = s_max .. 0`` (ascending), ``s_max = floor(log_eta(R / r))``;
    rounded to whole epochs (at least 1) when ``integer``."""
    s_max = math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9)
    out: list[float] = []
    for k in range(s_max, -1, -1):
        b = max_budget * eta ** (-k)
        b = float(max(1, round(b))) if integer else b
        if not out or b > out[-1]:
            out.append(b)
    return out
