"""The chain space: conditional genes, parameter validation, neuro-evolution moves, flat view."""

from __future__ import annotations

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Architecture
from nasforge.space.chain import ChainSpace


def layer(**kw: object) -> dict[str, object]:
    base = {"op": "conv", "width": 64, "kernel": 5, "stride": 1, "activation": "relu", "norm": "batch",
            "dropout": 0.0}
    base.update(kw)
    return base


def test_only_layers_up_to_depth_are_genes() -> None:
    space = nf.spaces.create("chain", min_layers=1, max_layers=5)
    rng = np.random.default_rng(0)
    depths = set()
    for _ in range(40):
        arch = space.sample(rng)
        assert len(arch["layers"]) == arch["depth"]
        depths.add(arch["depth"])
        flat = space.to_flat(arch)
        active = space.active(flat)
        per = len(space.layer_fields())
        assert sum(active) == 1 + per * arch["depth"]
        assert all(i == 0 for i, on in zip(flat, active, strict=True) if not on)
        assert space.from_flat(flat) == arch
    assert depths == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"min_layers": 4, "max_layers": 2}, "min_layers <= max_layers"),
        ({"min_layers": 0}, "min_layers"),
        ({"widths": []}, "widths"),
        ({"widths": [0]}, "widths"),
        ({"kernel_sizes": [4]}, "odd"),
        ({"strides": [3]}, "strides"),
        ({"activations": ["swish9"]}, "activations"),
        ({"norms": ["instance"]}, "norms"),
        ({"dropouts": [1.5]}, "dropouts"),
        ({"ops": ["dense"]}, "input_kind"),
        ({"input_kind": "3d"}, "input_kind"),
        ({"head": "max"}, "head"),
        ({"depth": 3}, "unknown parameters"),
        ({"ops": "conv"}, "list"),
    ],
)
def test_bad_parameters_raise_config_error(params: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ChainSpace(**params)


def test_unknown_op_lists_registered_ones() -> None:
    with pytest.raises(ConfigError, match="unknown op"):
        ChainSpace(ops=["conv", "transformer"])


def test_validate_names_the_offending_field() -> None:
    space = ChainSpace(max_layers=4)
    good = Architecture("chain", {"depth": 2, "layers": [layer(), layer(stride=2)]})
    space.validate(good)
    bad_cases = [
        ({"depth": 2, "layers": [layer()]}, "depth=2"),
        ({"depth": 9, "layers": [layer()] * 9}, "depth"),
        ({"depth": 2.0, "layers": [layer()] * 2}, "depth"),
        ({"depth": 2, "layers": [layer(), layer(width=65)]}, "layer2.width"),
        ({"depth": 2, "layers": [layer(op="dense"), layer()]}, "layer1.op"),
        ({"depth": 2, "layers": [layer(), {"op": "conv"}]}, "layer2 must have"),
        ({"depth": 2, "layers": [layer(), layer()], "extra": 1}, "unknown genes"),
    ]
    for genes, match in bad_cases:
        with pytest.raises(SpaceError, match=match):
            space.validate(Architecture("chain", genes))


def test_mutations_add_remove_change() -> None:
    space = ChainSpace(min_layers=1, max_layers=6)
    rng = np.random.default_rng(3)
    arch = Architecture("chain", {"depth": 3, "layers": [layer(), layer(width=32), layer(kernel=3)]})
    seen = {"add": 0, "remove": 0, "change": 0}
    for _ in range(60):
        child = space.mutate(arch, rng)
        space.validate(child)
        assert child != arch
        d = child["depth"] - arch["depth"]
        if d == 1:
            seen["add"] += 1
        elif d == -1:
            seen["remove"] += 1
        else:
            diffs = sum(a != b for la, lb in zip(arch["layers"], child["layers"], strict=True)
                        for a, b in zip(la.values(), lb.values(), strict=True))
            assert diffs == 1
            seen["change"] += 1
    assert all(v > 0 for v in seen.values()), seen


def test_mutation_respects_depth_bounds() -> None:
    space = ChainSpace(min_layers=2, max_layers=2, widths=[64])
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    for _ in range(20):
        arch = space.mutate(arch, rng)
        assert arch["depth"] == 2


def test_neighbours_include_every_move() -> None:
    space = ChainSpace(min_layers=1, max_layers=4)
    arch = Architecture("chain", {"depth": 2, "layers": [layer(), layer(width=32)]})
    neighbours = space.neighbours(arch)
    depths = {n["depth"] for n in neighbours}
    assert depths == {1, 2, 3}
    changes = [n for n in neighbours if n["depth"] == 2]
    per_layer = sum(len(c) - 1 for _, c in space.layer_fields())
    assert len(changes) == 2 * per_layer
    assert len(set(neighbours)) == len(neighbours)


def test_graph_is_a_padded_path() -> None:
    space = ChainSpace(max_layers=4)
    arch = Architecture("chain", {"depth": 2, "layers": [layer(), layer(op="max_pool")]})
    g = space.to_graph(arch)
    assert g.labels == ("input", "conv", "max_pool", "pad", "pad", "output")
    assert g.adjacency.sum() == 3 and g.adjacency[0, 1] and g.adjacency[1, 2] and g.adjacency[2, 5]
    assert space.encode(arch, "path").sum() == 1.0


def test_tabular_space_has_no_kernel_or_stride() -> None:
    space = ChainSpace(input_kind="tabular")
    arch = space.sample(np.random.default_rng(0))
    assert all(set(la) == {"op", "width", "activation", "norm", "dropout"} for la in arch["layers"])
    assert {la["op"] for la in arch["layers"]} <= {"dense", "identity"}


def test_size_counts_each_depth() -> None:
    space = ChainSpace(min_layers=1, max_layers=2, ops=["conv"], widths=[8, 16], kernel_sizes=[3],
                       strides=[1], activations=["relu"], norms=["batch"], dropouts=[0.0])
    assert space.size() == 2 + 4


def test_builder_shapes_and_strong_reference_net() -> None:
    torch = pytest.importorskip("torch")
    from tiny import tiny_task

    space = ChainSpace()
    arch = Architecture("chain", {"depth": 4, "layers": [layer(stride=2), layer(), layer(stride=2), layer()]})
    task = tiny_task("1d", n=30)
    model = nf.models.build(space, arch, task)
    assert model(torch.zeros(5, 1, 16)).shape == (5, 3)
    with pytest.raises(ConfigError, match="tabular"):
        nf.models.build(space, arch, tiny_task("tabular", n=30))
    dense = ChainSpace(input_kind="tabular")
    arch_t = dense.sample(np.random.default_rng(0))
    assert nf.models.build(dense, arch_t, task)(torch.zeros(4, 1, 16)).shape == (4, 3)


def test_default_search_space_contains_the_strong_reference_net() -> None:
    from nasforge import defaults

    space = ChainSpace(input_kind="1d", **defaults.CHAIN_SPACE)
    reference = Architecture("chain", {"depth": 4, "layers": [layer(width=64, kernel=5)] * 4})
    space.validate(reference)
    assert defaults.SEARCH["space"] == "chain" and defaults.SEARCH["task"] == "mnist1d"
    assert defaults.SEARCH["strategy"] == "regularized-evolution"
    assert 0 < defaults.SEARCH["time_limit"] <= 400 and defaults.SEARCH["epochs"] >= 1
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(50)]
    assert all(la["norm"] == "batch" and la["width"] >= 32 for a in samples for la in a["layers"])
