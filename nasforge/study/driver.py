"""The asynchronous ask/tell loop behind :meth:`nasforge.study.Study.optimize`.

One :class:`Driver` per ``optimize`` call: it holds the driver lease, starts the executor's workers
(they start while the history is replayed), recovers and replays the stored history
(:mod:`nasforge.study.replay`), keeps the executor's slots full, answers intermediate reports, writes
each result (one transaction) and tells the strategy, re-queues transport failures, counts consecutive
failures and cleans up on Ctrl-C. The semantics are documented in :mod:`nasforge.study.study`.
"""

from __future__ import annotations

import collections
import math
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import StudyAborted
from nasforge.study.executors.base import Executor
from nasforge.study.lease import DriverLease
from nasforge.study.objectives import settle
from nasforge.study.progress import Progress
from nasforge.study.replay import LOSS_REASONS, REQUEUE_REASONS, Pending, recover_and_replay, tell_or_explain
from nasforge.trial import Candidate, EvalContext, Job, JobResult, Trial, TrialState

if TYPE_CHECKING:
    from nasforge.study.study import Study

#: keys the store adds to ``Trial.info``; dropped from a re-run candidate's info
_RECORD_KEYS = frozenset({"attempt", "seed", "requeued", "retry_of", "seq"})


def derive_seed(study_seed: int, number: int) -> int:
    """The evaluation seed of trial ``number`` (a 31-bit int from ``SeedSequence([seed, number])``)."""
    return int(np.random.SeedSequence([int(study_seed), int(number)]).generate_state(1)[0] & 0x7FFFFFFF)


def make_executor(
    executor: str | Executor = "auto",
    workers: int = 1,
    trial_timeout: float | None = None,
    options: dict[str, Any] | None = None,
) -> Executor:
    """An executor by name (``auto``: serial for one worker, process otherwise) or the instance given."""
    if isinstance(executor, Executor):
        return executor
    from nasforge.study.executors import EXECUTORS

    if executor == "auto":
        executor = "serial" if workers == 1 else "process"
    params: dict[str, Any] = {"workers": workers, "trial_timeout": trial_timeout, **(options or {})}
    return EXECUTORS.create(str(executor), **params)


