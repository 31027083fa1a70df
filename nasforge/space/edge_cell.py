"""The edge-cell space: the cell of NAS-Bench-201 (Dong & Yang, ICLR 2020) and DARTS.

A cell is a DAG of ``nodes`` nodes (default 4): node 0 is the cell input, the last node its output,
and every edge ``i -> j`` (``i < j``) carries one op from ``ops`` (which by default includes ``none``,
no connection, and ``skip_connect``). Node ``j`` is the sum of its incoming edges. A genotype lists
the op of every edge in :meth:`EdgeCellSpace.edges` order::

    {"edges": ["conv_3x3", "none", "skip_connect", "avg_pool_3x3", "conv_1x1", "conv_3x3"]}

The op list and the edge list are explicit, so a one-shot method can build a supernet with one mixed
op per edge (:meth:`EdgeCellSpace.decision_points`, named ``"edge_{i}_{j}"`` like the flat view's
decisions and shared by every cell of the network) and turn architecture weights back into a
genotype (:meth:`EdgeCellSpace.discretize`: per edge the argmax op, ``none`` excluded by default).
The macro skeleton (:func:`nasforge.models.cells.build_edge_cell`) is NAS-Bench-201's: stem, N cells,
residual reduction, N cells, residual reduction, N cells, classifier.

Isomorphism: an edge that is not on an input -> output path of non-``none`` edges cannot affect the
output, so the canonical form sets it to ``none``; and intermediate nodes (sums) may be renumbered
wherever every edge still points forward, so the canonical form takes the smallest such numbering.
The model is built from the canonical form. With the default NAS-Bench-201 ops this leaves 8,765
distinct cells of the 15,625 genotypes.
"""

from __future__ import annotations

import itertools
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

#: the NAS-Bench-201 op list in our op names (``nor_conv_kxk`` is ``conv_kxk``)
EDGE_OPS: tuple[str, ...] = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
NONE = "none"


