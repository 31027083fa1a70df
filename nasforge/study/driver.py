"""The asynchronous ask/tell loop behind :meth:`nasforge.study.Study.optimize`.

One :class:`Driver` per ``optimize`` call: it holds the driver lease, recovers and replays the stored
history, keeps the executor's slots full, writes each result (one transaction) and tells the
strategy, re-queues transport failures, counts consecutive failures and cleans up on Ctrl-C.
The semantics are documented in :mod:`nasforge.study.study`.
"""

from __future__ import annotations

import collections
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import StudyAborted
from nasforge.study.executors.base import Executor
from nasforge.study.lease import DriverLease
from nasforge.study.progress import Progress
from nasforge.trial import Candidate, EvalContext, Job, JobResult, Trial, TrialState

if TYPE_CHECKING:
    from nasforge.study.study import Study

#: failure reasons after which the candidate is re-run (transport failures, not the candidate's fault)
REQUEUE_REASONS = ("worker_lost",)
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


@dataclass
class Pending:
    """A candidate waiting to run or running: its attempt number and the trial it re-runs."""

    candidate: Candidate
    attempt: int = 1
    retry_of: int | None = None


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
        save_budget: bool = False,
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
        self.save_budget = save_budget
        self.running: dict[int, Pending] = {}
        self.queue: collections.deque[Pending] = collections.deque()
        self.consecutive: list[str] = []

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> bool:
        """Optimise until the budget is spent; returns ``True`` if Ctrl-C stopped it."""
        study, ex = self.study, self.executor
        lease = DriverLease(self.store, self.sid, study.name)
        lease.acquire()
        interrupted = started = False
        try:
            if self.save_budget:  # only once the lease is ours: a refused run alters nothing
                budget = {"n_trials": self.n_trials, "time_limit": self.timeout}
                study.set_budget(**{k: v for k, v in budget.items() if v is not None})
            self.queue = recover_and_replay(study)
            deadline = None if self.timeout is None else time.monotonic() + float(self.timeout)
            self.progress.start(self.store.count_budget(self.sid), self.n_trials, self._best_value())
            started = True
            ex.start(study.evaluator)  # type: ignore[arg-type]
            while True:
                lease.heartbeat()
                while ex.in_flight < ex.capacity and self._may_start(deadline):
                    self._submit()
                if ex.in_flight == 0:
                    break
                for result in ex.wait(timeout=1.0):
                    if result.trial_number in self.running:  # else a stale result: not ours
                        self._on_result(result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                ex.shutdown(cancel=True)
            finally:
                if started:  # whatever is still RUNNING is ours (we hold the lease)
                    reason = "interrupted" if interrupted else "aborted"
                    self.store.fail_running(self.sid, reason, requeued=True)
                    for pending in self.running.values():
                        study.strategy.forget(pending.candidate)
                if started:
                    self.progress.stop()
                lease.release()
        return interrupted

    def _may_start(self, deadline: float | None) -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        return self.n_trials is None or self.store.count_budget(self.sid) < self.n_trials

    def _best_value(self) -> float | None:
        best = self.study.strategy.best()
        return None if best is None else best.value

    def _on_result(self, result: JobResult) -> None:
        trial = self._finish(result, self.running[result.trial_number])
        del self.running[result.trial_number]  # only now: a Ctrl-C inside _finish leaves it RUNNING
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
    def _submit(self) -> None:
        study = self.study
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
        )
        self.running[number] = pending
        self.executor.submit(Job(number, candidate.architecture, context))

    def _finish(self, result: JobResult, pending: Pending) -> Trial:
        """Write one result (one transaction), then tell the strategy or re-queue the candidate."""
        study = self.study
        state, value, error, tb, metrics, checkpoint = outcome(result, study.objective)
        if value is not None and study.direction == "minimize":
            value = -value
        requeue = state is TrialState.FAILED and error in REQUEUE_REASONS and pending.attempt <= self.retries
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
            self.queue.append(Pending(pending.candidate, pending.attempt + 1, result.trial_number))
        else:
            study.strategy.tell(trial)
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


def recover_and_replay(study: Study) -> collections.deque[Pending]:
    """Fail RUNNING trials of a dead driver, replay the told history into a freshly set-up strategy
    (completion order), and return the candidates to re-run (also registered as pending)."""
    store, sid = study.store, study.record.id
    store.fail_running(sid, "driver_lost", requeued=True)
    study.strategy.setup(study.space, study.seed)
    for trial in store.history(sid):
        study.strategy.tell(trial)
    queue: collections.deque[Pending] = collections.deque()
    for lost in store.pending_requeues(sid):
        candidate = lost.candidate
        queue.append(Pending(candidate, int(lost.info.get("attempt", 1)) + 1, lost.number))
        study.strategy.mark_pending(candidate)
    return queue


def _remove_if_empty(path: Path) -> None:
    try:
        if path.is_dir() and not any(path.iterdir()):
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass
