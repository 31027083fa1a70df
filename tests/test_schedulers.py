"""Schedulers: generated over the registry (replay = resume gives the same trials), bad input, exact
continuation of promoted trials, corrupt checkpoints, checkpoint clean-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sched_fakes import STATE, CurveEvaluator, make_study

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.schedulers import SCHEDULERS
from nasforge.schedulers.base import rung_budgets
from nasforge.study import scheduled_records as records
from nasforge.trial import TrialState

OPTS: dict[str, dict[str, Any]] = {"bohb": {"min_points": 3, "proposer": "random"}}


def fingerprint(study: Any) -> list[tuple[Any, ...]]:
    return [(t.number, t.architecture.to_json(), t.state.value, t.budget, t.value,
             [s for s, _ in t.intermediate]) for t in study.trials]


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_resume_is_replay(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C inside the 6th and the 11th evaluation, resume each time: the same trials as one run."""
    straight = make_study(str(tmp_path / "a.db"), "s", name, **OPTS.get(name, {}))
    straight.optimize(n_trials=15, show_progress=False)
    real, calls = CurveEvaluator.evaluate, [0]

    def interrupting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] in (6, 11):
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CurveEvaluator, "evaluate", interrupting)
    for _ in range(3):
        resumed = make_study(str(tmp_path / "b.db"), "s", name, **OPTS.get(name, {}))
        resumed.optimize(n_trials=15, show_progress=False)
    assert calls[0] > 11
    kept = [f for f in fingerprint(resumed) if f[2] != "FAILED"]
    renumber = {f[0]: i for i, f in enumerate(kept)}
    assert [(renumber[f[0]], *f[1:]) for f in kept] == [f for f in fingerprint(straight)]
    trials = straight.trials
    assert all(t.state.finished for t in trials)
    if SCHEDULERS.get(name).pauses is not False and name != "median-stopping":
        promoted = [t for t in trials if t.metrics.get("resumed_at")]
        assert promoted, "some trial was promoted"
        for t in promoted:  # continued from its checkpoint: only the new epochs were trained
            assert t.metrics["trained_epochs"] == t.metrics["epochs"] - t.metrics["resumed_at"]
            assert [s for s, _ in t.intermediate] == list(range(1, int(t.budget) + 1))


def test_hyperband_brackets_follow_the_paper() -> None:
    hb = nf.schedulers.create("hyperband", min_budget=1, max_budget=81, eta=3).setup(0)
    assert hb.budgets == [1, 3, 9, 27, 81]
    assert [hb.bracket_size(b) for b in range(5)] == [81, 34, 15, 8, 5]
    assert [hb.bracket_budgets(b)[0] for b in range(5)] == [1, 3, 9, 27, 81]
    assert rung_budgets(1, 15, 3) == [2, 5, 15]


def test_successive_halving_keeps_the_top_third(tmp_path: Path) -> None:
    study = make_study(str(tmp_path / "s.db"), "s", "successive-halving")
    study.optimize(n_trials=9, show_progress=False)
    trials = study.trials
    assert len(trials) == 9
    reached = sorted(t.budget for t in trials)
    assert reached == [1] * 6 + [3] * 2 + [9]
    top3 = sorted(trials, key=lambda t: -t.intermediate[0][1]["valid_acc"])[:3]
    assert {t.number for t in trials if t.budget >= 3} == {t.number for t in top3}
    assert study.best_trial.state is TrialState.COMPLETE and study.best_trial.budget == 9


@pytest.mark.parametrize("bad", [{"eta": 1}, {"eta": 1.5}, {"min_budget": 10, "max_budget": 5},
                                 {"min_budget": 0}, {"max_budget": -3}, {"min_budget": "x"}])
def test_bad_parameters(bad: dict[str, Any]) -> None:
    for name in ("hyperband", "successive-halving", "asha", "bohb"):
        with pytest.raises(ConfigError):
            nf.schedulers.create(name, **bad)


@pytest.mark.parametrize("tabular", [False, True], ids=["toy", "nasbench-graph"])
def test_scheduler_refuses_an_evaluator_without_budget(tmp_path: Path, tabular: bool) -> None:
    from fakes import ToyEvaluator, ToySpace

    from nasforge.estimate.tabular import TabularEvaluator

    evaluator = TabularEvaluator("nasbench-graph", "cora") if tabular else ToyEvaluator()
    for name in ("hyperband", "asha", "median-stopping"):
        with pytest.raises(ConfigError, match="takes a budget") as err:
            nf.Study.create(store=tmp_path / "x.db", name="x", space=ToySpace(),
                            strategy=nf.strategies.create("random"), evaluator=evaluator,
                            scheduler=nf.schedulers.create(name, max_budget=9))
        assert "\n" not in str(err.value) and (tabular is False or "'tabular'" in str(err.value))
        assert not (tmp_path / "x.db").exists() or not nf.study.Store(tmp_path / "x.db").has_study("x")


def test_corrupt_checkpoint_restarts_from_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = records.reopen

    def corrupting(store: Any, sid: int, trial: Any, budget: float, driver: Any) -> None:
        state = Path(trial.checkpoint).parent / STATE
        state.write_text(state.read_text()[:3])  # truncated
        real(store, sid, trial, budget, driver)

    monkeypatch.setattr(records, "reopen", corrupting)
    study = make_study(str(tmp_path / "c.db"), "c", "successive-halving", n_configs=3)
    with pytest.warns(UserWarning, match="from zero"):
        study.optimize(n_trials=3, show_progress=False)
    promoted = [t for t in study.trials if t.budget == 9]
    assert len(promoted) == 1 and promoted[0].state is TrialState.COMPLETE
    t = promoted[0]
    assert t.metrics["restarted"] == 1 and t.metrics["trained_epochs"] == 9
    assert [s for s, _ in t.intermediate] == list(range(1, 10))


@pytest.mark.parametrize("keep", [False, True])
def test_checkpoints_of_finished_trials_are_deleted(tmp_path: Path, keep: bool) -> None:
    study = make_study(str(tmp_path / "k.db"), "k", "successive-halving", keep_checkpoints=keep)
    study.optimize(n_trials=9, show_progress=False)
    for t in study.trials:
        segment = Path(t.checkpoint).parent
        if t.state is TrialState.COMPLETE:
            assert (segment / "model.pt").exists()
            assert (segment / STATE).exists() is keep
        else:
            assert segment.exists() is keep
    dirs = sorted(p.name for p in (study.artifacts_dir).rglob("b*") if p.is_dir())
    assert len(dirs) == (9 if keep else 1), "one segment directory per trial at most"


def test_evaluator_budget_flag() -> None:
    assert CurveEvaluator().epochs == 9
