"""The convolutional neural fabric space (Saxena & Verbeek, NIPS 2016): a trellis of layers x scales.

A fabric has ``layers`` columns (``l = 0 .. layers - 1``) of ``scales`` nodes (``s = 0 .. scales - 1``);
scale ``s`` has ``channels * 2**s`` channels at ``1 / 2**s`` of the input resolution (each halving maps
a size ``n`` to ``ceil(n / 2)``). Node ``(0, 0)`` is the input (the stem's output) and node
``(layers - 1, scales - 1)`` the output (the coarsest scale of the last layer, read by the classifier).
Node ``(l, b)`` may read node ``(l - 1, a)`` for ``a`` in ``b - 1`` (a stride-2 convolution: finer to
coarser), ``b`` (same scale) and ``b + 1`` (coarser to finer: convolution, then upsampling). Only the
edges that can lie on an input -> output path exist (the band ``a <= l - 1`` and
``scales - 1 - b <= layers - 1 - l``; see :meth:`FabricSpace.edges`).

A genotype is the sparse set of kept edges, each ``[l, a, b]`` (into layer ``l``, from scale ``a`` to
scale ``b``), sorted::

    {"edges": [[1, 0, 0], [2, 0, 1], [3, 1, 1], ...]}

It is valid when it keeps at least one edge, names only edges of the band, none twice, and every kept
edge is *live*: its source is reachable from the input and its target reaches the output through kept
edges. A path (one edge per layer) is the special case :meth:`FabricSpace.path`; the whole fabric
(every edge of the band, the paper's network) is :meth:`FabricSpace.full`.

Flat view: one on/off decision per band edge (:meth:`FabricSpace.edges` order, named
``"edge_{l}_{a}_{b}"``); ``from_flat`` keeps the live ``on`` edges and, if none is live, the path the
flat vector favours most (:meth:`FabricSpace.best_path`). The decision points are the same edges
(kind ``"edge"``, candidates ``(False, True)``), so one-shot supernets (SPOS, path dropout, DARTS) gate
each edge of the whole fabric. No torch is imported here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from nasforge.checks import check_int
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import register
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph
from nasforge.space.cell_base import CellSpaceBase, DecisionPoint, best_allowed, one_hot_vector

Edge = tuple[int, int, int]
#: the largest ``path`` encoding offered (``scales ** (layers - 2)`` entries and below)
MAX_PATH_ENCODING = 100_000


@register("fabric")
class FabricSpace(CellSpaceBase):
    """Convolutional neural fabrics: sparse edge sets of a layers x scales trellis.

    Args:
        layers: columns of the trellis including the input column (2..16); ``layers >= scales``, so that
            a path can descend from the finest to the coarsest scale.
        scales: resolutions (1..6); scale ``s`` has ``channels * 2**s`` channels.
        channels: channels of the finest scale (2..512).
        kernel_size: odd kernel size of every edge's convolution (1..7).
    """

    name = "fabric"
    input_kinds = frozenset({"1d", "2d"})

    def __init__(self, layers: int = 8, scales: int = 4, channels: int = 16, kernel_size: int = 3) -> None:
        layers = check_int("layers", layers, 2, 16)
        scales = check_int("scales", scales, 1, 6)
        channels = check_int("channels", channels, 2, 512)
        kernel_size = check_int("kernel_size", kernel_size, 1, 7)
        if kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd (shape-preserving padding), got {kernel_size}")
        if layers < scales:
            raise ConfigError(
                f"a fabric needs layers >= scales (a path descends one scale per layer from the input at "
                f"scale 0 to the output at scale {scales - 1}), got layers={layers}, scales={scales}"
            )
        super().__init__(layers=layers, scales=scales, channels=channels, kernel_size=kernel_size)

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> int:
        return int(self.params["layers"])

    @property
    def scales(self) -> int:
        return int(self.params["scales"])

    def width(self, scale: int) -> int:
        """Channels of scale ``scale``."""
        return int(self.params["channels"]) * 2**scale

    def edges(self) -> list[Edge]:
        """Every band edge ``(k, a, b)`` ordered by layer, target scale, source scale."""
        if "_edges" not in self.__dict__:
            top = self.scales - 1
            self._edges = tuple(
                (k, a, b) for k in range(1, self.layers) for b in range(self.scales)
                for a in (b - 1, b, b + 1)
                if 0 <= a <= min(k - 1, top) and top - b <= self.layers - 1 - k
            )
        return list(self._edges)

    def node(self, layer: int, scale: int) -> int:
        """The index of node ``(layer, scale)`` in :meth:`to_graph` (input 0, output last)."""
        return layer * self.scales + scale

    # -- genotypes ----------------------------------------------------------------------------
    def _make(self, edges: Collection[Edge]) -> Architecture:
        return Architecture(self.name, {"edges": [list(e) for e in sorted(edges)]})

    def live(self, edges: Collection[Edge]) -> set[Edge]:
        """The edges of ``edges`` on some input -> output path of ``edges``."""
        kept = set(edges)
        reach_in = {(0, 0)}
        for k, a, b in sorted(kept):
            if (k - 1, a) in reach_in:
                reach_in.add((k, b))
        reach_out = {(self.layers - 1, self.scales - 1)}
        for k, a, b in sorted(kept, reverse=True):
            if (k, b) in reach_out:
                reach_out.add((k - 1, a))
        return {(k, a, b) for k, a, b in kept if (k - 1, a) in reach_in and (k, b) in reach_out}

    def path(self, scales: Sequence[int]) -> Architecture:
        """The single-path genotype visiting scale ``scales[k]`` at layer ``k`` (``scales[0] == 0``)."""
        seq = [int(s) for s in scales]
        if len(seq) != self.layers or seq[0] != 0 or seq[-1] != self.scales - 1:
            raise SpaceError(f"a fabric path lists one scale per layer ({self.layers}), starting at 0 and "
                             f"ending at {self.scales - 1}; got {list(scales)}")
        arch = self._make([(k, seq[k - 1], seq[k]) for k in range(1, self.layers)])
        self.validate(arch)
        return arch

    def full(self) -> Architecture:
        """The whole fabric: every band edge kept (the paper's network)."""
        return self._make(self.edges())

    def paths(self) -> list[Architecture]:
        """Every single-path genotype, in lexicographic order of the scale sequences."""
        band = set(self.edges())
        seqs: list[list[int]] = [[0]]
        for k in range(1, self.layers):
            seqs = [[*seq, b] for seq in seqs for b in (seq[-1] - 1, seq[-1], seq[-1] + 1)
                    if (k, seq[-1], b) in band]
        return [self.path(seq) for seq in seqs]

    def best_path(self, scores: Mapping[Edge, float]) -> Architecture:
        """The path of largest total ``scores`` (missing edges score 0; ties: the lexicographically
        smallest scale sequence)."""
        top = (self.layers - 1, self.scales - 1)
        best: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {(0, 0): (0.0, (0,))}
        for k, a, b in self.edges():
            if (k - 1, a) not in best:
                continue
            value, seq = best[(k - 1, a)]
            cand = (value + float(scores.get((k, a, b), 0.0)), (*seq, b))
            old = best.get((k, b))
            if old is None or cand[0] > old[0] or (cand[0] == old[0] and cand[1] < old[1]):
                best[(k, b)] = cand
        return self.path(best[top][1])

    def _pruned(self, kept: Collection[Edge], scores: Mapping[Edge, float]) -> Architecture:
        live = self.live(kept)
        return self._make(live) if live else self.best_path(scores)

    def random_path(self, rng: np.random.Generator) -> list[Edge]:
        """The edges of a random walk from the input to the output (uniform over the next band edges)."""
        band = set(self.edges())
        scale, out = 0, []
        for k in range(1, self.layers):
            nxt = [b for b in (scale - 1, scale, scale + 1) if (k, scale, b) in band]
            b = nxt[int(rng.integers(len(nxt)))]
            out.append((k, scale, b))
            scale = b
        return out

    def sample(self, rng: np.random.Generator) -> Architecture:
        """The union of 1 to 3 random paths (:meth:`random_path`; their number uniform)."""
        return self._make({e for _ in range(int(rng.integers(1, 4))) for e in self.random_path(rng)})

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """Every genotype one move away: *add* a band edge ``e`` not kept, with the path through ``e``
        that shares the most kept edges (so ``e`` is live), or *remove* one kept edge and prune (when
        some edge stays live). In :meth:`edges` order, adds before removes, duplicates dropped."""
        kept = set(self.kept(self.check(arch)))
        out: list[Architecture] = []
        seen = {arch}
        bonus = float(self.layers)  # more than any path's overlap with the kept edges
        for e in self.edges():
            if e in kept:
                continue
            through = self.kept(self.best_path({**dict.fromkeys(kept, 1.0), e: bonus}))
            cand = self._make(kept | set(through))
            if cand not in seen:
                seen.add(cand)
                out.append(cand)
        for e in sorted(kept):
            live = self.live(kept - {e})
            cand = self._make(live) if live else None
            if cand is not None and cand not in seen:
                seen.add(cand)
                out.append(cand)
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A uniformly drawn neighbour (see :meth:`neighbours`)."""
        options = self.neighbours(arch)
        return options[int(rng.integers(len(options)))] if options else self.sample(rng)

    def kept(self, arch: Architecture) -> list[Edge]:
        """The kept edges of a valid ``arch`` as tuples."""
        return [(int(k), int(a), int(b)) for k, a, b in arch.genes["edges"]]

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        if set(genes) != {"edges"}:
            raise SpaceError(f"fabric genotype needs exactly the gene 'edges', got {sorted(genes)}")
        edges = genes["edges"]
        if not isinstance(edges, list) or not edges:
            raise SpaceError("edges: expected a non-empty list of kept edges [layer, from_scale, to_scale], "
                             f"got {edges!r}"[:200])
        band = set(self.edges())
        seen: set[Edge] = set()
        for i, e in enumerate(edges):
            ok = isinstance(e, list) and len(e) == 3 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in e)
            if not ok or tuple(e) not in band:
                raise SpaceError(
                    f"edges[{i}] must be [layer, from_scale, to_scale] of this fabric "
                    f"(layer 1..{self.layers - 1}, scales 0..{self.scales - 1}, |from - to| <= 1, "
                    f"on an input -> output path), got {e!r}")
            if tuple(e) in seen:
                raise SpaceError(f"edges[{i}] = {e} is listed twice")
            seen.add(tuple(e))
        dead = sorted(seen - self.live(seen))
        if dead:
            raise SpaceError(
                f"edge {list(dead[0])} is not on an input -> output path of the kept edges (its source is "
                "not reachable from the input or its target does not reach the output); drop it")

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        return {"edges": sorted(arch.genes["edges"])}

    # -- flat view ----------------------------------------------------------------------------
    def _build_decisions(self) -> list[Decision]:
        return [Decision(f"edge_{k}_{a}_{b}", (False, True)) for k, a, b in self.edges()]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        kept = set(self.kept(arch))
        return tuple(int(e in kept) for e in self.edges())

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        edges = self.edges()
        if len(indices) != len(edges):
            raise SpaceError(f"expected {len(edges)} flat indices (one per band edge), got {len(indices)}")
        for e, i in zip(edges, indices, strict=True):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i not in (0, 1):
                raise SpaceError(f"edge_{e[0]}_{e[1]}_{e[2]}: index must be 0 (off) or 1 (on), got {i!r}")
        kept = [e for e, i in zip(edges, indices, strict=True) if i]
        return self._pruned(kept, {e: float(i) for e, i in zip(edges, indices, strict=True)})

    # -- one-shot structure -------------------------------------------------------------------
    def _build_decision_points(self) -> list[DecisionPoint]:
        """One on/off point per band edge; ``stride`` 2 on finer -> coarser edges, else 1."""
        return [DecisionPoint(f"edge_{k}_{a}_{b}", "edge", (False, True), node=self.node(k, b),
                              input=self.node(k - 1, a), stride=2 if b > a else 1)
                for k, a, b in self.edges()]

    def _discretize(self, weights: dict[str, np.ndarray], exclude: frozenset[str]) -> Architecture:
        """Keep the edges whose ``True`` weight beats their ``False`` weight (ties: off), pruned to the
        live ones; if none is live, the path of largest ``True - False`` margin."""
        edges = self.edges()
        points = self.decision_points()
        pairs = list(zip(edges, points, strict=True))
        kept = [e for e, p in pairs if best_allowed(p, weights[p.name], exclude)[0]]
        margin = {e: float(weights[p.name][1] - weights[p.name][0]) for e, p in pairs}
        return self._pruned(kept, margin)

    def chosen_ops(self, arch: Architecture) -> list[str]:
        """One ``conv`` per kept edge (every fabric edge is a convolution)."""
        return ["conv"] * len(arch.genes["edges"])

    def _one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        kept = set(self.kept(arch))
        return {p.name: one_hot_vector(p, e in kept) for p, e in zip(self.decision_points(), self.edges(),
                                                                    strict=True)}

    # -- graph view ---------------------------------------------------------------------------
    def encodings(self) -> tuple[str, ...]:
        size = sum(self.scales**n for n in range(self.layers - 1))
        return ("onehot", "tokens", "adjacency") + (("path",) if size <= MAX_PATH_ENCODING else ())

    def op_vocabulary(self) -> list[str]:
        """Node labels of :meth:`to_graph`: the scale of a used node, ``none`` for an unused one."""
        return ["input", *(f"scale{s}" for s in range(self.scales)), "none", "output"]

    def max_path_length(self) -> int:
        """Every input -> output path has ``layers - 2`` inner nodes."""
        return self.layers - 2

    def to_graph(self, arch: Architecture) -> Graph:
        """The trellis with node ``(k, s)`` at :meth:`node` index and the kept edges."""
        kept = self.kept(self.check(arch))
        n = self.layers * self.scales
        adj = np.zeros((n, n), dtype=np.int8)
        used = {(0, 0), (self.layers - 1, self.scales - 1)}
        for k, a, b in kept:
            adj[self.node(k - 1, a), self.node(k, b)] = 1
            used.update({(k - 1, a), (k, b)})
        labels = [f"scale{s}" if (k, s) in used else "none"
                  for k in range(self.layers) for s in range(self.scales)]
        labels[0], labels[-1] = "input", "output"
        return Graph(adj, tuple(labels))


__all__ = ["FabricSpace"]
