"""The NASNet cell space (Zoph, Vasudevan, Shlens & Le, CVPR 2018).

A genotype is two cells, ``normal`` and ``reduce``, of ``blocks`` blocks each. Block ``b`` makes five
categorical choices: two inputs from ``{0, 1, 2, ..., b + 1}`` (0 and 1 are the cell's inputs, the
outputs of the previous-but-one and the previous cell; ``k + 2`` is block ``k``'s output), one op for
each input, and a combiner ``add`` or ``concat``::

    {"normal": [{"inputs": [0, 1], "ops": ["sep_conv_3x3", "skip_connect"], "combine": "add"}, ...],
     "reduce": [...]}

Block outputs that no later block of the cell reads are concatenated as the cell output. The macro
skeleton (:func:`nasforge.models.cells.build_nasnet`) stacks them: stem, N normal cells, a reduction
cell, N normal, a reduction, N normal, global pooling, classifier.

Isomorphism: the two branches of a block commute, so the canonical form lists them sorted by
``(input, op)``; genotypes differing only in branch order hash alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import register
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph, SearchSpace
from nasforge.space.params import as_choices

#: default candidate ops of a block (the DARTS list minus ``none``, plus a 1x1 conv)
NASNET_OPS: tuple[str, ...] = (
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "conv_1x1",
)
COMBINERS: tuple[str, ...] = ("add", "concat")
CELLS: tuple[str, ...] = ("normal", "reduce")
#: every encoding of the base class (flat view and graph view)
ENCODINGS: tuple[str, ...] = ("onehot", "tokens", "adjacency", "path")
_FIELDS = ("input_a", "input_b", "op_a", "op_b", "combine")


def _positive(name: str, value: Any, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
        high is not None and value > high
    ):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def mutate_flat(
    space: SearchSpace, arch: Architecture, rng: np.random.Generator, tries: int = 20
) -> Architecture:
    """Change one active decision of the flat view to another choice (a different canonical genotype).

    Cheaper than enumerating :meth:`SearchSpace.neighbours`; falls back to it after ``tries`` misses.
    """
    flat = list(space.to_flat(arch))
    decisions = space.decisions()
    own = space.canonical_hash(arch)
    for _ in range(tries):
        active = [i for i, on in enumerate(space.active(flat)) if on and decisions[i].n > 1]
        if not active:
            break
        i = active[int(rng.integers(len(active)))]
        j = int(rng.integers(decisions[i].n - 1))
        trial = flat.copy()
        trial[i] = j if j < flat[i] else j + 1
        child = space.from_flat(trial)
        if space.canonical_hash(child) != own:
            return child
    return SearchSpace.mutate(space, arch, rng)


class CellSpaceBase(SearchSpace):
    """Shared machinery of the cell and multi-branch spaces (their params are fixed once built).

    Caches the flat view's decisions and canonical hashes (pure functions of the genotype; the
    cache is dropped when the space is pickled), offers every encoding without probing, and
    mutates by changing one active decision. Subclasses implement :meth:`_build_decisions`.
    """

    _HASH_CACHE_SIZE = 100_000

    def _build_decisions(self) -> list[Decision]:
        raise NotImplementedError

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        if "_decisions" not in self.__dict__:
            self._decisions = tuple(self._build_decisions())
        return list(self._decisions)

    def canonical_hash(self, arch: Architecture) -> str:
        cache: dict[Architecture, str] = self.__dict__.setdefault("_hashes", {})
        key = cache.get(arch)
        if key is None:
            if len(cache) >= self._HASH_CACHE_SIZE:
                cache.clear()
            key = cache[arch] = self.canonicalize(arch).content_hash
        return key

    def encodings(self) -> tuple[str, ...]:
        return ENCODINGS

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one active decision of the flat view (see :func:`mutate_flat`)."""
        return mutate_flat(self, arch, rng)

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The canonical form given by :meth:`_canonical_genes`; a foreign genotype is returned unchanged."""
        try:
            self.validate(arch)
        except SpaceError:
            return arch
        return Architecture(arch.space, self._canonical_genes(arch))

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        """Genes of the canonical representative of a valid ``arch`` (default: unchanged)."""
        return arch.genes

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_decisions", "_hashes")}


@register("nasnet")
class NasNetSpace(CellSpaceBase):
    """NASNet normal + reduction cells of ``blocks`` blocks.

    Args:
        blocks: blocks per cell (B, default 5).
        ops: candidate op names (from the op registry, tag ``cell``).
        cells_per_stage: normal cells per stage (N); the network has 3 stages.
        channels: channels of the first stage (doubled at each reduction).
    """

    name = "nasnet"
    input_kinds = frozenset({"1d", "2d"})

    def __init__(
        self,
        blocks: int = 5,
        ops: Sequence[str] = NASNET_OPS,
        cells_per_stage: int = 1,
        channels: int = 16,
    ) -> None:
        blocks = _positive("blocks", blocks, 1, 12)
        ops = list(as_choices(list(ops) if not isinstance(ops, str) else ops, "ops"))
        if not all(isinstance(o, str) and o for o in ops):
            raise ConfigError(f"ops must be a list of op names (strings), got {ops!r}")
        cells_per_stage = _positive("cells_per_stage", cells_per_stage, 0)
        channels = _positive("channels", channels, 2)
        super().__init__(blocks=blocks, ops=ops, cells_per_stage=cells_per_stage, channels=channels)

    # -- helpers ------------------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        """The candidate ops, in decision order."""
        return tuple(self.params["ops"])

    @property
    def blocks(self) -> int:
        return int(self.params["blocks"])

    def block_inputs(self, block: int) -> tuple[int, ...]:
        """Input choices of block ``block`` (0-based): the two cell inputs and earlier blocks."""
        return tuple(range(block + 2))

    # -- genotypes ----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.from_flat([int(rng.integers(d.n)) for d in self.decisions()])

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        if set(genes) != set(CELLS):
            raise SpaceError(f"nasnet genotype needs exactly the genes {list(CELLS)}, got {sorted(genes)}")
        for cell in CELLS:
            blocks = genes[cell]
            if not isinstance(blocks, list) or len(blocks) != self.blocks:
                got = len(blocks) if isinstance(blocks, list) else type(blocks).__name__
                raise SpaceError(f"{cell}: expected a list of {self.blocks} blocks, got {got}")
            for b, block in enumerate(blocks):
                where = f"{cell}[{b}]"
                if not isinstance(block, dict) or set(block) != {"inputs", "ops", "combine"}:
                    raise SpaceError(
                        f"{where}: a block is {{'inputs': [i, j], 'ops': [a, b], 'combine': c}}, "
                        f"got {block!r}"
                    )
                inputs, ops = block["inputs"], block["ops"]
                if not isinstance(inputs, list) or len(inputs) != 2:
                    raise SpaceError(f"{where}.inputs must be a list of two indices, got {inputs!r}")
                for i in inputs:
                    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= b + 1:
                        raise SpaceError(
                            f"{where}.inputs must be in [0, {b + 1}] (cell inputs and earlier blocks), "
                            f"got {inputs!r}"
                        )
                if not isinstance(ops, list) or len(ops) != 2 or any(o not in self.ops for o in ops):
                    raise SpaceError(f"{where}.ops must be two of {list(self.ops)}, got {ops!r}")
                if block["combine"] not in COMBINERS:
                    raise SpaceError(
                        f"{where}.combine must be one of {list(COMBINERS)}, got {block['combine']!r}"
                    )

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        """Sort each block's two branches by ``(input, op index)`` (the branches commute)."""
        return self._sort_branches(arch.genes)

    def _sort_branches(self, genes: dict[str, Any]) -> dict[str, Any]:
        rank = {op: k for k, op in enumerate(self.ops)}
        for cell in CELLS:
            for block in genes[cell]:
                branches = sorted(zip(block["inputs"], block["ops"], strict=True),
                                  key=lambda p: (p[0], rank[p[1]]))
                block["inputs"] = [p[0] for p in branches]
                block["ops"] = [p[1] for p in branches]
        return genes

    def size(self) -> float:
        """Number of canonical genotypes: per block, an unordered pair of (input, op) branches."""
        total = 1
        for b in range(self.blocks):
            m = len(self.block_inputs(b)) * len(self.ops)
            total *= m * (m + 1) // 2 * len(COMBINERS)
        return float(total) ** len(CELLS)

    # -- flat view ----------------------------------------------------------------------------
    def _build_decisions(self) -> list[Decision]:
        out: list[Decision] = []
        for cell in CELLS:
            for b in range(self.blocks):
                inputs = self.block_inputs(b)
                out += [
                    Decision(f"{cell}.{b}.input_a", inputs),
                    Decision(f"{cell}.{b}.input_b", inputs),
                    Decision(f"{cell}.{b}.op_a", self.ops),
                    Decision(f"{cell}.{b}.op_b", self.ops),
                    Decision(f"{cell}.{b}.combine", COMBINERS),
                ]
        return out

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        genes = arch.genes
        flat: list[int] = []
        for cell in CELLS:
            for block in genes[cell]:
                flat += [*block["inputs"], *(self.ops.index(o) for o in block["ops"])]
                flat.append(COMBINERS.index(block["combine"]))
        return tuple(flat)

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise SpaceError(f"expected {len(decisions)} flat indices, got {len(indices)}")
        values = []
        for d, i in zip(decisions, indices, strict=True):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < d.n:
                raise SpaceError(f"{d.name}: index must be in [0, {d.n - 1}], got {i!r}")
            values.append(d.choices[int(i)])
        genes: dict[str, Any] = {}
        k = 0
        for cell in CELLS:
            blocks = []
            for _ in range(self.blocks):
                a, b, op_a, op_b, combine = values[k : k + len(_FIELDS)]
                k += len(_FIELDS)
                blocks.append({"inputs": [a, b], "ops": [op_a, op_b], "combine": combine})
            genes[cell] = blocks
        return Architecture(self.name, self._sort_branches(genes))

    # -- structure ----------------------------------------------------------------------------
    def unused_blocks(self, arch: Architecture, cell: str) -> list[int]:
        """Blocks of ``cell`` that no later block reads: concatenated as the cell's output."""
        blocks = arch.genes[cell]
        used = {i - 2 for block in blocks for i in block["inputs"] if i >= 2}
        return [b for b in range(len(blocks)) if b not in used]

    def op_vocabulary(self) -> list[str]:
        """Node labels of :meth:`to_graph`."""
        return ["input", *self.ops, *COMBINERS, "output"]

    def max_path_length(self) -> int:
        """Path encoding covers paths through up to two chained blocks (4 inner nodes)."""
        return 4

    def to_graph(self, arch: Architecture) -> Graph:
        """Both cells as one DAG: input -> (each cell's op and combiner nodes) -> output.

        Node 0 stands for both cell inputs; per block there are two op nodes and a combiner node
        (labelled ``add``/``concat``); the unused block outputs of each cell feed the output node.
        """
        arch = self.canonicalize(self.check(arch))
        genes = arch.genes
        per_cell = 3 * self.blocks
        n = 2 + 2 * per_cell
        adj = np.zeros((n, n), dtype=np.int8)
        labels = ["input"] + [""] * (n - 2) + ["output"]
        for c, cell in enumerate(CELLS):
            base = 1 + c * per_cell
            for b, block in enumerate(genes[cell]):
                node = base + 3 * b
                for k, (inp, op) in enumerate(zip(block["inputs"], block["ops"], strict=True)):
                    src = 0 if inp < 2 else base + 3 * (inp - 2) + 2
                    adj[src, node + k] = 1
                    adj[node + k, node + 2] = 1
                    labels[node + k] = op
                labels[node + 2] = block["combine"]
            for b in self.unused_blocks(arch, cell):
                adj[base + 3 * b + 2, n - 1] = 1
        return Graph(adj, tuple(labels))

    def discretize(self, weights: dict[str, np.ndarray]) -> Architecture:
        """The genotype whose every decision is the argmax of ``weights[decision name]``.

        For one-shot methods: ``weights`` maps each name of :meth:`decisions` to a score vector of
        that decision's length (e.g. softmaxed architecture parameters).
        """
        indices = []
        for d in self.decisions():
            if d.name not in weights:
                raise ConfigError(f"discretize: weights for decision {d.name!r} are missing")
            w = np.asarray(weights[d.name], dtype=float).ravel()
            if w.shape != (d.n,):
                raise ConfigError(f"discretize: {d.name} needs {d.n} weights, got shape {w.shape}")
            indices.append(int(np.argmax(w)))
        return self.from_flat(indices)


__all__ = ["COMBINERS", "ENCODINGS", "NASNET_OPS", "CellSpaceBase", "NasNetSpace", "mutate_flat"]
