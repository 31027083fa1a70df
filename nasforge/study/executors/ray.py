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

Reports travel live when the driver set a report handler: each actor calls ``report`` on a small
asynchronous hub actor (no CPU reserved) and blocks until the driver's answer is there; the driver
keeps one ``poll`` of the hub outstanding among the references it waits on, answers every report it
returns, and polls again (see :mod:`~nasforge.study.executors.base`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from typing import Any, ClassVar

from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.base import Evaluator
from nasforge.study.executors.slots import Slot, SlotExecutor
from nasforge.study.executors.worker import CollectingReporter, failed_result, init_worker_process, run_job
from nasforge.trial import Job, JobResult


class _RayWorker:
    """The actor body (decorated with ``ray.remote`` at start, so importing this module needs no Ray)."""

    def __init__(self, evaluator: Evaluator, threads: int | None, hub: Any = None) -> None:
        self.evaluator = evaluator
        self.hub = hub
        init_worker_process(evaluator, threads)

    def ready(self) -> int:
        return os.getpid()

    def run(self, job: Job) -> JobResult:
        if self.hub is None:
            return run_job(self.evaluator, job)
        import ray

        def ask(number: int, step: float, metrics: dict[str, float]) -> bool:
            return bool(ray.get(self.hub.report.remote(number, step, metrics)))

        return run_job(self.evaluator, job, CollectingReporter(job.trial_number, on_report=ask))


class _ReportHub:
    """Asynchronous actor between the trial actors and the driver: ``report`` waits for ``answer``."""

    def __init__(self) -> None:
        self._reports: list[tuple[int, int, float, dict[str, float]]] = []
        self._answers: dict[int, asyncio.Future[bool]] = {}
        self._news = asyncio.Event()
        self._next = 0

    async def report(self, number: int, step: float, metrics: dict[str, float]) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        rid, self._next = self._next, self._next + 1
        self._answers[rid] = future
        self._reports.append((rid, number, step, metrics))
        self._news.set()
        return await future

    async def poll(self) -> list[tuple[int, int, float, dict[str, float]]]:
        await self._news.wait()
        self._news.clear()
        out, self._reports = self._reports, []
        return out

    async def answer(self, rid: int, go: bool) -> None:
        future = self._answers.pop(rid, None)
        if future is not None and not future.done():
            future.set_result(bool(go))


class _RaySlot(Slot):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.actor: Any = None
        self.ready_ref: Any = None  # pending until the actor finished __init__ (prepare)
        self.pid: int | None = None
        self.ref: Any = None


class RayExecutor(SlotExecutor):
    """Ray actors, one job each at a time.

    Args:
        workers: number of actors (>= 1); a local instance gets ``num_cpus=workers``.
        address: ``None`` for a local Ray instance, else a cluster address (``"auto"``, ``"HOST:PORT"``,
            ``"ray://HOST:10001"``).
        trial_timeout: seconds a trial may run before its actor is killed (``None``: no limit).
        threads: torch threads per actor (``None`` leaves torch's default).
        start_timeout: seconds :meth:`ready` waits for the actors to be ready.
    """

    name: ClassVar[str] = "ray"
    worker_word: ClassVar[str] = "Ray actor"

    def __init__(self, workers: int = 2, address: str | None = None, trial_timeout: float | None = None,
                 threads: int | None = 1, start_timeout: float = 300.0) -> None:
        super().__init__(workers, trial_timeout, threads, start_timeout)
        self.address = address

    # -- life cycle -------------------------------------------------------------------------------------
    def _new_slot(self, index: int) -> _RaySlot:
        return _RaySlot(index)

    def _check_params(self) -> None:
        super()._check_params()
        if self.address is not None and (not isinstance(self.address, str) or not self.address):
            raise ConfigError(
                f"address must be None or a Ray address such as 'HOST:PORT', got {self.address!r}"
            )

    def _launch(self, evaluator: Evaluator) -> None:
        """Start (or join) Ray, put the evaluator in the object store once, create the report hub."""
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
        self._hub = self._poll_ref = None
        if self._on_report is not None:
            self._hub = ray.remote(num_cpus=0, max_restarts=0)(_ReportHub).remote()
            self._poll_ref = self._hub.poll.remote()

    def _spawn(self, slot: _RaySlot) -> None:
        slot.actor = self._actor_cls.remote(self._evaluator_ref, self.threads, self._hub)
        slot.ready_ref = slot.actor.ready.remote()
        slot.pid = None

    def _await_ready(self) -> None:
        ray = self._ray
        refs = [s.ready_ref for s in self._slots]
        try:
            pids = ray.get(refs, timeout=float(self.start_timeout))
        except Exception as exc:
            try:
                free = ray.available_resources().get("CPU", 0)
            except Exception:
                free = "?"
            self.shutdown(cancel=True)
            raise EvaluationError(
                "worker_init",
                f"{self.workers} Ray actors (1 CPU each) did not start within start_timeout="
                f"{self.start_timeout} s (free CPUs in the cluster: {free}): evaluator.prepare() failed, "
                f"or the cluster has too few free CPUs for workers={self.workers}: {exc}",
            ) from exc
        for slot, pid in zip(self._slots, pids, strict=True):
            slot.pid, slot.ready_ref = pid, None

    def shutdown(self, cancel: bool = True) -> None:
        """Kill the actors (``cancel=False``: let running trials finish first, results dropped); stop the
        local Ray instance if this executor started it."""
        if not self._started:
            return
        self._started = False
        self._queue.clear()
        ray = self._ray
        running = [s.ref for s in self._slots if s.ref is not None]
        if running and not cancel:
            self._on_report = None  # answer every report "continue" while the trials finish
            try:
                while running:
                    done, running = ray.wait(running, num_returns=1, timeout=self.trial_timeout)
                    self._answer_reports(0.0)
                    if not done:
                        break
            except Exception:  # dead actors: nothing left to wait for
                pass
        for slot in self._slots:
            if slot.actor is not None:
                self._kill(slot.actor)
            slot.actor = slot.ref = slot.ready_ref = None
            slot.clear_job()
        if self._hub is not None:
            self._kill(self._hub)
            self._hub = self._poll_ref = None
        self._done = []
        self._stop_ray()

    def _kill(self, actor: Any) -> None:
        try:
            self._ray.kill(actor, no_restart=True)
        except Exception:  # already dead
            pass

    def _stop_ray(self) -> None:
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False

    # -- talking to actors ------------------------------------------------------------------------------
    def _send(self, slot: _RaySlot, job: Job) -> None:
        slot.ref = slot.actor.run.remote(job)
        if slot.ready_ref is None:
            self._trial_began(slot)

    def _poll(self) -> None:
        self._block(0.0)

    def _block(self, pause: float | None) -> None:
        refs = [s.ref for s in self._slots if s.ref is not None]
        refs += [s.ready_ref for s in self._slots if s.ready_ref is not None]
        if self._poll_ref is not None:
            refs.append(self._poll_ref)
        if not refs:
            return
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=pause)
        for ref in ready:
            if ref == self._poll_ref:
                self._answer_reports()
            else:
                self._collect(ref)

    def _answer_reports(self, timeout: float | None = None) -> None:
        """Answer the reports the outstanding hub poll returned, then poll again."""
        ray = self._ray
        if self._poll_ref is None:
            return
        if timeout is not None and not ray.wait([self._poll_ref], timeout=timeout)[0]:
            return
        try:
            reports = ray.get(self._poll_ref)
        except Exception:  # the hub died: reports travel with the results from now on
            self._poll_ref = None
            return
        for rid, number, step, metrics in reports:
            slot = next((s for s in self._slots if s.job is not None and s.job.trial_number == number), None)
            go = True if slot is None else self._report(slot, number, step, metrics)
            self._hub.answer.remote(rid, go)
        self._poll_ref = self._hub.poll.remote()

    def _collect(self, ref: Any) -> None:
        ray = self._ray
        for slot in self._slots:
            if slot.ready_ref is not None and ref == slot.ready_ref:
                slot.ready_ref = None
                try:
                    slot.pid = ray.get(ref)
                except Exception:  # the actor died starting; its queued trial reports it below
                    pass
                if slot.job is not None:
                    self._trial_began(slot)
                return
            if slot.ref is not None and ref == slot.ref:
                job = slot.job
                slot.ref = None
                if job is None:
                    return
                try:
                    self._finished(slot, ray.get(ref))
                except Exception as exc:
                    result = self._failure(job, exc)
                    self._finished(slot, result)
                    if result.reason != "exception":  # the actor is gone or unusable: a fresh one
                        self._discard(slot)
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

    def _discard(self, slot: _RaySlot) -> None:
        if slot.actor is not None:
            self._kill(slot.actor)
        slot.actor, slot.ready_ref, slot.pid, slot.ref = None, None, None, None
        if self._queue:
            self._spawn(slot)

    def _alive(self, slot: _RaySlot) -> bool:
        return slot.actor is not None

    def _worker_ready(self, slot: _RaySlot) -> bool:
        return slot.actor is not None and slot.ready_ref is None

    def _pid(self, slot: _RaySlot) -> int | None:
        return slot.pid
