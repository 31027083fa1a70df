"""NAS-Bench-Graph (Qin et al., NeurIPS 2022) as a search space: 26,206 GNN architectures per dataset.

A genotype is ``{"link": [4 ints], "ops": [4 op names]}``: node ``i + 1`` of a 4-node DAG takes its input
from node ``link[i]`` (0 is the graph input), ``link`` is one of the benchmark's 9 link patterns, and each
node applies one GNN op of the dataset's list (9 ops; ``proteins`` has 5). Nodes nobody consumes feed the
output. Many genotypes are isomorphic (e.g. symmetric branches, ``skip`` nodes); the benchmark's own
canonical hash (``nas_bench_graph.Arch.valid_hash``: ``regularize`` -> ``move_skip_op`` ->
``equalpart_sort`` -> ``hash_arch``) names one table entry per isomorphism class, and this space uses it as
:meth:`NasBenchGraphSpace.canonical_hash` (as a decimal string). Because ``hash_arch`` is a base-10
positional code of (link pattern, ops), the hash decodes back to one canonical genotype, which is what
:meth:`~NasBenchGraphSpace.canonicalize` returns.

Choices made here:

- ``sample`` is uniform over the table's distinct entries (each isomorphism class once), not over the
  9 x 9^4 raw genotypes (which would favour classes with many isomorphs). It never returns a genotype
  absent from the table (the all-``skip`` genotypes are valid but have no entry).
- ``neighbours`` of an architecture are the distinct table entries reached from its canonical form by
  changing one op or the link pattern; ``mutate`` picks one uniformly. Both are cached per entry.
- The flat view has 5 categorical decisions: the link pattern (index into the 9 patterns) and the 4 ops.

The tables ship with the installed ``nas-bench-graph`` package and are loaded once per process
(:func:`load_table`), as arrays keyed by the benchmark hash.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasforge.errors import ConfigError, EvaluationError, SpaceError
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph, SearchSpace

#: the benchmark's 9 link patterns (``nas_bench_graph.architecture.link_list``), in hash order
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)  # fmt: skip
#: the benchmark's op list (``gnn_list``); its order defines the hash digits for every dataset
OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: the op list of the ``proteins`` table (``gnn_list_proteins``)
OPS_PROTEINS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
DATASETS: tuple[str, ...] = (
    "cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins",
)  # fmt: skip

_LINK_INDEX = {link: i for i, link in enumerate(LINKS)}
_OP_DIGIT = {op: i for i, op in enumerate(OPS)}
_BASE = len(OPS) + 1  # hash_arch's positional base for the 9-op list


@dataclass(frozen=True)
class BenchTable:
    """One dataset's table as arrays: row ``i`` is the entry with benchmark hash ``keys[i]``.

    ``valid``/``test`` are accuracies in [0, 1], ``latency_ms`` milliseconds, ``params`` parameter counts
    (the package stores seconds and millions).
    """

    dataset: str
    keys: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    latency_ms: np.ndarray
    params: np.ndarray
    row: dict[int, int]

    @property
    def best_row(self) -> int:
        """Row of the best validation accuracy (first on ties)."""
        return int(np.argmax(self.valid))


def check_dataset(dataset: Any) -> str:
    """Validate a dataset name; raises :class:`ConfigError` naming the allowed values."""
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ConfigError(
            f"nasbench-graph dataset must be one of {', '.join(DATASETS)}, got {dataset!r}"
        )
    return dataset


@functools.cache
def load_table(dataset: str) -> BenchTable:
    """The dataset's table, read once per process from the installed ``nas-bench-graph`` package."""
    check_dataset(dataset)
    try:
        from nas_bench_graph import light_read
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "the nasbench-graph space needs the `nas-bench-graph` package: pip install 'nasforge[bench]'"
        ) from exc
    # light_read unpickles the package's own data files (site-packages/nas_bench_graph/light/*.bench):
    # that is the installed package's data, never user input; nothing else is unpickled here.
    raw = light_read(dataset)
    keys = np.array(sorted(int(k) for k in raw), dtype=np.int64)
    rows = [raw[int(k)] for k in keys]
    return BenchTable(
        dataset=dataset,
        keys=keys,
        valid=np.array([float(r["valid_perf"]) for r in rows]),
        test=np.array([float(r["perf"]) for r in rows]),
        latency_ms=np.array([float(r["latency"]) * 1000.0 for r in rows]),
        params=np.array([float(r["para"]) * 1e6 for r in rows]),
        row={int(k): i for i, k in enumerate(keys)},
    )


