"""The ``nasforge`` command: an end-to-end search on a tiny budget, and every bad-input case.

Bad input must print one ``nasforge: error: ...`` line, exit with status 2, and leave the store as it
was (checked on a store that already holds a study).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import ToyEvaluator, ToySpace, toy_parts

import nasforge as nf
from nasforge.cli.main import main
from nasforge.study import Study

TINY = ["--trials", "2", "--epochs", "1", "--workers", "1", "--no-progress",
        "--space-opt", "min_layers=1", "--space-opt", "max_layers=2", "--space-opt", "widths=[16]"]


def _snapshot(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT * FROM studies ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM trials ORDER BY id").fetchall()
    finally:
        conn.close()
    return rows


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    """A store holding one finished toy study."""
    path = tmp_path / "kept.db"
    study = Study.create(store=path, name="kept", space=ToySpace(),
                         strategy=nf.strategies.create("random"), evaluator=ToyEvaluator(), seed=0)
    study.optimize(n_trials=3, show_progress=False)
    study.store.close()
    return path


def test_search_end_to_end_then_status_best_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "e2e.db"
    rc = main(["search", "--store", str(store), "--name", "e2e", *TINY])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "best trial #" in out and "test accuracy" in out and "valid_acc" in out
    study = Study.load(store=store, name="e2e", build_evaluator=False)
    trials = study.trials
    assert len(trials) == 2 and all(t.state.value == "COMPLETE" for t in trials)
    assert all(0.0 <= t.metrics["valid_acc"] <= 1.0 and "test_acc" in t.metrics for t in trials)
    assert study.config["evaluator"]["epochs"] == 1 and study.budget["n_trials"] == 2

    assert main(["best", "e2e", "--store", str(store), "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["number"] == study.best_trial.number and best["genotype"]["space"] == "chain"
    assert main(["status", "--store", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "e2e" and rows[0]["trials"] == 2
    assert main(["status", "e2e", "--store", str(store)]) == 0
    assert "COMPLETE" in capsys.readouterr().out

    # the same command continues the study (the same config), to a larger total with --trials
    assert main(["resume", "e2e", "--store", str(store), "--trials", "3", "--no-progress"]) == 0
    assert len(Study.load(store=store, name="e2e", build_evaluator=False).trials) == 3
    # a different config under the same name is refused, showing the difference
    rc = main(["search", "--store", str(store), "--name", "e2e", *TINY[:-2], "--space-opt", "widths=[8]"])
    err = capsys.readouterr().err
    assert rc == 2 and "space.widths: stored [16], given [8]" in err
    assert len(Study.load(store=store, name="e2e", build_evaluator=False).trials) == 3


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for kind, expected in (("spaces", "chain"), ("strategies", "regularized-evolution"),
                           ("tasks", "mnist1d"), ("ops", "conv"), ("executors", "serial")):
        assert main(["list", kind]) == 0
        assert expected in capsys.readouterr().out.split()


def _bad_npz(tmp_path: Path) -> str:
    path = tmp_path / "bad.npz"
    x = np.random.default_rng(0).normal(size=(60, 1, 8)).astype(np.float32)
    x[3, 0, 2] = np.nan
    np.savez(path, x=x, y=np.arange(60) % 3)
    return str(path)


BAD_SEARCH = {
    "unknown space": (["--space", "nope"], "unknown space 'nope'"),
    "unknown strategy": (["--strategy", "regularised-evolution"], "Did you mean 'regularized-evolution'"),
    "unknown task": (["--task", "mnist2d"], "unknown task 'mnist2d'"),
    "zero trials": (["--trials", "0"], "--trials must be an integer >= 1"),
    "negative trials": (["--trials", "-4"], "--trials must be an integer >= 1"),
    "zero time": (["--time-limit", "0"], "--time-limit must be a positive number"),
    "zero epochs": (["--epochs", "0"], "--epochs must be an integer >= 1"),
    "zero workers": (["--workers", "0"], "--workers must be an integer >= 1"),
    "bad option syntax": (["--space-opt", "max_layers"], "--space-opt expects KEY=VALUE"),
    "unknown space option": (["--space-opt", "colour=3"], "colour"),
    "bad strategy option": (["--strategy-opt", "population=1"], "population"),
    "unknown executor": (["--executor", "mpi", "--trials", "1"], "unknown executor 'mpi'"),
    "ray address without ray": (["--executor", "serial", "--ray-address", "x:1"], "--ray-address needs"),
    "darts warm-up over its epochs": (["--space", "edge-cell", "--strategy", "darts", "--strategy-opt",
                                       "epochs=3", "--strategy-opt", "warmup_epochs=3"], "warmup_epochs"),
    "darts freeze share over 1": (["--space", "edge-cell", "--strategy", "darts", "--strategy-opt",
                                   "freeze_share=2"], "freeze_share"),
}
if not torch.cuda.is_available():  # a missing GPU is refused before the study is stored
    BAD_SEARCH["cuda without a gpu"] = (["--device", "cuda"], "CUDA is not available")
    BAD_SEARCH["cuda without a gpu, one-shot"] = (["--device", "cuda", "--space", "edge-cell", "--strategy",
                                                   "darts"], "CUDA is not available")


@pytest.mark.parametrize("case", sorted(BAD_SEARCH))
def test_bad_search_input_exits_2_and_keeps_the_store(
    case: str, populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, message = BAD_SEARCH[case]
    before = _snapshot(populated)
    rc = main(["search", "--store", str(populated), "--no-progress", "--workers", "1", *flags])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nasforge: error: ") and message in lines[0], err
    assert _snapshot(populated) == before


def test_bad_data_file(tmp_path: Path, populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(populated)
    rc = main(["search", "--store", str(populated), "--task", _bad_npz(tmp_path), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("nasforge: error: ") and ("NaN" in err or "finite" in err), err
    assert _snapshot(populated) == before


def test_bad_config_files(tmp_path: Path, populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "missing.toml": (None, "does not exist"),
        "broken.toml": ("trials = = 3", "not valid TOML"),
        "unknown.toml": ("colour = 'red'", "unknown key 'colour'"),
        "typed.toml": ("trials = 'many'", "trials must be a int"),
        "zero.toml": ("trials = 0", "--trials must be an integer >= 1"),
    }
    before = _snapshot(populated)
    for name, (text, message) in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        rc = main(["search", "--store", str(populated), "--config", str(path)])
        err = capsys.readouterr().err
        assert rc == 2 and message in err, (name, err)
    assert _snapshot(populated) == before


def test_config_file_settings_are_used(tmp_path: Path) -> None:
    from nasforge.cli.main import build_parser
    from nasforge.cli.search import resolve_settings

    path = tmp_path / "run.toml"
    path.write_text('task = "digits"\ntrials = 7\n[strategy_opt]\npopulation = 6\nsample = 2\n')
    args = build_parser().parse_args(["search", "--config", str(path), "--trials", "9"])
    s = resolve_settings(args)
    assert s["task"] == "digits" and s["trials"] == 9  # the flag wins over the file
    assert s["strategy_opt"] == {"population": 6, "sample": 2}
    args = build_parser().parse_args(["search", "--space", "nasnet"])
    assert resolve_settings(args)["space_opt"] == {}  # the default's chain options do not leak


@pytest.mark.parametrize("command", [["status"], ["status", "x"], ["best", "x"], ["resume", "x"]])
def test_unreadable_store(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not sqlite" * 50)
    rc = main([*command, "--store", str(junk)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("nasforge: error: store") and "not a SQLite database" in err
    assert junk.read_bytes() == b"definitely not sqlite" * 50
    missing = tmp_path / "missing.db"
    assert main([*command, "--store", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.exists()


@pytest.mark.parametrize("command", [["best", "nope"], ["status", "nope"], ["resume", "nope"]])
def test_unknown_study(command: list[str], populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(populated)
    assert main([*command, "--store", str(populated)]) == 2
    err = capsys.readouterr().err
    assert "no study named 'nope'" in err and "studies there: kept" in err
    assert _snapshot(populated) == before


def test_malformed_genotype_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import nasforge.cli.train  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("`nasforge train` has not landed")
    path = tmp_path / "arch.json"
    path.write_text('{"space": "chain", "genes": ')
    assert main(["train", str(path), "--task", "mnist1d", "--epochs", "1"]) == 2
    assert "nasforge: error:" in capsys.readouterr().err


def test_ctrl_c_exits_130_and_resume_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nasforge.cli.search as search

    monkeypatch.setattr(search, "build_parts", toy_parts(ToyEvaluator(interrupt_at=2)))
    store = tmp_path / "c.db"
    rc = main(["search", "--store", str(store), "--name", "toy", "--trials", "5", "--workers", "1",
               "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 130 and "nasforge resume toy" in " ".join(captured.err.split())
    study = Study.load(store=store, name="toy", evaluator=ToyEvaluator())
    assert [t.state.value for t in study.trials] == ["COMPLETE", "COMPLETE", "FAILED"]
    assert study.store.integrity_check() == "ok"


def test_aborted_search_exits_1_with_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nasforge.cli.search as search

    monkeypatch.setattr(search, "build_parts", toy_parts(ToyEvaluator(fail_all=True)))
    rc = main(["search", "--store", str(tmp_path / "a.db"), "--name", "toy", "--trials", "9",
               "--workers", "1", "--max-consecutive-failures", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "nasforge: error: study 'toy' stopped after 2 consecutive failed trials" in err
    assert "non_finite x2" in err


def test_space_follows_the_task_input_kind(tmp_path: Path) -> None:
    from nasforge.cli.main import build_parser
    from nasforge.cli.search import build_parts, resolve_settings

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 5)).astype(np.float32)
    np.savez(tmp_path / "tab.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    for task, kind in (("digits", "2d"), (str(tmp_path / "tab.npz"), "tabular")):
        args = build_parser().parse_args(["search", "--task", task, "--epochs", "1"])
        space, _, evaluator = build_parts(resolve_settings(args))
        assert space.params["input_kind"] == kind and evaluator.describe_task()["name"]
        if kind == "tabular":
            assert set(space.params["ops"]) <= {"dense", "identity"}
