"""``nasforge search`` on a small table: cross-validated trials by default (``--cv``, ``cv`` in a config
file), the final model on train+valid behind ``export`` / ``predict``, small-table defaults for what the
user did not give, and bad ``--cv`` values: one line, exit 2, nothing stored changes."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from nasforge import defaults
from nasforge.cli import smalldata
from nasforge.cli.main import build_parser, main
from nasforge.cli.search import resolve_settings
from nasforge.data import load
from nasforge.study import Study

FAST = ["--epochs", "1", "--trials", "2", "--no-progress", "--space-opt", "max_layers=1",
        "--space-opt", "widths=[8]"]


def write_table(path: Path, n: int = 60) -> Path:
    """A 3-class table with text labels (``n // 3`` rows per class)."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4))
    x[:, 0] += y * 2
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "species"])
        for row, label in zip(x, y, strict=True):
            w.writerow([repr(float(v)) for v in row] + [["cat", "dog", "owl"][label]])
    return path


def digest(path: Path) -> str:
    """The store's content (every table's rows), whatever SQLite's file layout."""
    if not path.exists():
        return "absent"
    with sqlite3.connect(path) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_small_table_search_cross_validates_and_exports_the_final_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, store = write_table(tmp_path / "pets.csv"), tmp_path / "s.db"
    assert main(["search", "--task", str(data), "--store", str(store), "--name", "cv", *FAST]) == 0
    captured = capsys.readouterr()
    assert "cv 5 (default: auto)" in captured.err.splitlines()[0]
    text = " ".join((captured.out + captured.err).split())
    assert "5-fold cross-validation" in text and "final model trained on all 48 train+valid" in text
    study = Study.load(store=store, name="cv", read_only=True)
    best = study.best_trial
    assert best.metrics["cv_folds"] == 5 and best.metrics["final_n_train"] == 48
    assert all("test_acc" not in t.metrics for t in study.trials if t.number != best.number)
    out = tmp_path / "preds.csv"
    assert main(["predict", "cv", "--data", str(data), "--store", str(store), "--out", str(out)]) == 0
    x, _ = load(str(data)).raw_split("test")
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 61  # header + every row of the file
    assert study.predict(x) == Study.load(store=store, name="cv").predict(x)
    assert main(["export", "cv", "--out", str(tmp_path / "exp"), "--store", str(store)]) == 0
    assert (tmp_path / "exp" / "model.py").exists()


def test_cv_0_keeps_the_holdout_and_a_config_file_sets_the_folds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, store = write_table(tmp_path / "pets.csv"), tmp_path / "s.db"
    assert main(["search", "--task", str(data), "--store", str(store), "--name", "hold", "--cv", "0",
                 *FAST]) == 0
    assert "cv 0 (flag)" in capsys.readouterr().err.splitlines()[0]
    trials = Study.load(store=store, name="hold", read_only=True).trials
    assert all("cv_folds" not in t.metrics and "test_acc" in t.metrics and t.checkpoint for t in trials)
    config = tmp_path / "c.toml"
    config.write_text("cv = 3\n")
    assert main(["search", "--task", str(data), "--store", str(store), "--name", "three", "--config",
                 str(config), *FAST]) == 0
    assert "cv 3 (config)" in capsys.readouterr().err.splitlines()[0]
    study = Study.load(store=store, name="three", read_only=True)
    assert study.config["evaluator"]["cv"] == 3 and study.best_trial.metrics["cv_folds"] == 3


@pytest.mark.parametrize(("cv", "message"), [
    ("1", "--cv must be 0 .* or an integer >= 2"),
    ("-2", "--cv must be 0 .* or an integer >= 2"),
    ("17", r"cv 17: .*class 'cat' has only 16 samples in train\+valid .*use cv <= 16"),
])
def test_bad_cv_fails_with_one_line_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cv: str, message: str
) -> None:
    import re

    data, store = write_table(tmp_path / "pets.csv"), tmp_path / "s.db"
    argv = ["search", "--task", str(data), "--store", str(store), "--cv", cv, *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nasforge: error: ") and re.search(message, err), err
    assert not store.exists()
    assert main(["search", "--task", str(data), "--store", str(store), "--name", "ok", *FAST]) == 0
    capsys.readouterr()
    before = digest(store)
    assert main([*argv, "--name", "ok"]) == 2 and main(argv) == 2  # the existing study, a new one
    assert capsys.readouterr().err.count("\n") == 2
    assert digest(store) == before
    config = tmp_path / "bad.toml"
    config.write_text(f"cv = {cv}\n")
    assert main(["search", "--task", str(data), "--store", str(store), "--config", str(config), *FAST]) == 2
    assert capsys.readouterr().err.startswith("nasforge: error: ") and digest(store) == before


def test_small_table_defaults_replace_only_what_the_user_did_not_give(tmp_path: Path) -> None:
    data = write_table(tmp_path / "pets.csv")
    task = load(str(data))

    def settings(*argv: str) -> dict:
        s = resolve_settings(build_parser().parse_args(["search", "--task", str(data), *argv]))
        smalldata.apply(s, task)
        return s

    small = defaults.SMALL_TABLE
    s = settings()
    for key in ("trials", "time_limit", "workers", "epochs", "evaluator_opt", "space_opt"):
        assert s[key] == small[key] and s["_sources"][key] == smalldata.SOURCE, key
    s = settings("--epochs", "3", "--trials", "4", "--evaluator-opt", "lr=0.1")
    assert (s["epochs"], s["trials"], s["time_limit"]) == (3, 4, None)
    assert s["evaluator_opt"] == {**small["evaluator_opt"], "lr": 0.1}
    assert s["space_opt"] == small["space_opt"]
    big = load("digits")  # 1,437 train+valid images: not a small table
    s = resolve_settings(build_parser().parse_args(["search", "--task", "digits"]))
    assert not smalldata.apply(s, big) and s["trials"] == defaults.SEARCH["trials"]


def test_weight_inheritance_keeps_the_holdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Inheriting children start from one parent network: k-fold is not the default then, and asking
    for both fails with one line (exit 2) before anything is stored."""
    data, store = write_table(tmp_path / "pets.csv"), tmp_path / "s.db"
    common = ["search", "--task", str(data), "--store", str(store), "--inherit-weights", *FAST]
    assert main([*common, "--name", "inh"]) == 0
    assert Study.load(store=store, name="inh", read_only=True).config["evaluator"].get("cv", 0) == 0
    capsys.readouterr()
    before = digest(store)
    assert main([*common, "--name", "inh-cv", "--cv", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cv=0" in err[0] and "inherit_weights" in err[0]
    assert digest(store) == before
