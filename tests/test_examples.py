"""The examples run as written (kept under test so they never drift from the API)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quickstart = _load("quickstart")
    store = str(tmp_path / "q.db")
    quickstart.main(["--store", store, "--trials", "1", "--epochs", "1"])  # type: ignore[attr-defined]
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("trials: 1; best trial #") and "model output (8, 10)" in lines[0]
    # the trained model predicting raw data scores what the study stored as test accuracy
    stored = float(lines[0].split("test_acc ")[1].split(",")[0])
    assert float(lines[0].rsplit(": ", 1)[1]) == pytest.approx(stored, abs=1e-4)
    assert json.loads(lines[1])["space"] == "chain"
    # run again with a larger budget: the study resumes to the new total
    quickstart.main(["--store", store, "--trials", "2", "--epochs", "1"])  # type: ignore[attr-defined]
    assert capsys.readouterr().out.startswith("trials: 2;")
