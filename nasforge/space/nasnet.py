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

One-shot (DARTS) structure: :meth:`NasNetSpace.decision_points` has, per cell type and block ``b``,
one mixed-op point on the edge from each allowed input ``i`` (``"normal.{b}.from{i}"``; the points of
one cell type are shared by every cell of that type). :meth:`NasNetSpace.discretize` keeps, per block,
the two inputs whose strongest op not in ``exclude`` weighs most, each with that op, as DARTS derives
its cells. The supernet sums a block's branches, so the combiner is not a decision point: every
derived block combines with ``"add"``, and a genotype with a ``concat`` block (or a block reading one
input twice) has no weights that select it (:meth:`NasNetSpace.one_hot` says which block).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.checks import check_int
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import register
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph
from nasforge.space.cell_base import CellSpaceBase, DecisionPoint, best_allowed, check_ops, one_hot_vector
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
_FIELDS = ("input_a", "input_b", "op_a", "op_b", "combine")


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
        blocks = check_int("blocks", blocks, 1, 12)
        ops = list(as_choices(list(ops) if not isinstance(ops, str) else ops, "ops"))
        if not all(isinstance(o, str) and o for o in ops):
            raise ConfigError(f"ops must be a list of op names (strings), got {ops!r}")
        check_ops(ops, reduces=True, channel_change=True)
        cells_per_stage = check_int("cells_per_stage", cells_per_stage, 0)
        channels = check_int("channels", channels, 2)
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

    # -- one-shot structure -------------------------------------------------------------------
    def _build_decision_points(self) -> list[DecisionPoint]:
        """Per cell type and block ``b``: one mixed op on the edge from each allowed input (the cell's
        two inputs and every earlier block), as in DARTS; named ``"{cell}.{b}.from{input}"``."""
        return [
            DecisionPoint(f"{cell}.{b}.from{i}", "op", self.ops, cell=cell, node=b + 2, input=i,
                          stride=2 if cell == "reduce" and i < 2 else 1)
            for cell in CELLS
            for b in range(self.blocks)
            for i in self.block_inputs(b)
        ]

    def _discretize(self, weights: dict[str, np.ndarray], exclude: frozenset[str]) -> Architecture:
        """DARTS: per block, the two inputs whose strongest allowed op weighs most (ties: the lower
        input), each with that op. The supernet sums a block's branches, so every derived block
        combines with ``"add"``; the ``concat`` combiner is never derived."""
        points = {p.name: p for p in self.decision_points()}
        genes: dict[str, Any] = {}
        for cell in CELLS:
            blocks = []
            for b in range(self.blocks):
                best = {}
                for i in self.block_inputs(b):
                    point = points[f"{cell}.{b}.from{i}"]
                    best[i] = best_allowed(point, weights[point.name], exclude)
                top = sorted(best, key=lambda i: -best[i][1])[:2]
                blocks.append({"inputs": top, "ops": [self.ops[best[i][0]] for i in top], "combine": "add"})
            genes[cell] = blocks
        return Architecture(self.name, self._sort_branches(genes))

    def chosen_ops(self, arch: Architecture) -> list[str]:
        """Every block's ops, normal cell then reduction cell."""
        return [op for cell in CELLS for block in arch.genes.get(cell, []) for op in block["ops"]]

    def _one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        """1.0 on each block's two (input, op) choices. The points hold one op per (block, input) and
        the supernet adds a block's branches, so a block reading one input twice or combining with
        ``concat`` cannot be expressed (:class:`SpaceError` naming the block)."""
        weights = {p.name: np.zeros(p.n) for p in self.decision_points()}
        points = {p.name: p for p in self.decision_points()}
        for cell in CELLS:
            for b, block in enumerate(arch.genes[cell]):
                inputs = block["inputs"]
                if inputs[0] == inputs[1]:
                    raise SpaceError(
                        f"{cell}[{b}].inputs reads input {inputs[0]} twice; decision points hold one op "
                        "per (block, input), so a block's two inputs must differ"
                    )
                if block["combine"] != "add":
                    raise SpaceError(
                        f"{cell}[{b}].combine is {block['combine']!r}; the supernet sums a block's "
                        "branches, so only 'add' can be expressed"
                    )
                for i, op in zip(inputs, block["ops"], strict=True):
                    name = f"{cell}.{b}.from{i}"
                    weights[name] = one_hot_vector(points[name], op)
        return weights


__all__ = ["COMBINERS", "NASNET_OPS", "NasNetSpace"]
