"""Supernets of the cell spaces: one network holding every genotype, built from ``decision_points()``.

:func:`build_supernet` makes the supernet of an ``edge-cell`` or ``nasnet`` space for a task's input
shape. Each of the space's decision points becomes a :class:`~nasforge.models.mixed.MixedOp` in every
cell that reads it; the architecture weights are **not** part of the network: ``forward(x, weights)``
takes one weight vector per decision point (in :meth:`Supernet.point_names` order), shared by every
cell of the same type as DARTS shares alpha. So the weight optimizer never sees them, and the same
network serves DARTS (softmaxed alphas with gradients), SPOS (a sampled one-hot path), path dropout
(a 0/1 mask) and scoring a fixed genotype (:meth:`Supernet.path_weights`).

* edge-cell: the NAS-Bench-201 skeleton (stem, N cells, residual reduction, N cells, reduction, N
  cells, head); node ``j`` of a cell is the sum over edges ``i -> j`` of the edge's mixed op.
* fabric: the whole trellis of :mod:`nasforge.models.fabric`, every edge gated by its on/off point.
* nasnet: the DARTS search network: stem, N normal cells, a reduction cell, ... ; block ``b`` of a cell
  is the sum over its allowed inputs of that edge's mixed op (a genotype's path leaves the other
  inputs at weight zero, and they are skipped); the cell output concatenates every block, as DARTS
  does (a stand-alone NASNet cell concatenates only its unused blocks).

Batch norms keep no running statistics during a search
(:func:`~nasforge.models.mixed.disable_running_stats`); :meth:`Supernet.calibrated` re-estimates them
for one path before it is scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.models.cells import Head, ResidualReduction, input_dims, nasnet_cells, stem
from nasforge.models.mixed import MixedOp, disable_running_stats, recalibrate_bn
from nasforge.ops.primitives import FactorizedReduce, ReLUConvBN

#: the spaces :func:`build_supernet` supports
SUPERNET_SPACES: tuple[str, ...] = ("edge-cell", "nasnet", "fabric")


class EdgeSupernetCell(nn.Module):
    """An edge cell whose every edge is a mixed op (``points``: ``(k, i, j)`` = point index, edge)."""

    def __init__(self, points: list[tuple[int, int, int]], candidates: Sequence[str], nodes: int,
                 channels: int, dims: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.points = points
        self.mixed = nn.ModuleList(MixedOp(candidates, channels, 1, dims) for _ in points)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        states: list[Any] = [x] + [None] * (self.nodes - 1)
        for (k, i, j), op in zip(self.points, self.mixed, strict=True):
            if states[i] is None or _off(weights[k]):
                continue
            h = op(states[i], weights[k])
            states[j] = h if states[j] is None else states[j] + h
        out = states[-1]
        return x * 0.0 if out is None else out


class NasNetSupernetCell(nn.Module):
    """A DARTS search cell: block ``b`` sums the mixed ops on its edges from every allowed input."""

    def __init__(self, points: list[tuple[int, int, int, int]], candidates: Sequence[str], blocks: int,
                 c_pp: int, c_p: int, channels: int, dims: int, reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = (FactorizedReduce(c_pp, channels, dims, affine=False) if reduction_prev
                     else ReLUConvBN(c_pp, channels, 1, 1, 0, dims, affine=False))
        self.pre1 = ReLUConvBN(c_p, channels, 1, 1, 0, dims, affine=False)
        self.blocks = blocks
        self.points = points  # (point index, block, input state, stride)
        self.mixed = nn.ModuleList(MixedOp(candidates, channels, s, dims) for _, _, _, s in points)
        self.out_channels = blocks * channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        states: list[Any] = [self.pre0(s0), self.pre1(s1)]
        position = 0
        for b in range(self.blocks):
            total = None
            while position < len(self.points) and self.points[position][1] == b:
                k, _, i, _ = self.points[position]
                op = self.mixed[position]
                position += 1
                if _off(weights[k]):
                    continue
                h = op(states[i], weights[k])
                total = h if total is None else total + h
            states.append(total if total is not None else states[1] * 0.0)
        ref = states[2]
        return torch.cat([s if s.shape == ref.shape else ref * 0.0 for s in states[2:]], dim=1)


def _off(w: torch.Tensor) -> bool:
    """A point switched off: all-zero weights that carry no gradient (an edge the path does not use)."""
    return not w.requires_grad and not bool(torch.any(w != 0))


class Supernet(nn.Module):
    """Base of the supernets: the decision points, weight helpers and BN calibration."""

    def __init__(self, space: Any) -> None:
        super().__init__()
        self.space_config = space.to_config()
        self.points = space.decision_points()

    def point_names(self) -> list[str]:
        """The decision points' names, in the order ``forward`` takes their weights."""
        return [p.name for p in self.points]

    def path_weights(self, weights: Mapping[str, Any], device: Any = None,
                     dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """Per-point weight tensors (no gradient) from a ``{name: vector}`` mapping such as
        ``space.one_hot(arch)``; with 0/1 vectors only the chosen ops run."""
        return [torch.as_tensor(np.asarray(weights[p.name], dtype=float), dtype=dtype, device=device)
                for p in self.points]

    @contextmanager
    def calibrated(self, weights: Sequence[torch.Tensor], batches: Iterable[torch.Tensor]) -> Iterator[Any]:
        """The supernet with batch-norm statistics re-estimated for the path ``weights`` on
        ``batches`` (eval mode inside; statistics-free search state restored on exit)."""
        with recalibrate_bn(self, batches, lambda x: self(x, weights)):
            yield self


class EdgeCellSupernet(Supernet):
    """The supernet of an edge-cell space (see the module docstring)."""

    def __init__(self, space: Any, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__(space)
        dims = input_dims(space, input_shape)
        p = space.params
        c = int(p["channels"])
        points = [(k, pt.input, pt.node) for k, pt in enumerate(self.points)]
        self.stem = stem(int(input_shape[0]), c, dims)
        self.layers = nn.ModuleList()
        for stage in range(3):
            if stage > 0:
                self.layers.append(ResidualReduction(c, 2 * c, dims))
                c *= 2
            for _ in range(int(p["cells_per_stage"])):
                self.layers.append(EdgeSupernetCell(points, space.ops, space.nodes, c, dims))
        self.head = Head(c, num_classes, dims)
        disable_running_stats(self)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, weights) if isinstance(layer, EdgeSupernetCell) else layer(h)
        return self.head(h)


class NasNetSupernet(Supernet):
    """The supernet of a NASNet space: normal and reduction cells with their own points."""

    def __init__(self, space: Any, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__(space)
        dims = input_dims(space, input_shape)
        p = space.params
        channels, n, blocks = int(p["channels"]), int(p["cells_per_stage"]), int(space.blocks)
        by_cell = {kind: [(k, pt.node - 2, pt.input, pt.stride or 1) for k, pt in enumerate(self.points)
                          if pt.cell == kind] for kind in ("normal", "reduce")}
        self.stem = stem(int(input_shape[0]), channels, dims)
        self.cells = nasnet_cells(channels, n, lambda kind, c_pp, c_p, c, reduction_prev: NasNetSupernetCell(
            by_cell[kind], space.ops, blocks, c_pp, c_p, c, dims, reduction_prev))
        self.head = Head(self.cells[-1].out_channels, num_classes, dims)
        disable_running_stats(self)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights)
        return self.head(s1)


def build_supernet(space: Any, input_shape: tuple[int, ...], num_classes: int) -> Supernet:
    """The supernet of ``space`` for inputs ``input_shape`` (batch excluded); :class:`ConfigError`
    naming the supported spaces for any other."""
    name = getattr(space, "name", None)
    if name == "edge-cell":
        return EdgeCellSupernet(space, tuple(input_shape), int(num_classes))
    if name == "nasnet":
        return NasNetSupernet(space, tuple(input_shape), int(num_classes))
    if name == "fabric":
        from nasforge.models.fabric import FabricSupernet  # it subclasses Supernet: imported here

        return FabricSupernet(space, tuple(input_shape), int(num_classes))
    raise ConfigError(
        f"one-shot methods need a space with decision points and a supernet; supported: "
        f"{', '.join(SUPERNET_SPACES)}; got {name!r}"
    )


def check_supernet_space(space: Any) -> None:
    """:class:`ConfigError` unless ``space`` is one :func:`build_supernet` supports."""
    if getattr(space, "name", None) not in SUPERNET_SPACES:
        build_supernet(space, (1, 8), 2)  # raises with the message above


__all__ = ["SUPERNET_SPACES", "EdgeCellSupernet", "NasNetSupernet", "Supernet", "build_supernet",
           "check_supernet_space"]
