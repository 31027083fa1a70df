"""Run trials one at a time in the driver's own process.

``submit`` only queues; the job runs inside :meth:`SerialExecutor.wait` (so Ctrl-C reaches the
driver's loop directly). Reports reach the driver's report handler synchronously: its answer is the
return value of the evaluator's ``reporter.report``. ``trial_timeout`` is enforced with ``SIGALRM`` when
the executor runs in the main thread of a POSIX process (the trial fails with reason ``timeout``);
elsewhere it is ignored.
"""

from __future__ import annotations

import collections
import signal
import threading
import time
from typing import Any, ClassVar

from nasforge.checks import check_seconds
from nasforge.errors import ConfigError
from nasforge.estimate.base import Evaluator
from nasforge.study.executors.base import Executor, ReportHandler
from nasforge.study.executors.worker import CollectingReporter, failed_result, run_job
from nasforge.trial import Job, JobResult


class _TrialTimeout(BaseException):
    """Raised inside a trial by the alarm; a BaseException so evaluators do not swallow it."""


class SerialExecutor(Executor):
    """In-process executor with capacity 1.

    Args:
        workers: must be 1 (use ``executor="process"`` for more).
        trial_timeout: seconds after which a trial fails with reason ``timeout`` (POSIX main thread).
        threads: accepted for interface compatibility; the driver's torch threads are left as they are.
    """

    name: ClassVar[str] = "serial"

    def __init__(
        self, workers: int = 1, trial_timeout: float | None = None, threads: int | None = None
    ) -> None:
        if workers != 1:
            raise ConfigError(
                f"the serial executor runs one trial at a time (workers=1), got workers={workers!r}; "
                "use executor='process' (or --executor process) for parallel workers"
            )
        check_seconds("trial_timeout", trial_timeout)
        self.workers = workers
        self.trial_timeout = trial_timeout
        self.threads = threads
        self._evaluator: Evaluator | None = None
        self._queue: collections.deque[Job] = collections.deque()
        self._on_report: ReportHandler | None = None

    def start(self, evaluator: Evaluator, on_report: ReportHandler | None = None) -> None:
        evaluator.prepare()
        self._evaluator = evaluator
        self._on_report = on_report

    @property
    def capacity(self) -> int:
        return 1

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> None:
        if self._evaluator is None:
            raise ConfigError("SerialExecutor.start(evaluator) must be called before submit()")
        self._queue.append(job)

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        if not self._queue or self._evaluator is None:
            return []
        job = self._queue[0]
        started = time.time()
        try:
            result = self._run(job)
        except _TrialTimeout:
            result = failed_result(
                job.trial_number, "timeout", f"trial exceeded trial_timeout={self.trial_timeout}s", started
            )
        finally:
            self._queue.popleft()
        return [result]

    def _run(self, job: Job) -> JobResult:
        assert self._evaluator is not None
        use_alarm = (
            self.trial_timeout is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        reporter = CollectingReporter(job.trial_number, on_report=self._on_report)
        if not use_alarm:
            return run_job(self._evaluator, job, reporter)

        def on_alarm(signum: int, frame: Any) -> None:
            raise _TrialTimeout()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(self.trial_timeout))  # type: ignore[arg-type]
        try:
            return run_job(self._evaluator, job, reporter)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def shutdown(self, cancel: bool = True) -> None:
        self._queue.clear()
