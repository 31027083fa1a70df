"""Run trials in long-lived, spawned worker processes (one job at a time each).

The evaluator (with its task data) is pickled once and sent to each worker when it starts; the
worker sets its torch threads, calls ``evaluator.prepare()`` and then serves jobs over a pipe,
streaming ``started`` / ``report`` / ``result`` messages back. Fault semantics:

* an exception or :class:`~nasforge.errors.EvaluationError` inside a trial -> handled by
  :func:`~nasforge.study.executors.worker.run_job` (``exception`` / the error's reason);
* a worker that dies mid-trial (SIGKILL, out of memory, ``os._exit``) -> ``failed`` with reason
  ``worker_lost``; a fresh worker takes the slot when the next job arrives;
* a trial running longer than ``trial_timeout`` seconds -> its worker is killed, the result is
  ``failed`` with reason ``timeout`` and a fresh worker takes the slot.

Workers ignore SIGINT (Ctrl-C is the driver's to handle) and exit on their own when the driver
dies (they poll their parent pid), so a SIGKILLed driver leaves no orphans running.
"""

from __future__ import annotations

import atexit
import collections
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from typing import Any, ClassVar

from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.base import Evaluator
from nasforge.study.executors.base import Executor, wait_loop
from nasforge.study.executors.worker import (
    CollectingReporter,
    check_executor_params,
    failed_result,
    init_worker_process,
    limit_threads,
    run_job,
)
from nasforge.trial import Job, JobResult

_PARENT_POLL_S = 0.5
_LIVE: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


def _worker_main(conn: Connection, payload: bytes, threads: int | None, parent_pid: int) -> None:
    """Entry point of a worker process (module level so ``spawn`` can import it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch_parent() -> None:
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch_parent, name="nasforge-parent-watch", daemon=True).start()
    lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            conn.send(message)

    try:
        limit_threads(threads)  # before unpickling, which may import torch
        evaluator = pickle.loads(payload)  # bytes made by our own parent process: trusted
        init_worker_process(evaluator, threads)
    except Exception:
        send(("init_failed", traceback.format_exc()))
        return
    send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        send(("started", job.trial_number, time.time()))
        reporter = CollectingReporter(job.trial_number, on_report=lambda n, s, m: send(("report", n, s, m)))
        result = run_job(evaluator, job, reporter)
        try:
            send(("result", result))
        except Exception:  # metrics that do not pickle
            fallback = failed_result(job.trial_number, "exception", traceback.format_exc(), result.started_at,
                                     result.intermediate)
            send(("result", fallback))


class _Slot:
    """One worker slot: its process (``None`` until spawned / after it died) and its current job."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: Any = None
        self.conn: Connection | None = None
        self.ready = False
        self.job: Job | None = None
        self.dispatched_at = 0.0
        self.started_at: float | None = None
        self.reports: list[tuple[float, dict[str, float]]] = []

    def clear_job(self) -> None:
        self.job, self.started_at, self.reports = None, None, []


