"""SMASH: the hypernetwork's generated weights fit every op of every sampled genotype, training lowers
the loss through them, the search derives valid genotypes, resume, bad options."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge import spaces
from nasforge.errors import ConfigError
from nasforge.models.hypernet import HyperNet
from nasforge.models.supernet import build_supernet
from nasforge.oneshot import ONESHOT
from nasforge.oneshot.base import STATE_FILE
from nasforge.oneshot.smash import Smash, SmashStrategy, smash_search
from nasforge.space.architecture import Architecture
from tests.oneshot_kill import kill_search_at_epoch
from tests.tiny import tiny_task

EDGE = {"channels": 4, "nodes": 3}
NASNET = {"channels": 4, "blocks": 2}
SPACES = [("edge-cell", EDGE), ("nasnet", NASNET)]


@pytest.fixture(scope="module")
def task():
    return tiny_task("1d", n=48)


def _needed(net, weights):
    """``{name: shape}`` of the parameters of the ops the path ``weights`` runs, read off the modules."""
    out = {}
    for prefix, cell in net.named_modules():
        if not hasattr(cell, "mixed"):
            continue
        for position, mixed in enumerate(cell.mixed):
            k = cell.points[position][0]
            for o, op in enumerate(mixed.ops):
                if float(weights[k][o]) != 0.0:
                    out.update({f"{prefix}.mixed.{position}.ops.{o}.{n}": tuple(p.shape)
                                for n, p in op.named_parameters()})
    return out


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("name,params", SPACES)
def test_generated_weights_have_the_shapes_every_chosen_op_needs(kind, name, params):
    task = tiny_task(kind, n=24)
    space = spaces.create(name, **params)
    search = Smash(space, task, epochs=1, batch_size=8)
    x = torch.as_tensor(task.x_train[:4])
    rng = np.random.default_rng(0)
    outputs, cells, shapes = set(), set(), 0
    for _ in range(50):
        arch = space.sample(rng)
        encoding, weights = search.inputs(arch)
        with torch.no_grad():
            generated = search.hyper.generate(search.net, encoding, weights)
            needed = _needed(search.net, weights)
            assert {k: tuple(v.shape) for k, v in generated.items()} == needed
            shapes += len(needed)
            logits = search.hyper.run(search.net, x, encoding, weights)
        assert logits.shape == (4, task.num_classes) and bool(torch.isfinite(logits).all())
        outputs.add(float(logits.sum()))
        cells.add(space.canonical_hash(arch))
    assert shapes > 50
    assert len(cells) > 10 and len(outputs) >= 0.9 * len(cells)  # the network depends on the cell


def test_generated_weights_depend_on_the_encoding_and_flow_into_the_forward():
    space = spaces.create("edge-cell", **EDGE)
    net = build_supernet(space, (1, 16), 3)
    hyper = HyperNet(net, 15, rank=2, hidden=8)
    arch = Architecture("edge-cell", {"edges": ["conv_3x3", "conv_1x1", "conv_3x3"]})
    weights = net.path_weights(space.one_hot(arch))
    a, b = torch.zeros(15), torch.zeros(15)
    a[0], b[1] = 1.0, 1.0
    ga, gb = hyper.generate(net, a, weights), hyper.generate(net, b, weights)
    assert ga.keys() == gb.keys() and any(not torch.equal(ga[k], gb[k]) for k in ga)
    x = torch.randn(4, 1, 16)
    assert not torch.allclose(hyper.run(net, x, a, weights), hyper.run(net, x, b, weights))
    with torch.no_grad():
        for p in hyper.basis:
            p.zero_()
    # with a zero basis the generated weights are the supernet's own (the slot biases)
    assert torch.allclose(hyper.run(net, x, a, weights), net(x, weights))


def test_training_lowers_the_loss_and_reaches_the_hypernetwork(task):
    space = spaces.create("edge-cell", **EDGE)
    search = Smash(space, task, epochs=1, batch_size=16, lr=0.05)
    arch = Architecture("edge-cell", {"edges": ["conv_3x3", "conv_1x1", "conv_3x3"]})
    x, y = search.x_w[:32], search.y_w[:32]
    before = float(search.loss_of(arch, x, y).detach())
    hyper_before = [p.detach().clone() for p in search.hyper.parameters()]
    active = search.hyper.active(search.inputs(arch)[1])
    assert active
    search.net.train()
    for _ in range(15):
        loss = search.loss_of(arch, x, y)
        search.optimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in search.hyper.embed.parameters()]
        grads += [search.hyper.basis[s].grad for s in active]
        assert all(g is not None and float(g.abs().sum()) > 0 for g in grads)
        search.optimizer.step()
    assert float(search.loss_of(arch, x, y).detach()) < 0.8 * before
    changed = [not torch.equal(a, b) for a, b in zip(hyper_before, search.hyper.parameters(), strict=True)]
    assert all(changed[:4])  # the MLP's weights and biases moved


@pytest.mark.parametrize("name,params", SPACES)
def test_tiny_search_derives_valid_distinct_genotypes(name, params, task):
    space = spaces.create(name, **params)
    search = Smash(space, task, epochs=2, batch_size=16).run()
    assert len(search.history) == 2
    top = smash_search(search, queries=8, perturb=3, top_k=3, seed=1)
    assert len(top) == 3
    archs = [Architecture(space.name, t["genes"]) for t in top]
    for a in archs:
        space.validate(a)
    assert len({space.canonical_hash(a) for a in archs}) == 3
    scores = [t["valid_acc"] for t in top]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == search.score(archs[0])["valid_acc"]
    assert top == smash_search(search, queries=8, perturb=3, top_k=3, seed=1)  # seeded


def test_strategy_is_registered_and_derives_top_k(task):
    strat = ONESHOT.create("smash", epochs=1, queries=5, perturb=2, top_k=2, batch_size=16)
    assert isinstance(strat, SmashStrategy)
    space = spaces.create("edge-cell", **EDGE)
    strat.setup(space, 0)
    search = strat.make_search(space, task, seed=0, device="cpu", checkpoint_dir=None).run()
    archs, extra = strat.derive(search)
    assert len(archs) == 2 and len(extra["candidates"]) == 2 and extra["perturb"] == 2


@pytest.mark.parametrize("params,needle", [
    ({"queries": 0}, "queries"), ({"perturb": -1}, "perturb"), ({"top_k": 0}, "top_k"),
    ({"rank": 0}, "rank"), ({"hidden": 1.5}, "hidden"), ({"alpha_lr": 0.1}, "does not take"),
])
def test_bad_options_raise_a_config_error(params, needle):
    with pytest.raises(ConfigError, match=needle):
        SmashStrategy(**params)


def test_bad_option_on_the_command_line_is_one_line_exit_2(tmp_path, task, capsys):
    from nasforge.cli.main import main

    store = tmp_path / "bad.db"
    argv = ["search", "--task", "mnist1d", "--space", "edge-cell", "--strategy", "smash", "--strategy-opt",
            "queries=0", "--store", str(store)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "queries" in err and len(err.splitlines()) == 1
    assert not store.exists()


def test_killed_search_resumes_at_its_last_epoch_and_ends_as_an_uninterrupted_one(tmp_path, task):
    checkpoint_dir = kill_search_at_epoch(tmp_path, Smash, 2, batch_size=16)
    resumed = Smash(spaces.create("edge-cell", **EDGE), task, epochs=3, batch_size=16,
                    checkpoint_dir=checkpoint_dir).run()
    assert resumed.resumed_from == 2 and resumed.epoch == 3
    straight = Smash(spaces.create("edge-cell", **EDGE), task, epochs=3, batch_size=16).run()
    state = torch.load(checkpoint_dir / STATE_FILE, weights_only=True)
    assert state["epoch"] == 3
    for key, value in straight.hyper.state_dict().items():
        assert torch.equal(value, state["extra"]["hyper"][key]), key
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, state["net"][key]), key


def test_smash_study_from_the_command_line_retrains_its_top_k(tmp_path, task):
    from nasforge.cli.main import main
    from nasforge.study import Study
    from nasforge.trial import TrialState

    data = tmp_path / "tiny.npz"
    np.savez(data, x=np.concatenate([task.x_train, task.x_valid, task.x_test]),
             y=np.concatenate([task.y_train, task.y_valid, task.y_test]))
    store = str(tmp_path / "s.db")
    argv = ["search", "--task", str(data), "--space", "edge-cell", "--space-opt", "channels=4", "--space-opt",
            "nodes=3", "--strategy", "smash", "--strategy-opt", "epochs=2", "--strategy-opt", "queries=6",
            "--strategy-opt", "top_k=2", "--trials", "2", "--epochs", "1", "--no-progress", "--workers", "1",
            "--executor", "serial", "--store", store, "--name", "sm"]
    assert main(argv) == 0
    study = Study.load(store=store, name="sm", read_only=True)
    record = study.config["oneshot"]
    assert record["method"] == "smash" and record["epochs"] == 2 and record["phase"] == "retraining"
    assert [c["genotype"] for c in record["candidates"]] == record["genotypes"]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert [t.architecture.to_dict() for t in study.trials] == record["genotypes"]
    assert (tmp_path / "s_artifacts" / "sm" / "supernet" / "supernet_state.pt").exists()
