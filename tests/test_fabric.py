"""Convolutional neural fabrics: the space's genotypes and validity, a path of the whole fabric equal to
its stand-alone CNN, the whole fabric training, and the one-shot searches running on it."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nasforge as nf  # noqa: E402
from nasforge.errors import ConfigError, SpaceError  # noqa: E402
from nasforge.estimate.train import TrainEvaluator  # noqa: E402
from nasforge.models.fabric import FabricNet, FabricSupernet  # noqa: E402
from nasforge.models.supernet import build_supernet  # noqa: E402
from nasforge.oneshot.darts import Darts  # noqa: E402
from nasforge.oneshot.sampling import PathDropout, Spos, score, search_on_supernet  # noqa: E402
from nasforge.space import Architecture  # noqa: E402
from nasforge.trial import EvalContext  # noqa: E402
from tests.tiny import tiny_task  # noqa: E402

torch.set_num_threads(1)
SMALL = {"layers": 5, "scales": 3, "channels": 4}


def _space(**params):
    return nf.spaces.create("fabric", **{**SMALL, **params})


# -------------------------------------------------------------------------------------- space
def test_band_edges_paths_and_the_whole_fabric():
    space = _space()
    edges = space.edges()
    assert (1, 0, 0) in edges and (1, 0, 1) in edges
    assert (1, 1, 1) not in edges  # (0, 1) is not reachable from the input (0, 0)
    assert (4, 1, 1) not in edges and (3, 0, 0) not in edges  # cannot reach the output (4, 2) any more
    paths = space.paths()
    seqs = sorted(tuple([0] + [b for _, _, b in space.kept(p)]) for p in paths)
    assert (0, 0, 0, 1, 2) in seqs and (0, 1, 2, 1, 2) in seqs and (0, 1, 0, 1, 2) in seqs
    assert all(len(p.genes["edges"]) == 4 for p in paths) and len(set(paths)) == len(paths)
    assert set(space.kept(space.full())) == set(edges)
    assert {e for p in paths for e in space.kept(p)} == set(edges)  # every band edge is on some path


def test_genotypes_are_sorted_pure_data_with_stable_hashes():
    space = _space()
    arch = space.path([0, 1, 1, 2, 2])
    assert arch.genes == {"edges": [[1, 0, 1], [2, 1, 1], [3, 1, 2], [4, 2, 2]]}
    assert arch.content_hash == Architecture("fabric", arch.genes).content_hash
    shuffled = Architecture("fabric", {"edges": arch.genes["edges"][::-1]})
    space.validate(shuffled)
    assert space.canonical_hash(shuffled) == space.canonical_hash(arch)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = space.sample(rng)
        space.validate(a)
        assert space.from_flat(space.to_flat(a)) == a
        assert space.discretize(space.one_hot(a), exclude=()) == a
        child = space.mutate(a, rng)
        space.validate(child)
        assert child != a


def test_flat_vectors_keep_live_edges_or_fall_back_to_the_favoured_path():
    space = _space()
    edges = space.edges()
    off = space.from_flat([0] * len(edges))
    assert len(off.genes["edges"]) == space.layers - 1  # no live edge: a path
    dangling = [int(e == (1, 0, 0)) for e in edges]  # (1,0,0) alone does not reach the output
    assert len(space.from_flat(dangling).genes["edges"]) == space.layers - 1
    target = space.path([0, 0, 1, 1, 2])
    margin = {p.name: np.array([0.0, 1.0 if e in space.kept(target) else -0.1])
              for p, e in zip(space.decision_points(), edges, strict=True)}
    assert space.discretize(margin) == target
    weak = {k: np.array([1.0, v[1] - 0.5]) for k, v in margin.items()}  # every edge off by its weights
    assert space.discretize(weak) == target  # the path of largest on - off margin


@pytest.mark.parametrize("params,match", [
    ({"layers": 2, "scales": 3}, "layers >= scales"),
    ({"kernel_size": 4}, "odd"),
    ({"scales": 0}, "scales"),
    ({"channels": 1}, "channels"),
    ({"layers": "8"}, "layers"),
])
def test_bad_parameters_raise_config_errors(params, match):
    with pytest.raises(ConfigError, match=match):
        _space(**params)


@pytest.mark.parametrize("edges,match", [
    ([], "non-empty"),
    ([[1, 0, 1], [2, 1, 1], [3, 1, 2], [4, 2, 2], [2, 1, 2]], "not on an input -> output path"),
    ([[1, 0, 1], [2, 1, 2], [3, 2, 2], [4, 2, 2], [1, 0, 1]], "listed twice"),
    ([[1, 0, 2], [2, 2, 2], [3, 2, 2], [4, 2, 2]], "must be"),
    ([[1, 0, 1], [2, 1, 1], [3, 1, 2], [4, 2, 2.0]], "must be"),
    ([[1, 0, 0], [2, 0, 0]], "not on an input -> output path"),
])
def test_bad_genotypes_raise_space_errors(edges, match):
    space = _space()
    with pytest.raises(SpaceError, match=match):
        space.validate(Architecture("fabric", {"edges": edges}))
    with pytest.raises(SpaceError):
        space.path([0, 1, 2])


# -------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("kind,shape", [("1d", (1, 13)), ("2d", (2, 7, 9))])
def test_a_fabric_path_equals_the_standalone_cnn_of_that_path(kind, shape):
    space = _space()
    torch.manual_seed(0)
    net = build_supernet(space, shape, 3)
    assert isinstance(net, FabricSupernet)
    for m in net.modules():  # non-trivial affine batch norms
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.affine:
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.5, 0.5)
    path = space.path([0, 1, 2, 1, 2])  # down, down, up, down: every edge kind
    x_calib, x = torch.randn(16, *shape), torch.randn(5, *shape)
    weights = net.path_weights(space.one_hot(path))
    with net.calibrated(weights, [x_calib]):
        shared = net(x, weights)
        state = net.state_dict()
        everything = net(x, net.path_weights(space.one_hot(space.full())))
    standalone = nf.models.build(space, path, type("T", (), {"input_shape": shape, "num_classes": 3}))
    assert isinstance(standalone, FabricNet)
    own = standalone.state_dict()
    assert len(own) < len(state)  # only the path's edges
    standalone.load_state_dict({k: state[k] for k in own})
    standalone.eval()
    with torch.no_grad():
        alone = standalone(x)
    assert alone.shape == (5, 3)
    assert torch.allclose(shared, alone, atol=1e-6, rtol=0)
    assert not torch.allclose(everything, alone, atol=1e-3)  # the other edges do change the output


def test_whole_fabric_trains_with_the_training_evaluator():
    space = _space(channels=4)
    task = tiny_task("1d", n=60)
    torch.manual_seed(0)
    model = nf.models.build(space, space.full(), task)
    x, y = torch.as_tensor(task.x_train), torch.as_tensor(task.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    ev = TrainEvaluator(task, space=space, epochs=3, batch_size=16, latency_repeats=0, device="cpu")
    m = ev.evaluate(space.full(), EvalContext(seed=0))
    assert 0.0 <= m["valid_acc"] <= 1.0 and m["params"] == sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------- one-shot
@pytest.mark.parametrize("cls", [Spos, PathDropout])
def test_sampled_one_shot_searches_run_on_the_whole_fabric(cls):
    space = _space(layers=4, scales=2)
    task = tiny_task("1d", n=48)
    search = cls(space, task, epochs=1, batch_size=16).run()
    top = search_on_supernet(search, "random", queries=5, top_k=2, seed=0)
    assert 1 <= len(top) <= 2
    for t in top:
        space.validate(Architecture("fabric", t["genes"]))
    first = score(search.net, space, space.full(), search.x_w, search.x_valid, search.y_valid)
    assert first == score(search.net, space, space.full(), search.x_w, search.x_valid, search.y_valid)


def test_darts_alphas_gate_every_fabric_edge():
    space = _space(layers=4, scales=2)
    search = Darts(space, tiny_task("1d", n=48), epochs=1, batch_size=16).run()
    space.validate(search.derived())
    assert search.history[-1]["param_free_share"] == 0.0


def test_spos_search_on_a_fabric_from_the_command_line(tmp_path):
    from nasforge.cli.main import main
    from nasforge.study import Study

    task = tiny_task("1d", n=48)
    data = tmp_path / "tiny.npz"
    np.savez(data, x=np.concatenate([task.x_train, task.x_valid, task.x_test]),
             y=np.concatenate([task.y_train, task.y_valid, task.y_test]))
    store = str(tmp_path / "s.db")
    argv = ["search", "--task", str(data), "--space", "fabric", "--space-opt", "layers=3", "--space-opt",
            "scales=2", "--space-opt", "channels=4", "--epochs", "1", "--no-progress", "--workers", "1",
            "--executor", "serial", "--strategy", "spos", "--strategy-opt", "epochs=1", "--strategy-opt",
            "queries=4", "--store", store, "--name", "f"]
    assert main(argv) == 0
    study = Study.load(store=store, name="f", read_only=True)
    assert study.config["oneshot"]["method"] == "spos" and len(study.trials) == 1
    nf.spaces.create("fabric", layers=3, scales=2, channels=4).validate(study.trials[0].architecture)
