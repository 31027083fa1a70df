"""Run trials in long-lived, spawned worker processes (one job at a time each).

The evaluator (with its task data) is pickled once and sent to each worker when it starts; the
worker sets its torch threads, calls ``evaluator.prepare()`` and then serves jobs over a pipe,
streaming ``started`` / ``report`` / ``result`` messages back; with a report handler set (see
:mod:`~nasforge.study.executors.base`) the worker waits for the driver's answer to each report. Workers
start when :meth:`ProcessExecutor.start` returns and are waited for at the first job (:meth:`ready`),
so the driver replays its history while they import and prepare. Fault semantics:

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
import importlib
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
from nasforge.study.executors.slots import Slot, SlotExecutor
from nasforge.study.executors.worker import (
    CollectingReporter,
    failed_result,
    init_worker_process,
    limit_threads,
    run_job,
)
from nasforge.trial import Job

_PARENT_POLL_S = 0.5
_LIVE: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


def _worker_main(conn: Connection, payload: bytes | None, threads: int | None, parent_pid: int,
                 warm: tuple[str, ...] = ()) -> None:
    """Entry point of a worker process (module level so ``spawn`` can import it).

    A worker started before its evaluator (``payload=None``, see :meth:`ProcessExecutor.prestart`)
    imports the ``warm`` modules, then waits for ``("evaluator", payload)``. Jobs come as
    ``("job", job, answers)``: with ``answers`` the driver answers every report and the worker waits for
    ``("answer", n, seq, go)`` before its evaluator trains further (a ``None`` meanwhile means: exit after
    this trial)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch_parent() -> None:
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch_parent, name="nasforge-parent-watch", daemon=True).start()
    lock = threading.Lock()
    state = {"exit": False, "seq": 0, "answers": False}

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            conn.send(message)

    def report(number: int, step: float, metrics: dict[str, float]) -> bool:
        state["seq"] += 1
        send(("report", number, state["seq"], step, metrics))
        while state["answers"]:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the driver is gone
                os._exit(3)
            if message is None:
                state["exit"] = True
            elif message[0] == "answer" and tuple(message[1:3]) == (number, state["seq"]):
                return bool(message[3])
        return True

    limit_threads(threads)  # before unpickling, which may import torch
    if payload is None:
        for module in warm:
            try:
                importlib.import_module(module)
            except ImportError:  # a warm-up only: the evaluator imports what it needs
                pass
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the driver went away before sending the evaluator
            return
        if message is None:
            return
        payload = message[1]
    try:
        evaluator = pickle.loads(payload)  # bytes made by our own parent process: trusted
        init_worker_process(evaluator, threads)
    except Exception:
        send(("init_failed", traceback.format_exc()))
        return
    send(("ready", os.getpid()))
    while not state["exit"]:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        _, job, state["answers"] = message
        send(("started", job.trial_number, time.time()))
        result = run_job(evaluator, job, CollectingReporter(job.trial_number, on_report=report))
        try:
            send(("result", result))
        except Exception:  # metrics that do not pickle
            fallback = failed_result(job.trial_number, "exception", traceback.format_exc(), result.started_at,
                                     result.intermediate)
            send(("result", fallback))


