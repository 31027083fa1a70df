"""Resume checks its data: a study records its task's content hash (and a file task's absolute path);
changed or missing data is refused naming the file and the difference; a moved copy is accepted by hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from nasforge.cli.main import main
from nasforge.data import load
from nasforge.study import Study

TINY = ["--trials", "1", "--epochs", "1", "--no-progress", "--space-opt", "min_layers=1",
        "--space-opt", "max_layers=1", "--space-opt", "widths=[8]"]


def _npz(path: Path, seed: int = 0, n: int = 60) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 12)).astype(np.float32)
    np.savez(path, x=x, y=(x[:, 0, 0] > 0).astype(np.int64))
    return path


def test_the_task_descriptor_holds_a_content_hash_and_the_absolute_path(tmp_path: Path) -> None:
    a = load(str(_npz(tmp_path / "a.npz")))
    same = load(str(shutil.copy(tmp_path / "a.npz", tmp_path / "copy.npz")))
    other = load(str(_npz(tmp_path / "b.npz", seed=1)))
    assert a.describe()["data_hash"] == same.describe()["data_hash"] != other.describe()["data_hash"]
    assert len(a.describe()["data_hash"]) == 64
    assert a.describe()["path"] == str((tmp_path / "a.npz").resolve())


def test_resume_refuses_changed_or_missing_data_and_accepts_a_moved_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    data = _npz(tmp_path / "data.npz")
    keep = shutil.copy(data, tmp_path / "kept.npz")
    store = str(tmp_path / "d.db")
    assert main(["search", "--task", "data.npz", "--store", store, "--name", "d", *TINY]) == 0
    stored = Study.load(store=store, name="d", read_only=True).config["task"]
    assert stored["path"] == str(data.resolve()) and len(stored["data_hash"]) == 64
    capsys.readouterr()

    _npz(data, seed=5)  # the file changed under the study
    assert main(["resume", "d", "--store", store, "--trials", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nasforge: error:" in err and str(data.resolve()) in err and "data_hash stored" in err
    data.unlink()  # the file is gone
    assert main(["resume", "d", "--store", store, "--trials", "2", "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert str(data.resolve()) in err and "cannot be loaded now" in err and "--task FILE" in err
    other = _npz(tmp_path / "other.npz", seed=9)
    assert main(["resume", "d", "--store", store, "--task", str(other), "--no-progress"]) == 2
    assert "data_hash stored" in capsys.readouterr().err
    assert len(Study.load(store=store, name="d", read_only=True).trials) == 1  # nothing ran or changed

    moved = tmp_path / "elsewhere"
    moved.mkdir()
    copy = shutil.move(keep, moved / "data.npz")  # the original content, moved
    assert main(["resume", "d", "--store", store, "--task", str(copy), "--trials", "2", "--no-progress"]) == 0
    study = Study.load(store=store, name="d", read_only=True)
    assert len(study.trials) == 2
    assert study.config["evaluator"]["task"] == str(Path(copy).resolve())
    assert study.config["task"]["path"] == str(Path(copy).resolve())  # later resumes find it there
    monkeypatch.chdir(moved.parent.parent)  # and from another directory
    assert main(["resume", "d", "--store", store, "--trials", "3", "--no-progress"]) == 0
    assert len(Study.load(store=store, name="d", read_only=True).trials) == 3
