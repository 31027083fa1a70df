"""The store writes a scheduler needs (each one transaction, guarded by the driver's lease), and the
view of a trial its strategy is told.

* :func:`reopen`: a paused (PRUNED) trial becomes RUNNING again with a larger budget. Its results,
  curve, checkpoint and completion seq stay as they were until it finishes, so :func:`revert` (a driver
  died while it ran) restores the paused trial exactly and it is promoted again.
* :func:`finish`: record the end of a segment; a continued trial keeps its completion seq (the strategy
  was told it when its first segment ended, and replay tells it at that place again).
* :func:`first_segment`: the trial as the strategy was told it when its first segment ended (budget,
  value and curve of that segment; metrics reduced to the objective), rebuilt from the stored row, so the
  live tell and the replayed tell are the same.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nasforge.schedulers.base import raw_at, sched_info
from nasforge.study.store import Store, _next_seq, dumps
from nasforge.trial import Trial, TrialState


def reopen(store: Store, study_id: int, trial: Trial, budget: float, driver: str | None) -> None:
    """Paused trial -> RUNNING at ``budget`` (the previous budget is kept in its info for :func:`revert`)."""
    added = ("attempt", "seed", "requeued", "retry_of", "seq")  # the store adds them on reading
    info = {k: v for k, v in trial.info.items() if k not in added}
    sched = dict(sched_info(trial))
    sched.update(prev_budget=trial.budget, continued=int(sched.get("continued", 0)) + 1)
    info["sched"] = sched
    with store.transaction(study_id) as conn:
        cur = conn.execute(
            "UPDATE trials SET state = ?, budget = ?, info = ?, driver = ? "
            "WHERE study_id = ? AND number = ? AND state = ?",
            (TrialState.RUNNING.value, float(budget), dumps(info), driver, study_id, trial.number,
             TrialState.PRUNED.value),
        )
        if cur.rowcount != 1:
            raise RuntimeError(f"trial {trial.number} is not paused; it cannot be promoted")


def revert(store: Store, study_id: int, number: int) -> None:
    """A continued trial that did not finish -> paused again at its previous budget (results untouched)."""
    with store.transaction(study_id) as conn:
        row = conn.execute("SELECT info FROM trials WHERE study_id = ? AND number = ?",
                           (study_id, number)).fetchone()
        info = json.loads(row[0])
        sched = dict(info.get("sched") or {})
        prev = sched.pop("prev_budget", None)
        sched["continued"] = max(0, int(sched.get("continued", 1)) - 1)
        info["sched"] = sched
        conn.execute(
            "UPDATE trials SET state = ?, budget = ?, info = ? WHERE study_id = ? AND number = ?",
            (TrialState.PRUNED.value, prev, dumps(info), study_id, number),
        )


def running_continuations(store: Store, study_id: int) -> list[int]:
    """RUNNING trials that were promoted (a dead driver left them): :func:`revert` them before replay."""
    return [t.number for t in store.trials(study_id)
            if t.state is TrialState.RUNNING and "prev_budget" in sched_info(t)]


def finish(store: Store, study_id: int, number: int, *, state: TrialState, value: float | None,
           metrics: dict[str, Any], error: str | None, traceback: str | None, started: float | None,
           completed: float | None, checkpoint: str | None, intermediate: list[Any], budget: float | None,
           continued: bool, requeued: bool = False, stopped: bool = False) -> None:
    """Record the end of a segment (one transaction); a first segment gets the next completion seq."""
    with store.transaction(study_id) as conn:
        row = conn.execute("SELECT state, info, seq FROM trials WHERE study_id = ? AND number = ?",
                           (study_id, number)).fetchone()
        if row is None or row[0] != TrialState.RUNNING.value:
            raise RuntimeError(f"trial {number} is not RUNNING; it cannot finish")
        info = json.loads(row[1])
        if stopped:
            info.setdefault("sched", {})["stopped"] = True
        info.get("sched", {}).pop("prev_budget", None)
        seq = row[2] if continued and row[2] is not None else _next_seq(conn, study_id)
        conn.execute(
            "UPDATE trials SET state = ?, value = ?, metrics = ?, error = ?, traceback = ?, "
            "started = COALESCE(started, ?), completed = ?, checkpoint = COALESCE(?, checkpoint), "
            "intermediate = ?, seq = ?, requeued = ?, budget = ?, info = ? WHERE study_id = ? AND number = ?",
            (state.value, value, dumps(metrics), error, traceback, started,
             time.time() if completed is None else completed, checkpoint, dumps(intermediate), seq,
             int(requeued), budget, dumps(info), study_id, number),
        )


def first_segment(trial: Trial, objective: str, sign: float, max_budget: float) -> Trial:
    """The trial as its strategy is told it: the result of its first segment (see the module docstring)."""
    sched = sched_info(trial)
    if not sched:
        return trial
    first = float(sched.get("first_budget") or trial.budget or 0)
    metrics: dict[str, Any] = {}
    if int(sched.get("continued", 0)) or "prev_budget" in sched:
        raw = raw_at(trial, first, objective)
        state = TrialState.PRUNED if first < max_budget else TrialState.COMPLETE
        value = None if raw is None else sign * raw
        intermediate = [(s, m) for s, m in trial.intermediate if s <= first + 1e-9]
        budget = first
    else:
        state, value, intermediate, budget = trial.state, trial.value, list(trial.intermediate), trial.budget
        raw = trial.metrics.get(objective)
    if isinstance(raw, (int, float)):
        metrics[objective] = raw
    return Trial(number=trial.number, architecture=trial.architecture, state=state, value=value,
                 metrics=metrics, budget=budget, parent=trial.parent, error=trial.error,
                 intermediate=intermediate, info=dict(trial.info))
