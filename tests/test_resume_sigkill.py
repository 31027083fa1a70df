"""SIGKILL the driver at random points several times, resume, and check nothing was lost.

The driver is ``python tests/fakes.py STORE NAME N SLEEP`` (create-or-resume a toy study and optimise it
to N trials); each trial sleeps a little. Each driver is killed a random 0-0.4 s after it completed
its first trial, so kills land between and inside trials and store transactions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nasforge.errors import StoreError
from nasforge.study import Study
from nasforge.study.lease import read_lease
from nasforge.study.store import Store

FAKES = Path(__file__).parent / "fakes.py"
N_TRIALS = 60


def _driver(store: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parent.parent))
    return subprocess.Popen(
        [sys.executable, str(FAKES), str(store), "kill", str(N_TRIALS), "0.04"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _completed(store: Path) -> dict[int, tuple[str, float]]:
    try:
        st = Store(store, create=False)
    except StoreError as exc:  # not created yet, or the driver is still writing the schema
        assert "does not exist" in str(exc) or "is empty" in str(exc)
        return {}
    with st:
        if not st.has_study("kill"):
            return {}
        sid = st.get_study("kill").id
        return {
            t.number: (t.architecture.to_json(), t.value)
            for t in st.trials(sid)
            if t.state.value == "COMPLETE"
        }


def test_sigkill_driver_then_resume_loses_nothing(tmp_path: Path) -> None:
    store = tmp_path / "kill.db"
    rng = np.random.default_rng(1234)
    seen: dict[int, tuple[str, float]] = {}
    kills = 0
    for delay in rng.uniform(0.0, 0.4, size=5):
        before = len(_completed(store))
        proc = _driver(store)
        deadline = time.monotonic() + 60
        while proc.poll() is None and len(_completed(store)) <= before and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until this driver made progress, then kill it a little later
        time.sleep(float(delay))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        now = _completed(store)
        for number, record in seen.items():  # every completed trial survived, unchanged
            assert now.get(number) == record, f"completed trial {number} was lost or altered"
        seen.update(now)
    assert kills >= 4
    final = _driver(store)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]
    assert b"DONE" in out

    study = Study.load(store=store, name="kill", build_evaluator=False)
    trials = study.trials
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # unique and contiguous
    assert all(t.state.value != "RUNNING" for t in trials)
    assert study.store.count_budget(study.record.id) == N_TRIALS  # the study finished its budget
    final_completed = _completed(store)
    for number, record in seen.items():
        assert final_completed.get(number) == record
    lost = [t for t in trials if t.error in ("driver_lost", "interrupted")]
    reruns = {t.info.get("retry_of") for t in trials}
    assert all(t.number in reruns for t in lost)  # every lost candidate was re-run
    assert study.store.integrity_check() == "ok"
    assert read_lease(study.store, study.record.id) is None
