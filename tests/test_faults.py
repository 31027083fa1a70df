"""One fault-injection test per fault, through the study driver on the process executor.

Each fault is recorded on its trial with its reason and never stops the study; only K consecutive
failures do (with a summary), and Ctrl-C leaves the store consistent.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from executor_fakes import ToyFaultEvaluator
from fakes import ToySpace

import nasforge as nf
from nasforge.errors import StudyAborted
from nasforge.study import Study, TrialState

HERE = Path(__file__).parent


def make_study(store: Path, evaluator: ToyFaultEvaluator, name: str = "faults") -> Study:
    return Study.create(store=store, name=name, space=ToySpace(), strategy=nf.strategies.create("random"),
                        evaluator=evaluator, seed=1)


def by_number(study: Study) -> dict[int, object]:
    return {t.number: t for t in study.trials}


def test_exception_fails_the_trial_with_its_traceback(store_path):
    study = make_study(store_path, ToyFaultEvaluator(raise_at=[1]))
    study.optimize(n_trials=4, workers=1, executor="process", show_progress=False)
    trials = by_number(study)
    assert trials[1].state is TrialState.FAILED and trials[1].error == "exception"
    assert "ValueError: injected failure in trial 1" in trials[1].traceback
    assert [t.state for n, t in trials.items() if n != 1] == [TrialState.COMPLETE] * 3


def test_non_finite_loss_fails_the_trial_non_finite(store_path):
    study = make_study(store_path, ToyFaultEvaluator(nan_at=[0, 2]))
    study.optimize(n_trials=4, workers=1, executor="process", show_progress=False)
    trials = by_number(study)
    assert {n for n, t in trials.items() if t.error == "non_finite"} == {0, 2}
    assert trials[1].state is TrialState.COMPLETE and trials[3].state is TrialState.COMPLETE


def test_sigkilled_worker_is_worker_lost_and_rerun(store_path):
    study = make_study(store_path, ToyFaultEvaluator(sleep=0.2, kill_at=[2]))
    study.optimize(n_trials=6, workers=2, executor="process", retries=1, show_progress=False)
    trials = by_number(study)
    lost = trials[2]
    assert lost.state is TrialState.FAILED and lost.error == "worker_lost"
    reruns = [t for t in trials.values() if t.info.get("retry_of") == 2]
    assert len(reruns) == 1
    assert reruns[0].architecture == lost.architecture and reruns[0].state is TrialState.COMPLETE
    # nothing else lost: every other trial completed, the lost one is not counted in the budget
    assert all(t.state is TrialState.COMPLETE for n, t in trials.items() if n != 2)
    assert len(trials) == 7 and study.store.count_budget(study.record.id) == 6
    assert len({t.metrics["pid"] for t in trials.values() if t.metrics}) >= 3  # a fresh worker came


def test_trial_past_timeout_is_killed_and_the_slot_reclaimed(store_path):
    study = make_study(store_path, ToyFaultEvaluator(hang_at=[1]))
    t0 = time.monotonic()
    study.optimize(n_trials=4, workers=1, executor="process", trial_timeout=2.0, show_progress=False)
    assert time.monotonic() - t0 < 60
    trials = by_number(study)
    assert trials[1].state is TrialState.FAILED and trials[1].error == "timeout"
    assert [trials[n].state for n in (0, 2, 3)] == [TrialState.COMPLETE] * 3
    assert trials[0].metrics["pid"] != trials[2].metrics["pid"]  # the hung worker was replaced


def test_consecutive_failures_abort_with_a_summary(store_path):
    study = make_study(store_path, ToyFaultEvaluator(fail_all=True))
    with pytest.raises(StudyAborted, match=r"3 consecutive failed trials \(non_finite x3\)"):
        study.optimize(n_trials=20, workers=2, executor="process", max_consecutive_failures=3,
                       show_progress=False)
    trials = study.trials
    assert sum(t.error == "non_finite" for t in trials) >= 3
    assert not any(t.state is TrialState.RUNNING for t in trials)
    assert study.store.integrity_check() == "ok"


def _running_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_cancels_pending_trials_and_leaves_the_store_consistent(tmp_path):
    store = tmp_path / "int.db"
    # a budget far beyond the 60 s wait below, so the SIGINT always lands mid-search on a slow machine
    cmd = [sys.executable, str(HERE / "executor_fakes.py"), str(store), "int", "400", "1.0", "2"]
    # a new session, so the SIGINT goes to the driver and its workers, as a terminal's Ctrl-C does
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until some trials completed and others run
            time.sleep(0.5)
            if not store.exists():
                continue
            try:
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
                    states = [r[0] for r in conn.execute("SELECT state FROM trials")]
            except sqlite3.Error:  # not created yet
                continue
            if states.count("COMPLETE") >= 2 and "RUNNING" in states:
                break
        workers = _running_children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "INTERRUPTED" in out
    assert workers and all(_gone(pid) for pid in workers)  # workers (and resource tracker) exited
    study = Study.load(store=store, name="int", evaluator=ToyFaultEvaluator(sleep=1.0))
    trials = study.trials
    assert study.store.integrity_check() == "ok"
    assert not any(t.state is TrialState.RUNNING for t in trials)
    interrupted = [t for t in trials if t.error == "interrupted"]
    assert interrupted and all(t.info["requeued"] for t in interrupted)
    assert sum(t.state is TrialState.COMPLETE for t in trials) >= 2
    target = study.store.count_budget(study.record.id) + len(interrupted)  # re-runs go first
    study.optimize(n_trials=target, workers=2, executor="process", show_progress=False)
    assert study.store.count_budget(study.record.id) == target
    for t in interrupted:  # each cancelled candidate was re-run on resume
        assert any(r.info.get("retry_of") == t.number for r in study.trials)