class Driver:
    """Runs one ``optimize`` call of ``study`` (see the module docstring)."""

    def __init__(
        self,
        study: Study,
        executor: Executor,
        progress: Progress,
        *,
        n_trials: int | None,
        timeout: float | None,
        retries: int,
        max_consecutive_failures: int | None,
        config_changes: dict[str, Any] | None = None,
    ) -> None:
        self.study = study
        self.store = study.store
        self.sid = study.record.id
        self.executor = executor
        self.progress = progress
        self.n_trials = n_trials
        self.timeout = timeout
        self.retries = retries
        self.max_consecutive_failures = max_consecutive_failures
        self.config_changes = dict(config_changes or {})
        self.running: dict[int, Pending] = {}
        self.queue: collections.deque[Pending] = collections.deque()
        self.consecutive: list[str] = []
        self.lease = DriverLease(self.store, self.sid, study.name)
        self.sched = None if study.scheduler is None else _scheduler_run(self, study.scheduler)

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> bool:
        """Optimise until the budget is spent; returns ``True`` if Ctrl-C stopped it."""
        study, ex, lease = self.study, self.executor, self.lease
        lease.acquire()
        interrupted = started = False
        try:
            if self.config_changes:  # only once the lease is ours: a refused run alters nothing
                study._update_config(**self.config_changes)
            ex.start(study.evaluator, on_report=self._on_report)  # type: ignore[arg-type]
            if self.sched is not None:
                self.sched.recover()
            view = None if self.sched is None else self.sched.tell_view
            self.queue = recover_and_replay(study, self.retries, view)
            deadline = None if self.timeout is None else time.monotonic() + float(self.timeout)
            self.progress.start(self.store.count_budget(self.sid), self.n_trials, self._best_value())
            started = True
            while True:
                lease.check()
                while ex.in_flight < ex.capacity and self._may_start(deadline):
                    if not self._submit():
                        break
                if ex.in_flight == 0:
                    break
                for result in ex.wait(timeout=1.0):
                    if result.trial_number in self.running:  # else a stale result: not ours
                        lease.check()
                        self._on_result(result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                ex.shutdown(cancel=True)
            finally:
                if started and not lease.lost and self.sched is not None:
                    self.sched.recover()  # promotions cut short pause again at their last rung
                if started and not lease.lost:  # only the trials this driver started
                    reason = "interrupted" if interrupted else "aborted"
                    self.store.fail_running(self.sid, reason, owner=lease.token, requeued=True)
                for pending in self.running.values():
                    study.strategy.forget(pending.candidate)
                if started:
                    self.progress.stop()
                lease.release()
        return interrupted

    def _may_start(self, deadline: float | None) -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if self.sched is not None:  # it decides: promotions go on past n_trials
            return True
        return self.n_trials is None or self.store.count_budget(self.sid) < self.n_trials

    def _best_value(self) -> float | None:
        best = self.study.strategy.best()
        return None if best is None else best.value

    def _on_report(self, number: int, step: float, metrics: dict[str, float]) -> bool:
        """The executors' report channel: show the report; ``True`` lets the trial continue."""
        if number in self.running:
            self.progress.trial_report(number, step, metrics)
            if self.sched is not None:
                return self.sched.on_report(number, step, metrics)
        return True

    def _on_result(self, result: JobResult) -> None:
        pending = self.running[result.trial_number]
        trial = self._finish(result, pending) if self.sched is None else self.sched.finish(result, pending)
        del self.running[result.trial_number]  # only now: a Ctrl-C inside _finish leaves it RUNNING
        self.progress.trial_finished(result.trial_number)
        failures = [*self.consecutive, trial.error or "?"]
        self.consecutive = failures if trial.state is TrialState.FAILED else []
        failed = sum(1 for t in self.study.strategy.history if t.state is TrialState.FAILED)
        done = self.store.count_budget(self.sid) - len(self.running)
        self.progress.update(done, self._best_value(), failed)
        limit = self.max_consecutive_failures
        if limit is not None and len(self.consecutive) >= limit:
            reasons = collections.Counter(self.consecutive).most_common()
            text = ", ".join(f"{r} x{n}" for r, n in reasons)
            tail = (trial.traceback or "").strip().splitlines()[-1:] or [""]
            raise StudyAborted(
                f"study {self.study.name!r} stopped after {len(self.consecutive)} consecutive failed "
                f"trials ({text}); last error: {tail[0][:300]}. Fix the cause, then `nasforge resume "
                f"{self.study.name}`"
            )

    # -- one trial ----------------------------------------------------------------------------
    def _submit(self) -> bool:
        if self.sched is not None:
            return self.sched.submit()
        self._submit_candidate(None)
        return True

    def _submit_candidate(self, given: Candidate | None) -> None:
        study = self.study
        if given is not None:
            pending = Pending(given)
        else:
            pending = self.queue.popleft() if self.queue else Pending(study.strategy.ask())
        candidate = pending.candidate
        info = {k: v for k, v in candidate.info.items() if k not in _RECORD_KEYS}
        candidate = Candidate(candidate.architecture, candidate.budget, candidate.parent, info)
        pending.candidate = candidate
        number = self.store.create_trial(
            self.sid,
            candidate,
            hash_=study.space.canonical_hash(candidate.architecture),
            seed_fn=lambda n: derive_seed(study.seed, n),
            attempt=pending.attempt,
            retry_of=pending.retry_of,
            driver=self.lease.token,
        )
        checkpoint_dir = study.artifacts_dir / str(number)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        parent_checkpoint = None
        if candidate.parent is not None and info.get("inherit_weights"):
            parent_checkpoint = self.store.get_trial(self.sid, candidate.parent).checkpoint
        context = EvalContext(
            trial_number=number,
            seed=derive_seed(study.seed, number),
            budget=candidate.budget,
            device=str(getattr(study.evaluator, "device", None) or "cpu"),
            checkpoint_dir=str(checkpoint_dir),
            parent_checkpoint=parent_checkpoint,
            extra={"lineage": info["lineage"]} if "lineage" in info else {},
        )
        if self.sched is not None:
            context = self.sched.context(number, context)
        self.running[number] = pending
        budget = candidate.budget
        if budget is None:
            budget = getattr(study.evaluator, "epochs", None)
        self.progress.trial_started(number, budget)
        self.executor.submit(Job(number, candidate.architecture, context))

    def _finish(self, result: JobResult, pending: Pending) -> Trial:
        """Write one result (one transaction), then tell the strategy or re-queue the candidate."""
        study = self.study
        state, value, error, tb, metrics, checkpoint = outcome(result, study.objective)
        state, value, error, tb = settle(study.config, state, value, error, tb, metrics)
        if value is not None and study.direction == "minimize":
            value = -value
        lost = state is TrialState.FAILED and error in LOSS_REASONS
        losses = pending.losses + int(lost)
        requeue = lost and error in REQUEUE_REASONS and losses <= self.retries
        self.store.finish_trial(
            self.sid,
            result.trial_number,
            state=state,
            value=value,
            metrics=metrics,
            error=error,
            traceback=tb,
            started=result.started_at,
            completed=result.completed_at,
            checkpoint=checkpoint,
            intermediate=list(result.intermediate or []),
            requeued=requeue,
        )
        _remove_if_empty(study.artifacts_dir / str(result.trial_number))
        trial = self.store.get_trial(self.sid, result.trial_number)
        if requeue:
            self.queue.append(Pending(pending.candidate, pending.attempt + 1, result.trial_number, losses))
        else:
            tell_or_explain(study.strategy, trial, study.name, "after it finished")
        return trial


def outcome(
    result: JobResult, objective: str
) -> tuple[TrialState, float | None, str | None, str | None, dict[str, Any], str | None]:
    """``(state, value, error, traceback, metrics, checkpoint)`` of a job result (value not negated)."""
    metrics = dict(result.metrics or {})
    checkpoint = result.checkpoint or metrics.pop("checkpoint", None)
    checkpoint = checkpoint if isinstance(checkpoint, str) else None
    value: float | None = None
    error, tb = result.reason, result.traceback
    if result.status == "ok":
        raw = metrics.get(objective)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            state, error = TrialState.FAILED, "missing_objective"
            tb = f"the evaluator returned no numeric {objective!r} (metrics: {sorted(metrics)})"
        elif not math.isfinite(raw):
            state, error = TrialState.FAILED, "non_finite"
            tb = f"objective {objective!r} is {raw}"
        else:
            state, value = TrialState.COMPLETE, float(raw)
    elif result.status == "pruned":
        state = TrialState.PRUNED
        raw = metrics.get(objective)
        if raw is None and result.intermediate:
            raw = result.intermediate[-1][1].get(objective)
        value = float(raw) if isinstance(raw, (int, float)) and math.isfinite(raw) else None
    else:
        state, error = TrialState.FAILED, result.reason or "exception"
    if state is not TrialState.FAILED:
        error = tb = None
    return state, value, error, tb, metrics, checkpoint


def _scheduler_run(driver: Driver, scheduler: Any) -> Any:
    from nasforge.study.scheduled_run import SchedulerRun

    return SchedulerRun(driver, scheduler)


def _remove_if_empty(path: Path) -> None:
    try:
        if path.is_dir() and not any(path.iterdir()):
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass
