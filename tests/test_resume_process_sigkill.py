"""SIGKILL the driver while process workers run: workers exit, resume loses nothing, store stays sound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from executor_fakes import ToyFaultEvaluator

from nasforge.study import Study, TrialState

HERE = Path(__file__).parent
N_TRIALS = 10


def driver(store: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(HERE / "executor_fakes.py"), str(store), "kill", str(N_TRIALS), "0.6", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def states(store: Path) -> dict[int, tuple[str, float | None]]:
    if not store.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT number, state, value FROM trials").fetchall()
    except sqlite3.Error:  # tables not created yet
        return {}
    return {int(n): (s, v) for n, s, v in rows}


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(v) for v in line.split())
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


def sigkill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float,
                 poll: float = 0.05) -> tuple[list[int], bool]:
    """Wait until ``ready()`` holds (at most ``timeout`` seconds, or until the driver ends), then
    SIGKILL the driver. Returns its worker pids as they were just before and whether the driver was
    still running then."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(poll)
        running = proc.poll() is None
        workers = descendants(proc.pid)
        if running:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return workers, running


@pytest.mark.slow
def test_sigkill_driver_with_process_workers_then_resume(tmp_path):
    store = tmp_path / "k.db"
    completed: dict[int, float | None] = {}
    for min_complete in (2, 5):  # kill twice, at different points of the search
        def ready(min_complete: int = min_complete) -> bool:
            now = states(store)
            done = sum(s == "COMPLETE" for s, _ in now.values())
            return done >= min_complete and any(s == "RUNNING" for s, _ in now.values())

        workers, _ = sigkill_when(driver(store), ready, timeout=90, poll=0.3)
        assert workers, "the driver had no worker processes when it was killed"
        # no orphans: workers notice their parent died and exit on their own
        assert all(gone(pid) for pid in workers), f"orphaned workers still running: {workers}"
        snapshot = states(store)
        for number, value in completed.items():  # nothing completed earlier was lost or altered
            assert snapshot[number] == ("COMPLETE", value)
        completed = {n: v for n, (s, v) in snapshot.items() if s == "COMPLETE"}
        with sqlite3.connect(store) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    proc = driver(store)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "DONE" in out
    study = Study.load(store=store, name="kill", evaluator=ToyFaultEvaluator(sleep=0.6))
    trials = study.trials
    assert study.store.integrity_check() == "ok"
    assert [t.number for t in trials] == list(range(len(trials)))  # unique and contiguous
    for number, value in completed.items():
        assert trials[number].state is TrialState.COMPLETE and trials[number].value == value
    assert not any(t.state is TrialState.RUNNING for t in trials)
    lost = [t for t in trials if t.error == "driver_lost"]
    assert lost and all(any(r.info.get("retry_of") == t.number for r in trials) for t in lost)
    assert study.store.count_budget(study.record.id) == N_TRIALS
    assert sum(t.state is TrialState.COMPLETE for t in trials) == N_TRIALS
