"""The best-trial rule (nasforge.selection): higher objective, then lower validation loss, then fewer
parameters, then lower trial number; never the test split. Study.best_trial and the report use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasforge.selection import RULE, best_trial
from nasforge.space.architecture import Architecture
from nasforge.trial import Trial, TrialState


def trial(number: int, value: float | None, state: TrialState = TrialState.COMPLETE, **metrics: Any) -> Trial:
    return Trial(number=number, architecture=Architecture("toy", {"x": number}), state=state, value=value,
                 metrics=metrics)


def test_higher_objective_wins_whatever_the_rest() -> None:
    trials = [trial(0, 0.9, valid_loss=0.1, params=10, test_acc=1.0),
              trial(1, 0.95, valid_loss=0.9, params=10_000, test_acc=0.1)]
    assert best_trial(trials).number == 1


def test_tied_objective_lower_validation_loss_wins() -> None:
    trials = [trial(0, 1.0, valid_loss=0.30, params=10), trial(1, 1.0, valid_loss=0.05, params=999),
              trial(2, 0.9, valid_loss=0.01, params=1)]
    assert best_trial(trials).number == 1


def test_tied_objective_and_loss_fewer_parameters_win() -> None:
    trials = [trial(0, 1.0, valid_loss=0.2, params=500), trial(1, 1.0, valid_loss=0.2, params=100),
              trial(2, 1.0, valid_loss=0.2, params=300)]
    assert best_trial(trials).number == 1


def test_full_tie_lowest_number_wins_and_order_does_not_matter() -> None:
    trials = [trial(n, 1.0, valid_loss=0.2, params=100) for n in (4, 2, 7)]
    assert best_trial(trials).number == 2
    assert best_trial(list(reversed(trials))).number == 2


def test_missing_loss_or_params_count_as_worst_and_test_accuracy_is_never_read() -> None:
    trials = [trial(0, 1.0, test_acc=1.0), trial(1, 1.0, valid_loss=0.5, test_acc=0.0),
              trial(2, 1.0, valid_loss=float("nan"), params=1, test_acc=1.0)]
    assert best_trial(trials).number == 1
    trials = [trial(0, 1.0, valid_loss=0.5, test_acc=1.0), trial(1, 1.0, valid_loss=0.5, params=9)]
    assert best_trial(trials).number == 1
    swapped = [trial(0, 1.0, valid_loss=0.5, test_acc=0.0), trial(1, 1.0, valid_loss=0.5, params=9,
                                                                      test_acc=1.0)]
    assert best_trial(swapped).number == best_trial(trials).number


def test_only_complete_trials_with_a_finite_value_count() -> None:
    trials = [trial(0, 2.0, TrialState.FAILED), trial(1, 2.0, TrialState.PRUNED), trial(2, None),
              trial(3, float("nan")), trial(4, 0.5)]
    assert best_trial(trials).number == 4
    assert best_trial([trial(0, 1.0, TrialState.FAILED)]) is None and best_trial([]) is None
    assert "validation loss" in RULE and "parameters" in RULE


def test_study_and_report_pick_the_same_tied_trial(tmp_path: Path) -> None:
    import nasforge as nf
    from nasforge.report.data import load as load_study_data
    from nasforge.study.store import Store

    study = nf.Study.create(store=tmp_path / "s.db", name="ties", space=nf.spaces.create("toy"),
                            strategy=nf.strategies.create("random"),
                            evaluator=__import__("fakes").ToyEvaluator(), seed=0)
    store: Store = study.store
    rows = [(1.0, {"valid_acc": 1.0, "valid_loss": 0.4, "params": 50}),
            (1.0, {"valid_acc": 1.0, "valid_loss": 0.2, "params": 90}),
            (1.0, {"valid_acc": 1.0, "valid_loss": 0.2, "params": 70}),
            (0.5, {"valid_acc": 0.5, "valid_loss": 0.0, "params": 1})]
    for k, (value, metrics) in enumerate(rows):
        cand = nf.trial.Candidate(Architecture("toy", {"x": k, "y": 0}))
        n = store.create_trial(study.record.id, cand, hash_=f"h{k}", seed_fn=lambda i: i)
        store.finish_trial(study.record.id, n, state=TrialState.COMPLETE, value=value, metrics=metrics)
    assert study.best_trial.number == 2
    assert load_study_data(tmp_path / "s.db", "ties").best.number == 2
