"""A NASH study (every child inherits its parent's weights) is SIGKILLed mid-run and resumed: every
trial completes, every child found its parent's checkpoint (no training from scratch) and the lineage
survives in the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nasforge.errors import StoreError
from nasforge.study.store import Store
from tests.tiny import tiny_task

ROOT = Path(__file__).parent.parent
N_TRIALS = 7


def _cli(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "nasforge", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def _trials(store: Path) -> list:
    try:
        st = Store(store, create=False)
    except StoreError:
        return []
    with st:
        return st.trials(st.get_study("kill").id) if st.has_study("kill") else []


def test_sigkill_inheriting_study_then_resume(tmp_path: Path) -> None:
    task = tiny_task("1d")
    data = tmp_path / "tiny.npz"
    np.savez(data, x=np.concatenate([task.x_train, task.x_valid]),
             y=np.concatenate([task.y_train, task.y_valid]))
    store = tmp_path / "k.db"
    search = _cli(
        "search", "--task", str(data), "--space", "chain", "--strategy", "nash", "--epochs", "1",
        "--trials", str(N_TRIALS), "--store", str(store), "--name", "kill",
        "--space-opt", "max_layers=5", "--space-opt", "widths=[4,8,16]",
        "--space-opt", "kernel_sizes=[1,3,5]", "--space-opt", 'activations=["relu"]',
        "--space-opt", 'norms=["batch"]', "--space-opt", "dropouts=[0.0]",
        "--strategy-opt", "n_neighbours=3", "--strategy-opt", "n_morphisms=2",
        "--strategy-opt", "epochs_neighbours=1",
    )
    deadline = time.monotonic() + 120
    while search.poll() is None and time.monotonic() < deadline:
        if sum(t.state.value == "COMPLETE" for t in _trials(store)) >= 2:  # the parent and a child
            break
        time.sleep(0.05)
    assert search.poll() is None, search.communicate()[1].decode()[-2000:]
    search.send_signal(signal.SIGKILL)
    search.wait(timeout=60)
    before = [t for t in _trials(store) if t.state.value == "COMPLETE"]
    assert 2 <= len(before) < N_TRIALS
    resume = _cli("resume", "kill", "--store", str(store))
    _, err = resume.communicate(timeout=300)
    assert resume.returncode == 0, err.decode()[-2000:]
    assert b"from scratch" not in err  # every parent checkpoint was found after the kill
    done = [t for t in _trials(store) if t.state.value == "COMPLETE"]
    assert len(done) == N_TRIALS
    kids = [t for t in done if t.parent is not None]
    assert kids and all(t.metrics.get("inherited") == 1 for t in kids), [(t.number, t.metrics) for t in kids]
    assert all(t.info["lineage"]["parent"] == t.parent and t.info["lineage"]["exact"] for t in kids)
    assert any(t.number > max(b.number for b in before) for t in kids)  # children born after the resume
