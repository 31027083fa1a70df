"""Run trials on a Ray cluster: one actor per worker slot, the evaluator shipped once via the object store.

Ray is imported here only, and only when :meth:`RayExecutor.start` runs (install ``nasforge[ray]``).
``address=None`` starts a local Ray instance (``num_cpus=workers``, no dashboard, worker logs not
forwarded to the driver); otherwise ``ray.init(address=...)`` joins an existing cluster. If Ray is
already initialised in this process, the executor uses that instance and leaves it running.

The evaluator is ``ray.put`` once; each actor receives the object reference, so the task data
travels through the object store rather than with every trial. Fault semantics match the process
executor: an exception or :class:`~nasforge.errors.EvaluationError` in a trial is mapped by
:func:`~nasforge.study.executors.worker.run_job`; an actor that dies (``RayActorError``,
``WorkerCrashedError``, Ray's out-of-memory killer) -> ``worker_lost``; a trial past
``trial_timeout`` -> its actor is killed, ``timeout``. A fresh actor then takes the slot.
Intermediate reports travel back with the result (no streaming).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections import deque
from typing import Any, ClassVar

from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.base import Evaluator
from nasforge.study.executors.base import Executor, wait_loop
from nasforge.study.executors.worker import (
    check_executor_params,
    failed_result,
    init_worker_process,
    run_job,
)
from nasforge.trial import Job, JobResult


class _RayWorker:
    """The actor body (decorated with ``ray.remote`` at start, so importing this module needs no Ray)."""

    def __init__(self, evaluator: Evaluator, threads: int | None) -> None:
        self.evaluator = evaluator
        init_worker_process(evaluator, threads)

    def ready(self) -> int:
        return os.getpid()

    def run(self, job: Job) -> JobResult:
        return run_job(self.evaluator, job)


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.actor: Any = None
        self.ready_ref: Any = None  # pending until the actor finished __init__ (prepare)
        self.pid: int | None = None
        self.job: Job | None = None
        self.ref: Any = None
        self.clock: float | None = None  # monotonic start of the trial clock


class RayExecutor(Executor):
    """Ray actors, one job each at a time.

    Args:
        workers: number of actors (>= 1); a local instance gets ``num_cpus=workers``.
        address: ``None`` for a local Ray instance, else a cluster address (``"auto"``, ``"HOST:PORT"``,
            ``"ray://HOST:10001"``).
        trial_timeout: seconds a trial may run before its actor is killed (``None``: no limit).
        threads: torch threads per actor (``None`` leaves torch's default).
        start_timeout: seconds :meth:`start` waits for the actors to be ready.
    """

    name: ClassVar[str] = "ray"

    def __init__(self, workers: int = 2, address: str | None = None, trial_timeout: float | None = None,
                 threads: int | None = 1, start_timeout: float = 300.0) -> None:
        self.workers = workers
        self.address = address
        self.trial_timeout = trial_timeout
        self.threads = threads
        self.start_timeout = start_timeout

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self, evaluator: Evaluator) -> None:
        """Start (or join) Ray, put the evaluator in the object store once, start the actors."""
        self.shutdown(cancel=True)  # a second start replaces the actors of the first
        self._check_params()
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "executor='ray' needs Ray, which is not installed; install it with "
                "pip install 'nasforge[ray]' or use executor='process'"
            ) from exc
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
            if self.address is None:
                kwargs.update(num_cpus=int(self.workers), include_dashboard=False)
            else:
                kwargs["address"] = self.address
            # ray.init logs a token-authentication notice for every new local cluster: keep it quiet
            notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
            level = notice.level
            notice.setLevel(logging.ERROR)
            try:
                ray.init(**kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"could not start or join Ray (address={self.address!r}): {exc}") from exc
            finally:
                notice.setLevel(level)
            self._owns_ray = True
        try:
            self._evaluator_ref = ray.put(evaluator)
        except Exception as exc:
            self._stop_ray()
            raise ConfigError(
                f"the evaluator must be serialisable to run on Ray, but {type(evaluator).__name__} "
                f"is not: {exc}"
            ) from exc
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_RayWorker)
        self._slots = [_Slot(i) for i in range(int(self.workers))]
        self._queue: deque[Job] = deque()
        self._done: list[JobResult] = []
        self._started = True
        for slot in self._slots:
            self._spawn(slot)
        try:
            pids = ray.get([s.ready_ref for s in self._slots], timeout=float(self.start_timeout))
        except Exception as exc:
            try:
                free = ray.available_resources().get("CPU", 0)
            except Exception:  # the cluster itself is gone
                free = "unknown"
            self.shutdown(cancel=True)
            raise EvaluationError(
                "worker_init",
                f"{self.workers} Ray actors (1 CPU each) did not start within start_timeout="
                f"{self.start_timeout} s (free CPUs in the cluster: {free}): evaluator.prepare() failed, "
                f"or the cluster has too few free CPUs for workers={self.workers}: {exc}",
            ) from exc
        for slot, pid in zip(self._slots, pids, strict=True):
            slot.pid, slot.ready_ref = pid, None

    def _check_params(self) -> None:
        check_executor_params(self.workers, self.trial_timeout, self.threads)
        if self.address is not None and (not isinstance(self.address, str) or not self.address):
            raise ConfigError(
                f"address must be None or a Ray address such as 'HOST:PORT', got {self.address!r}"
            )

    def _spawn(self, slot: _Slot) -> None:
        slot.actor = self._actor_cls.remote(self._evaluator_ref, self.threads)
        slot.ready_ref = slot.actor.ready.remote()
        slot.pid = None

    def shutdown(self, cancel: bool = True) -> None:
        """Kill the actors (``cancel=False``: let running trials finish first, results dropped); stop the
        local Ray instance if this executor started it."""
        if not getattr(self, "_started", False):
            return
        self._started = False
        self._queue.clear()
        ray = self._ray
        running = [s.ref for s in self._slots if s.ref is not None]
        if running and not cancel:
            try:
                ray.wait(running, num_returns=len(running), timeout=self.trial_timeout)
            except Exception:  # dead actors: nothing left to wait for
                pass
        for slot in self._slots:
            if slot.actor is not None:
                try:
                    ray.kill(slot.actor, no_restart=True)
                except Exception:  # already dead
                    pass
            slot.actor = slot.ref = slot.job = slot.ready_ref = None
        self._done = []
        self._stop_ray()

    def _stop_ray(self) -> None:
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False

    # -- the Executor contract ----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return int(self.workers)

    @property
    def in_flight(self) -> int:
        if not getattr(self, "_started", False):
            return 0
        return len(self._queue) + sum(1 for s in self._slots if s.job is not None) + len(self._done)

    @property
    def pids(self) -> list[int]:
        """Process ids of the actors known to be ready (diagnostics and tests)."""
        if not getattr(self, "_started", False):
            return []
        return [s.pid for s in self._slots if s.pid is not None]

    def submit(self, job: Job) -> None:
        """Queue ``job``; it goes to the first free actor (never blocks)."""
        if not getattr(self, "_started", False):
            raise ConfigError("RayExecutor.submit() called before start(evaluator); call start() first")
        self._queue.append(job)
        self._dispatch()

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Block until at least one job finished or ``timeout`` seconds passed; return finished results."""
        if not getattr(self, "_started", False):
            return []
        return wait_loop(self._pump, lambda: self.in_flight, self._next_timeout_in, self._block, timeout)

    def _pump(self) -> list[JobResult]:
        self._dispatch()
        self._check_timeouts()
        done, self._done = self._done, []
        return done

    def _block(self, pause: float | None) -> None:
        refs = [s.ref for s in self._slots if s.ref is not None]
        refs += [s.ready_ref for s in self._slots if s.ready_ref is not None]
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=pause)
        for ref in ready:
            self._collect(ref)

    # -- internals --------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.job is not None:
                continue
            if slot.actor is None:
                self._spawn(slot)
            slot.job = self._queue.popleft()
            slot.ref = slot.actor.run.remote(slot.job)
            slot.clock = time.monotonic() if slot.ready_ref is None else None

    def _collect(self, ref: Any) -> None:
        ray = self._ray
        for slot in self._slots:
            if slot.ready_ref is not None and ref == slot.ready_ref:
                slot.ready_ref = None
                try:
                    slot.pid = ray.get(ref)
                except Exception:  # the actor died starting; its queued trial reports it below
                    pass
                if slot.job is not None and slot.clock is None:
                    slot.clock = time.monotonic()
                return
            if slot.ref is not None and ref == slot.ref:
                job = slot.job
                slot.ref, slot.job, slot.clock = None, None, None
                if job is None:
                    return
                try:
                    self._done.append(ray.get(ref))
                except Exception as exc:
                    result = self._failure(job, exc)
                    self._done.append(result)
                    if result.reason != "exception":  # the actor is gone or unusable: a fresh one
                        self._replace(slot)
                return

    def _failure(self, job: Job, exc: BaseException) -> JobResult:
        exceptions = self._ray.exceptions
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if isinstance(exc, getattr(exceptions, "RayTaskError", ())) and not isinstance(
            exc, getattr(exceptions, "RayActorError", ())
        ):
            return failed_result(job.trial_number, "exception", text)
        if isinstance(exc, getattr(exceptions, "TaskCancelledError", ())):
            return failed_result(job.trial_number, "timeout", text)
        return failed_result(job.trial_number, "worker_lost", f"the Ray actor running the trial died: {text}")

    def _replace(self, slot: _Slot) -> None:
        if slot.actor is not None:
            try:
                self._ray.kill(slot.actor, no_restart=True)
            except Exception:  # already dead
                pass
        slot.actor, slot.ready_ref, slot.pid = None, None, None
        if self._queue:
            self._spawn(slot)

    def _check_timeouts(self) -> None:
        if self.trial_timeout is None:
            return
        now = time.monotonic()
        for slot in self._slots:
            if slot.job is None or slot.clock is None or now - slot.clock <= self.trial_timeout:
                continue
            message = (
                f"the trial ran longer than trial_timeout={self.trial_timeout} s; its Ray actor was killed"
            )
            self._done.append(failed_result(slot.job.trial_number, "timeout", message))
            slot.ref, slot.job, slot.clock = None, None, None
            self._replace(slot)

    def _next_timeout_in(self) -> float | None:
        if self.trial_timeout is None:
            return None
        now = time.monotonic()
        waits = [s.clock + self.trial_timeout - now for s in self._slots if s.job is not None and s.clock]
        if any(s.job is not None and s.clock is None for s in self._slots):
            waits.append(0.5)  # an actor still starting: look again soon
        return max(0.0, min(waits)) + 0.01 if waits else None