@register("edge-cell")
class EdgeCellSpace(CellSpaceBase):
    """A DAG cell whose every edge picks one op.

    Args:
        nodes: nodes of the cell including input and output (>= 2; 4 as NAS-Bench-201).
        ops: candidate op names (op registry, tag ``cell``); ``none`` means "no edge".
        cells_per_stage: cells per stage (N; 3 stages); NAS-Bench-201 uses 5.
        channels: channels of the first stage (doubled at each reduction).
    """

    name = "edge-cell"
    input_kinds = frozenset({"1d", "2d"})

    def __init__(
        self,
        nodes: int = 4,
        ops: Sequence[str] = EDGE_OPS,
        cells_per_stage: int = 1,
        channels: int = 16,
    ) -> None:
        nodes = check_int("nodes", nodes, 2, 8)
        cells_per_stage = check_int("cells_per_stage", cells_per_stage, 0)
        channels = check_int("channels", channels, 2)
        ops = list(as_choices(list(ops) if not isinstance(ops, str) else ops, "ops"))
        if not all(isinstance(o, str) and o for o in ops):
            raise ConfigError(f"ops must be a list of op names (strings), got {ops!r}")
        check_ops(ops)
        super().__init__(nodes=nodes, ops=ops, cells_per_stage=cells_per_stage, channels=channels)

    # -- structure ----------------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        """The candidate ops of every edge, in decision order."""
        return tuple(self.params["ops"])

    @property
    def nodes(self) -> int:
        return int(self.params["nodes"])

    def edges(self) -> list[tuple[int, int]]:
        """Every edge ``(i, j)``, ``i < j``, ordered by target then source (NAS-Bench-201 order)."""
        return [(i, j) for j in range(1, self.nodes) for i in range(j)]

    # -- one-shot structure -------------------------------------------------------------------
    def _build_decision_points(self) -> list[DecisionPoint]:
        """One mixed op per edge ``i -> j`` in :meth:`edges` order, named ``"edge_{i}_{j}"``."""
        return [DecisionPoint(f"edge_{i}_{j}", "op", self.ops, node=j, input=i) for i, j in self.edges()]

    def _discretize(self, weights: dict[str, np.ndarray], exclude: frozenset[str]) -> Architecture:
        """Per edge, the op of largest weight among those not in ``exclude`` (ties: the earlier op)."""
        ops = [self.ops[best_allowed(p, weights[p.name], exclude)[0]] for p in self.decision_points()]
        return Architecture(self.name, {"edges": ops})

    def chosen_ops(self, arch: Architecture) -> list[str]:
        """The ops of the edges that are not ``none``."""
        return [op for op in arch.genes["edges"] if op != "none"]

    def _one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        """1.0 on each edge's op (``none`` included: pass ``exclude=()`` to derive it back)."""
        return {p.name: one_hot_vector(p, op)
                for p, op in zip(self.decision_points(), arch.genes["edges"], strict=True)}

    def live_edges(self, arch: Architecture) -> list[bool]:
        """Per edge: not ``none`` and on a path input -> output of non-``none`` edges."""
        ops = arch.genes["edges"]
        edges = self.edges()
        n = self.nodes
        on = [op != NONE for op in ops]
        reach_in = [False] * n
        reach_in[0] = True
        for k, (i, j) in enumerate(edges):  # sorted by target: sources are final before use
            if on[k] and reach_in[i]:
                reach_in[j] = True
        reach_out = [False] * n
        reach_out[n - 1] = True
        for k in sorted(range(len(edges)), key=lambda k: -edges[k][0]):
            i, j = edges[k]
            if on[k] and reach_out[j]:
                reach_out[i] = True
        return [on[k] and reach_in[i] and reach_out[j] for k, (i, j) in enumerate(edges)]

    # -- genotypes ----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        ops = self.ops
        return Architecture(self.name, {"edges": [ops[int(rng.integers(len(ops)))] for _ in self.edges()]})

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        if set(genes) != {"edges"}:
            raise SpaceError(f"edge-cell genotype needs exactly the gene 'edges', got {sorted(genes)}")
        ops = genes["edges"]
        n_edges = len(self.edges())
        if not isinstance(ops, list) or len(ops) != n_edges:
            got = len(ops) if isinstance(ops, list) else type(ops).__name__
            raise SpaceError(f"edges: expected a list of {n_edges} op names (one per edge), got {got}")
        for k, ((i, j), op) in enumerate(zip(self.edges(), ops, strict=True)):
            if op not in self.ops:
                raise SpaceError(f"edges[{k}] (edge {i}->{j}) must be one of {list(self.ops)}, got {op!r}")

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        """Set every edge that is not on an input -> output path to ``none``, then relabel minimally.

        Only when ``none`` is one of the space's ops; otherwise every edge is live.
        """
        ops = arch.genes["edges"]
        if NONE in self.ops:
            live = self.live_edges(arch)
            ops = [op if on else NONE for op, on in zip(ops, live, strict=True)]
        return {"edges": self._min_relabelling(ops)}

    def _min_relabelling(self, ops: list[str]) -> list[str]:
        """The smallest op-index vector over orderings of the intermediate nodes that keep every
        non-``none`` edge pointing forward (node sums commute, so these cells are isomorphic)."""
        edges = self.edges()
        position = {edge: k for k, edge in enumerate(edges)}
        index = {op: k for k, op in enumerate(self.ops)}
        fill = NONE if NONE in self.ops else None
        best = [index[op] for op in ops]
        inner = list(range(1, self.nodes - 1))
        if fill is None or len(inner) < 2:
            return ops
        for perm in itertools.permutations(inner):
            mapping = {0: 0, self.nodes - 1: self.nodes - 1, **dict(zip(inner, perm, strict=True))}
            moved = [index[NONE]] * len(edges)
            for (i, j), op in zip(edges, ops, strict=True):
                if op == NONE:
                    continue
                a, b = mapping[i], mapping[j]
                if a >= b:
                    break
                moved[position[(a, b)]] = index[op]
            else:
                best = min(best, moved)
        return [self.ops[k] for k in best]

    # -- flat view ----------------------------------------------------------------------------
    def _build_decisions(self) -> list[Decision]:
        return [Decision(f"edge_{i}_{j}", self.ops) for i, j in self.edges()]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        return tuple(self.ops.index(op) for op in arch.genes["edges"])

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise SpaceError(f"expected {len(decisions)} flat indices, got {len(indices)}")
        ops = []
        for d, i in zip(decisions, indices, strict=True):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < d.n:
                raise SpaceError(f"{d.name}: index must be in [0, {d.n - 1}], got {i!r}")
            ops.append(d.choices[int(i)])
        return Architecture(self.name, {"edges": ops})

    # -- graph view ---------------------------------------------------------------------------
    def op_vocabulary(self) -> list[str]:
        """Node labels of :meth:`to_graph` (edge ops become nodes)."""
        return ["input", *self.ops, "output"]

    def max_path_length(self) -> int:
        """The longest input -> output path has ``nodes - 1`` edges."""
        return self.nodes - 1

    def to_graph(self, arch: Architecture) -> Graph:
        """The canonical cell with ops on nodes (one node per edge, NAS-Bench-101 style).

        Nodes: input, one per edge in :meth:`edges` order, output. Dead and ``none`` edges keep their
        node (label ``none`` for dead ones) but have no connections, so isomorphic cells give the
        same graph.
        """
        arch = self.canonicalize(self.check(arch))
        edges = self.edges()
        ops = arch.genes["edges"]
        live = self.live_edges(arch)
        n = len(edges) + 2
        adj = np.zeros((n, n), dtype=np.int8)
        labels = ["input"] + [op if on else NONE for op, on in zip(ops, live, strict=True)] + ["output"]
        for a, (i, j) in enumerate(edges):
            if not live[a]:
                continue
            if i == 0:
                adj[0, a + 1] = 1
            if j == self.nodes - 1:
                adj[a + 1, n - 1] = 1
            for b, (k, _) in enumerate(edges):
                if k == j and live[b]:
                    adj[a + 1, b + 1] = 1
        return Graph(adj, tuple(labels))


__all__ = ["EDGE_OPS", "EdgeCellSpace"]
