"""The nasbench-graph space and the tabular evaluator against the installed benchmark tables."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

pytest.importorskip("nas_bench_graph")

from nas_bench_graph import light_read
from nas_bench_graph.architecture import Arch

from nasforge.errors import ConfigError, EvaluationError, SpaceError
from nasforge.estimate.registry import EVALUATORS
from nasforge.estimate.tabular import TabularEvaluator
from nasforge.space import Architecture, create
from nasforge.space.nasbench_graph import LINKS, NasBenchGraphSpace


def arch(link: list[int], ops: list[str]) -> Architecture:
    return Architecture("nasbench-graph", {"link": link, "ops": ops})


@pytest.fixture(scope="module")
def cora() -> NasBenchGraphSpace:
    return create("nasbench-graph", dataset="cora")


@pytest.fixture(scope="module")
def proteins() -> NasBenchGraphSpace:
    return create("nasbench-graph", dataset="proteins")


@pytest.mark.parametrize(("dataset", "expected"), [("cora", 26206), ("proteins", 2021)])
def test_representatives_cover_every_table_entry(dataset: str, expected: int) -> None:
    space = NasBenchGraphSpace(dataset=dataset)
    reps = space.all_architectures()
    table_keys = set(light_read(dataset))
    assert len(table_keys) == expected == space.size() == len(reps)
    # hashed afresh by the package itself, not through the space's caches
    package_hashes = {Arch(a["link"], a["ops"]).valid_hash() for a in reps}
    assert package_hashes == table_keys
    for rep in reps[:: max(1, len(reps) // 500)]:
        space.validate(rep)
        assert space.canonicalize(rep) == rep
        assert int(space.canonical_hash(rep)) == Arch(rep["link"], rep["ops"]).valid_hash()


def test_every_proteins_genotype_is_an_entry_or_all_skip(proteins: NasBenchGraphSpace) -> None:
    keys = set(light_read("proteins"))
    reached = set()
    for flat in itertools.product(*(range(d.n) for d in proteins.decisions())):
        genotype = proteins.from_flat(flat)
        key = int(proteins.canonical_hash(genotype))
        if genotype["ops"] == ["skip"] * 4:
            assert key not in keys
            continue
        assert key in keys
        assert proteins.canonical_hash(proteins.canonicalize(genotype)) == str(key)
        reached.add(key)
    assert reached == keys


def test_isomorphic_genotypes_share_one_entry(cora: NasBenchGraphSpace) -> None:
    groups = [
        # four parallel branches: any order of the ops
        [
            arch([0, 0, 0, 0], ["gcn", "gat", "sage", "gin"]),
            arch([0, 0, 0, 0], ["gin", "sage", "gat", "gcn"]),
        ],
        # two children of node 2: swap them
        [
            arch([0, 0, 1, 1], ["gcn", "gat", "sage", "gin"]),
            arch([0, 0, 1, 1], ["gcn", "gat", "gin", "sage"]),
        ],
        # two chains from the input: swap the chains
        [
            arch([0, 0, 1, 2], ["gcn", "gat", "sage", "gin"]),
            arch([0, 0, 1, 2], ["gat", "gcn", "gin", "sage"]),
        ],
    ]
    for group in groups:
        hashes = {cora.canonical_hash(a) for a in group}
        assert len(hashes) == 1
        assert len({cora.canonicalize(a) for a in group}) == 1
        assert cora.entry(group[0]) == cora.entry(group[1])
    different = arch([0, 0, 1, 2], ["gcn", "gat", "gin", "sage"])
    assert cora.canonical_hash(different) != cora.canonical_hash(groups[2][0])


def test_sample_mutate_neighbours_stay_on_table_entries(cora: NasBenchGraphSpace) -> None:
    rng = np.random.default_rng(3)
    rows = cora.table.row
    samples = [cora.sample(rng) for _ in range(200)]
    assert all(int(cora.canonical_hash(a)) in rows for a in samples)
    assert all(cora.canonicalize(a) == a for a in samples)
    assert len({cora.canonical_hash(a) for a in samples}) > 190  # uniform over 26k entries
    for parent in samples[:20]:
        options = cora.neighbours(parent)
        keys = [cora.canonical_hash(a) for a in options]
        assert len(set(keys)) == len(keys) > 10
        assert cora.canonical_hash(parent) not in keys
        assert all(int(k) in rows for k in keys)
        child = cora.mutate(parent, rng)
        assert cora.canonical_hash(child) in keys
    # one op change is a neighbour
    parent = cora.canonicalize(arch([0, 1, 2, 3], ["gcn", "gat", "gin", "sage"]))
    changed = parent.replace(ops=[*parent["ops"][:3], "fc"])
    assert cora.canonical_hash(changed) in {cora.canonical_hash(a) for a in cora.neighbours(parent)}


def test_flat_view_and_encodings(cora: NasBenchGraphSpace, proteins: NasBenchGraphSpace) -> None:
    assert [d.n for d in cora.decisions()] == [9, 9, 9, 9, 9]
    assert [d.n for d in proteins.decisions()] == [9, 5, 5, 5, 5]
    a = arch([0, 1, 1, 2], ["gcn", "skip", "arma", "fc"])
    for space, n_ops in ((cora, 9), (proteins, 5)):
        flat = space.to_flat(a)
        assert space.from_flat(flat) == a
        assert set(space.encodings()) >= {"onehot", "tokens", "adjacency", "path"}
        assert space.encode(a, "onehot").shape == (9 + 4 * n_ops,)
        assert space.encode(a, "onehot").sum() == 5
        assert space.encode(a, "tokens").tolist() == list(flat)
        assert space.encode(a, "adjacency").shape == (15 + 6 * (n_ops + 2),)
        path = space.encode(a, "path")
        assert path.shape == (sum(n_ops**k for k in range(5)),)
        assert path.sum() == 2  # (gcn, arma) to leaf 3 and (gcn, skip, fc) to leaf 4
    graph = cora.to_graph(a)
    assert graph.adjacency[:, 5].tolist() == [0, 0, 0, 1, 1, 0]
    assert graph.labels == ("input", "gcn", "skip", "arma", "fc", "output")
    with pytest.raises(SpaceError, match="flat index 1"):
        proteins.from_flat([0, 7, 0, 0, 0])


def test_invalid_and_absent_genotypes_fail_clearly(
    cora: NasBenchGraphSpace, proteins: NasBenchGraphSpace
) -> None:
    with pytest.raises(SpaceError, match=r"ops\[1\] must be one of"):
        proteins.validate(arch([0, 1, 2, 3], ["gcn", "gat", "gcn", "gcn"]))
    with pytest.raises(SpaceError, match="link must be one of the 9"):
        cora.validate(arch([0, 0, 1, 0], ["gcn"] * 4))
    with pytest.raises(SpaceError, match="exactly the genes"):
        cora.validate(Architecture("nasbench-graph", {"link": list(LINKS[0])}))
    with pytest.raises(ConfigError, match="dataset must be one of"):
        NasBenchGraphSpace(dataset="imagenet")
    evaluator = TabularEvaluator(dataset="cora")
    with pytest.raises(EvaluationError, match="no entry in the cora table") as info:
        evaluator.evaluate(arch([0, 1, 2, 3], ["skip"] * 4))
    assert info.value.reason == "not_in_table"
    with pytest.raises(ConfigError, match="benchmark must be one of"):
        TabularEvaluator(benchmark="nasbench-101")


def test_tabular_evaluator_returns_the_table_entry(cora: NasBenchGraphSpace) -> None:
    evaluator = EVALUATORS.create("tabular", benchmark="nasbench-graph", dataset="cora")
    assert isinstance(evaluator, TabularEvaluator)
    raw = light_read("cora")
    a = arch([0, 1, 2, 3], ["skip", "skip", "gcn", "gcn"])
    expected = raw[Arch(a["link"], a["ops"]).valid_hash()]
    clone = pickle.loads(pickle.dumps(evaluator))
    for ev in (evaluator, clone):
        metrics = ev.evaluate(a)
        assert metrics["valid_acc"] == pytest.approx(expected["valid_perf"])
        assert metrics["test_acc"] == pytest.approx(expected["perf"])
        assert metrics["latency_ms"] == pytest.approx(expected["latency"] * 1000)
        assert metrics["params"] == pytest.approx(expected["para"] * 1e6)
    assert ev.to_config() == {"name": "tabular", "benchmark": "nasbench-graph", "dataset": "cora"}
    best = max(v["valid_perf"] for v in raw.values())
    assert cora.best_valid() == pytest.approx(best)
    assert cora.best_valid() == pytest.approx(0.8193, abs=1e-4)