@functools.cache
def benchmark_hash(link: tuple[int, ...], ops: tuple[str, ...]) -> int:
    """The benchmark's own canonical hash of a genotype (thin adapter over ``Arch.valid_hash``)."""
    from nas_bench_graph.architecture import Arch

    return int(Arch(list(link), list(ops)).valid_hash())


@functools.cache
def decode_hash(key: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The canonical (link, ops) the benchmark hash ``key`` encodes (inverse of ``hash_arch``)."""
    digits = []
    rest = int(key)
    for _ in range(4):
        rest, digit = divmod(rest, _BASE)
        digits.append(digit)
    if not 0 <= rest < len(LINKS) or any(d >= len(OPS) for d in digits):
        raise SpaceError(f"{key} is not a NAS-Bench-Graph hash")
    return LINKS[rest], tuple(OPS[d] for d in reversed(digits))


@dataclass
class _Caches:
    keys: dict[Architecture, int] = field(default_factory=dict)  # genotype -> benchmark hash
    archs: dict[int, Architecture] = field(default_factory=dict)  # hash -> canonical genotype
    neighbours: dict[int, tuple[int, ...]] = field(default_factory=dict)  # hash -> neighbour hashes


@functools.cache
def _caches(dataset: str) -> _Caches:
    return _Caches()


class NasBenchGraphSpace(SearchSpace):
    """The NAS-Bench-Graph space of one dataset.

    Args:
        dataset: one of ``cora, citeseer, pubmed, cs, physics, photo, computers, arxiv, proteins``.
    """

    name: ClassVar[str] = "nasbench-graph"
    input_kinds: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, dataset: str = "cora") -> None:
        super().__init__(dataset=dataset)
        check_dataset(dataset)
        self._ops: tuple[str, ...] = OPS_PROTEINS if dataset == "proteins" else OPS
        self._op_set = frozenset(self._ops)
        caches = _caches(dataset)  # shared by every instance of this dataset in the process
        self._key_cache: dict[Architecture, int] = caches.keys
        self._arch_cache: dict[int, Architecture] = caches.archs
        self._neighbour_cache: dict[int, tuple[int, ...]] = caches.neighbours
        self._decisions = [
            Decision("link", LINKS),
            *(Decision(f"op{i}", self._ops) for i in range(4)),
        ]

    # -- the table --------------------------------------------------------------------------
    @property
    def dataset(self) -> str:
        return self.params["dataset"]

    @property
    def table(self) -> BenchTable:
        """The dataset's table (loaded on first use, shared within the process)."""
        return load_table(self.dataset)

    def entry(self, arch: Architecture) -> dict[str, float]:
        """The table entry of ``arch``: ``valid_acc``, ``test_acc``, ``latency_ms``, ``params``.

        Raises :class:`EvaluationError` ``("not_in_table")`` for a valid genotype without an entry.
        """
        key = self.key(arch)
        row = self.table.row.get(key)
        if row is None:
            raise EvaluationError(
                "not_in_table",
                f"{arch.genes} (benchmark hash {key}) has no entry in the {self.dataset} table; "
                "the all-skip genotypes are not part of NAS-Bench-Graph",
            )
        t = self.table
        return {
            "valid_acc": float(t.valid[row]),
            "test_acc": float(t.test[row]),
            "latency_ms": float(t.latency_ms[row]),
            "params": float(t.params[row]),
        }

    def best_valid(self) -> float:
        """The table's best validation accuracy (the limit of a search selecting by validation)."""
        return float(self.table.valid[self.table.best_row])

    def all_architectures(self) -> list[Architecture]:
        """The canonical representative of every table entry, in benchmark-hash order."""
        return [self._arch_of(int(k)) for k in self.table.keys]

    def key(self, arch: Architecture) -> int:
        """The benchmark hash of ``arch`` as an int (validates it; cached per genotype)."""
        key = self._key_cache.get(arch)
        if key is None:
            self.check(arch)
            genes = arch.genes
            key = benchmark_hash(tuple(genes["link"]), tuple(genes["ops"]))
            self._key_cache[arch] = key
        return key

    def _arch_of(self, key: int) -> Architecture:
        arch = self._arch_cache.get(key)
        if arch is None:
            link, ops = decode_hash(key)
            arch = Architecture(self.name, {"link": list(link), "ops": list(ops)})
            self._arch_cache[key] = arch
            self._key_cache[arch] = key
        return arch

    # -- genotypes ----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random table entry (canonical representative)."""
        keys = self.table.keys
        return self._arch_of(int(keys[int(rng.integers(len(keys)))]))

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        if set(genes) != {"link", "ops"}:
            raise SpaceError(
                f'a nasbench-graph genotype has exactly the genes "link" and "ops", got {sorted(genes)}'
            )
        link, ops = genes["link"], genes["ops"]
        if not isinstance(link, list) or tuple(link) not in _LINK_INDEX:
            raise SpaceError(
                f"link must be one of the 9 NAS-Bench-Graph patterns {[list(x) for x in LINKS]}, "
                f"got {link!r}"
            )
        if not isinstance(ops, list) or len(ops) != 4:
            raise SpaceError(f"ops must be a list of 4 op names, got {ops!r}")
        for i, op in enumerate(ops):
            if op not in self._op_set:
                raise SpaceError(
                    f"ops[{i}] must be one of {list(self._ops)} for dataset {self.dataset!r}, got {op!r}"
                )

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The genotype the benchmark hash of ``arch`` encodes (one per isomorphism class)."""
        return self._arch_of(self.key(arch))

    def canonical_hash(self, arch: Architecture) -> str:
        """The benchmark's own hash (``Arch.valid_hash``) as a decimal string."""
        return str(self.key(arch))

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """Distinct table entries one op change or one link change away from ``arch``'s entry."""
        return [self._arch_of(k) for k in self._neighbour_keys(self.key(arch))]

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A uniformly random neighbour (a table entry different from ``arch``'s)."""
        options = self._neighbour_keys(self.key(arch))
        if not options:  # pragma: no cover - every entry has neighbours
            return self.sample(rng)
        return self._arch_of(options[int(rng.integers(len(options)))])

    def _neighbour_keys(self, key: int) -> tuple[int, ...]:
        cached = self._neighbour_cache.get(key)
        if cached is not None:
            return cached
        link, ops = decode_hash(key)
        row = self.table.row
        seen = {key}
        found: list[int] = []

        def consider(new_link: tuple[int, ...], new_ops: tuple[str, ...]) -> None:
            other = benchmark_hash(new_link, new_ops)
            if other not in seen and other in row:
                seen.add(other)
                found.append(other)

        for i in range(4):
            for op in self._ops:
                if op != ops[i]:
                    consider(link, (*ops[:i], op, *ops[i + 1 :]))
        for other_link in LINKS:
            if other_link != link:
                consider(other_link, ops)
        result = tuple(found)
        self._neighbour_cache[key] = result
        return result

    def size(self) -> float:
        """Number of distinct table entries (26,206; 2,021 for proteins)."""
        return float(len(self.table.keys))

    # -- flat view ------------------------------------------------------------------------------
    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        """``link`` (9 patterns) and ``op0`` .. ``op3`` (the dataset's ops)."""
        return list(self._decisions)

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.check(arch)
        genes = arch.genes
        index = {op: i for i, op in enumerate(self._ops)}
        return (_LINK_INDEX[tuple(genes["link"])], *(index[op] for op in genes["ops"]))

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        if len(indices) != 5:
            raise SpaceError(f"a nasbench-graph flat vector has 5 entries, got {len(indices)}")
        sizes = [d.n for d in self._decisions]
        for i, (value, n) in enumerate(zip(indices, sizes, strict=True)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
                raise SpaceError(f"flat index {i} must be an integer in [0, {n - 1}], got {value!r}")
        link = list(LINKS[int(indices[0])])
        ops = [self._ops[int(i)] for i in indices[1:]]
        return Architecture(self.name, {"link": link, "ops": ops})

    # -- graph view ---------------------------------------------------------------------------
    def to_graph(self, arch: Architecture) -> Graph:
        """Input (node 0), the 4 op nodes, output (node 5) fed by every node nobody consumes."""
        self.check(arch)
        genes = arch.genes
        link, ops = genes["link"], genes["ops"]
        adj = np.zeros((6, 6), dtype=np.int8)
        for i, parent in enumerate(link):
            adj[parent, i + 1] = 1
        for node in range(1, 5):
            if not adj[node, 1:5].any():
                adj[node, 5] = 1
        return Graph(adjacency=adj, labels=("input", *ops, "output"))

    def op_vocabulary(self) -> list[str]:
        """Node labels: ``input``, the dataset's ops, ``output``."""
        return ["input", *self._ops, "output"]

    def max_path_length(self) -> int:
        """Longest input-to-output path counted in op nodes (4)."""
        return 4

