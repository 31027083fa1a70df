"""One-shot studies from the command line: DARTS / SPOS phases in the store, the supernet evaluator,
retraining the best, status, bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasforge.cli.main import main
from nasforge.study import Study
from nasforge.trial import TrialState
from tests.tiny import tiny_task

TINY = ["--space", "edge-cell", "--space-opt", "channels=4", "--space-opt", "nodes=3", "--epochs", "1",
        "--no-progress", "--workers", "1", "--executor", "serial"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    task = tiny_task("1d", n=48)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    x = np.concatenate([task.x_train, task.x_valid, task.x_test])
    y = np.concatenate([task.y_train, task.y_valid, task.y_test])
    np.savez(path, x=x, y=y)
    return str(path)


def test_darts_study_records_its_phase_and_retrains_the_derived_cell(
    tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    argv = ["search", "--task", data, *TINY, "--strategy", "darts", "--strategy-opt", "epochs=2",
            "--store", store, "--name", "d"]
    assert main(argv) == 0
    study = Study.load(store=store, name="d", read_only=True)
    record = study.config["oneshot"]
    assert record["method"] == "darts-1st" and record["epochs"] == 2 and record["seconds"] > 0
    assert record["phase"] == "retraining" and len(record["alpha_history"]) == 2
    assert 0.0 <= record["param_free_share"] <= 1.0
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE]
    assert trials[0].architecture.to_dict() == record["derived"]
    assert (tmp_path / "s_artifacts" / "d" / "supernet" / "supernet_state.pt").exists()
    capsys.readouterr()
    assert main(["status", "d", "--store", store]) == 0
    assert "one-shot phase: darts-1st" in capsys.readouterr().out
    assert main(["best", "d", "--store", store]) == 0


def test_spos_then_supernet_evaluator_then_retrained_best(tmp_path: Path, data: str) -> None:
    store = str(tmp_path / "s.db")
    assert main(["search", "--task", data, *TINY, "--strategy", "spos", "--strategy-opt", "epochs=1",
                 "--strategy-opt", "queries=6", "--strategy-opt", "top_k=2", "--store", store,
                 "--name", "sp"]) == 0
    spos = Study.load(store=store, name="sp", read_only=True)
    assert len(spos.config["oneshot"]["candidates"]) == 2 and len(spos.trials) == 2
    supernet = spos.config["oneshot"]["supernet"]
    assert main(["search", "--task", data, *TINY, "--strategy", "random", "--evaluator", "supernet",
                 "--evaluator-opt", f"supernet={supernet}", "--evaluator-opt", "retrain_top=2",
                 "--trials", "5", "--store", store, "--name", "rs"]) == 0
    scored = Study.load(store=store, name="rs", read_only=True)
    assert len(scored.trials) == 5 and all("supernet_score" in t.metrics for t in scored.trials)
    retrained = Study.load(store=store, name="rs-retrain", read_only=True)
    assert len(retrained.trials) == 2 and all(t.checkpoint for t in retrained.trials)
    best_scored = max(scored.trials, key=lambda t: t.value)
    assert best_scored.architecture.to_dict() in [t.architecture.to_dict() for t in retrained.trials]
    ranking = retrained.config["oneshot"]["ranking"]
    assert len(ranking) == 2 and all(r["supernet"] is not None for r in ranking)
    assert main(["export", "rs-retrain", "--store", store, "--out", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("argv,needle", [
    (["--strategy", "darts", "--space", "chain"], "supported: edge-cell, nasnet"),
    (["--strategy", "spos", "--space", "nasbench-graph"], "supported: edge-cell, nasnet"),
    (["--strategy", "random", "--space", "edge-cell", "--evaluator", "supernet"], "needs a trained supernet"),
    (["--strategy", "random", "--space", "edge-cell", "--evaluator", "supernet", "--evaluator-opt",
      "supernet=missing.pt"], "does not exist"),
    (["--strategy", "darts", "--space", "edge-cell", "--strategy-opt", "alpha_lr=0"], "alpha_lr"),
    (["--strategy", "darts", "--space", "edge-cell", "--strategy-opt", "alpha_lr=-0.1"], "alpha_lr"),
])
def test_bad_oneshot_input_is_one_line_exit_2(tmp_path: Path, data: str, capsys, argv, needle) -> None:
    store = tmp_path / "bad.db"
    assert main(["search", "--task", data, "--store", str(store), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not store.exists()


def test_one_shot_study_killed_in_its_supernet_phase_resumes_from_its_last_epoch(
    tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal
    import subprocess
    import sys

    store = str(tmp_path / "s.db")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "nasforge", "search", "--task", data, *TINY, "--strategy", "darts",
            "--strategy-opt", "epochs=3", "--store", store, "--name", "k"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "supernet epoch 1/3" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    record = Study.load(store=store, name="k", read_only=True).config["oneshot"]
    assert record["phase"] == "supernet" and record["epochs"] >= 1
    capsys.readouterr()
    assert main(["resume", "k", "--store", store, "--no-progress"]) == 0
    assert "resumes its supernet at epoch" in capsys.readouterr().err
    study = Study.load(store=store, name="k", read_only=True)
    assert study.config["oneshot"]["epochs"] == 3 and study.config["oneshot"]["phase"] == "retraining"
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
