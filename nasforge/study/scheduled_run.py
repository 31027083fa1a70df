"""The study driver's side of a scheduler: what runs next, the answer to each report, how a segment is
recorded, and which checkpoints go.

:class:`SchedulerRun` is created by the driver of a study that has a scheduler. Before each decision the
scheduler is rebuilt from the stored trials (:meth:`Scheduler.sync`), so an interrupted study resumes
with the same rungs, brackets and promotions. A promotion continues the *same* trial (same number and
seed) from the training state its last segment left (``EvalContext.resume_from``, with the hash the store
holds); each segment writes into its own directory ``<trial>/b<budget>/`` and the previous one is deleted
once the new one is recorded, so a crash mid-segment leaves the paused state intact. Trials that can no
longer be promoted lose their training state (``keep_checkpoints`` keeps it): stopped trials their whole
segment directory, completed ones ``train_state.pt`` (their weights stay for export).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.schedulers.base import Decision, Scheduler, has_budget, reached, sched_info
from nasforge.study import scheduled_records as records
from nasforge.trial import Candidate, EvalContext, Job, JobResult, Trial, TrialState

if TYPE_CHECKING:
    from nasforge.study.driver import Driver
    from nasforge.study.replay import Pending


def check_evaluator(scheduler: Scheduler, evaluator: Any) -> None:
    """A scheduler needs an evaluator that takes a budget, and its budgets must fit the maximum budget
    it will run with (its ``max_budget``, else the evaluator's epochs); :class:`ConfigError` otherwise,
    before anything is stored."""
    if not has_budget(evaluator):
        raise ConfigError(
            f"scheduler {scheduler.name!r} needs an evaluator that takes a budget (training epochs, or a "
            f"benchmark with fidelities), but evaluator {getattr(evaluator, 'name', '?')!r} has none; "
            "drop --scheduler or use a training evaluator"
        )
    epochs = getattr(evaluator, "epochs", None)
    if epochs is not None or scheduler.params.get("max_budget") is not None:
        scheduler.resolve_max_budget(epochs)


class SchedulerRun:
    """Scheduler decisions and records for one driver run (see the module docstring)."""

    def __init__(self, driver: Driver, scheduler: Scheduler) -> None:
        self.driver = driver
        self.study = driver.study
        self.scheduler = scheduler
        self.store, self.sid = driver.store, driver.sid
        self.continued: dict[int, Trial] = {}  # running promotions: the paused trial they continue
        self.decisions: dict[int, Decision] = {}

    # -- before the loop ----------------------------------------------------------------------
    def recover(self) -> None:
        """Promotions a dead driver left RUNNING become paused trials again (promoted again later)."""
        for number in records.running_continuations(self.store, self.sid):
            records.revert(self.store, self.sid, number)

    def tell_view(self, trial: Trial) -> Trial:
        """The trial as the strategy is told it (its first segment)."""
        s = self.scheduler
        return records.first_segment(trial, s.objective, s.sign, s.max_budget)

    # -- submitting ---------------------------------------------------------------------------
    def sync(self) -> None:
        d = self.driver
        allow_new = d.n_trials is None or self.store.count_budget(self.sid) < d.n_trials
        self.scheduler.sync(self.store.trials(self.sid), allow_new)

    def submit(self) -> bool:
        """Start a queued re-run or what the scheduler says; ``False`` when it says wait."""
        self.sync()
        if self.driver.queue:  # re-runs of lost new trials go first, as without a scheduler
            self.driver._submit_candidate(None)
            return True
        plan = self.scheduler.next()
        if plan is None:
            return False
        if plan.kind == "promote":
            self._promote(int(plan.trial), plan.budget)  # type: ignore[arg-type]
            return True
        candidate = self.scheduler.propose(self.study.strategy)
        self.study.strategy.mark_pending(candidate)
        info = {**candidate.info, "sched": {"bracket": plan.bracket, "first_budget": plan.budget}}
        self.driver._submit_candidate(Candidate(candidate.architecture, plan.budget, candidate.parent, info))
        return True

    def context(self, number: int, context: EvalContext) -> EvalContext:
        """A new trial's context: the schedule spans the maximum budget; the state is kept to continue."""
        context.max_budget = self.scheduler.max_budget
        context.save_state = self.scheduler.pauses
        if context.checkpoint_dir and context.budget is not None:
            context.checkpoint_dir = str(Path(context.checkpoint_dir) / f"b{context.budget:g}")
        return context

    def _promote(self, number: int, budget: float) -> None:
        from nasforge.study.replay import Pending

        d = self.driver
        trial = self.store.get_trial(self.sid, number)
        records.reopen(self.store, self.sid, trial, budget, d.lease.token)
        previous = Path(trial.checkpoint).parent if trial.checkpoint else None
        context = EvalContext(
            trial_number=number,
            seed=int(trial.info.get("seed") or 0),
            budget=budget,
            device=str(getattr(self.study.evaluator, "device", None) or "cpu"),
            checkpoint_dir=str(self.study.artifacts_dir / str(number) / f"b{budget:g}"),
            resume_from=None if previous is None else str(previous),
            resume_sha256=trial.metrics.get("state_sha256"),
            max_budget=self.scheduler.max_budget,
            save_state=True,
        )
        self.continued[number] = trial
        d.running[number] = Pending(trial.candidate)
        d.progress.trial_started(number, budget)
        d.executor.submit(Job(number, trial.architecture, context))

    # -- while running ------------------------------------------------------------------------
    def on_report(self, number: int, step: float, metrics: dict[str, float]) -> bool:
        decision = self.scheduler.on_report(number, step, metrics)
        if decision is not Decision.CONTINUE:
            self.decisions[number] = decision
        return decision is Decision.CONTINUE

    # -- results ------------------------------------------------------------------------------
    def finish(self, result: JobResult, pending: Pending) -> Trial:
        """Write one segment's result (one transaction), tell the strategy a first segment, re-queue a
        lost new trial or pause a lost promotion again, and delete checkpoints no longer needed."""
        from nasforge.study.driver import outcome
        from nasforge.study.replay import LOSS_REASONS, REQUEUE_REASONS, Pending, tell_or_explain

        d, study, number = self.driver, self.study, result.trial_number
        state, value, error, tb, metrics, checkpoint = outcome(result, study.objective)
        if value is not None and study.direction == "minimize":
            value = -value
        previous = self.continued.pop(number, None)
        decision = self.decisions.pop(number, Decision.CONTINUE)
        lost = state is TrialState.FAILED and error in LOSS_REASONS
        if previous is not None and lost:  # the paused state is intact: promote it again later
            records.revert(self.store, self.sid, number)
            return self.store.get_trial(self.sid, number)
        row = self.store.get_trial(self.sid, number)
        budget = row.budget
        new_curve = list(result.intermediate or [])
        restarted = bool(metrics.get("restarted"))
        curve = new_curve if previous is None or restarted else [*previous.intermediate, *new_curve]
        at = float(curve[-1][0]) if curve else float(metrics.get("epochs") or budget or 0)
        stopped = False
        if state is TrialState.COMPLETE:
            if decision is Decision.PAUSE:
                state, budget = TrialState.PRUNED, at
            elif decision is Decision.STOP or (budget is not None and at < float(budget) - 1e-9):
                state, stopped = TrialState.PRUNED, True
            elif budget is not None and float(budget) < self.scheduler.max_budget - 1e-9:
                state = TrialState.PRUNED
        losses = pending.losses + int(lost)
        requeue = previous is None and lost and error in REQUEUE_REASONS and losses <= d.retries
        records.finish(self.store, self.sid, number, state=state, value=value, metrics=metrics, error=error,
                       traceback=tb, started=result.started_at, completed=result.completed_at,
                       checkpoint=checkpoint, intermediate=curve, budget=budget,
                       continued=previous is not None, requeued=requeue, stopped=stopped)
        if previous is not None and previous.checkpoint and checkpoint:
            old = Path(previous.checkpoint).parent
            if old != Path(checkpoint).parent:
                shutil.rmtree(old, ignore_errors=True)
        trial = self.store.get_trial(self.sid, number)
        if requeue:
            d.queue.append(Pending(pending.candidate, pending.attempt + 1, number, losses))
        elif previous is None:
            tell_or_explain(study.strategy, self.tell_view(trial), study.name, "after it finished")
        self.prune_checkpoints()
        return trial

    def prune_checkpoints(self) -> None:
        """Delete the training state of trials that can no longer be promoted (unless kept)."""
        if self.scheduler.keep_checkpoints:
            return
        self.sync()
        for t in self.scheduler.trials:
            if t.state is TrialState.RUNNING or not t.checkpoint or self.scheduler.promotable(t):
                continue
            segment = Path(t.checkpoint).parent
            if t.state is TrialState.COMPLETE:
                (segment / "train_state.pt").unlink(missing_ok=True)
            elif segment.is_dir() and segment.name.startswith("b"):
                shutil.rmtree(segment, ignore_errors=True)


def budget_reached(trial: Trial) -> float | None:
    """The budget (epochs) a trial reached, ``None`` when it reports none."""
    value = reached(trial)
    return value if value > 0 else None


__all__ = ["SchedulerRun", "budget_reached", "check_evaluator", "sched_info"]
