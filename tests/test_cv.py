"""k-fold cross-validation as the estimate (nasforge.estimate.cv) and the final model on train+valid.

Folds are stratified, seeded and the same for every trial; a cross-validated trial reports the mean,
spread and per-fold accuracies and never reads the test split; after the search the best trial's
architecture is trained on train+valid and that model is what predict / export load.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny import tiny_task  # noqa: E402

import nasforge as nf  # noqa: E402
from nasforge.errors import ConfigError  # noqa: E402
from nasforge.estimate import EvalContext, TrainEvaluator  # noqa: E402
from nasforge.estimate.cv import check_folds, fold_indices, resolve_folds  # noqa: E402
from nasforge.study.config import evaluator_from_config  # noqa: E402


def space() -> object:
    return nf.spaces.create("chain", input_kind="tabular", min_layers=1, max_layers=1, widths=[8],
                            dropouts=[0.0])


def test_folds_are_stratified_disjoint_and_seeded() -> None:
    y = np.repeat([0, 1, 2], [10, 7, 13])
    folds = fold_indices(y, 5)
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(len(y)))  # a partition
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for cls, count in ((0, 10), (1, 7), (2, 13)):
        per_fold = [int((y[f] == cls).sum()) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == count
    again = fold_indices(y, 5)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(folds, fold_indices(y, 5, seed=1), strict=True))


def test_auto_folds_follow_the_size_threshold_and_smallest_class(monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge import defaults

    task = tiny_task("tabular", n=90)  # 72 train+valid, 24 per class
    assert resolve_folds("auto", task) == defaults.SMALL_DATA["folds"]
    assert resolve_folds(0, task) == 0 and resolve_folds(3, task) == 3
    monkeypatch.setitem(defaults.SMALL_DATA, "threshold", 72)  # train+valid no longer below it
    assert resolve_folds("auto", task) == 0
    monkeypatch.setitem(defaults.SMALL_DATA, "threshold", 1000)
    monkeypatch.setitem(defaults.SMALL_DATA, "folds", 50)  # more than the smallest class: lowered
    assert resolve_folds("auto", task) == 24


@pytest.mark.parametrize("bad", [1, -1, -5, 2.5, True, "5", None])
def test_bad_fold_counts_fail_early(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"cv must be 0 .* or an integer >= 2"):
        check_folds(bad)
    with pytest.raises(ConfigError, match="cv must be"):
        TrainEvaluator(tiny_task("tabular"), cv=bad)


def test_more_folds_than_the_smallest_class_fails_naming_it() -> None:
    task = tiny_task("tabular", n=45)  # 12 per class in train+valid
    ev = TrainEvaluator(task, cv=13, epochs=1)
    with pytest.raises(ConfigError, match=r"cv 13: .*class 0 has only 12 samples in train\+valid.*cv <= 12"):
        ev.prepare()


def test_a_cross_validated_trial_reports_folds_and_never_reads_the_test_split() -> None:
    task = tiny_task("tabular", n=90)
    ev = TrainEvaluator(task, space=space(), epochs=2, cv=3, latency_repeats=0)
    arch = ev.get_space().sample(np.random.default_rng(0))
    reports: list[tuple[float, dict]] = []

    class Keep(nf.estimate.Reporter):
        def report(self, step: float, metrics: dict) -> bool:
            reports.append((step, metrics))
            return True

    m = ev.evaluate(arch, EvalContext(seed=3), Keep())
    folds = [m[f"valid_acc_fold{i}"] for i in (1, 2, 3)]
    assert m["cv_folds"] == 3 and "valid_acc_fold4" not in m
    assert m["valid_acc"] == pytest.approx(np.mean(folds))
    assert m["valid_acc_std"] == pytest.approx(np.std(folds))
    assert np.isfinite(m["valid_loss"]) and m["epochs"] == 2
    assert "test_acc" not in m and "checkpoint" not in m
    assert [s for s, _ in reports] == [1, 2] and reports[-1][1]["valid_acc"] == m["valid_acc"]
    # the same trial on a task whose test split is scrambled scores exactly the same
    rng = np.random.default_rng(9)
    scrambled = dataclasses.replace(task, x_test=rng.normal(size=task.x_test.shape).astype(np.float32),
                                    y_test=rng.permutation(task.y_test))
    again = TrainEvaluator(scrambled, space=space(), epochs=2, cv=3, latency_repeats=0)
    m2 = again.evaluate(arch, EvalContext(seed=3))
    for key in ("valid_acc", "valid_loss", *(f"valid_acc_fold{i}" for i in (1, 2, 3))):
        assert m2[key] == m[key]
    assert ev.evaluate(arch, EvalContext(seed=3))["valid_acc"] == m["valid_acc"]  # seeded


def test_config_round_trip_keeps_the_folds_and_old_configs_keep_the_holdout() -> None:
    task = tiny_task("tabular", n=90)
    ev = TrainEvaluator(task, space=space(), epochs=1, cv="auto")
    config = ev.to_config()
    assert config["cv"] == 5
    assert "cv" not in TrainEvaluator(task, space=space(), epochs=1).to_config()
    rebuilt = evaluator_from_config({"evaluator": {**config, "task": task}})
    assert rebuilt.folds == 5
    old = {k: v for k, v in config.items() if k != "cv"}
    assert evaluator_from_config({"evaluator": {**old, "task": task}}).folds == 0


def test_search_trains_the_best_trial_on_train_valid_and_predict_uses_it(tmp_path: Path) -> None:
    task = tiny_task("tabular", n=90)
    ev = TrainEvaluator(task, space=space(), epochs=2, cv=3, latency_repeats=0)
    study = nf.Study.create(store=tmp_path / "s.db", name="cv", space=ev.get_space(),
                            strategy=nf.strategies.create("random"), evaluator=ev, seed=1)
    study.optimize(n_trials=3, show_progress=False)
    best = study.best_trial
    others = [t for t in study.trials if t.number != best.number]
    assert all("test_acc" not in t.metrics and t.checkpoint is None for t in others)
    assert best.metrics["final_n_train"] == len(task.y_train) + len(task.y_valid)
    assert best.metrics["final_epochs"] == 2 and best.metrics["cv_folds"] == 3
    assert Path(best.checkpoint).parent.name == "final"
    model = ev.build_model(best.architecture)
    model.load_state_dict(torch.load(best.checkpoint, weights_only=True))
    x, _ = task.raw_split("test")
    with torch.inference_mode():
        mine = model.eval()(torch.as_tensor(task.x_test)).argmax(1).numpy()
    assert best.metrics["test_acc"] == pytest.approx(float((mine == task.y_test).mean()))
    assert study.predict(x) == [task.labels[i] for i in mine]
    with pytest.raises(ConfigError, match="cross-validation and keeps no weights"):
        study.predict(x, trial=others[0].number)
    # a resume that finds the final model in place does not train it again
    before = study.best_trial.metrics["final_train_seconds"]
    study.optimize(n_trials=3, show_progress=False)
    assert study.best_trial.metrics["final_train_seconds"] == before
