"""Resume is replay: fail the trials a dead driver left RUNNING, settle candidates out of re-runs, re-tell
the stored history to a freshly set-up strategy, and list the candidates to re-run.

Re-runs are bounded *across resumes*: a candidate whose trial was lost with its driver (``driver_lost``)
or its worker (``worker_lost``) is re-run at most ``retries`` times, counted along its chain of
``retry_of`` links in the store. Past that, its last lost trial is settled: an ordinary FAILED trial
with its reason, told to the strategy, counted in the budget, and the study goes on. Trials cut short
by Ctrl-C (``interrupted``) or an abort (``aborted``) do not count as losses.

A stored trial the strategy cannot take (its ``tell`` raises) stops the resume with a
:class:`~nasforge.errors.StoreError` naming the trial and how to skip it; skipped trials are recorded
in the study config (``skip_trials``), so every later replay skips the same ones.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nasforge.errors import StoreError
from nasforge.trial import Candidate, Trial

if TYPE_CHECKING:
    from nasforge.strategies.base import Strategy
    from nasforge.study.store import Store
    from nasforge.study.study import Study

#: failure reasons that count as a loss of the candidate's run (bounded by ``retries``)
LOSS_REASONS = ("worker_lost", "driver_lost")
#: failure reasons after which the driver re-runs the candidate at once (transport failures)
REQUEUE_REASONS = ("worker_lost",)


@dataclass
class Pending:
    """A candidate waiting to run or running: its attempt number, the trial it re-runs and how many of
    its earlier runs were lost (``worker_lost`` / ``driver_lost``)."""

    candidate: Candidate
    attempt: int = 1
    retry_of: int | None = None
    losses: int = 0


def losses_of(store: Store, study_id: int, trial: Trial) -> int:
    """How many runs of ``trial``'s candidate were lost, ``trial`` included (walks ``retry_of``)."""
    count, seen = 0, set()
    current: Trial | None = trial
    while current is not None and current.number not in seen:
        seen.add(current.number)
        count += current.error in LOSS_REASONS
        previous = current.info.get("retry_of")
        current = None if previous is None else store.get_trial(study_id, int(previous))
    return count


def skip_hint(study_name: str, number: int) -> str:
    return (
        f"skip it with `nasforge resume {study_name} --skip-trial {number}` (API: "
        f"study.skip_trials([{number}])); it stays in the store but is never told to the strategy"
    )


def tell_or_explain(strategy: Strategy, trial: Trial, study_name: str, when: str) -> None:
    """``strategy.tell(trial)``; an exception becomes a :class:`StoreError` naming the trial and the skip."""
    try:
        strategy.tell(trial)
    except Exception as exc:  # the strategy's own bug or limit: say which trial and how to get past it
        raise StoreError(
            f"strategy {strategy.name!r} failed to take trial {trial.number} of study {study_name!r} "
            f"{when} ({type(exc).__name__}: {exc}); {skip_hint(study_name, trial.number)}"
        ) from exc


def recover_and_replay(study: Study, retries: int = 1,
                       view: Callable[[Trial], Trial] | None = None) -> collections.deque[Pending]:
    """Fail RUNNING trials of a dead driver, settle lost candidates past ``retries``, replay the told
    history (completion order, skipped trials left out) into a freshly set-up strategy, and return the
    candidates to re-run (also registered with the strategy as pending). ``view``: what the strategy is
    told of a stored trial (a scheduler tells the first segment of a continued trial)."""
    store, sid = study.store, study.record.id
    store.fail_running(sid, "driver_lost", requeued=True)
    requeues = []
    for lost in store.pending_requeues(sid):
        losses = losses_of(store, sid, lost)
        if losses > retries:
            store.settle(sid, lost.number)
        else:
            requeues.append((lost, losses))
    strategy = study.fresh_strategy()
    skip = set(study.skipped_trials)
    for trial in store.history(sid):
        if trial.number not in skip:
            told = trial if view is None else view(trial)
            tell_or_explain(strategy, told, study.name, "while replaying the stored history")
    queue: collections.deque[Pending] = collections.deque()
    for lost, losses in requeues:
        candidate = lost.candidate
        queue.append(Pending(candidate, int(lost.info.get("attempt", 1)) + 1, lost.number, losses))
        strategy.mark_pending(candidate)
    return queue