class ProcessExecutor(Executor):
    """Spawned worker processes, one job each at a time.

    Args:
        workers: number of worker processes (>= 1).
        trial_timeout: seconds a trial may run before its worker is killed (``None``: no limit).
        threads: torch threads per worker (``None`` leaves torch's default).
        start_timeout: seconds :meth:`start` waits for the workers to be ready.
    """

    name: ClassVar[str] = "process"

    def __init__(self, workers: int = 2, trial_timeout: float | None = None, threads: int | None = 1,
                 start_timeout: float = 300.0) -> None:
        self.workers = workers
        self.trial_timeout = trial_timeout
        self.threads = threads
        self.start_timeout = start_timeout

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self, evaluator: Evaluator) -> None:
        """Spawn the workers, send each the evaluator once and wait until all have run ``prepare()``."""
        self.shutdown(cancel=True)  # a second start replaces the workers of the first
        self._check_params()
        try:
            self._payload = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"the evaluator must be picklable to run in worker processes, but pickling "
                f"{type(evaluator).__name__} failed: {exc}; use executor='serial' or make it picklable"
            ) from exc
        self._ctx = multiprocessing.get_context("spawn")
        self._slots = [_Slot(i) for i in range(int(self.workers))]
        self._queue: collections.deque[Job] = collections.deque()
        self._done: list[JobResult] = []
        self._started = True
        _LIVE.add(self)
        for slot in self._slots:
            self._spawn(slot)
        deadline = time.monotonic() + float(self.start_timeout)
        while not all(s.ready for s in self._slots):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.shutdown(cancel=True)
                raise EvaluationError("worker_init", f"workers not ready after {self.start_timeout} s "
                                      "(start_timeout); is evaluator.prepare() slow or stuck?")
            self._wait_any(min(remaining, 1.0))
            for slot in self._slots:
                error = self._drain(slot)
                if error is not None:
                    self.shutdown(cancel=True)
                    raise EvaluationError("worker_init", f"evaluator.prepare() failed in a worker:\n{error}")
                if slot.process is not None and not slot.ready and slot.process.exitcode is not None:
                    code = slot.process.exitcode
                    self.shutdown(cancel=True)
                    raise EvaluationError("worker_init", f"a worker exited with code {code} while starting")

    def _check_params(self) -> None:
        check_executor_params(self.workers, self.trial_timeout, self.threads)

    def _spawn(self, slot: _Slot) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, self._payload, self.threads, os.getpid()),
            name=f"nasforge-worker-{slot.index}",
            daemon=False,
        )
        process.start()
        child_conn.close()  # so the parent sees EOF when the worker dies
        slot.process, slot.conn, slot.ready = process, parent_conn, False

    def shutdown(self, cancel: bool = True) -> None:
        """Stop the workers. ``cancel``: kill them now (running trials are abandoned); otherwise each
        finishes its current trial first (its result is dropped; collect results with :meth:`wait`)."""
        if not getattr(self, "_started", False):
            return
        self._started = False
        self._queue.clear()
        live = [slot for slot in self._slots if slot.process is not None]
        for slot in live:
            if not cancel and slot.conn is not None:
                try:
                    slot.conn.send(None)  # finish the current trial, then exit
                except (OSError, BrokenPipeError):
                    pass
        if not cancel:  # wait for the running trials, reading the pipes so no worker blocks on a send
            deadline = None if self.trial_timeout is None else time.monotonic() + self.trial_timeout
            while alive := [s for s in live if s.process.is_alive()]:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                mp_wait([h for s in alive for h in (s.process.sentinel, s.conn) if h is not None], 0.5)
                for slot in alive:
                    self._drain(slot)
        for slot in live:
            if slot.process.is_alive():
                slot.process.terminate()
        for slot in live:
            slot.process.join(2.0)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5.0)
            self._close(slot)
        for slot in self._slots:
            slot.clear_job()
        self._done = []
        _LIVE.discard(self)

    # -- the Executor contract ----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return int(self.workers)

    @property
    def in_flight(self) -> int:
        if not getattr(self, "_started", False):
            return 0
        running = sum(1 for s in self._slots if s.job is not None)
        return len(self._queue) + running + len(self._done)

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (diagnostics and tests)."""
        if not getattr(self, "_started", False):
            return []
        return [s.process.pid for s in self._slots if s.process is not None and s.process.exitcode is None]

    def submit(self, job: Job) -> None:
        """Queue ``job``; it goes to the first free worker (never blocks)."""
        if not getattr(self, "_started", False):
            raise ConfigError("ProcessExecutor.submit() called before start(evaluator); call start() first")
        self._queue.append(job)
        self._dispatch()

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Block until at least one job finished or ``timeout`` seconds passed; return finished results."""
        if not getattr(self, "_started", False):
            return []
        return wait_loop(self._pump, lambda: self.in_flight, self._next_timeout_in, self._wait_any, timeout)

    def _pump(self) -> list[JobResult]:
        self._poll_all()
        self._check_timeouts()
        self._dispatch()
        done, self._done = self._done, []
        return done

    # -- internals --------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.job is not None:
                continue
            if slot.process is None:
                self._spawn(slot)
            job = self._queue.popleft()
            slot.clear_job()
            slot.job, slot.dispatched_at = job, time.monotonic()
            try:
                slot.conn.send(job)  # type: ignore[union-attr]
            except (OSError, BrokenPipeError):  # worker died idle: _poll_all reports it worker_lost
                pass

    def _wait_any(self, timeout: float | None) -> None:
        handles: list[Any] = []
        for slot in self._slots:
            if slot.process is not None:
                handles.append(slot.process.sentinel)
                if slot.conn is not None:
                    handles.append(slot.conn)
        if handles:
            mp_wait(handles, timeout)
        elif timeout:
            time.sleep(min(timeout, 0.05))

    def _drain(self, slot: _Slot) -> str | None:
        """Read every pending message of ``slot``; returns an ``init_failed`` traceback if one came."""
        error = None
        conn = slot.conn
        while conn is not None:
            try:
                if not conn.poll():
                    break
                kind, *rest = conn.recv()
            except (EOFError, OSError):
                break
            if kind == "ready":
                slot.ready = True
            elif kind == "init_failed":
                error = rest[0]
            elif kind == "started" and slot.job is not None and rest[0] == slot.job.trial_number:
                slot.started_at = time.monotonic()
            elif kind == "report" and slot.job is not None and rest[0] == slot.job.trial_number:
                slot.reports.append((rest[1], rest[2]))
            elif kind == "result" and slot.job is not None:
                self._done.append(rest[0])
                slot.clear_job()
        return error

    def _poll_all(self) -> None:
        for slot in self._slots:
            if slot.process is None:
                continue
            exited = slot.process.exitcode is not None  # checked first: read what it sent before dying
            error = self._drain(slot)
            if not exited and error is None:
                continue
            slot.process.join(1.0)
            if slot.job is not None:
                code = slot.process.exitcode
                if error is not None:
                    message = f"a fresh worker failed in evaluator.prepare():\n{error}"
                    self._done.append(failed_result(slot.job.trial_number, "worker_init", message))
                else:
                    message = (
                        f"worker process {slot.process.pid} died (exit code {code}) while running the trial"
                    )
                    self._done.append(self._lost(slot, "worker_lost", message))
            self._close(slot)
            slot.clear_job()

    def _lost(self, slot: _Slot, reason: str, message: str) -> JobResult:
        number = slot.job.trial_number if slot.job is not None else -1
        started = None if slot.started_at is None else time.time() - (time.monotonic() - slot.started_at)
        return failed_result(number, reason, message, started, slot.reports)

    def _check_timeouts(self) -> None:
        if self.trial_timeout is None:
            return
        now = time.monotonic()
        for slot in self._slots:
            if slot.job is None or slot.process is None:
                continue
            if now - self._begun(slot) <= self.trial_timeout:
                continue
            slot.process.kill()
            slot.process.join(5.0)
            message = f"the trial ran longer than trial_timeout={self.trial_timeout} s; its worker was killed"
            self._done.append(self._lost(slot, "timeout", message))
            self._close(slot)
            slot.clear_job()

    def _next_timeout_in(self) -> float | None:
        if self.trial_timeout is None:
            return None
        now = time.monotonic()
        waits = [
            self._begun(s) + self.trial_timeout - now
            for s in self._slots
            if s.job is not None and s.process is not None
        ]
        return max(0.0, min(waits)) + 0.01 if waits else None

    def _begun(self, slot: _Slot) -> float:
        """When the trial clock of ``slot`` started (a worker still starting gets ``start_timeout`` grace)."""
        return slot.started_at if slot.started_at is not None else slot.dispatched_at + self.start_timeout

    @staticmethod
    def _close(slot: _Slot) -> None:
        if slot.conn is not None:
            slot.conn.close()
        if slot.process is not None:
            try:
                slot.process.close()
            except ValueError:  # still running (could not be reaped): leave it to the OS
                pass
        slot.process, slot.conn, slot.ready = None, None, False


@atexit.register
def _shutdown_live_executors() -> None:
    """Kill workers of executors the program forgot to shut down (runs before multiprocessing joins them)."""
    for executor in list(_LIVE):
        executor.shutdown(cancel=True)
