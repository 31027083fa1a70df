"""The :class:`Executor` contract: *where* trials run. The study (driver) stays the only writer.

The driver calls ``start(evaluator, on_report=...)`` once (it may return before the workers are up),
``ready()`` before its first job (workers that failed to start raise here, before anything is
stored for a trial), then ``submit(job)`` up to ``capacity`` jobs, and ``wait(timeout)`` to collect
finished :class:`JobResult` s (in completion order). Executors never touch the store or the strategy;
they send the evaluator (and its task data) to each worker once.

**The report channel.** ``on_report(trial_number, step, metrics) -> bool`` is called by the executor,
in the driver's thread, for every intermediate report of a running trial, *while the trial runs*; its
answer goes back to the evaluator as the return value of ``reporter.report(step, metrics)``: ``True``
continues, ``False`` asks the evaluator to stop now (the trial ends PRUNED with what it has). The
answer reaches the evaluator before it trains further:

* serial: the reporter calls ``on_report`` synchronously;
* process: the worker sends ``("report", n, seq, step, metrics)`` and blocks until the driver's
  ``("answer", n, seq, continue)`` arrives; the driver answers inside ``wait`` (so a worker waits for
  at most the time the driver spends between two ``wait`` calls);
* ray: the actor calls a small asynchronous report-hub actor and blocks on its answer; the driver
  polls the hub inside ``wait`` and answers each report.

Without ``on_report`` (``None``) the reports only travel with the result (``JobResult.intermediate``)
and ``report`` always returns ``True``. Every report, answered or not, is also in ``intermediate``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from nasforge.estimate.base import Evaluator
from nasforge.trial import Job, JobResult

#: ``(trial_number, step, metrics) -> continue?``: the driver's answer to an intermediate report
ReportHandler = Callable[[int, float, dict[str, float]], bool]


class Executor(ABC):
    """Base class of executors (serial, process, ray)."""

    name: ClassVar[str] = ""

    @abstractmethod
    def start(self, evaluator: Evaluator, on_report: ReportHandler | None = None) -> None:
        """Start workers and ship the evaluator (with its data) to each, once; ``on_report`` is the
        report channel (see the module docstring). May return before the workers are ready."""

    def ready(self) -> None:
        """Block until the workers started by :meth:`start` are ready; raise
        :class:`~nasforge.errors.EvaluationError` (reason ``worker_init``) if they cannot start."""

    @property
    @abstractmethod
    def capacity(self) -> int:
        """How many jobs can run at once."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Queue ``job``; must not block while fewer than ``capacity`` jobs are in flight."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Block until at least one job finished (or ``timeout``), return the finished ones."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Number of submitted jobs not yet returned by :meth:`wait`."""

    @abstractmethod
    def shutdown(self, cancel: bool = True) -> None:
        """Stop workers; with ``cancel`` running jobs are abandoned."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(cancel=True)


def wait_loop(
    pump: Callable[[], list[JobResult]],
    in_flight: Callable[[], int],
    next_timeout_in: Callable[[], float | None],
    block: Callable[[float | None], None],
    timeout: float | None,
) -> list[JobResult]:
    """The ``wait`` of executors with workers: pump events until a result, an idle executor or ``timeout``.

    ``pump`` collects what arrived, enforces trial timeouts, fills free slots and returns (and clears)
    the finished results; ``block(pause)`` sleeps until a worker has news or ``pause`` seconds passed
    (``pause`` is the nearer of the caller's deadline and the next trial timeout).
    """
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        done = pump()
        if done or in_flight() == 0:
            return done
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return []
        pause = next_timeout_in()
        if deadline is not None:
            pause = deadline - now if pause is None else min(pause, deadline - now)
        block(pause)
