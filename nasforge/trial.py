"""Records every layer passes around: trials, candidates, evaluation contexts, jobs and their results.

This module belongs to no layer: strategies, schedulers, evaluators, executors and the study all
import it, and it imports nothing of theirs (only the genotype type), so no package imports "up".

* :class:`Candidate`: what a strategy proposes (an architecture, a budget, a parent trial).
* :class:`Trial` / :class:`TrialState`: one stored evaluation of a candidate and its life cycle.
* :class:`EvalContext`: what an evaluator is told about the trial it runs (seed, budget, device,
  checkpoint directories).
* :class:`Job` / :class:`JobResult`: what the driver hands an executor and what comes back.
"""

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


@dataclass
class EvalContext:
    """Per-trial context an executor passes to the evaluator.

    ``budget`` is what the trial should reach (epochs for training; ``None``: the evaluator's default);
    ``max_budget`` is the largest budget any trial of the study may reach (a scheduler's maximum), on
    which a training evaluator defines its learning-rate schedule so paused trials continue on it.
    ``resume_from`` names this trial's own saved training state to continue *exactly* (a promotion),
    with the hash the study recorded in ``resume_sha256``; ``parent_checkpoint`` names another trial's
    weights to start from (weight inheritance, morphisms) with a fresh optimizer. ``save_state`` asks
    for the whole training state to be left in ``checkpoint_dir`` (the trial may be continued).
    """

    trial_number: int = 0
    seed: int = 0
    budget: float | None = None
    device: str = "cpu"
    checkpoint_dir: str | None = None  # where to leave a checkpoint (weights) if the evaluator can
    parent_checkpoint: str | None = None  # weights to start from (inheritance)
    resume_from: str | None = None  # this trial's own training state to continue exactly
    resume_sha256: str | None = None
    max_budget: float | None = None
    save_state: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    """One trial to run."""

    trial_number: int
    architecture: Architecture
    context: EvalContext


@dataclass
class JobResult:
    """Outcome of one job. ``status`` is ``"ok"``, ``"failed"`` or ``"pruned"``.

    ``reason`` is a short machine word for failures (``exception``, ``non_finite``, ``worker_lost``,
    ``timeout``, ...). ``intermediate`` are the ``(step, metrics)`` reports in order.
    """

    trial_number: int
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    traceback: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    intermediate: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    checkpoint: str | None = None
