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


def _told_gp(space: spaces.SearchSpace, n: int = 14, **params: object):  # type: ignore[no-untyped-def]
    """A GP told ``n`` trials whose value is the number of conv ops (a function of the node labels)."""
    from nasforge.strategies import create
    from nasforge.trial import Trial, TrialState

    gp = create("gp", n_initial=4, **params).setup(space, 0)
    for number in range(n):
        arch = gp.ask().architecture
        value = float(sum("conv" in str(op) for op in space.to_graph(arch).labels))
        gp.tell(Trial(number, arch, TrialState.COMPLETE, value=value))
    return gp


def test_wl_rounds_chosen_by_likelihood_score_the_pool_with_the_chosen_rounds() -> None:
    """``wl_iterations="auto"`` picks h by marginal likelihood; its proposal is the one a GP with h fixed
    at that value makes on the same history (the pool and the Gram matrix use the same features)."""
    from nasforge.strategies import create

    space = spaces.create("edge-cell", nodes=4)
    auto = _told_gp(space, wl_iterations="auto")
    ls, noise = auto._hyperparameters()
    chosen = auto.wl_rounds
    assert chosen in (0, 1, 2, 3)
    fixed = create("gp", n_initial=4, wl_iterations=chosen).setup(space, 0)
    for trial in auto.history:
        fixed.tell(trial)
    fixed.rng = np.random.default_rng(7)
    auto.rng = np.random.default_rng(7)
    assert fixed._hyperparameters() == (ls, noise)  # the best of h's grid is the overall best
    assert fixed.propose().architecture == auto.propose().architecture


def test_float_features_shrink_with_the_distance_between_values() -> None:
    """A joint space's float gets binned features: the one-hot similarity of two genotypes falls as
    their learning rates move apart (an exact-value token would give the same for any two values)."""
    from nasforge.strategies.candidates import FeatureMap

    space = spaces.joint(spaces.create("chain", max_layers=3), lr=spaces.LogFloat(1e-4, 1e-1))
    arch = space.sample(np.random.default_rng(0))
    inner, _ = space.split(arch)
    fmap = FeatureMap(space, "onehot")

    def sim(a: float, b: float) -> float:
        ra, rb = fmap.row(space.join(inner, {"lr": a})), fmap.row(space.join(inner, {"lr": b}))
        return sum(v * rb.get(k, 0.0) for k, v in ra.items())

    near, mid, far = sim(1e-3, 1.1e-3), sim(1e-3, 5e-3), sim(1e-3, 9e-2)
    assert sim(1e-3, 1e-3) == pytest.approx(1.0)
    assert 1.0 > near > mid > far


def test_ml_amplitude_is_the_likelihood_optimum_of_the_chosen_hyperparameters() -> None:
    """``amplitude="ml"``: the signal variance the GP keeps maximises the Gaussian likelihood of the
    warped values at the chosen length scale and noise ratio, and that triple beats every other grid
    point (checked against scipy's multivariate normal, not the GP's own formula)."""
    from scipy.stats import multivariate_normal

    from nasforge.strategies.gp import _LENGTHSCALES, _NOISES, warp

    space = spaces.create("edge-cell", nodes=4)
    gp = _told_gp(space, amplitude="ml")
    ls, noise = gp._hyperparameters()
    scale = gp._scale
    train = gp._training(gp.completed)
    z = warp(np.array([t.value for t in train]), gp.params["transform"])
    archs = [t.architecture for t in train]
    gram = gp._similarity(archs, archs)

    def loglik(length: float, ratio: float, s2: float) -> float:
        cov = s2 * (np.exp((gram - 1.0) / length) + ratio * np.eye(len(z)))
        return float(multivariate_normal(np.zeros(len(z)), cov, allow_singular=True).logpdf(z))

    best = loglik(ls, noise, scale)
    assert scale != 1.0
    assert best > loglik(ls, noise, 0.8 * scale) and best > loglik(ls, noise, 1.25 * scale)
    for length in _LENGTHSCALES:
        for ratio in _NOISES:
            cov = np.exp((gram - 1.0) / length) + ratio * np.eye(len(z))
            s2 = float(z @ np.linalg.solve(cov, z)) / len(z)
            assert loglik(length, ratio, s2) <= best + 1e-6
    fixed = _told_gp(space)
    fixed._hyperparameters()
    assert fixed._scale == 1.0
