"""Trial records and candidates: plain data shared by strategies, schedulers, executors and store."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from nasforge.space.architecture import Architecture


class TrialState(enum.StrEnum):
    """Life cycle of a trial."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"

    @property
    def finished(self) -> bool:
        return self is not TrialState.RUNNING


@dataclass(frozen=True)
class Candidate:
    """What a strategy proposes: an architecture, optionally a budget and a parent trial number."""

    architecture: Architecture
    budget: float | None = None
    parent: int | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Trial:
    """One evaluation of one candidate.

    ``value`` is the study objective as a score to *maximise* (the study negates minimised
    objectives), ``None`` unless COMPLETE (or PRUNED with a last reported value). ``metrics`` is the
    flat dict the evaluator returned (``valid_acc``, ``test_acc``, ``params``, ...).
    """

    number: int
    architecture: Architecture
    state: TrialState = TrialState.RUNNING
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    budget: float | None = None
    parent: int | None = None
    error: str | None = None
    traceback: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    checkpoint: str | None = None
    intermediate: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return self.completed_at - self.started_at

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.architecture, self.budget, self.parent, dict(self.info))
