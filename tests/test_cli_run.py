"""Run flags mean what they say, resume runs as the study ran, read-only commands build no strategy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from executor_fakes import ToyFaultEvaluator
from fakes import ToyEvaluator, ToySpace, toy_parts

import nasforge as nf
from nasforge import defaults
from nasforge.cli.main import build_parser, main
from nasforge.cli.search import resolve_settings
from nasforge.estimate.registry import EVALUATORS
from nasforge.study import Study

ROOT = Path(__file__).parent.parent


def _settings(*argv: str) -> dict[str, Any]:
    return resolve_settings(build_parser().parse_args(["search", *argv]))


def test_the_demo_budget_applies_only_when_no_budget_is_given(tmp_path: Path) -> None:
    demo = _settings()
    assert (demo["trials"], demo["time_limit"], demo["workers"]) == (
        defaults.SEARCH["trials"], defaults.SEARCH["time_limit"], defaults.SEARCH["workers"])
    assert demo["_sources"]["time_limit"] == "default: demo budget"
    s = _settings("--trials", "7")
    assert (s["trials"], s["time_limit"], s["workers"], s["executor"]) == (7, None, 1, "auto")
    assert s["_sources"]["trials"] == "flag" and s["_sources"]["workers"] == "default"
    s = _settings("--executor", "serial")
    assert (s["trials"], s["time_limit"], s["workers"]) == (defaults.SEARCH["trials"], None, 1)
    s = _settings("--time-limit", "60")
    assert (s["trials"], s["time_limit"], s["workers"]) == (None, 60.0, 1)
    s = _settings("--workers", "3")
    assert (s["time_limit"], s["workers"]) == (None, 3)
    config = tmp_path / "budget.toml"
    config.write_text("trials = 5\n")
    s = _settings("--config", str(config))
    assert (s["trials"], s["time_limit"], s["workers"]) == (5, None, 1)
    assert s["_sources"]["trials"] == "config"
    config.write_text("epochs = 2\n")  # not a budget key: the demo budget still applies
    s = _settings("--config", str(config))
    assert s["time_limit"] == defaults.SEARCH["time_limit"] and s["epochs"] == 2


def test_workers_help_shows_the_real_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"trials run in parallel (default 1; {defaults.SEARCH['workers']} in the built-in demo" in text


def test_trials_alone_run_that_many_serially_and_the_first_line_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nasforge.cli.search as search

    monkeypatch.setattr(search, "build_parts", toy_parts(ToyEvaluator()))
    store = tmp_path / "t.db"
    assert main(["search", "--store", str(store), "--name", "toy", "--trials", "6", "--no-progress"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("nasforge search: task mnist1d (default)")
    for part in ("trials 6 (flag)", "time limit none (default)", "workers 1 (default)",
                 "executor auto (default)", f"store {store} (flag)", "name toy (flag)"):
        assert part in first, first
    study = Study.load(store=store, name="toy", read_only=True)
    assert len(study.trials) == 6
    assert study.budget["workers"] == 1 and study.budget["executor"] == "serial"
    assert "time_limit" not in study.budget  # no hidden time limit


def test_executor_serial_alone_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nasforge.cli.search as search

    monkeypatch.setattr(search, "build_parts", toy_parts(ToyEvaluator()))
    store = tmp_path / "s.db"
    argv = ["search", "--store", str(store), "--name", "toy", "--executor", "serial", "--no-progress"]
    assert main(argv) == 0
    assert "executor serial (flag)" in capsys.readouterr().err.splitlines()[0]
    study = Study.load(store=store, name="toy", read_only=True)
    assert len(study.trials) == defaults.SEARCH["trials"] and study.budget["executor"] == "serial"


def test_resume_runs_with_the_executor_and_workers_the_study_started_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nasforge.cli.search as search

    monkeypatch.setitem(EVALUATORS._entries, "toy-fault", ToyFaultEvaluator)
    monkeypatch.setattr(search, "build_parts", toy_parts(ToyFaultEvaluator(sleep=0.3)))
    store = tmp_path / "w.db"
    assert main(["search", "--store", str(store), "--name", "w", "--trials", "2", "--workers", "2",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["resume", "w", "--store", str(store), "--trials", "8", "--no-progress"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    for part in ("workers 2 (stored)", "executor process (stored)", "trials 8 (flag)"):
        assert part in first, first
    trials = Study.load(store=store, name="w", read_only=True).trials
    assert len(trials) == 8
    assert len({t.metrics["pid"] for t in trials[2:]}) >= 2  # the resumed trials ran on 2 workers
    assert main(["resume", "w", "--store", str(store), "--trials", "9", "--workers", "1",
                 "--no-progress"]) == 0
    assert "workers 1 (flag)" in capsys.readouterr().err.splitlines()[0]


def test_read_only_commands_work_without_the_strategys_extra(tmp_path: Path) -> None:
    store = tmp_path / "tpe.db"
    study = Study.create(store=store, name="t", space=ToySpace(), strategy=nf.strategies.create("tpe"),
                         evaluator=ToyEvaluator(), seed=0)
    study.optimize(n_trials=4, show_progress=False)
    best = study.best_trial.number  # type: ignore[union-attr]
    study.store.close()
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nsys.modules['optuna'] = None  # as if not installed\nimport fakes  # the toy parts\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(block), str(ROOT), str(ROOT / "tests")]))

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from nasforge.cli.main import main; sys.exit(main(sys.argv[1:]))"
        return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env,
                              timeout=120)

    probe = cli("list", "strategies")
    assert probe.returncode == 0, probe.stderr
    assert "tpe  (needs optuna, not installed: pip install 'nasforge[bench]')" in probe.stdout
    out = cli("best", "t", "--store", str(store), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["number"] == best
    for argv in (("status", "t", "--store", str(store)), ("status", "--store", str(store)),
                 ("status", "t", "--store", str(store), "--json")):
        out = cli(*argv)
        assert out.returncode == 0, (argv, out.stderr)
        assert "t" in out.stdout
    resumed = cli("resume", "t", "--store", str(store), "--trials", "5", "--no-progress")
    assert resumed.returncode == 2 and "needs Optuna" in resumed.stderr  # only a run needs the strategy
    after = Study.load(store=store, name="t", read_only=True)
    assert len(after.trials) == 4 and "n_trials" not in after.budget  # refused before anything was stored


def test_read_only_load_builds_no_strategy_and_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    Study.create(store=store, name="r", space=ToySpace(), strategy=nf.strategies.create("gp"),
                 evaluator=ToyEvaluator(), seed=0).optimize(n_trials=3, show_progress=False)
    before = store.read_bytes()
    study = Study.load(store=store, name="r", read_only=True)
    assert study.summary()["n_trials"] == 3 and study.best_trial is not None
    assert study._strategy is None and study._space is None and study.evaluator is None
    with pytest.raises(nf.errors.ConfigError, match="read-only"):
        study.optimize(n_trials=4)
    assert store.read_bytes() == before
