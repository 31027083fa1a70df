"""The per-job function shared by every executor: run the evaluator, map failures to a :class:`JobResult`.

:func:`run_job` never raises for a failing trial (only ``KeyboardInterrupt``/``SystemExit`` pass through):

* the evaluator returns a metrics dict -> ``status="ok"`` (metrics made JSON-friendly);
* the reporter asked the evaluator to stop -> ``status="pruned"`` with the metrics it returned;
* :class:`~nasforge.errors.EvaluationError` -> ``status="failed"``, ``reason=error.reason``
  (e.g. ``non_finite``) and the traceback;
* a returned metric that is NaN or infinite -> ``failed`` with reason ``non_finite``;
* anything else -> ``failed`` with reason ``exception`` and the traceback.

:func:`init_worker_process` is what a worker process does once before its first job (torch threads,
``evaluator.prepare()``).
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from nasforge.checks import check_int, check_seconds
from nasforge.errors import EvaluationError
from nasforge.estimate.base import Evaluator, Reporter
from nasforge.trial import Job, JobResult

#: called with ``(trial_number, step, metrics)`` on every intermediate report; ``False`` stops the trial
ReportHook = Callable[[int, float, dict[str, float]], "bool | None"]


class CollectingReporter(Reporter):
    """Records every ``report(step, metrics)`` and passes it to ``on_report``, whose answer it returns.

    Args:
        trial_number: the job's trial, passed to ``on_report``.
        on_report: the report channel (an executor's: the driver's answer, synchronously or over a pipe);
            ``False`` asks the evaluator to stop (the trial is then PRUNED), ``True``/``None`` continues.
    """

    def __init__(self, trial_number: int = 0, on_report: ReportHook | None = None) -> None:
        self.trial_number = trial_number
        self.on_report = on_report
        self.reports: list[tuple[float, dict[str, float]]] = []
        self.stopped = False

    def report(self, step: float, metrics: dict[str, float]) -> bool:
        clean = {str(k): _plain(v) for k, v in dict(metrics).items()}
        self.reports.append((float(step), clean))
        if self.on_report is not None and self.on_report(self.trial_number, float(step), clean) is False:
            self.stopped = True
            return False
        return True


def run_job(evaluator: Evaluator, job: Job, reporter: CollectingReporter | None = None) -> JobResult:
    """Run ``job`` with ``evaluator`` and return its :class:`JobResult` (see the module docstring)."""
    reporter = reporter if reporter is not None else CollectingReporter(job.trial_number)
    started = time.time()
    result = JobResult(trial_number=job.trial_number, status="ok", started_at=started)
    try:
        metrics = evaluator.evaluate(job.architecture, job.context, reporter)
        if not isinstance(metrics, Mapping):
            raise EvaluationError(
                "bad_metrics",
                f"{type(evaluator).__name__}.evaluate must return a dict of metrics, "
                f"got {type(metrics).__name__}",
            )
        result.metrics = {str(k): _plain(v) for k, v in metrics.items()}
        bad = sorted(k for k, v in result.metrics.items() if isinstance(v, float) and not math.isfinite(v))
        if bad:
            result.status, result.reason = "failed", "non_finite"
            result.traceback = f"non-finite metrics returned by the evaluator: {', '.join(bad)}"
        elif reporter.stopped:
            result.status = "pruned"
    except EvaluationError as exc:
        result.status, result.reason = "failed", exc.reason
        result.traceback = traceback.format_exc()
    except Exception:
        result.status, result.reason = "failed", "exception"
        result.traceback = traceback.format_exc()
    result.intermediate = list(reporter.reports)
    result.completed_at = time.time()
    checkpoint = result.metrics.pop("checkpoint", None) if isinstance(result.metrics, dict) else None
    if isinstance(checkpoint, str):
        result.checkpoint = checkpoint
    return result


def limit_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads in this process: the OpenMP/BLAS variables (read when torch or NumPy
    load later) and, if torch is already loaded, ``torch.set_num_threads``. Torch is not imported here,
    so workers of torch-free evaluators (tabular lookups) start fast."""
    if threads is None:
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(int(threads))
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(int(threads))


def init_worker_process(evaluator: Evaluator, threads: int | None) -> None:
    """One-time set-up of a worker process: torch/BLAS threads, then ``evaluator.prepare()``."""
    limit_threads(threads)
    evaluator.prepare()
    limit_threads(threads)  # prepare() may have imported torch


def failed_result(job_number: int, reason: str, message: str, started_at: float | None = None,
                  intermediate: list[tuple[float, dict[str, float]]] | None = None) -> JobResult:
    """A ``failed`` :class:`JobResult` built by an executor (worker lost, timeout) rather than a worker."""
    return JobResult(
        trial_number=job_number,
        status="failed",
        reason=reason,
        traceback=message,
        started_at=started_at,
        completed_at=time.time(),
        intermediate=list(intermediate or []),
    )


def check_executor_params(workers: Any, trial_timeout: Any, threads: Any) -> None:
    """Validate the parameters every parallel executor shares; raises :class:`ConfigError`."""
    check_int("workers", workers, 1)
    check_seconds("trial_timeout", trial_timeout)
    check_int("threads", threads, 1, allow_none=True)


def _plain(value: Any) -> Any:
    """NumPy / torch scalars -> Python numbers, so results pickle small and store as JSON."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):
            return value
    return value
