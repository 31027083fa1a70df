"""The GP's architecture kernels: arc (Swersky et al. 2013) and OTMANN (Kandasamy et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest

import nasforge.space as spaces
from nasforge.strategies.kernels import ArcKernel, OtmannKernel, otmann_distance


def _joint() -> spaces.SearchSpace:
    return spaces.joint(spaces.create("chain", max_layers=3), lr=spaces.LogFloat(1e-4, 1e-1),
                        optimizer=["adamw", "sgd"], momentum=spaces.UniformFloat(0.5, 0.99))


def _arc(kernel: ArcKernel, space: spaces.SearchSpace, a: np.ndarray, b: np.ndarray) -> float:
    return 1.0 - float(((a - b) ** 2).sum()) / (2.0 * kernel.dimension_count(space))


def test_arc_kernel_of_genotypes_differing_only_in_inactive_parameters_is_one() -> None:
    space = spaces.create("chain", max_layers=4, min_layers=2)
    arch = space.sample(np.random.default_rng(0))
    arch = space.from_flat([0, *space.to_flat(arch)[1:]])  # depth 2: layers 3 and 4 inactive
    flat = list(space.to_flat(arch))
    active = space.active(flat)
    other = [d.n - 1 if not on else v for v, on, d in zip(flat, active, space.decisions(), strict=True)]
    assert other != flat
    kernel = ArcKernel()
    assert _arc(kernel, space, kernel.embed_flat(space, flat), kernel.embed_flat(space, other)) == 1.0
    changed = flat.copy()
    changed[1] = 1  # an active decision
    assert _arc(kernel, space, kernel.embed_flat(space, flat), kernel.embed_flat(space, changed)) < 1.0
    # a joint space: momentum (a float) is inactive under adamw, whatever its entries say
    joint = _joint()
    inner, hp = joint.split(joint.sample(np.random.default_rng(1)))
    adam = joint.join(inner, {"lr": hp["lr"], "optimizer": "adamw"})
    ja = list(joint.to_flat(adam))
    jb = ja.copy()
    jb[-1] = 5  # the momentum grid index
    n = len(ja) - 1
    ea = kernel.embed_flat(joint, ja, {n - 2: 0.3})
    eb = kernel.embed_flat(joint, jb, {n - 2: 0.3, n: 0.9})
    assert _arc(kernel, joint, ea, eb) == 1.0
    sgd = joint.join(inner, {"lr": hp["lr"], "optimizer": "sgd", "momentum": 0.9})
    assert kernel.similarity(joint, [adam], [adam])[0, 0] == pytest.approx(1.0)
    assert kernel.similarity(joint, [adam], [sgd])[0, 0] < 1.0


def test_arc_kernel_is_continuous_in_floats() -> None:
    joint = _joint()
    inner, _ = joint.split(joint.sample(np.random.default_rng(2)))
    base = {"optimizer": "adamw"}
    archs = [joint.join(inner, {**base, "lr": lr}) for lr in (1e-3, 1.1e-3, 1e-2)]
    s = ArcKernel().similarity(joint, archs[:1], archs)[0]
    assert s[0] == pytest.approx(1.0) and 1.0 > s[1] > s[2]


@pytest.mark.parametrize("name", ["nasbench-graph", "chain"])
def test_otmann_symmetric_zero_for_self_positive_for_different(name: str) -> None:
    space = spaces.create(name, dataset="proteins") if name == "nasbench-graph" else spaces.create(name)
    rng = np.random.default_rng(3)
    archs = []
    while len(archs) < 6:
        a = space.sample(rng)
        if all(space.canonical_hash(a) != space.canonical_hash(b) for b in archs):
            archs.append(a)
    d = np.array([[otmann_distance(space, a, b) for b in archs] for a in archs])
    assert np.allclose(d, d.T, atol=1e-9)
    assert np.allclose(np.diag(d), 0.0, atol=1e-9)
    off = d[~np.eye(len(archs), dtype=bool)]
    assert (off > 0).all() and (off <= 1.0 + 1e-9).all()


def test_otmann_linprog_and_pot_agree_and_kernel_caches() -> None:
    pytest.importorskip("ot")
    space = spaces.create("nasbench-graph", dataset="proteins")
    rng = np.random.default_rng(4)
    archs = [space.sample(rng) for _ in range(5)]
    lp = np.array([[otmann_distance(space, a, b, solver="linprog") for b in archs] for a in archs])
    pot = np.array([[otmann_distance(space, a, b, solver="pot") for b in archs] for a in archs])
    assert np.allclose(lp, pot, atol=1e-7)
    kernel = OtmannKernel(solver="linprog")
    s = kernel.similarity(space, archs, archs)
    assert np.allclose(s, 1.0 - lp, atol=1e-7)


def test_otmann_label_mismatch_and_width_masses() -> None:
    space = spaces.create("chain", max_layers=3)
    layer = {"op": "conv", "width": 32, "kernel": 3, "stride": 1, "activation": "relu", "norm": "batch",
             "dropout": 0.0}
    base = spaces.Architecture("chain", {"depth": 2, "layers": [layer, layer]})
    sep = base.replace(layers=[layer, {**layer, "op": "sep_conv"}])  # same family: 0.2 per unit
    pool = base.replace(layers=[layer, {**layer, "op": "max_pool"}])  # other family: 1 per unit
    wide = base.replace(layers=[layer, {**layer, "width": 128}])
    d_sep, d_pool = otmann_distance(space, base, sep), otmann_distance(space, base, pool)
    assert 0 < d_sep < d_pool
    assert otmann_distance(space, base, wide) > 0  # masses follow the width


def test_wl_iterations_set_the_depth_of_the_wl_features() -> None:
    from nasforge.errors import ConfigError
    from nasforge.strategies import create
    from nasforge.strategies.candidates import FeatureMap

    space = spaces.create("edge-cell", nodes=4)
    arch = space.sample(np.random.default_rng(0))
    counts = [len(FeatureMap(space, "wl", h).tokens(arch)) for h in (0, 1, 2)]
    nodes = counts[0]
    assert counts == [nodes, 2 * nodes, 3 * nodes]  # one label per node and round
    gp = create("gp", wl_iterations=2).setup(space, 0)
    assert gp.fmap.wl_iterations == 2
    with pytest.raises(ConfigError, match="wl_iterations"):
        create("gp", wl_iterations=-1)
