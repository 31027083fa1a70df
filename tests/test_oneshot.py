"""One-shot search: mixed ops, supernets, DARTS (first and second order), SPOS, path dropout, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from nasforge import spaces
from nasforge.errors import ConfigError
from nasforge.models.mixed import MixedOp
from nasforge.models.supernet import build_supernet
from nasforge.oneshot.base import STATE_FILE
from nasforge.oneshot.darts import Darts, unrolled_alpha_grad
from nasforge.oneshot.derive import derive, param_free_share
from nasforge.oneshot.sampling import PathDropout, Spos, score
from nasforge.ops import create_op
from nasforge.space.architecture import Architecture
from tests.oneshot_kill import kill_search_at_epoch
from tests.tiny import tiny_task

EDGE = {"channels": 4, "nodes": 3}
NASNET = {"channels": 4, "blocks": 2}


@pytest.fixture(scope="module")
def task():
    return tiny_task("1d", n=48)


@pytest.mark.parametrize("k", range(5))
def test_mixed_op_one_hot_equals_the_chosen_op(k):
    ops = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
    torch.manual_seed(0)
    mixed = MixedOp(ops, 4, 1, 1)
    alone = create_op(ops[k], 4, 4, 1, 1, affine=False)
    alone.load_state_dict(mixed.ops[k].state_dict())
    x = torch.randn(6, 4, 10)
    w = torch.zeros(len(ops))
    w[k] = 1.0
    assert torch.equal(mixed(x, w), alone(x))
    dense = w.clone().requires_grad_()  # the weighted sum over every op gives the same
    assert torch.allclose(mixed(x, dense), alone(x), atol=1e-6)


def test_sampled_path_runs_only_its_ops():
    mixed = MixedOp(("conv_1x1", "conv_3x3"), 4, 1, 1)
    calls = []
    for k, op in enumerate(mixed.ops):
        op.register_forward_hook(lambda m, i, o, k=k: calls.append(k))
    mixed(torch.randn(2, 4, 8), torch.tensor([0.0, 1.0]))
    assert calls == [1]


@pytest.mark.parametrize("name,params", [("edge-cell", EDGE), ("nasnet", NASNET)])
def test_supernet_of_each_cell_space(name, params, task):
    space = spaces.create(name, **params)
    net = build_supernet(space, task.input_shape, task.num_classes)
    alphas = [torch.zeros(p.n, requires_grad=True) for p in net.points]
    net(torch.as_tensor(task.x_train[:8]), [a.softmax(0) for a in alphas]).sum().backward()
    assert all(a.grad is not None for a in alphas)
    assert all(m.running_mean is None for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d))
    names = {id(p) for p in net.parameters()}
    assert not any(id(a) in names for a in alphas)


def test_supernet_refuses_spaces_without_decision_points():
    with pytest.raises(ConfigError, match="supported: edge-cell, nasnet"):
        build_supernet(spaces.create("chain"), (1, 16), 3)


def test_alpha_is_never_in_the_weight_optimizer(task):
    search = Darts(spaces.create("edge-cell", **EDGE), task, epochs=1, batch_size=16)
    in_weights = {id(p) for group in search.optimizer.param_groups for p in group["params"]}
    in_alpha = {id(p) for group in search.alpha_optimizer.param_groups for p in group["params"]}
    assert in_alpha == {id(a) for a in search.alphas}
    assert not in_weights & in_alpha
    assert not in_alpha & {id(p) for p in search.net.parameters()}
    before = [a.detach().clone() for a in search.alphas]
    search.run()
    assert any(not torch.equal(a, b) for a, b in zip(search.alphas, before, strict=True))
    assert isinstance(search.optimizer, torch.optim.SGD)
    assert isinstance(search.alpha_optimizer, torch.optim.Adam)


def test_darts_halves_the_training_split(task):
    search = Darts(spaces.create("edge-cell", **EDGE), task, epochs=1)
    assert len(search.y_w) + len(search.y_a) == len(task.y_train)
    assert abs(len(search.y_w) - len(search.y_a)) <= 1


def test_alpha_lr_must_be_positive(task):
    with pytest.raises(ConfigError, match="alpha_lr"):
        Darts(spaces.create("edge-cell", **EDGE), task, alpha_lr=0.0)


def test_second_order_gradient_matches_finite_differences_of_the_unrolled_objective(task):
    space = spaces.create("edge-cell", channels=4, nodes=3, ops=("skip_connect", "conv_1x1", "avg_pool_3x3"))
    search = Darts(space, task, order=2, epochs=1, dtype=torch.float64)
    net = search.net.train()
    xt, yt, xv, yv = search.x_w[:12], search.y_w[:12], search.x_a[:12], search.y_a[:12]
    xi, wd = 0.1, 3e-4
    names = [n for n, _ in net.named_parameters()]
    w = [p.detach() for _, p in net.named_parameters()]

    def unrolled_objective(alphas):
        wr = [p.clone().requires_grad_() for p in w]
        mix = [a.softmax(-1) for a in alphas]
        params = dict(zip(names, wr, strict=True))
        gw = torch.autograd.grad(F.cross_entropy(functional_call(net, params, (xt, mix)), yt), wr)
        moved = {n: p - xi * (g + wd * p) for n, p, g in zip(names, w, gw, strict=True)}
        return float(F.cross_entropy(functional_call(net, moved, (xv, mix)), yv))

    base = [a.detach().clone() for a in search.alphas]
    fd, h = [], 1e-5
    for k, a in enumerate(base):
        for i in range(len(a)):
            up = [b.clone() for b in base]
            down = [b.clone() for b in base]
            up[k][i] += h
            down[k][i] -= h
            fd.append((unrolled_objective(up) - unrolled_objective(down)) / (2 * h))
    fd = torch.tensor(fd, dtype=torch.float64)
    # r: the finite-difference Hessian-vector step (eps = r / ||v||); the reference's r=0.01 is an
    # approximation whose error depends on the net's curvature, so the check uses a small one
    grad = unrolled_alpha_grad(net, search.alphas, (xt, yt), (xv, yv), xi, wd, r=1e-6)
    grad = torch.cat([g.reshape(-1) for g in grad])
    assert float((grad - fd).norm() / fd.norm()) < 1e-3
    first = torch.autograd.grad(F.cross_entropy(net(xv, search.mixture()), yv), search.alphas)
    assert float((torch.cat([g.reshape(-1) for g in first]) - fd).norm() / fd.norm()) > 1e-3


@pytest.mark.parametrize("name,params", [("edge-cell", EDGE), ("nasnet", NASNET)])
def test_alpha_pinned_to_a_genotype_derives_it(name, params, task):
    space = spaces.create(name, **params)
    rng = np.random.default_rng(3)
    for _ in range(5):
        arch = space.discretize({p.name: rng.normal(size=p.n) for p in space.decision_points()})
        search = Darts(space, task, epochs=1)
        with torch.no_grad():
            for a, p in zip(search.alphas, space.decision_points(), strict=True):
                a.copy_(torch.as_tensor(10.0 * space.one_hot(arch)[p.name]))
        assert space.canonical_hash(search.derived()) == space.canonical_hash(arch)


def test_darts_runs_both_orders_and_records_the_search(task):
    space = spaces.create("edge-cell", **EDGE)
    for order in (1, 2):
        record = Darts(space, task, order=order, epochs=1, batch_size=16).run().record()
        assert record["method"] == f"darts-{'1st' if order == 1 else '2nd'}"
        space.validate(Architecture.from_dict(record["derived"]))
        assert 0.0 <= record["param_free_share"] <= 1.0
        assert len(record["alpha_history"]) == 1 and record["seconds"] > 0


def test_skip_cap_changes_the_derived_cell_of_a_collapsed_search():
    space = spaces.create("edge-cell", nodes=4)
    collapsed = {p.name: np.where(np.array(p.candidates) == "skip_connect", 0.6, 0.1)
                 for p in space.decision_points()}
    free = derive(space, collapsed)
    assert free.genes["edges"] == ["skip_connect"] * 6 and param_free_share(space, free) == 1.0
    capped = derive(space, collapsed, max_skip=2)
    assert capped != free
    assert capped.genes["edges"].count("skip_connect") == 2
    assert param_free_share(space, capped) < 1.0


def test_param_free_cap_changes_a_cell_collapsed_to_pooling():
    space = spaces.create("edge-cell", nodes=4)
    # avg_pool_3x3 strongest, then skip_connect, on every edge
    weights = {p.name: np.array([0.1, 0.2, 0.15, 0.12, 0.4]) for p in space.decision_points()}
    free = derive(space, weights)
    assert param_free_share(space, free) == 1.0
    capped = derive(space, weights, max_param_free=2)
    assert sum(op in ("skip_connect", "avg_pool_3x3") for op in capped.genes["edges"]) == 2
    assert derive(space, weights, max_skip=0) == free  # a skip cap alone does not touch pooling


def test_freeze_share_stops_alpha_updates(task):
    space = spaces.create("edge-cell", **EDGE)
    search = Darts(space, task, epochs=2, batch_size=16, freeze_share=0.0)
    search.run()
    assert search.frozen_at == 1  # every derived cell has a share > 0.0 -> frozen after epoch 1
    first, second = (h["alphas"] for h in search.history)
    assert first == second


def test_warmup_epochs_hold_alpha_then_let_it_move(task):
    space = spaces.create("edge-cell", **EDGE)
    search = Darts(space, task, epochs=3, batch_size=16, warmup_epochs=2)
    start = search.softmaxed()
    search.run()
    first, second, third = (h["alphas"] for h in search.history)
    assert first == start and second == start  # only the weights trained in the warm-up epochs
    assert third != start
    assert search.record()["warmup_epochs"] == 2
    with pytest.raises(ConfigError, match="warmup_epochs"):
        Darts(space, task, epochs=2, warmup_epochs=2)


@pytest.mark.parametrize("cls", [Spos, PathDropout])
@pytest.mark.parametrize("name,params", [("edge-cell", EDGE), ("nasnet", NASNET)])
def test_sampled_supernets_train_and_score(cls, name, params, task):
    space = spaces.create(name, **params)
    search = cls(space, task, epochs=1, batch_size=16).run()
    arch = space.sample(np.random.default_rng(0))
    first = score(search.net, space, arch, search.x_w, search.x_valid, search.y_valid)
    again = score(search.net, space, arch, search.x_w, search.x_valid, search.y_valid)
    assert first == again and 0.0 <= first["valid_acc"] <= 1.0
    assert all(m.running_mean is None for m in search.net.modules() if isinstance(m, torch.nn.BatchNorm1d))


def test_path_dropout_schedule_grows_linearly(task):
    search = PathDropout(spaces.create("edge-cell", **EDGE), task, epochs=2, drop_rate=0.5)
    assert search.rate(0, 4) == 0.0
    search.epoch = 1
    assert search.rate(3, 4) == pytest.approx(0.5)
    assert all(bool(m.any()) for m in search.mask(0.99))


def test_supernet_killed_mid_training_resumes_at_its_last_epoch(tmp_path, task):
    checkpoint_dir = kill_search_at_epoch(tmp_path, Spos, 2, batch_size=16)
    assert (checkpoint_dir / STATE_FILE).exists()
    resumed = Spos(spaces.create("edge-cell", **EDGE), task, epochs=3, batch_size=16,
                   checkpoint_dir=checkpoint_dir).run()
    assert resumed.resumed_from == 2
    straight = Spos(spaces.create("edge-cell", **EDGE), task, epochs=3, batch_size=16).run()
    state = torch.load(checkpoint_dir / STATE_FILE, weights_only=True)
    assert state["epoch"] == 3
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, state["net"][key]), key


def test_supernet_evaluator_scores_with_shared_weights_and_refuses_a_foreign_supernet(tmp_path, task):
    from nasforge.oneshot.evaluator import SupernetEvaluator

    space = spaces.create("edge-cell", **EDGE)
    Spos(space, task, epochs=1, batch_size=16, checkpoint_dir=tmp_path).run()
    path = str(tmp_path / "supernet.pt")
    ev = SupernetEvaluator(task=task, space=space, supernet=path, device="cpu")
    arch = space.sample(np.random.default_rng(1))
    metrics = ev.evaluate(arch)
    assert metrics["supernet_score"] == metrics["valid_acc"] == ev.evaluate(arch)["valid_acc"]
    with pytest.raises(ConfigError, match="trained for space 'edge-cell'"):
        SupernetEvaluator(task=task, space="nasnet", supernet=path)
    other = SupernetEvaluator(task=task, space=spaces.create("edge-cell", channels=6, nodes=3), supernet=path,
                              device="cpu")
    with pytest.raises(ConfigError, match="was trained for space"):
        other.evaluate(arch)
