"""Weight inheritance: morphism children start where their parent ended, other mutations take the
tensors whose shapes match, a missing parent checkpoint falls back to scratch with a warning, an
evaluator without checkpoints is refused; NASH climbs with exact morphisms; lineage reaches the store
and ``nasforge status``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import nasforge.space as spaces
import nasforge.strategies as strategies
from nasforge.cli.main import main
from nasforge.errors import MorphismError
from nasforge.estimate import checkpoint as ckpt
from nasforge.estimate.inherit import check_evaluator, lineage, load_parent
from nasforge.estimate.registry import EVALUATORS
from nasforge.estimate.train import TrainEvaluator
from nasforge.models.morphisms import random_moves
from nasforge.study import Study
from nasforge.trial import EvalContext, Trial, TrialState
from tests.tiny import tiny_task


def _space():
    return spaces.create("chain", input_kind="1d", max_layers=5, widths=[4, 8, 16], kernel_sizes=[1, 3, 5],
                         activations=["relu"], norms=["batch"], dropouts=[0.0])


def _trained_parent(tmp_path: Path, space, arch):
    evaluator = TrainEvaluator(tiny_task("1d"), space=space, epochs=2, latency_repeats=0, device="cpu")
    metrics = evaluator.evaluate(arch, EvalContext(seed=1, checkpoint_dir=str(tmp_path / "parent")))
    return evaluator, metrics["checkpoint"]


def test_morphism_child_starts_with_the_parents_function(tmp_path: Path) -> None:
    space = _space()
    rng = np.random.default_rng(0)
    parent = space.sample(rng)
    evaluator, checkpoint = _trained_parent(tmp_path, space, parent)
    child, moves = random_moves(space, parent, rng, n=3)
    assert moves
    context = EvalContext(trial_number=5, seed=3, parent_checkpoint=checkpoint,
                          extra={"lineage": lineage(0, parent, moves)})
    net = evaluator.build_model(child)
    got = load_parent(net, child, space, context, (1, 16), 3)
    assert got == {"inherited": 1, "inherited_fraction": 1.0}
    old = evaluator.build_model(parent)
    old.load_state_dict(ckpt.load_weights(checkpoint)[0])
    x = torch.as_tensor(evaluator.task_data.x_valid)
    with torch.no_grad():
        assert (net.eval()(x) - old.eval()(x)).abs().max().item() <= 1e-5


def test_plain_mutation_inherits_matching_shapes_missing_parent_trains_from_scratch(tmp_path: Path) -> None:
    space = _space()
    parent = space.sample(np.random.default_rng(1))
    evaluator, checkpoint = _trained_parent(tmp_path, space, parent)
    layers = [dict(layer) for layer in parent.genes["layers"]]
    layers[0]["width"] = 8 if layers[0]["width"] == 4 else 4  # a width change everywhere after layer 0
    layers.append(dict(layers[-1]))
    child = space._make(layers[: space.params["max_layers"]])
    context = EvalContext(seed=3, parent_checkpoint=checkpoint, extra={"lineage": lineage(0, parent, [])})
    net = evaluator.build_model(child)
    got = load_parent(net, child, space, context, (1, 16), 3)
    assert got["inherited"] == 1 and 0 < got["inherited_fraction"] < 1
    state = ckpt.load_weights(checkpoint)[0]
    same = [k for k, v in net.state_dict().items() if k in state and state[k].shape == v.shape]
    assert same and all(torch.equal(net.state_dict()[k], state[k]) for k in same)
    missing = EvalContext(trial_number=9, seed=3, parent_checkpoint=str(tmp_path / "gone" / "model.pt"))
    with pytest.warns(UserWarning, match="from scratch"):
        metrics = evaluator.evaluate(child, missing)
    assert metrics["inherited"] == 0 and metrics["valid_acc"] >= 0


def test_inheritance_needs_an_evaluator_that_leaves_checkpoints(tmp_path: Path, capsys) -> None:
    tabular = EVALUATORS.create("tabular", benchmark="nasbench-graph", dataset="proteins")
    strategy = strategies.create("regularized-evolution", inherit_weights=True, inherit_epochs=1)
    with pytest.raises(MorphismError, match="inherit_weights: evaluator 'tabular' leaves no checkpoints"):
        check_evaluator(tabular, strategy)
    check_evaluator(tabular, strategies.create("regularized-evolution"))  # no inheritance: fine
    code = main(["search", "--space", "nasbench-graph", "--strategy", "regularized-evolution",
                 "--inherit-weights", "--trials", "3", "--store", str(tmp_path / "s.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "inherit_weights: evaluator" in err[0]  # before the settings line


def _scored(number: int, arch, parent: int | None, value: float) -> Trial:
    return Trial(number, arch, TrialState.COMPLETE, value, {"valid_acc": value}, parent=parent)


def test_nash_climbs_with_exact_morphisms_and_sgdr_children() -> None:
    space = spaces.create("chain", input_kind="1d", max_layers=6, widths=[4, 8, 16])
    nash = strategies.create("nash", n_neighbours=3, n_morphisms=2, epochs_neighbours=2).setup(space, 4)
    first = nash.ask()
    nash.tell(_scored(0, first.architecture, None, 0.5))
    values = [0.4, 0.7, 0.6]
    children = []
    for number, value in enumerate(values, start=1):
        cand = nash.ask()
        record = cand.info["lineage"]
        assert cand.parent == 0 and cand.budget == 2 and cand.info["inherit_weights"]
        assert record["exact"] and len(record["moves"]) == 2
        assert record["recipe"]["schedule"] == "sgdr" and record["recipe"]["restart_period"] == 2
        children.append(cand)
        nash.tell(_scored(number, cand.architecture, cand.parent, value))
    assert nash.current.number == 2 and nash.step == 1  # the best child is the new point
    nxt = nash.ask()
    assert nxt.parent == 2
    json.dumps(nxt.info)  # lineage is JSON


def test_evolution_strategies_mark_inheriting_children() -> None:
    space = _space()
    for name, params in (("regularized-evolution", {"population": 2, "sample": 1}),
                         ("evolution", {"population": 2}), ("local-search", {"max_neighbours": 4})):
        s = strategies.create(name, **params, inherit_weights=True, inherit_epochs=1).setup(space, 0)
        assert s.to_config()["inherit_weights"] is True
        assert "inherit_weights" not in strategies.create(name).to_config()  # old configs unchanged
        kids = []
        for number in range(8):
            cand = s.ask()
            if cand.parent is not None:
                kids.append(cand)
            s.tell(_scored(number, cand.architecture, cand.parent, float(np.sin(number))))
        assert kids and all(k.info["inherit_weights"] and k.budget == 1 for k in kids)
        assert all(k.info["lineage"]["parent"] == k.parent for k in kids)


def test_study_with_nash_stores_lineage_and_status_shows_it(tmp_path: Path, capsys) -> None:
    space = _space()
    evaluator = TrainEvaluator(tiny_task("1d"), space=space, epochs=1, latency_repeats=0, device="cpu")
    nash = strategies.create("nash", n_neighbours=2, n_morphisms=2, epochs_neighbours=1)
    store = tmp_path / "n.db"
    study = Study.create(store=store, name="nash", space=space, strategy=nash, evaluator=evaluator, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: every parent checkpoint is found
        study.optimize(n_trials=5, show_progress=False)
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    kids = [t for t in trials if t.parent is not None]
    assert len(kids) == 4
    assert all(t.metrics["inherited"] == 1 and t.info["lineage"]["exact"] for t in kids)
    assert main(["status", "nash", "--store", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["trials"]
    assert rows[1]["lineage"]["parent"] == 0 and rows[1]["lineage"]["exact"] is True
    assert main(["status", "nash", "--store", str(store)]) == 0
    assert "from #0" in capsys.readouterr().out
