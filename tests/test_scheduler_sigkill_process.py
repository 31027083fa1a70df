"""SIGKILL the driver of a Hyperband search on 2 process workers three times, resume each time: no trial
lost or duplicated, and every promotion continues from its checkpoint (epoch counters continue, no trial
is retrained from zero)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_resume_process_sigkill import gone, sigkill_when

import nasforge as nf
from nasforge.schedulers.base import rung_budgets
from nasforge.trial import TrialState

FAKES = Path(__file__).parent / "sched_fakes.py"
N_TRIALS = 17  # one full Hyperband cycle at eta 3, budgets 1, 3, 9: brackets of 9, 5 and 3 trials
BUDGETS = rung_budgets(1, 9, 3)
Row = dict[str, Any]


def driver(store: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parent.parent))
    cmd = [sys.executable, str(FAKES), str(store), "hb", str(N_TRIALS), "0.08", "hyperband", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def rows(store: Path) -> dict[int, Row]:
    """The stored trials, read without the study (the driver holds the store)."""
    if not store.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
            got = conn.execute("SELECT number, state, budget, info, intermediate, requeued, driver "
                               "FROM trials").fetchall()
    except sqlite3.Error:  # tables not created yet
        return {}
    return {int(n): {"state": s, "budget": b, "sched": json.loads(i).get("sched", {}),
                     "steps": [step for step, _ in json.loads(c)], "requeued": bool(r), "driver": d}
            for n, s, b, i, c, r, d in got}


def fresh(now: dict[int, Row], stale: dict[int, Row]) -> dict[int, Row]:
    """``now`` with the RUNNING rows a killed driver left (not yet recovered) marked ``STALE``."""
    def left(n: int, r: Row) -> bool:
        return r["state"] == "RUNNING" and n in stale and stale[n]["driver"] == r["driver"]
    return {n: {**r, "state": "STALE"} if left(n, r) else r for n, r in now.items()}


def promotion_running(to: float) -> Callable[[dict[int, Row]], bool]:
    """The moment a promotion to budget ``to`` runs."""
    return lambda now: any(r["state"] == "RUNNING" and "prev_budget" in r["sched"] and r["budget"] == to
                           for r in now.values())


def running_after_a_complete(now: dict[int, Row]) -> bool:
    return any(r["state"] == "COMPLETE" for r in now.values()) and any(
        r["state"] == "RUNNING" for r in now.values())


def kill_when(store: Path, ready: Callable[[dict[int, Row]], bool]) -> None:
    """Start (or resume) the driver, SIGKILL it once ``ready(stored trials)`` holds; its workers exit."""
    stale = {n: r for n, r in rows(store).items() if r["state"] == "RUNNING"}
    workers, running = sigkill_when(driver(store), lambda: ready(fresh(rows(store), stale)), timeout=30)
    assert running, "the search ended before the moment to kill it"
    assert workers and all(gone(pid) for pid in workers), f"orphaned workers: {workers}"


def check_kept(before: dict[int, Row], after: dict[int, Row]) -> None:
    """What a killed driver left is kept by the next: finished results unchanged, curves only grow."""
    for number, old in before.items():
        old, new = {**old, "driver": None}, {**after[number], "driver": None}
        if old["state"] == "COMPLETE" or old["requeued"]:
            assert new == old, f"trial {number} changed after it finished"
        if old["state"] != "RUNNING" or "prev_budget" in old["sched"]:  # a paused state stays
            assert new["steps"][:len(old["steps"])] == old["steps"], f"trial {number} lost epochs"


@pytest.mark.slow
def test_sigkill_hyperband_on_process_workers_then_resume(tmp_path: Path) -> None:
    store = tmp_path / "k.db"
    # kill while a trial is promoted to the middle rung, to the top rung, then after the first completion
    moments = [promotion_running(3), promotion_running(9), running_after_a_complete]
    before: dict[int, Row] = {}
    for ready in moments:
        kill_when(store, ready)
        now = rows(store)
        check_kept(before, now)
        before = now
    proc = driver(store)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    check_kept(before, rows(store))

    study = nf.Study.load(store=store, name="hb", read_only=True)
    trials = study.trials
    assert [t.number for t in trials] == list(range(len(trials)))
    assert not any(t.state is TrialState.RUNNING for t in trials)
    kept = [t for t in trials if not t.info.get("requeued")]
    # no trial lost: every new trial a kill cut short was run again, once, as a new number
    retried = [t.info.get("retry_of") for t in trials if t.info.get("retry_of") is not None]
    assert len(retried) == len(set(retried))
    for t in trials:
        if t.info.get("requeued"):
            assert t.number in retried and t.error == "driver_lost"
    assert len(kept) == N_TRIALS == study.store.count_budget(study.record.id)
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in kept)
    # every promotion continued from its checkpoint: one report per epoch 1..budget, none repeated
    promoted = 0
    for t in kept:
        sched = t.info["sched"]
        first, budget = float(sched["first_budget"]), float(t.budget)
        assert [s for s, _ in t.intermediate] == list(range(1, int(budget) + 1)), t.number
        assert "restarted" not in t.metrics, f"trial {t.number} was retrained from zero"
        steps = BUDGETS.index(budget) - BUDGETS.index(first)
        assert int(sched.get("continued", 0)) == steps and "prev_budget" not in sched
        if steps:
            promoted += 1
            below = BUDGETS[BUDGETS.index(budget) - 1]
            assert t.metrics["resumed_at"] == below and t.metrics["trained_epochs"] == budget - below
    assert promoted >= 3  # the full cycle promotes 3 + 1 (bracket 0) + 1 (bracket 1) trials
    assert sum(t.state is TrialState.COMPLETE for t in kept) == 5  # 1 + 1 + 3 reach the maximum budget