class _ProcessSlot(Slot):
    """A worker slot: its process (``None`` until spawned / after it died) and the pipe to it."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.process: Any = None
        self.conn: Connection | None = None
        self.ready = False


class ProcessExecutor(SlotExecutor):
    """Spawned worker processes, one job each at a time.

    Args:
        workers: number of worker processes (>= 1).
        trial_timeout: seconds a trial may run before its worker is killed (``None``: no limit).
        threads: torch threads per worker (``None`` leaves torch's default).
        start_timeout: seconds :meth:`ready` waits for the workers to be ready.
    """

    name: ClassVar[str] = "process"

    def __init__(self, workers: int = 2, trial_timeout: float | None = None, threads: int | None = 1,
                 start_timeout: float = 300.0) -> None:
        super().__init__(workers, trial_timeout, threads, start_timeout)
        self._warm: list[tuple[Any, Any]] = []  # (process, pipe) started by prestart(), not yet used

    # -- life cycle -------------------------------------------------------------------------------------
    def _new_slot(self, index: int) -> _ProcessSlot:
        return _ProcessSlot(index)

    def prestart(self, warm: tuple[str, ...] = ()) -> None:
        """Start the worker processes now, before the evaluator exists (while the driver loads data,
        builds the study and replays it); they import ``warm`` (e.g. ``("torch",)``) and wait for
        :meth:`start` to hand them the evaluator. Optional: :meth:`start` alone spawns them too."""
        if self._started or self._warm:
            return
        self._check_params()
        self._ctx = multiprocessing.get_context("spawn")
        _LIVE.add(self)
        for index in range(int(self.workers)):
            self._warm.append(self._new_process(index, None, tuple(warm)))

    def _launch(self, evaluator: Evaluator) -> None:
        try:
            self._payload = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"the evaluator must be picklable to run in worker processes, but pickling "
                f"{type(evaluator).__name__} failed: {exc}; use executor='serial' or make it picklable"
            ) from exc
        if not self._warm:
            self._ctx = multiprocessing.get_context("spawn")
        _LIVE.add(self)

    def _new_process(self, index: int, payload: bytes | None, warm: tuple[str, ...] = ()) -> tuple[Any, Any]:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, payload, self.threads, os.getpid(), warm),
            name=f"nasforge-worker-{index}",
            daemon=False,
        )
        process.start()
        child_conn.close()  # so the parent sees EOF when the worker dies
        return process, parent_conn

    def _spawn(self, slot: _ProcessSlot) -> None:
        process = conn = None
        while self._warm and process is None:  # a worker started early: hand it the evaluator
            process, conn = self._warm.pop(0)
            try:
                conn.send(("evaluator", self._payload))
            except (OSError, BrokenPipeError):  # it died waiting
                self._close_pair(process, conn)
                process = conn = None
        if process is None:
            process, conn = self._new_process(slot.index, self._payload)
        slot.process, slot.conn, slot.ready = process, conn, False

    def _await_ready(self) -> None:
        """Wait until all workers have run ``prepare()`` (``start_timeout``); a failure stops them all."""
        deadline = time.monotonic() + float(self.start_timeout)
        while not all(s.ready for s in self._slots):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.shutdown(cancel=True)
                raise EvaluationError("worker_init", f"workers not ready after {self.start_timeout} s "
                                      "(start_timeout); is evaluator.prepare() slow or stuck?")
            self._block(min(remaining, 1.0))
            for slot in self._slots:
                error = self._drain(slot)
                if error is not None:
                    self.shutdown(cancel=True)
                    raise EvaluationError("worker_init", f"evaluator.prepare() failed in a worker:\n{error}")
                if slot.process is not None and not slot.ready and slot.process.exitcode is not None:
                    code = slot.process.exitcode
                    self.shutdown(cancel=True)
                    raise EvaluationError("worker_init", f"a worker exited with code {code} while starting")

    def shutdown(self, cancel: bool = True) -> None:
        """Stop the workers. ``cancel``: kill them now (running trials are abandoned); otherwise each
        finishes its current trial first (its result is dropped; collect results with :meth:`wait`)."""
        while self._warm:  # started early and never used
            self._close_pair(*self._warm.pop())
        if not self._started:
            _LIVE.discard(self)
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
                    self._drain(slot, ask=False)
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

    # -- talking to workers -----------------------------------------------------------------------------
    def _send(self, slot: _ProcessSlot, job: Job) -> None:
        try:
            slot.conn.send(("job", job, self._on_report is not None))  # type: ignore[union-attr]
        except (OSError, BrokenPipeError):  # worker died idle: _poll reports it worker_lost
            pass

    def _block(self, pause: float | None) -> None:
        handles: list[Any] = []
        for slot in self._slots:
            if slot.process is not None:
                handles.append(slot.process.sentinel)
                if slot.conn is not None:
                    handles.append(slot.conn)
        if handles:
            mp_wait(handles, pause)
        elif pause:
            time.sleep(min(pause, 0.05))

    def _drain(self, slot: _ProcessSlot, ask: bool = True) -> str | None:
        """Read every pending message of ``slot`` (answering reports); returns an ``init_failed`` traceback
        if one came."""
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
                self._trial_began(slot)
            elif kind == "report":
                number, seq, step, metrics = rest
                go = self._report(slot, number, step, metrics, ask=ask)
                if self._on_report is not None:
                    try:
                        conn.send(("answer", number, seq, go))
                    except (OSError, BrokenPipeError):  # died meanwhile: _poll reports it
                        pass
            elif kind == "result" and slot.job is not None:
                self._finished(slot, rest[0])
        return error

    def _poll(self) -> None:
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

    def _discard(self, slot: _ProcessSlot) -> None:
        if slot.process is not None:
            slot.process.kill()
            slot.process.join(5.0)
        self._close(slot)

    def _alive(self, slot: _ProcessSlot) -> bool:
        return slot.process is not None

    def _worker_ready(self, slot: _ProcessSlot) -> bool:
        return slot.ready

    def _pid(self, slot: _ProcessSlot) -> int | None:
        if slot.process is None or slot.process.exitcode is not None:
            return None
        return int(slot.process.pid)

    @staticmethod
    def _close_pair(process: Any, conn: Any) -> None:
        conn.close()
        if process.is_alive():
            process.kill()
        process.join(5.0)
        try:
            process.close()
        except ValueError:
            pass

    @staticmethod
    def _close(slot: _ProcessSlot) -> None:
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
