"""LEMONADE: children are valid genotypes made by (approximate) morphisms with their lineage; parents
and accepted children are drawn towards sparse regions of the cheap objective; replay gives the same
proposals; spaces without morphisms are refused in one line; a tiny real multi-objective search
(CLI) yields a front whose children inherited their parents' weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nasforge.space as spaces
import nasforge.strategies as strategies
from nasforge.cli.main import main
from nasforge.models.morphisms import operator
from nasforge.multiobjective import non_dominated, parse_objectives
from nasforge.strategies.cheap import CheapObjectives, inverse_density_weights, weighted_order
from nasforge.study import Study
from nasforge.trial import Candidate, Trial, TrialState
from tests.tiny import tiny_task

MO = "valid_acc:max,params:min"
TASK = {"input_shape": [1, 16], "num_classes": 3}


def _space():
    return spaces.create("chain", input_kind="1d", max_layers=5, widths=[4, 8, 16], kernel_sizes=[1, 3, 5],
                         activations=["relu"], norms=["batch"], dropouts=[0.0])


def _lemonade(space, seed: int = 0, **params):
    options = {"n_initial": 3, "n_pc": 8, "n_ac": 3, "inherit_epochs": 1, **params}
    return strategies.create("lemonade", **options).bind(parse_objectives(MO), task=TASK).setup(space, seed)


def _told(s, number: int, arch) -> Trial:
    """A trial whose accuracy grows with size (with a deterministic wiggle), so fronts are wide."""
    logp = float(s.cheap(arch)[0])
    acc = 0.5 + 0.08 * logp + 0.05 * np.sin(3.1 * number)
    return Trial(number, arch, TrialState.COMPLETE, acc, {"valid_acc": acc, "params": 10 ** logp})


def test_children_are_valid_genotypes_with_lineage_from_the_front() -> None:
    space = _space()
    s = _lemonade(space)
    kids: list[Candidate] = []
    for number in range(24):
        cand = s.ask()
        space.check(cand.architecture)
        if number >= 3:
            kids.append(cand)
            front = {t.number for t in s.front(s.history[: s.gen_start])}
            assert cand.parent in front  # parents come from the Pareto front of the generation's start
            record = cand.info["lineage"]
            assert record["parent"] == cand.parent and cand.budget == 1 and cand.info["inherit_weights"]
            (move,) = record["moves"]
            assert record["exact"] is move["exact"] is operator("chain", move["operator"]).exact
            assert record["parent_genotype"] == s.history[cand.parent].architecture.to_dict()
            json.dumps(cand.info)
        s.tell(_told(s, number, cand.architecture))
    assert s.generation >= 4
    exact = {k.info["lineage"]["exact"] for k in kids}
    assert exact == {True, False}  # both growing (exact) and shrinking (approximate) morphisms are used


def _clustered_front(space, s) -> list[Trial]:
    """Five parents of nearly one size and one far larger, all non-dominated."""
    rng = np.random.default_rng(0)
    archs = {space.canonical_hash(a): a for a in (space.sample(rng) for _ in range(400))}
    by_size = {int(s.cheap.raw(a)["params"]): a for a in archs.values()}  # distinct sizes: no ties
    pool = [by_size[p] for p in sorted(by_size)]
    small, big = pool[:5], pool[-1]
    assert float(s.cheap(big)[0]) - float(s.cheap(small[-1])[0]) > 1.0  # a decade apart at least
    trials = []
    for number, arch in enumerate([*small, big]):
        acc = 0.5 + 0.05 * number
        trials.append(Trial(number, arch, TrialState.COMPLETE, acc,
                            {"valid_acc": acc, "params": float(s.cheap.raw(arch)["params"])}))
    return trials


def test_parent_sampling_prefers_the_sparse_region_of_the_cheap_objective() -> None:
    space = _space()
    s = _lemonade(space, n_pc=12, n_ac=3)
    told = _clustered_front(space, s)
    front = s.front(told)
    assert len(front) == 6
    probs = s.parent_probabilities(front)
    assert probs[-1] > 0.35 and probs[-1] > 2.5 * probs[:-1].max()  # uniform would be 1/6 each
    counts = np.zeros(6)
    for seed in range(12):
        for child in s.children(told, np.random.default_rng(seed)):
            counts[child.parent] += 1
    share = counts[-1] / counts.sum()
    assert share > 2 * (1 / 6), f"the lone large parent got {share:.2f} of the children (uniform: 0.17)"
    # acceptance: a child of the sparse (large) region comes first in the weighted order more often
    kids = [Candidate(t.architecture) for t in told]
    weights = s.child_probabilities(front, kids)
    firsts = [weighted_order(weights, np.random.default_rng(i))[0] for i in range(300)]
    assert np.mean(np.array(firsts) == 5) > 0.35


def test_inverse_density_weights_and_weighted_order() -> None:
    ref = np.array([[0.0], [0.01], [0.02], [3.0]])
    w = inverse_density_weights(ref, ref)
    assert np.isclose(w.sum(), 1.0) and w[3] > 2 * w[0]
    assert np.allclose(inverse_density_weights(np.zeros((0, 1)), ref), 0.25)
    order = weighted_order(np.array([0.1, 0.2, 0.7]), np.random.default_rng(0))
    assert sorted(order) == [0, 1, 2]


def test_replay_gives_the_same_proposals() -> None:
    space = _space()

    def run(seed: int) -> tuple[list[str], list[Trial]]:
        s = _lemonade(space, seed)
        keys, told = [], []
        number = 0
        for batch in (1, 1, 1, 2, 3, 1, 2, 3):  # several pending asks at a time, too
            cands = [s.ask() for _ in range(batch)]
            keys += [space.canonical_hash(c.architecture) for c in cands]
            for cand in cands:
                told.append(_told(s, number, cand.architecture))
                s.tell(told[-1])
                number += 1
        return keys, told

    keys, told = run(3)
    assert run(3)[0] == keys and run(4)[0] != keys
    original = _lemonade(space, 3)
    for trial in told[:10]:
        original.tell(trial)
    replayed = _lemonade(space, 3)
    for trial in told[:10]:
        replayed.tell(trial)
    nxt = [original.ask() for _ in range(3)]
    assert [replayed.ask() for _ in range(3)] == nxt  # same genotypes, budgets and parents


def test_cheap_objectives_are_what_training_reports_and_refusals_are_one_line(tmp_path: Path,
                                                                             capsys) -> None:
    space = _space()
    arch = space.sample(np.random.default_rng(1))
    from nasforge.estimate.train import TrainEvaluator

    evaluator = TrainEvaluator(tiny_task("1d"), space=space, epochs=1, latency_repeats=0, device="cpu")
    cheap = CheapObjectives(space, ["params", "macs"], evaluator.describe_task())
    metrics = evaluator.evaluate(arch)
    assert cheap.raw(arch) == {"params": metrics["params"], "macs": metrics["macs"]}
    with pytest.raises(Exception, match="cheap must name"):
        strategies.create("lemonade", cheap="valid_acc")
    code = main(["search", "--space", "nasbench-graph", "--strategy", "lemonade", "--objective", MO,
                 "--trials", "2", "--store", str(tmp_path / "s.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "morphisms" in err[0] and "nasbench-graph" in err[0]
    assert not (tmp_path / "s.db").exists()


def test_tiny_multiobjective_search_yields_a_front_of_inheriting_children(tmp_path: Path, capsys) -> None:
    task = tiny_task("1d", n=90)
    data = tmp_path / "tiny.npz"
    np.savez(data, x=np.concatenate([task.x_train, task.x_valid, task.x_test]),
             y=np.concatenate([task.y_train, task.y_valid, task.y_test]))
    store = tmp_path / "s.db"
    args = ["search", "--task", str(data), "--store", str(store), "--name", "lem", "--strategy", "lemonade",
            "--objective", MO, "--inherit-weights", "--inherit-epochs", "1", "--epochs", "2", "--trials", "7",
            "--no-progress", "--strategy-opt", "n_initial=3", "--strategy-opt", "n_pc=6",
            "--strategy-opt", "n_ac=2", "--space-opt", "widths=[4,8,16]", "--space-opt", "max_layers=4",
            "--space-opt", 'norms=["batch"]', "--space-opt", "dropouts=[0.0]"]
    assert main(args) == 0
    capsys.readouterr()
    study = Study.load(store=store, name="lem", read_only=True)
    trials = study.trials
    assert len(trials) == 7 and all(t.state is TrialState.COMPLETE for t in trials)
    kids = [t for t in trials if t.parent is not None]
    assert len(kids) == 4 and all(t.metrics["inherited"] == 1 and t.metrics["epochs"] == 1 for t in kids)
    assert all(t.info["lineage"]["moves"] for t in kids)
    strategy = study.strategy
    assert strategy.task and strategy.task["input_shape"] == list(task.input_shape)
    for t in trials:  # the cheap objective predicted before training is what training measured
        assert strategy.cheap.raw(t.architecture)["params"] == t.metrics["params"]
    pts = np.array([[-t.metrics["valid_acc"], t.metrics["params"]] for t in trials])
    assert non_dominated(pts).any()
    assert main(["best", "lem", "--store", str(store), "--pareto", "--json"]) == 0
    front = json.loads(capsys.readouterr().out)["front"]
    assert front and {row["number"] for row in front} <= {t.number for t in trials}
