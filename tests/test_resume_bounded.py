"""Re-runs are bounded across resumes, and a stored trial the strategy cannot take is skipped on request.

A candidate that kills the driver every time it runs (``os._exit`` inside the serial evaluator) is
re-run ``retries`` times over as many resumes, then stays FAILED (``driver_lost``) and the study
finishes. A strategy whose ``tell`` raises on a stored trial makes resume fail naming the trial and
``--skip-trial``; skipping it is recorded, so every later replay leaves it out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FragileStrategy, ToyEvaluator, ToySpace

import nasforge as nf
from nasforge.cli.main import main
from nasforge.errors import ConfigError, StoreError
from nasforge.strategies import STRATEGIES
from nasforge.study import Study, TrialState

FAKES = Path(__file__).parent / "fakes.py"


def _driver(store: Path, killer: list[int], retries: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parent.parent))
    cmd = [sys.executable, str(FAKES), str(store), "crash", "5", "0", json.dumps([killer]), str(retries)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_candidate_that_kills_the_driver_is_rerun_retries_times_then_failed(tmp_path: Path) -> None:
    # the genotype trial 1 gets: the study of tests/fakes.py (seed 3, regularized evolution with a
    # population of 4) samples its first 4 candidates at random, whatever their results
    dry = Study.create(store=tmp_path / "dry.db", name="dry", space=ToySpace(), seed=3,
                       strategy=nf.strategies.create("regularized-evolution", population=4, sample=2),
                       evaluator=ToyEvaluator())
    killer = dry.optimize(n_trials=2, show_progress=False).trials[1].architecture
    genes = [killer["x"], killer["y"]]
    store = tmp_path / "crash.db"
    codes = [_driver(store, genes, retries=2).returncode for _ in range(3)]  # run, resume, resume
    assert codes == [17, 17, 17]  # each died inside the killer's trial
    final = _driver(store, genes, retries=2)  # the third resume
    assert final.returncode == 0 and "DONE" in final.stdout, final.stderr[-2000:]

    study = Study.load(store=store, name="crash", evaluator=ToyEvaluator(exit_on=[genes]))
    trials = {t.number: t for t in study.trials}
    runs = [t for t in trials.values() if t.architecture == killer]
    assert [t.number for t in runs] == [1, 2, 3]  # the first run and two re-runs (retries=2)
    assert all(t.state is TrialState.FAILED and t.error == "driver_lost" for t in runs)
    assert [t.info.get("retry_of") for t in runs] == [None, 1, 2]
    assert [t.info["requeued"] for t in runs] == [True, True, False]  # the last stays FAILED for good
    assert study.store.count_budget(study.record.id) == 5  # the study went on and finished its budget
    assert all(t.state is TrialState.COMPLETE for n, t in trials.items() if n not in (1, 2, 3))
    study._recover_and_replay(retries=2)
    assert 3 in [t.number for t in study.strategy.history]  # told to the strategy as a failure
    assert study.strategy.ask().architecture != killer  # and never proposed again


@pytest.fixture
def fragile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STRATEGIES._entries, "toy-fragile", FragileStrategy)


def test_strategy_that_cannot_take_a_stored_trial_names_it_and_skip_trial_gets_past(
    fragile: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "f.db"
    study = Study.create(store=store, name="f", space=ToySpace(), strategy=FragileStrategy(fail_at=2),
                         evaluator=ToyEvaluator(), seed=1)
    with pytest.raises(StoreError, match=r"failed to take trial 2 .*--skip-trial 2"):
        study.optimize(n_trials=5, show_progress=False, save_budget=True)
    assert study.trials[2].state is TrialState.COMPLETE  # stored before the strategy was told
    with pytest.raises(StoreError, match=r"trial 2 .*while replaying.*nasforge resume f --skip-trial 2"):
        Study.load(store=store, name="f").optimize(n_trials=5, show_progress=False)

    assert main(["resume", "f", "--store", str(store), "--skip-trial", "99", "--no-progress"]) == 2
    assert "has no finished trial 99" in capsys.readouterr().err
    assert main(["resume", "f", "--store", str(store), "--skip-trial", "2", "--no-progress"]) == 0
    capsys.readouterr()
    resumed = Study.load(store=store, name="f")
    assert resumed.skipped_trials == [2] and resumed.store.count_budget(resumed.record.id) == 5
    assert main(["resume", "f", "--store", str(store), "--trials", "7", "--no-progress"]) == 0
    again = Study.load(store=store, name="f")
    assert len(again.trials) == 7
    again._recover_and_replay()
    assert 2 not in [t.number for t in again.strategy.history] and len(again.strategy.history) == 6
    with pytest.raises(ConfigError, match="no finished trial"):
        again.skip_trials([70])
