"""``nasforge search --scheduler``: bad scheduler input is one line on stderr, exit 2, before the settings
line and before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge.cli.main import main

BAD = [
    ["--scheduler", "hyperband", "--scheduler-opt", "eta=1"],
    ["--scheduler", "successive-halving", "--scheduler-opt", "min_budget=9",
     "--scheduler-opt", "max_budget=3"],
    ["--scheduler", "asha", "--scheduler-opt", "min_budget=0"],
    ["--scheduler", "hyperband", "--scheduler-opt", "min_budget=2"],  # above --epochs 1, the max budget
    ["--scheduler", "hyperband", "--space", "nasbench-graph"],
    ["--scheduler-opt", "eta=3"],
]


@pytest.mark.parametrize("flags", BAD, ids=lambda f: "-".join(f[:2]) + str(len(f)))
def test_bad_scheduler_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         flags: list[str]) -> None:
    store = tmp_path / "s.db"
    assert main(["search", "--store", str(store), "--trials", "2", "--epochs", "1", *flags]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert "nasforge search:" not in captured.out, captured.out  # before the settings line
    assert len(err) == 1 and err[0].startswith("nasforge: error:"), err
    assert not store.exists()
