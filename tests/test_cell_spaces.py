"""Cell and multi-branch spaces: genotype semantics, isomorphism, shapes, and that sampled genotypes
build and train one step on 1-D (1, 40) and 2-D (1, 8, 8) inputs."""

from __future__ import annotations

import itertools
import pickle
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nasforge.space as spaces  # noqa: E402
from nasforge.errors import ConfigError, SpaceError  # noqa: E402
from nasforge.models import build  # noqa: E402
from nasforge.ops import create_op, list_ops  # noqa: E402
from nasforge.space import Architecture  # noqa: E402

torch.set_num_threads(1)

CELL_SPACES = ("nasnet", "edge-cell", "multibranch")
#: small widths keep the 50-genotype build tests fast; the structure is the default one
SMALL = {
    "nasnet": {"channels": 4},
    "edge-cell": {"channels": 4},
    "multibranch": {"widths": [4, 8], "stem_channels": 4},
}
SHAPES = {"1d": (1, 40), "2d": (1, 8, 8)}


def _block(inputs: list[int], ops: list[str], combine: str = "add") -> dict:
    return {"inputs": inputs, "ops": ops, "combine": combine}


def _one_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    opt.step()
    return loss.item()


# ----------------------------------------------------------------------------------------- ops
def test_cell_ops_registered_with_tag_and_shape_rules() -> None:
    names = set(list_ops(tag="cell"))
    assert {"none", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
            "max_pool_3x3", "avg_pool_3x3", "conv_1x1", "conv_3x3", "factorized_reduce"} <= names
    x1, x2 = torch.randn(2, 4, 7), torch.randn(2, 4, 5, 5)
    for name in sorted(names):
        for x in (x1, x2):
            dims = x.dim() - 2
            for stride in (1, 2):
                out = create_op(name, 4, 6, stride, dims)(x)
                assert out.shape == (2, 6, *(-(-s // stride) for s in x.shape[2:])), (name, stride)
    assert torch.equal(create_op("none", 4, 4, 2, 1)(x1), torch.zeros(2, 4, 4))
    assert torch.equal(create_op("skip_connect", 4, 4, 1, 2)(x2), x2)
    with pytest.raises(ConfigError, match="stride"):
        create_op("sep_conv_3x3", 4, 4, 3, 1)


# -------------------------------------------------------------------------------------- nasnet
def test_nasnet_blocks_make_five_choices_from_cell_inputs_and_earlier_blocks() -> None:
    space = spaces.create("nasnet", blocks=3)
    names = [d.name for d in space.decisions()]
    assert len(names) == 2 * 3 * 5 and names[:5] == [
        "normal.0.input_a", "normal.0.input_b", "normal.0.op_a", "normal.0.op_b", "normal.0.combine"
    ]
    assert [d.choices for d in space.decisions()[10:12]] == [(0, 1, 2, 3)] * 2  # block 2: 2 inputs + 2
    rng = np.random.default_rng(0)
    seen_inputs = set()
    for _ in range(40):
        genes = space.sample(rng).genes
        for b, block in enumerate(genes["normal"]):
            assert all(0 <= i <= b + 1 for i in block["inputs"])
            seen_inputs.update(block["inputs"])
    assert seen_inputs == {0, 1, 2, 3}
    bad = space.sample(rng).genes
    bad["reduce"][0]["inputs"] = [0, 2]  # block 0 cannot read block 0
    with pytest.raises(SpaceError, match=r"reduce\[0\]\.inputs"):
        space.validate(Architecture("nasnet", bad))
    bad = space.sample(rng).genes
    bad["normal"][1]["combine"] = "mul"
    with pytest.raises(SpaceError, match=r"normal\[1\]\.combine"):
        space.validate(Architecture("nasnet", bad))
    with pytest.raises(ConfigError, match="blocks"):
        spaces.create("nasnet", blocks=0)
    # size counts canonical genotypes: enumerate a 1-block, 2-op space (2 inputs x 2 ops per branch)
    tiny = spaces.create("nasnet", blocks=1, ops=["skip_connect", "conv_1x1"])
    flats = itertools.product(*(range(d.n) for d in tiny.decisions()))
    assert tiny.size() == len({tiny.canonical_hash(tiny.from_flat(list(f))) for f in flats}) == 20**2


def test_nasnet_unused_block_outputs_are_concatenated() -> None:
    space = spaces.create("nasnet", blocks=3, channels=4, cells_per_stage=1)
    normal = [
        _block([0, 1], ["skip_connect", "conv_1x1"]),
        _block([0, 2], ["sep_conv_3x3", "skip_connect"], "concat"),  # block 1 reads block 0
        _block([1, 1], ["avg_pool_3x3", "max_pool_3x3"]),
    ]
    reduce = [_block([0, 1], ["skip_connect", "max_pool_3x3"])] * 3
    arch = Architecture("nasnet", {"normal": normal, "reduce": reduce})
    space.check(arch)
    assert space.unused_blocks(arch, "normal") == [1, 2]
    assert space.unused_blocks(arch, "reduce") == [0, 1, 2]
    model = build(space, arch, SimpleNamespace(input_shape=(1, 40), num_classes=3))
    first = model.cells[0]
    assert first.outputs == [3, 4]
    assert first.out_channels == 2 * 4 + 4  # concat block (2C) + add block (C)
    reduction = model.cells[1]
    assert reduction.out_channels == 3 * 8
    h = model.stem(torch.randn(2, 1, 40))
    assert first(h, h).shape == (2, 12, 40)
    assert reduction(h, first(h, h)).shape == (2, 24, 20)


def test_nasnet_branch_order_is_canonical() -> None:
    space = spaces.create("nasnet", blocks=2)
    rng = np.random.default_rng(1)
    genes = space.sample(rng).genes
    block = genes["normal"][1]
    block["inputs"], block["ops"] = [2, 0], ["conv_1x1", "skip_connect"]
    a = Architecture("nasnet", genes)
    block["inputs"], block["ops"] = [0, 2], ["skip_connect", "conv_1x1"]
    b = Architecture("nasnet", genes)
    assert a != b and space.canonical_hash(a) == space.canonical_hash(b)
    assert np.array_equal(space.encode(a, "path"), space.encode(b, "path"))
    block["ops"] = ["conv_1x1", "skip_connect"]
    assert space.canonical_hash(Architecture("nasnet", genes)) != space.canonical_hash(b)


# ----------------------------------------------------------------------------------- edge cell
def test_edge_cell_structure_for_one_shot() -> None:
    space = spaces.create("edge-cell")
    assert space.edges() == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert "none" in space.ops and "skip_connect" in space.ops
    points = space.decision_points()
    assert [(p.input, p.node) for p in points] == space.edges()
    assert all(p.kind == "op" and p.candidates == space.ops and p.stride == 1 for p in points)
    assert [p.name for p in points] == [d.name for d in space.decisions()]
    assert space.size() == 5**6
    weights = {p.name: np.eye(len(space.ops))[k] for p, k in zip(points, [3, 1, 0, 2, 3, 4], strict=True)}
    arch = space.discretize(weights, exclude=())
    assert arch.genes["edges"] == ["conv_3x3", "skip_connect", "none", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
    weights["edge_1_2"] = [0.5, 0.1, 0.3, 0.2, 0.0]  # none strongest: DARTS (the default) skips it
    assert space.discretize(weights).genes["edges"][2] == "conv_1x1"
    assert space.discretize(weights, exclude=()).genes["edges"][2] == "none"
    with pytest.raises(SpaceError, match="edge_0_1"):
        space.discretize({**weights, "edge_0_1": np.zeros(4)})
    with pytest.raises(SpaceError, match=r"edges\[2\]"):
        space.validate(Architecture("edge-cell", {"edges": ["none", "none", "conv_9x9"] + ["none"] * 3}))


def test_edge_cell_edges_off_every_path_hash_alike() -> None:
    space = spaces.create("edge-cell")
    # 0->1 conv, 1->3 conv is the only path; edge 0->2 leads to node 2 which never reaches the output
    base = ["conv_3x3", "none", "none", "none", "conv_3x3", "none"]
    dead_a = ["conv_3x3", "avg_pool_3x3", "none", "none", "conv_3x3", "none"]
    dead_b = ["conv_3x3", "skip_connect", "none", "none", "conv_3x3", "none"]
    hashes = {space.canonical_hash(Architecture("edge-cell", {"edges": e})) for e in (base, dead_a, dead_b)}
    assert len(hashes) == 1
    live = ["conv_3x3", "skip_connect", "none", "none", "conv_3x3", "conv_1x1"]  # now 0->2->3 is a path
    assert space.canonical_hash(Architecture("edge-cell", {"edges": live})) not in hashes
    # encodings of isomorphic cells agree; the model is built from the canonical cell
    a, b = (Architecture("edge-cell", {"edges": e}) for e in (base, dead_a))
    for kind in ("adjacency", "path"):
        assert np.array_equal(space.encode(a, kind), space.encode(b, kind))
    model = build(space, b, SimpleNamespace(input_shape=(1, 16), num_classes=2))
    assert len(model.cells[0].ops) == 2


def test_edge_cell_renumbered_intermediate_nodes_hash_alike() -> None:
    space = spaces.create("edge-cell")
    # two parallel branches through nodes 1 and 2 (edge 1->2 none): swapping the nodes is isomorphic
    a = ["conv_3x3", "conv_1x1", "none", "none", "skip_connect", "avg_pool_3x3"]
    b = ["conv_1x1", "conv_3x3", "none", "none", "avg_pool_3x3", "skip_connect"]
    c = ["conv_1x1", "conv_3x3", "none", "none", "skip_connect", "avg_pool_3x3"]  # not a relabelling
    ha, hb, hc = (space.canonical_hash(Architecture("edge-cell", {"edges": e})) for e in (a, b, c))
    assert ha == hb != hc
    unique = {
        space.canonical_hash(Architecture("edge-cell", {"edges": list(e)}))
        for e in itertools.product(space.ops, repeat=6)
    }
    assert len(unique) == 8765  # of 15,625 genotypes


def test_edge_cell_without_path_builds_zero_cell() -> None:
    space = spaces.create("edge-cell", channels=4)
    arch = Architecture("edge-cell", {"edges": ["conv_3x3", "none", "conv_3x3", "none", "none", "none"]})
    assert space.canonicalize(arch).genes["edges"] == ["none"] * 6
    model = build(space, arch, SimpleNamespace(input_shape=(1, 8, 8), num_classes=3))
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)


# --------------------------------------------------------------------------------- multibranch
def test_multibranch_conditional_depth_and_skips() -> None:
    space = spaces.create("multibranch", max_layers=4, min_layers=2, ops=["conv_3x3", "max_pool_3x3"],
                          widths=[4, 8], strides=[1, 2])
    rng = np.random.default_rng(3)
    depths = set()
    for _ in range(60):
        arch = space.sample(rng)
        flat, layers = space.to_flat(arch), arch.genes["layers"]
        depths.add(len(layers))
        active = space.active(flat)
        assert sum(active) == 1 + sum(3 + (k - 1) + bool(layer["skips"]) for k, layer in
                                      enumerate(layers, start=1))
        assert space.canonical_hash(space.from_flat(flat)) == space.canonical_hash(arch)
    assert depths == {2, 3, 4}
    # exact size: sum over depth of prod over layers of 2*2*2 * (1 + 2 * (2^(k-1) - 1))
    per = [8 * (1 + 2 * (2 ** (k - 1) - 1)) for k in range(1, 5)]
    assert space.size() == per[0] * per[1] + per[0] * per[1] * per[2] + np.prod(per)
    layer = {"op": "conv_3x3", "width": 4, "stride": 1, "merge": "add"}
    bad = Architecture("multibranch", {"layers": [dict(layer, skips=[]), dict(layer, skips=[1])]})
    with pytest.raises(SpaceError, match=r"layers\[1\]\.skips"):
        space.validate(bad)
    # merge of a layer without skips is irrelevant: canonical form hashes alike
    a = Architecture("multibranch", {"layers": [dict(layer, skips=[]), dict(layer, skips=[])]})
    b = Architecture("multibranch", {"layers": [dict(layer, skips=[]),
                                                dict(layer, skips=[], merge="concat")]})
    assert space.canonical_hash(a) == space.canonical_hash(b)
    with pytest.raises(ConfigError, match="strides"):
        spaces.create("multibranch", strides=[3])


def test_multibranch_skips_across_strides_are_shape_consistent() -> None:
    space = spaces.create("multibranch", max_layers=4, widths=[4, 6, 8], stem_channels=4)
    layers = [
        {"op": "conv_3x3", "width": 6, "stride": 2, "skips": [], "merge": "add"},
        {"op": "sep_conv_3x3", "width": 8, "stride": 2, "skips": [0], "merge": "concat"},
        {"op": "max_pool_3x3", "width": 4, "stride": 1, "skips": [0, 1], "merge": "add"},
        {"op": "avg_pool_3x3", "width": 8, "stride": 2, "skips": [0, 1, 2], "merge": "concat"},
    ]
    arch = space.check(Architecture("multibranch", {"layers": layers}))
    for shape, sizes in (((1, 13), [(7,), (4,), (4,), (2,)]), ((1, 9, 9), [(5, 5), (3, 3), (3, 3), (2, 2)])):
        model = build(space, arch, SimpleNamespace(input_shape=shape, num_classes=5))
        x = torch.randn(3, *shape)
        nodes = [model.stem(x)]
        for layer in model.layers:  # replay forward, checking each node's shape
            inputs = [a(nodes[i]) for i, a in zip(layer.skips, layer.adapters, strict=True)]
            for extra in inputs:
                assert extra.shape[2:] == nodes[-1].shape[2:]
            h = torch.cat([nodes[-1], *inputs], 1) if layer.concat else sum(inputs, nodes[-1])
            nodes.append(layer.op(h))
        assert [tuple(n.shape[2:]) for n in nodes[1:]] == sizes
        assert [n.shape[1] for n in nodes[1:]] == [6, 8, 4, 8]
        assert model.layers[1].op(torch.randn(3, 4 + 6, *nodes[1].shape[2:])).shape[1] == 8  # concat: 6 + 4
        assert model(x).shape == (3, 5)


# ------------------------------------------------------------------------- generic, every space
@pytest.mark.parametrize("name", CELL_SPACES)
def test_space_contract(name: str) -> None:
    space = spaces.create(name)
    assert space.input_kinds == {"1d", "2d"}
    assert spaces.SearchSpace.from_config(space.to_config()).to_config() == space.to_config()
    rng = np.random.default_rng(7)
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(20):
        arch = space.sample(rng)
        space.check(Architecture.from_json(arch.to_json()))
        child = space.mutate(arch, rng)
        space.check(child)
        assert space.canonical_hash(child) != space.canonical_hash(arch)
        for kind in ("onehot", "tokens", "adjacency", "path"):
            enc = space.encode(arch, kind)
            assert shapes.setdefault(kind, enc.shape) == enc.shape
        assert space.encode(arch, "onehot").sum() == sum(space.active(space.to_flat(arch)))
        graph = space.to_graph(arch)
        assert graph.labels[0] == "input" and graph.labels[-1] == "output"
        assert not np.tril(graph.adjacency).any()
    nbrs = space.neighbours(arch)
    assert nbrs and all(space.canonical_hash(n) != space.canonical_hash(arch) for n in nbrs)
    clone = pickle.loads(pickle.dumps(space))  # sent to workers: small, caches dropped, same answers
    assert len(pickle.dumps(space)) < 2000
    assert clone.canonical_hash(arch) == space.canonical_hash(arch)
    assert clone.decisions() == space.decisions()


@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize("name", CELL_SPACES)
def test_fifty_genotypes_build_and_train_one_step(name: str, kind: str) -> None:
    space = spaces.create(name, **SMALL[name])
    shape = SHAPES[kind]
    task = SimpleNamespace(input_shape=shape, num_classes=10)
    rng = np.random.default_rng(11)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, *shape, generator=gen)
    y = torch.randint(0, 10, (4,), generator=gen)
    for _ in range(50):
        model = build(space, space.sample(rng), task)
        assert np.isfinite(_one_step(model, x, y))


@pytest.mark.parametrize("name", CELL_SPACES)
def test_real_digits_one_step_and_fx_trace(name: str) -> None:
    from nasforge.data import load

    task = load("digits")
    space = spaces.create(name, **SMALL[name])
    rng = np.random.default_rng(5)
    x = torch.as_tensor(task.x_train[:16])
    y = torch.as_tensor(task.y_train[:16])
    for _ in range(3):
        model = build(space, space.sample(rng), task)
        assert np.isfinite(_one_step(model, x, y))
        traced = torch.fx.symbolic_trace(model)
        model.eval()
        assert torch.allclose(traced(x), model(x), atol=1e-6)


@pytest.mark.parametrize("name", CELL_SPACES)
def test_tabular_input_is_rejected_clearly(name: str) -> None:
    space = spaces.create(name)
    with pytest.raises(ConfigError, match="1-D"):
        build(space, space.sample(np.random.default_rng(0)), SimpleNamespace(input_shape=(5,), num_classes=2))


def _strategies() -> list[str]:
    import nasforge.strategies as strategies

    return strategies.STRATEGIES.names()


@pytest.mark.parametrize("strategy_name", _strategies())
def test_every_strategy_searches_every_cell_space(strategy_name: str) -> None:
    """ask/tell rounds with a synthetic score: proposals are valid and never repeat a canonical hash."""
    import nasforge.strategies as strategies
    from nasforge.errors import RegistryError
    from nasforge.trial import Trial, TrialState

    try:
        strategies.STRATEGIES.get(strategy_name)
    except (ImportError, RegistryError) as exc:
        pytest.skip(f"strategy {strategy_name!r} is not importable yet: {exc}")
    from nasforge.errors import MorphismError
    from nasforge.models.morphisms import supports

    needs_morphisms = getattr(strategies.STRATEGIES.get(strategy_name), "requires_morphisms", False)
    for name in CELL_SPACES:
        space = spaces.create(name)
        if needs_morphisms and not supports(space):  # refused up front, in one line
            with pytest.raises(MorphismError, match="morphisms") as info:
                strategies.create(strategy_name).setup(space, seed=3)
            assert "\n" not in str(info.value)
            continue
        strategy = strategies.create(strategy_name).setup(space, seed=3)
        seen = set()
        for number in range(10):
            candidate = strategy.ask()
            arch = space.check(candidate.architecture)
            seen.add(space.canonical_hash(arch))
            score = float(space.encode(arch, "onehot")[::3].mean())
            strategy.tell(Trial(number=number, architecture=arch, state=TrialState.COMPLETE, value=score,
                                metrics={"valid_acc": score}, budget=candidate.budget))
        assert len(seen) == 10, (strategy_name, name)


def _cell_space_names() -> list[str]:
    from nasforge.space.cell_base import CellSpaceBase

    return [n for n in spaces.list_spaces() if isinstance(spaces.create(n), CellSpaceBase)]


@pytest.mark.parametrize("name", _cell_space_names())
def test_chosen_ops_are_registry_ops_the_genotype_runs(name: str) -> None:
    """Every cell space (generated from the registry) names the ops a genotype runs, never ``none``:
    the basis of the parameter-free share the one-shot methods report and cap."""
    space = spaces.create(name)
    rng = np.random.default_rng(3)
    known = set(list_ops())
    for _ in range(20):
        arch = space.sample(rng)
        ops = space.chosen_ops(arch)
        assert ops and set(ops) <= known and "none" not in ops
