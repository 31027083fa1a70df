"""Joint architecture + training-hyperparameter spaces (nasforge.space.joint)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Architecture, LogFloat, UniformFloat
from nasforge.space.hparams import parse_hp_option
from nasforge.space.joint import GRID, JointSpace


def _space() -> JointSpace:
    return nf.spaces.joint(nf.spaces.create("chain", max_layers=3, widths=[8, 16]),
                           lr=LogFloat(1e-4, 1e-1), weight_decay=UniformFloat(0.0, 0.1),
                           batch_size=[8, 16], optimizer=["adamw", "sgd"], momentum=UniformFloat(0.5, 0.99))


def test_json_round_trip_and_stable_hash() -> None:
    space = _space()
    rng = np.random.default_rng(0)
    for _ in range(10):
        arch = space.sample(rng)
        again = Architecture.from_json(arch.to_json())
        assert again == arch and again.content_hash == arch.content_hash
        space.validate(again)
        hp = arch["hp"]
        assert 1e-4 <= hp["lr"] <= 1e-1 and isinstance(hp["lr"], float)
        assert ("momentum" in hp) == (hp["optimizer"] == "sgd")


def test_conditional_momentum_validated_like_conditional_layers() -> None:
    space = _space()
    arch = space.sample(np.random.default_rng(1))
    inner, hp = space.split(arch)
    adam = {**{k: v for k, v in hp.items() if k != "momentum"}, "optimizer": "adamw"}
    space.validate(space.join(inner, adam))
    with pytest.raises(SpaceError, match="momentum"):
        space.validate(space.join(inner, {**adam, "momentum": 0.9}))
    with pytest.raises(SpaceError, match="momentum"):
        space.validate(space.join(inner, {**adam, "optimizer": "sgd"}))
    flat = list(space.to_flat(space.join(inner, adam)))
    assert space.active(flat)[-1] is False  # momentum decision inactive under adamw


def test_floats_are_continuous_in_encode_and_from_flat() -> None:
    space = _space()
    arch = space.sample(np.random.default_rng(2))
    inner, hp = space.split(arch)
    a = space.join(inner, {**hp, "lr": 0.003})
    b = space.join(inner, {**hp, "lr": 0.0031})
    assert not np.array_equal(space.encode(a), space.encode(b))  # not snapped to the grid
    assert space.encode(a).shape == (sum(d.n for d in space.decisions()),)
    pos = {d.name: i for i, d in enumerate(space.decisions())}["hp.lr"]
    assert pos in space.float_decisions()
    rebuilt = space.from_flat(space.to_flat(a), values=space.float_values(a))
    assert rebuilt == a
    assert len(space.decisions()[pos].choices) == GRID
    assert math.isinf(space.size())


def test_mutate_moves_hyperparameters_and_stays_valid() -> None:
    space = _space()
    rng = np.random.default_rng(3)
    arch = space.sample(rng)
    changed_hp = 0
    for _ in range(30):
        child = space.mutate(arch, rng)
        space.validate(child)
        assert child != arch
        changed_hp += child["hp"] != arch["hp"]
        arch = child
    assert changed_hp >= 5
    assert all(space.validate(nb) is None for nb in space.neighbours(arch))


def test_hyperparameters_reach_the_built_optimizer() -> None:
    from tiny import tiny_task

    from nasforge.estimate.loop import TrainingRun
    from nasforge.estimate.train import TrainEvaluator

    space = _space()
    task = tiny_task("1d", n=30)
    ev = TrainEvaluator(task=task, space=space, epochs=1, latency_repeats=0, device="cpu")
    arch = space.sample(np.random.default_rng(0))
    inner, _ = space.split(arch)
    arch = space.join(inner, {"lr": 0.0042, "weight_decay": 0.05, "batch_size": 8, "optimizer": "sgd",
                              "momentum": 0.77})
    recipe = ev.recipe_for(arch)
    model = ev.build_model(arch)
    run = TrainingRun(model, recipe, 30, 1, 0, __import__("torch").device("cpu"))
    import torch

    assert isinstance(run.optimizer, torch.optim.SGD)
    group = run.optimizer.param_groups[0]
    assert group["momentum"] == 0.77 and group["weight_decay"] == 0.05
    assert group["initial_lr"] == pytest.approx(0.0042) or group["max_lr"] == pytest.approx(0.0042)
    assert run.batch_size == 8
    metrics = ev.evaluate(arch)
    assert 0.0 <= metrics["valid_acc"] <= 1.0
    plain = ev.recipe_for(inner)
    assert plain == ev.recipe


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"lr": {"low": 0.1, "high": 0.01}}, r"hp lr: .*low < high.*low=0.1, high=0.01"),
        ({"lr": {"low": 0.0, "high": 0.1, "log": True}}, r"hp lr: a log range needs low > 0, got low=0.0"),
        ({"optimizer": ["adamw", "rmsprop"]}, r"optimizer must be one of .*'sgd'\], got 'rmsprop'"),
        ({"epochz": [1, 2]}, r"unknown training hyperparameter 'epochz'.*'lr'"),
        ({"batch_size": {"low": 8, "high": 64}}, r"hp batch_size: integer"),
    ],
)
def test_bad_hp_specs_fail_early(spec: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        JointSpace("chain", spec)


def test_parse_hp_option() -> None:
    assert parse_hp_option("lr=1e-4..1e-1:log") == ("lr", {"low": 1e-4, "high": 0.1, "log": True})
    assert parse_hp_option("batch_size=64,128,256") == ("batch_size", [64, 128, 256])
    assert parse_hp_option("optimizer=adamw,sgd") == ("optimizer", ["adamw", "sgd"])
    with pytest.raises(ConfigError, match="unknown training hyperparameter 'foo'"):
        parse_hp_option("foo=1,2")


def test_config_round_trip_keeps_hp_table() -> None:
    space = _space()
    again = nf.spaces.SearchSpace.from_config(space.to_config())
    assert again.to_config() == space.to_config()
    assert again.params["hp"]["momentum"]["when"] == {"optimizer": ["sgd"]}


TINY = ["--trials", "3", "--epochs", "1", "--workers", "1", "--no-progress", "--task", "digits",
        "--strategy", "tpe", "--space-opt", "min_layers=1", "--space-opt", "max_layers=2",
        "--space-opt", "widths=[8]"]


def test_cli_hp_search_then_export_records_the_recipe(tmp_path, capsys) -> None:
    import json

    from nasforge.cli.main import main
    from nasforge.study import Study

    store = tmp_path / "j.db"
    rc = main(["search", "--store", str(store), "--name", "j", *TINY, "--hp", "lr=1e-3..1e-1:log",
               "--hp", "batch_size=32,64", "--hp", "optimizer=adamw,sgd"])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    assert "hp {lr=" in out.err  # the settings line shows the searched hyperparameters
    study = Study.load(store=store, name="j", build_evaluator=False)
    assert study.space.name == "joint" and sorted(study.space.params["hp"]) == ["batch_size", "lr",
                                                                               "optimizer"]
    lrs = {t.architecture["hp"]["lr"] for t in study.trials}
    assert len(lrs) == 3 and all(1e-3 <= lr <= 1e-1 for lr in lrs)
    best = study.best_trial
    assert main(["export", "j", "--out", str(tmp_path / "out"), "--store", str(store)]) == 0
    info = json.loads((tmp_path / "out" / "genotype.json").read_text())
    assert info["recipe"] == best.architecture["hp"] and info["space"] == "joint"


@pytest.mark.parametrize(
    ("flag", "needle"),
    [
        ("lr=0.1..0.01", "hp lr: a range low..high needs low < high, got low=0.1, high=0.01"),
        ("lr=0..0.1:log", "hp lr: a log range needs low > 0, got low=0.0"),
        ("optimizer=adamw,rmsprop", "optimizer must be one of ['adamw', 'adam', 'sgd'], got 'rmsprop'"),
        ("epochz=1,2", "unknown training hyperparameter 'epochz'; the evaluator takes ["),
        ("default_first=-3", "hp default_first: how many first candidates train with the default recipe"),
    ],
)
def test_cli_bad_hp_exits_2_with_one_line(tmp_path, capsys, flag: str, needle: str) -> None:
    from nasforge.cli.main import main

    store = tmp_path / "bad.db"
    assert main(["search", "--store", str(store), *TINY, "--hp", flag]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not store.exists()


def test_cli_default_first_trains_the_default_recipe_first(tmp_path, capsys) -> None:
    from nasforge.cli.main import main
    from nasforge.study import Study

    store = tmp_path / "d.db"
    rc = main(["search", "--store", str(store), "--name", "d", *TINY, "--hp", "lr=1e-3..1e-1:log",
               "--hp", "default_first=2"])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    study = Study.load(store=store, name="d", build_evaluator=False)
    assert study.space.default_first == 2
    lrs = [t.architecture["hp"]["lr"] for t in sorted(study.trials, key=lambda t: t.number)]
    assert lrs[:2] == [0.01, 0.01] and lrs[2] != 0.01
    assert main(["search", "--store", str(tmp_path / "e.db"), *TINY, "--hp", "default_first=2"]) == 2
    assert "needs at least one searched hyperparameter" in capsys.readouterr().err


def test_tpe_samples_floats_as_floats_after_startup() -> None:
    from nasforge.trial import Trial, TrialState

    space = _space()
    grid = set(space.grid(next(h for h in space.hps if h.name == "lr")))
    tpe = nf.strategies.create("tpe", n_startup_trials=3).setup(space, seed=0)
    lrs = []
    for number in range(8):
        arch = tpe.ask().architecture
        lr = arch["hp"]["lr"]
        lrs.append(lr)
        tpe.tell(Trial(number, arch, TrialState.COMPLETE, -abs(math.log10(lr) + 2.5), {}))
    assert all(lr not in grid for lr in lrs[3:])  # continuous, not snapped to the flat view's grid


def test_default_first_config_and_default_recipe() -> None:
    space = nf.spaces.joint(nf.spaces.create("chain", max_layers=3), default_first=4,
                            lr=LogFloat(0.05, 0.1), optimizer=["sgd", "adamw"],
                            momentum=UniformFloat(0.5, 0.99), batch_size=[32, 64])
    again = nf.space.SearchSpace.from_config(space.to_config())
    assert again.default_first == 4 and again.to_config() == space.to_config()
    # lr's recipe default (0.01) is outside 0.05..0.1: the log middle; batch size 128 is not a choice:
    # the first; adamw is a choice: kept, so momentum (sgd only) is inactive
    default = space.default_hp()
    assert default["optimizer"] == "adamw" and "momentum" not in default
    assert math.isclose(default["lr"], math.sqrt(0.05 * 0.1)) and default["batch_size"] == 32
    space.validate(space.initial_candidate(np.random.default_rng(0), 3))
    assert space.initial_candidate(np.random.default_rng(0), 4) is None
    # without default_first the config is what it was before the option existed
    assert "default_first" not in _space().to_config()
    with pytest.raises(ConfigError, match="default_first"):
        nf.spaces.joint("chain", default_first=-1)
