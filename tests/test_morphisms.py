"""Tests generated over the morphism registry x spaces x input kinds x batch norm: every exact operator
keeps the network's outputs (eval mode, random inputs, random batch-norm statistics) to 1e-5; every
operator yields a valid genotype of the same space whose weights load; bad parameters raise a typed
error naming the operator and the field."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nasforge.space as spaces
from nasforge.errors import ConfigError, MorphismError
from nasforge.models import BUILDERS
from nasforge.models.morphisms import MORPHISMS, Move, apply_moves, detect, operator, random_moves

SHAPES = {"1d": (2, 16), "2d": (2, 6, 6), "tabular": (7,)}


def _space(space_name: str, kind: str, norm: str):
    if space_name == "chain":
        return spaces.create("chain", input_kind=kind, max_layers=4, widths=[4, 6, 8], norms=[norm],
                             activations=["relu", "none"], kernel_sizes=[1, 3, 5], dropouts=[0.0, 0.1])
    return spaces.create("multibranch", max_layers=4, widths=[4, 6, 8], stem_channels=4)


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for name in MORPHISMS.names():
        space_name = name.split(".", 1)[0]
        kinds = ("1d", "2d", "tabular") if space_name == "chain" else ("1d", "2d")
        norms = ("batch", "none") if space_name == "chain" else ("batch",)
        out += [(name, kind, norm) for kind in kinds for norm in norms]
    return out


def _scramble(model: torch.nn.Module) -> None:
    """Trained-looking batch norms: random statistics and affine parameters."""
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()


def _applications(name: str, kind: str, norm: str, count: int = 4):
    """Up to ``count`` (space, parent, params) where the operator applies (seeded samples)."""
    space_name, op_name = name.split(".", 1)
    space = _space(space_name, kind, norm)
    op = operator(space_name, op_name)
    rng = np.random.default_rng(7)
    found = []
    for _ in range(200):
        arch = space.sample(rng)
        options = op.options(space, arch)
        if options:
            found.append((space, arch, options[int(rng.integers(len(options)))]))
        if len(found) == count:
            break
    return op, found


@pytest.mark.parametrize(("name", "kind", "norm"), _cases())
def test_operator_child_is_valid_and_exact_ones_keep_outputs(name: str, kind: str, norm: str) -> None:
    op, found = _applications(name, kind, norm)
    if kind == "tabular" and op.name == "grow-kernel":
        assert not found  # no kernels in tabular genotypes
        return
    assert found, f"{name} never applied on {kind}/{norm} samples"
    shape = SHAPES[kind]
    builder = BUILDERS.get(op.space)
    for seed, (space, arch, params) in enumerate(found):
        torch.manual_seed(seed)
        parent = builder(space, arch, shape, 3)
        _scramble(parent)
        parent.eval()
        child_arch, state = apply_moves(space, arch, [Move(op.name, params)], parent.state_dict(), shape, 3,
                                        seed=seed, noise=0.1)
        space.check(child_arch)
        assert child_arch.space == arch.space
        assert space.canonical_hash(child_arch) != space.canonical_hash(arch)
        child = builder(space, child_arch, shape, 3)
        child.load_state_dict(state)  # strict: every tensor present with the child's shape
        child.eval()
        if op.exact:
            x = torch.randn(8, *shape)
            with torch.no_grad():
                diff = (parent(x) - child(x)).abs().max().item()
            assert diff <= 1e-5, f"{name} {params} changed the outputs by {diff}"


@pytest.mark.parametrize("space_name", ["chain", "multibranch"])
def test_noise_breaks_symmetry_but_keeps_function(space_name: str) -> None:
    _, found = _applications(f"{space_name}.widen", "1d", "batch", count=1)
    space, arch, params = found[0]
    parent = BUILDERS.get(space_name)(space, arch, SHAPES["1d"], 3).eval()
    _, quiet = apply_moves(space, arch, [Move("widen", params)], parent.state_dict(), SHAPES["1d"], 3, seed=1)
    child_arch, noisy = apply_moves(space, arch, [Move("widen", params)], parent.state_dict(),
                                    SHAPES["1d"], 3, seed=1, noise=0.5)
    assert any(not torch.equal(quiet[k], noisy[k]) for k in quiet)
    child = BUILDERS.get(space_name)(space, child_arch, SHAPES["1d"], 3)
    child.load_state_dict(noisy)
    x = torch.randn(4, *SHAPES["1d"])
    with torch.no_grad():
        assert (child.eval()(x) - parent(x)).abs().max().item() <= 1e-5


def test_random_sequences_stay_exact_and_detect_finds_single_moves() -> None:
    space = _space("chain", "1d", "batch")
    rng = np.random.default_rng(3)
    arch = space.sample(rng)
    child, moves = random_moves(space, arch, rng, n=4)
    assert moves and all(m.exact for m in moves)
    assert all(Move.from_dict(m.to_dict()) == m for m in moves)
    parent = BUILDERS.get("chain")(space, arch, SHAPES["1d"], 3).eval()
    _scramble(parent)
    got, state = apply_moves(space, arch, moves, parent.state_dict(), SHAPES["1d"], 3, seed=2)
    assert got == child
    net = BUILDERS.get("chain")(space, child, SHAPES["1d"], 3)
    net.load_state_dict(state)
    x = torch.randn(4, *SHAPES["1d"])
    with torch.no_grad():
        assert (net.eval()(x) - parent(x)).abs().max().item() <= 1e-5
    first = operator("chain", moves[0].operator).move(space, arch, moves[0].params)
    found = detect(space, arch, first)
    assert found is not None and found.exact
    assert operator("chain", found.operator).move(space, arch, found.params) == first


@pytest.mark.parametrize("space_name", ["chain", "multibranch"])
def test_bad_layer_index_and_widening_to_fewer_units_name_operator_and_field(space_name: str) -> None:
    op, found = _applications(f"{space_name}.widen", "1d", "batch", count=1)
    space, arch, params = found[0]
    with pytest.raises(MorphismError, match=rf"{space_name}\.widen: layer: .*got 99"):
        op.move(space, arch, {"layer": 99, "width": 8})
    k = params["layer"]
    current = arch.genes["layers"][k]["width"]
    smaller = min(space.params["widths"])
    with pytest.raises(MorphismError, match=rf"{space_name}\.widen: width: widening must increase"):
        op.move(space, arch, {"layer": k, "width": min(smaller, current)})
    with pytest.raises(ConfigError, match="deepen: layer"):
        operator(space_name, "deepen").move(space, arch, {"layer": -1, "op": "conv"})
