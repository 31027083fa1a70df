"""What the executors with workers (process, Ray) share: worker slots, the job queue, the finished results,
trial clocks and timeouts, reports of running trials, ``submit`` / ``wait``.

A subclass says how a worker is started (:meth:`SlotExecutor._spawn`), handed a job
(:meth:`SlotExecutor._send`), watched (:meth:`SlotExecutor._poll`, :meth:`SlotExecutor._block`) and
discarded (:meth:`SlotExecutor._discard`); this base fills free slots from the queue, starts each
trial's clock, fails trials past ``trial_timeout`` and records every report of a running trial.
"""

from __future__ import annotations

import collections
import time
from abc import abstractmethod
from typing import Any, ClassVar

from nasforge.errors import ConfigError
from nasforge.estimate.base import Evaluator
from nasforge.study.executors.base import Executor, ReportHandler, wait_loop
from nasforge.study.executors.worker import check_executor_params, failed_result
from nasforge.trial import Job, JobResult


class Slot:
    """One worker slot: the job it runs (``None`` when idle), that trial's clock and its reports.

    ``clock`` is the monotonic time the trial clock started; before the worker said the trial began it
    is the dispatch time plus the executor's ``start_timeout`` (grace for a worker still starting).
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.job: Job | None = None
        self.clock: float | None = None
        self.started_at: float | None = None  # wall time the trial began (``time.time()``)
        self.reports: list[tuple[float, dict[str, float]]] = []

    def clear_job(self) -> None:
        self.job, self.clock, self.started_at, self.reports = None, None, None, []


class SlotExecutor(Executor):
    """Base of executors whose ``workers`` slots each run one job at a time (see the module docstring).

    Args:
        workers: number of worker slots (>= 1).
        trial_timeout: seconds a trial may run before its worker is discarded (``None``: no limit).
        threads: torch threads per worker (``None`` leaves torch's default).
        start_timeout: seconds a worker may take to start (:meth:`ready` waits this long).
    """

    #: what a worker is called in messages ("worker", "Ray actor")
    worker_word: ClassVar[str] = "worker"

    def __init__(self, workers: int = 2, trial_timeout: float | None = None, threads: int | None = 1,
                 start_timeout: float = 300.0) -> None:
        self.workers = workers
        self.trial_timeout = trial_timeout
        self.threads = threads
        self.start_timeout = start_timeout
        self._started = False

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self, evaluator: Evaluator, on_report: ReportHandler | None = None) -> None:
        """Start the workers (without waiting for them: see :meth:`ready`) and ship the evaluator."""
        if self._started:
            self.shutdown(cancel=True)  # a second start replaces the workers of the first
        self._check_params()
        self._on_report = on_report
        self._slots = [self._new_slot(i) for i in range(int(self.workers))]
        self._queue: collections.deque[Job] = collections.deque()
        self._done: list[JobResult] = []
        self._is_ready = False
        self._launch(evaluator)
        self._started = True
        for slot in self._slots:
            self._spawn(slot)

    def ready(self) -> None:
        """Wait (once) until every worker is ready; see :meth:`_await_ready`."""
        if not self._started or self._is_ready:
            return
        self._await_ready()
        self._is_ready = True

    def _check_params(self) -> None:
        check_executor_params(self.workers, self.trial_timeout, self.threads)

    # -- the Executor contract --------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return int(self.workers)

    @property
    def in_flight(self) -> int:
        if not self._started:
            return 0
        return len(self._queue) + sum(1 for s in self._slots if s.job is not None) + len(self._done)

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (diagnostics and tests)."""
        if not self._started:
            return []
        return [pid for pid in (self._pid(s) for s in self._slots) if pid is not None]

    def submit(self, job: Job) -> None:
        """Queue ``job``; it goes to the first free worker (never blocks once the workers are ready)."""
        if not self._started:
            raise ConfigError(
                f"{type(self).__name__}.submit() called before start(evaluator); call start() first"
            )
        self.ready()
        self._queue.append(job)
        self._dispatch()

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Block until at least one job finished or ``timeout`` seconds passed; return finished results."""
        if not self._started:
            return []
        return wait_loop(self._pump, lambda: self.in_flight, self._next_timeout_in, self._block, timeout)

    def _pump(self) -> list[JobResult]:
        self._poll()
        self._check_timeouts()
        self._dispatch()
        done, self._done = self._done, []
        return done

    # -- slots ------------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.job is not None:
                continue
            if not self._alive(slot):
                self._spawn(slot)
            job = self._queue.popleft()
            slot.clear_job()
            slot.job = job
            slot.clock = time.monotonic() + (0.0 if self._worker_ready(slot) else float(self.start_timeout))
            self._send(slot, job)

    def _trial_began(self, slot: Slot) -> None:
        """The worker of ``slot`` started its trial: the trial clock starts now."""
        slot.clock, slot.started_at = time.monotonic(), time.time()

    def _finished(self, slot: Slot, result: JobResult) -> None:
        self._done.append(result)
        slot.clear_job()

    def _lost(self, slot: Slot, reason: str, message: str) -> JobResult:
        """A failed result for the job of ``slot`` with the reports it streamed so far."""
        number = slot.job.trial_number if slot.job is not None else -1
        return failed_result(number, reason, message, slot.started_at, slot.reports)

    def _report(self, slot: Slot, number: int, step: float, metrics: dict[str, float],
                ask: bool = True) -> bool:
        """Record a report of ``slot``'s trial and return the driver's answer (``True`` without a handler,
        for a trial no longer running there, or with ``ask=False``)."""
        if slot.job is None or slot.job.trial_number != number:
            return True
        slot.reports.append((float(step), metrics))
        if not ask or self._on_report is None:
            return True
        return bool(self._on_report(number, float(step), metrics))

    def _check_timeouts(self) -> None:
        if self.trial_timeout is None:
            return
        now = time.monotonic()
        for slot in self._slots:
            if slot.job is None or slot.clock is None or now - slot.clock <= self.trial_timeout:
                continue
            message = (
                f"the trial ran longer than trial_timeout={self.trial_timeout} s; its {self.worker_word} "
                "was killed"
            )
            self._done.append(self._lost(slot, "timeout", message))
            slot.clear_job()
            self._discard(slot)

    def _next_timeout_in(self) -> float | None:
        if self.trial_timeout is None:
            return None
        now = time.monotonic()
        waits = [s.clock + self.trial_timeout - now for s in self._slots if s.job is not None and s.clock]
        return max(0.0, min(waits)) + 0.01 if waits else None

    # -- what subclasses provide ------------------------------------------------------------------------
    def _new_slot(self, index: int) -> Slot:
        return Slot(index)

    @abstractmethod
    def _launch(self, evaluator: Evaluator) -> None:
        """Prepare what every worker receives (the pickled evaluator, a Ray object reference)."""

    @abstractmethod
    def _spawn(self, slot: Any) -> None:
        """Start a fresh worker in ``slot`` (without waiting for it)."""

    @abstractmethod
    def _await_ready(self) -> None:
        """Block until every slot's worker is ready; raise ``EvaluationError("worker_init")`` if not."""

    @abstractmethod
    def _send(self, slot: Any, job: Job) -> None:
        """Hand ``job`` to the worker of ``slot``."""

    @abstractmethod
    def _poll(self) -> None:
        """Collect, without blocking, what the workers sent (reports, results) and workers that died."""

    @abstractmethod
    def _block(self, pause: float | None) -> None:
        """Sleep until a worker has news or ``pause`` seconds passed."""

    @abstractmethod
    def _discard(self, slot: Any) -> None:
        """Kill the worker of ``slot`` (its job was already failed); a fresh one takes the slot later."""

    @abstractmethod
    def _alive(self, slot: Any) -> bool:
        """Whether ``slot`` has a worker (started or starting)."""

    @abstractmethod
    def _worker_ready(self, slot: Any) -> bool:
        """Whether the worker of ``slot`` finished starting."""

    @abstractmethod
    def _pid(self, slot: Any) -> int | None:
        """The process id of the live worker of ``slot`` (``None``: none, or not known yet)."""
