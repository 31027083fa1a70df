"""Decision points and discretize, generated over every registered space that has decision points:
one-hot weights on a sampled genotype's choices give that genotype back (many samples), argmax
semantics hold under noise, and bad weights raise SpaceError naming the point. Spaces without decision
points refuse clearly. No torch needed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import nasforge.space as spaces
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Architecture, SearchSpace
from nasforge.space.cell_base import POINT_KINDS, CellSpaceBase


def _space(name: str) -> SearchSpace:
    try:
        return spaces.create(name)
    except ImportError as exc:
        pytest.skip(f"space {name!r} needs an optional dependency: {exc}")


def _with_points() -> list[str]:
    out = []
    for name in spaces.list_spaces():
        try:
            cls = spaces.SPACES.get(name)
        except ImportError:
            continue
        if issubclass(cls, CellSpaceBase):
            out.append(name)
    return out


WITH_POINTS = _with_points()


def test_every_cell_space_has_decision_points() -> None:
    assert {"edge-cell", "nasnet", "multibranch"} <= set(WITH_POINTS)
    for name in WITH_POINTS:
        points = _space(name).decision_points()
        assert points and len({p.name for p in points}) == len(points), name
        assert all(p.kind in POINT_KINDS and p.n == len(p.candidates) >= 1 for p in points), name


def _expressible(space: SearchSpace, arch: Architecture) -> Architecture:
    """The nearest genotype a DARTS NASNet supernet can express: every block combines with ``add``
    and reads two different inputs (other spaces: ``arch`` itself)."""
    if space.name != "nasnet":
        return arch
    genes = arch.genes
    for cell in ("normal", "reduce"):
        for b, block in enumerate(genes[cell]):
            block["combine"] = "add"
            if block["inputs"][0] == block["inputs"][1]:
                block["inputs"][1] = (block["inputs"][0] + 1) % (b + 2)
    return space.canonicalize(Architecture(space.name, genes))


@pytest.mark.parametrize("name", WITH_POINTS)
def test_one_hot_weights_discretize_back_to_the_genotype(name: str) -> None:
    space = _space(name)
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = _expressible(space, space.sample(rng))
        weights = space.one_hot(arch)
        assert sorted(weights) == sorted(p.name for p in space.decision_points())
        back = space.discretize(weights, exclude=())
        space.check(back)
        assert back == arch, name  # sampled genotypes are in the form discretize builds
        assert space.canonical_hash(back) == space.canonical_hash(arch)
        as_lists = {k: v.tolist() for k, v in weights.items()}
        noisy = {k: 5 * v + rng.normal(0, 0.3, v.shape) for k, v in weights.items()}  # softmax-like
        assert space.discretize(as_lists, exclude=()) == back
        assert space.discretize(noisy, exclude=()) == back
        if not _uses_none(arch):
            assert space.discretize(weights) == back  # excluding none changes nothing here


def _uses_none(arch: Architecture) -> bool:
    return "none" in repr(arch.genes)


@pytest.mark.parametrize("name", WITH_POINTS)
def test_bad_weights_raise_space_error_naming_the_point(name: str) -> None:
    space = _space(name)
    points = space.decision_points()
    good = space.one_hot(_expressible(space, space.sample(np.random.default_rng(1))))
    first, last = points[0].name, points[-1].name
    missing = dict(good)
    del missing[last]
    cases = [
        (missing, rf"{last!r} are missing"),
        ({**good, "no_such_point": [1.0]}, "unknown decision point 'no_such_point'"),
        ({**good, first: np.ones(points[0].n + 1)}, rf"{first} needs {points[0].n} weights"),
        ({**good, first: np.ones((1, points[0].n))}, rf"{first} needs {points[0].n} weights"),
        ({**good, first: [np.nan] + [0.0] * (points[0].n - 1)}, rf"{first} has non-finite"),
        ({**good, last: [np.inf] * points[-1].n}, rf"{last} has non-finite"),
        ({**good, first: ["abc"] * points[0].n}, rf"{first} must be a vector of numbers"),
        ([list(v) for v in good.values()], "must be a mapping"),
    ]
    for weights, match in cases:
        with pytest.raises(SpaceError, match=match):
            space.discretize(weights)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", WITH_POINTS)
def test_points_survive_pickling_and_are_cached(name: str) -> None:
    space = _space(name)
    assert space.decision_points() == space.decision_points()
    clone = pickle.loads(pickle.dumps(space))
    assert "_points" not in clone.__dict__ and clone.decision_points() == space.decision_points()


@pytest.mark.parametrize("name", [n for n in spaces.list_spaces() if n not in WITH_POINTS])
def test_spaces_without_points_refuse_one_shot_clearly(name: str) -> None:
    space = _space(name)
    assert space.decision_points() == []
    with pytest.raises(ConfigError, match=r"no decision points.*edge-cell, nasnet or multibranch"):
        space.discretize({})
    with pytest.raises(ConfigError, match="no decision points"):
        space.one_hot(space.sample(np.random.default_rng(0)))


# --------------------------------------------------------------------------- per space semantics
def test_nasnet_points_are_darts_edges_and_discretize_keeps_top_two_inputs() -> None:
    space = spaces.create("nasnet", blocks=3, ops=["none", "skip_connect", "conv_1x1"])
    points = space.decision_points()
    assert len(points) == 2 * (2 + 3 + 4)  # per cell: block b has b + 2 inputs
    p = next(p for p in points if p.name == "reduce.2.from3")
    assert (p.kind, p.cell, p.node, p.input, p.stride, p.candidates) == (
        "op", "reduce", 4, 3, 1, ("none", "skip_connect", "conv_1x1"))
    strides = {(p.cell, p.input < 2): p.stride for p in points}
    assert strides == {("normal", True): 1, ("normal", False): 1, ("reduce", True): 2, ("reduce", False): 1}
    weights = {p.name: np.full(3, 0.01) for p in points}
    weights["normal.1.from0"] = [0.9, 0.05, 0.05]  # none strongest, its best real op is weak
    weights["normal.1.from1"] = [0.1, 0.3, 0.6]
    weights["normal.1.from2"] = [0.2, 0.5, 0.3]
    block = space.discretize(weights).genes["normal"][1]
    assert block == {"inputs": [1, 2], "ops": ["conv_1x1", "skip_connect"], "combine": "add"}
    block = space.discretize(weights, exclude=()).genes["normal"][1]
    assert block == {"inputs": [0, 1], "ops": ["none", "conv_1x1"], "combine": "add"}
    # ties go to the lower input and the earlier op; every block combines with add
    flat = space.discretize({p.name: np.zeros(3) for p in points})
    assert all(b == {"inputs": [0, 1], "ops": ["skip_connect"] * 2, "combine": "add"}
               for cell in ("normal", "reduce") for b in flat.genes[cell])


def test_nasnet_genotypes_a_supernet_cannot_express_are_named() -> None:
    space = spaces.create("nasnet", blocks=2)
    genes = space.discretize({p.name: np.zeros(p.n) for p in space.decision_points()}).genes
    genes["reduce"][1]["combine"] = "concat"
    with pytest.raises(SpaceError, match=r"reduce\[1\]\.combine is 'concat'"):
        space.one_hot(Architecture("nasnet", genes))
    genes["reduce"][1]["combine"] = "add"
    genes["normal"][0]["inputs"] = [1, 1]
    with pytest.raises(SpaceError, match=r"normal\[0\]\.inputs reads input 1 twice"):
        space.one_hot(Architecture("nasnet", genes))


def test_edge_cell_exclude_semantics() -> None:
    space = spaces.create("edge-cell", ops=["none", "conv_3x3"])
    favour_none = {p.name: [0.9, 0.1] for p in space.decision_points()}
    assert space.discretize(favour_none).genes["edges"] == ["conv_3x3"] * 6
    assert space.discretize(favour_none, exclude=()).genes["edges"] == ["none"] * 6
    with pytest.raises(SpaceError, match="leaves no candidate for edge_0_1"):
        space.discretize(favour_none, exclude=("none", "conv_3x3"))


def test_multibranch_points_mirror_the_flat_view() -> None:
    space = spaces.create("multibranch", max_layers=3)
    points = space.decision_points()
    assert [p.name for p in points] == [d.name for d in space.decisions()]
    assert [p.candidates for p in points] == [d.choices for d in space.decisions()]
    ops = [p for p in points if p.kind == "op"]
    assert [(p.input, p.node) for p in ops] == [(0, 1), (1, 2), (2, 3)]
    skips = [(p.input, p.node) for p in points if p.kind == "skip"]
    assert skips == [(0, 2), (0, 3), (1, 3)]


def test_cell_spaces_check_their_op_names_without_torch() -> None:
    with pytest.raises(ConfigError, match=r"unknown op 'sep_conv_3x4'.*Did you mean 'sep_conv_3x3'"):
        spaces.create("nasnet", ops=["skip_connect", "sep_conv_3x4"])
    with pytest.raises(ConfigError, match="unknown op"):
        spaces.create("edge-cell", ops=["none", "conv3x3"])
    with pytest.raises(ConfigError, match="'dense' builds for dims \\[0\\]"):
        spaces.create("multibranch", ops=["dense"])
