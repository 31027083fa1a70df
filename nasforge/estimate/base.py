"""The :class:`Evaluator` contract: score one architecture at one budget.

``evaluate`` returns a flat dict of metrics (``valid_acc`` for selection, ``test_acc`` for reporting
only, cost metrics such as ``params``, ``macs``, ``latency_ms``, ``train_seconds``). Along the way it
calls ``reporter.report(step, metrics)``; a reporter may answer "stop" (a scheduler pruning the trial),
after which the evaluator returns early with the metrics it has. A failure with a known cause raises
:class:`nasforge.errors.EvaluationError` with a reason (``non_finite``, ...); anything else is an
exception the executor records as FAILED with its traceback.

Evaluators must be picklable (they are sent to worker processes once) and deterministic under the
seed passed in the :class:`EvalContext`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from nasforge.space.architecture import Architecture
from nasforge.trial import EvalContext


class Reporter:
    """Receives intermediate metrics; :meth:`report` returns ``False`` to ask the evaluator to stop."""

    def report(self, step: float, metrics: dict[str, float]) -> bool:
        return True


class NullReporter(Reporter):
    """Accepts every report and never stops the evaluation."""


class Evaluator(ABC):
    """Base class of performance estimators."""

    name: ClassVar[str] = ""
    #: the objective the evaluator's metrics support by default
    default_objective: ClassVar[str] = "valid_acc"
    #: whether trained weights are left in ``context.checkpoint_dir`` (weight inheritance needs them)
    leaves_checkpoints: ClassVar[bool] = False

    @abstractmethod
    def evaluate(
        self, architecture: Architecture, context: EvalContext, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        """Train/look up ``architecture`` at ``context.budget`` and return its metrics."""

    def prepare(self) -> None:
        """Load heavy state (data, tables) once per process before the first ``evaluate``."""

    def reported_metrics(self) -> tuple[str, ...] | None:
        """The metric names every successful :meth:`evaluate` returns; objectives and constraints
        naming another metric are refused up front. ``None`` (the default): not declared, not checked."""
        return None

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable description (recorded with the study)."""
        return {"name": self.name}

    def describe_task(self) -> dict[str, Any]:
        """Task descriptor recorded with the study (name, shape, size, classes)."""
        return {}
