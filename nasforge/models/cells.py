"""Cell-space phenotypes: NASNet cells and edge cells stacked in a macro skeleton.

Both builders make ``stem -> N cells -> reduction -> N cells -> reduction -> N cells -> global pool ->
classifier`` for 1-D signals (``(C, L)``) and 2-D images (``(C, H, W)``). In the NASNet skeleton the
reductions are searched reduction cells (each cell reads the two previous cell outputs); in the
edge-cell skeleton (NAS-Bench-201) they are fixed residual blocks. Every spatial reduction maps a size
``s`` to ``ceil(s / 2)``, so any input size works. All modules are ``torch.fx``-traceable: the cell
wiring is fixed at construction and unrolled in ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops import create_op
from nasforge.ops.primitives import FactorizedReduce, ReLUConvBN, bn_nd, conv_nd


def input_dims(space: Any, input_shape: tuple[int, ...]) -> int:
    """1 for ``(C, L)``, 2 for ``(C, H, W)``; :class:`ConfigError` for shapes the space cannot build."""
    dims = len(input_shape) - 1
    if dims not in (1, 2):
        raise ConfigError(
            f"space {space.name!r} builds models for 1-D (C, L) and 2-D (C, H, W) inputs, got input shape "
            f"{tuple(input_shape)}; use the chain space for tabular data"
        )
    return dims


def nasnet_cells(
    channels: int, n: int, make: Callable[[str, int, int, int, bool], nn.Module]
) -> nn.ModuleList:
    """The NASNet macro layout, shared by the network and its supernet: three stages of ``n`` normal cells,
    a reduction cell opening stages 2 and 3 (channels doubled). ``make(kind, c_pp, c_p, c,
    reduction_prev)`` builds one cell, which exposes ``out_channels``."""
    cells = nn.ModuleList()
    c_pp = c_p = c = channels
    reduction_prev = False
    for stage in range(3):
        if stage > 0:
            c *= 2
        for kind in ([] if stage == 0 else ["reduce"]) + ["normal"] * n:
            cell = make(kind, c_pp, c_p, c, reduction_prev)
            cells.append(cell)
            reduction_prev = kind == "reduce"
            c_pp, c_p = c_p, int(cell.out_channels)
    return cells


def stem(c_in: int, c_out: int, dims: int) -> nn.Module:
    """3x3 convolution -> batch norm."""
    return nn.Sequential(conv_nd(dims)(c_in, c_out, 3, padding=1, bias=False), bn_nd(dims)(c_out))


class Head(nn.Module):
    """ReLU -> global average pooling -> linear classifier."""

    def __init__(self, channels: int, num_classes: int, dims: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1) if dims == 1 else nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.relu(x)), 1))


# ------------------------------------------------------------------------------------- NASNet
class NasNetCell(nn.Module):
    """One NASNet cell: preprocess both inputs to ``channels``, run the blocks, concat unused outputs.

    ``blocks`` is the genotype's list for this cell. In a reduction cell the ops reading the cell
    inputs have stride 2. A ``concat`` block has ``2 * channels`` outputs.
    """

    def __init__(
        self,
        blocks: list[dict[str, Any]],
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        dims: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.pre0 = (
            FactorizedReduce(c_prev_prev, channels, dims)
            if reduction_prev
            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0, dims)
        )
        self.pre1 = ReLUConvBN(c_prev, channels, 1, 1, 0, dims)
        widths = [channels, channels]
        self.ops = nn.ModuleList()
        self.inputs: list[tuple[int, int]] = []
        self.concat: list[bool] = []
        for block in blocks:
            for inp, op in zip(block["inputs"], block["ops"], strict=True):
                stride = 2 if reduction and inp < 2 else 1
                self.ops.append(create_op(op, widths[inp], channels, stride, dims))
            self.inputs.append((block["inputs"][0], block["inputs"][1]))
            self.concat.append(block["combine"] == "concat")
            widths.append(2 * channels if block["combine"] == "concat" else channels)
        used = {i for pair in self.inputs for i in pair}
        self.outputs = [i for i in range(2, len(widths)) if i not in used]
        self.out_channels = sum(widths[i] for i in self.outputs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for b, (i, j) in enumerate(self.inputs):
            a = self.ops[2 * b](states[i])
            c = self.ops[2 * b + 1](states[j])
            states.append(torch.cat([a, c], dim=1) if self.concat[b] else a + c)
        return torch.cat([states[i] for i in self.outputs], dim=1)


class NasNetNetwork(nn.Module):
    """Stem, 3 stages of ``cells_per_stage`` normal cells separated by reduction cells, head."""

    def __init__(
        self, genes: dict[str, Any], c_in: int, channels: int, n: int, classes: int, dims: int
    ) -> None:
        super().__init__()
        self.stem = stem(c_in, channels, dims)
        self.cells = nasnet_cells(channels, n, lambda kind, c_pp, c_p, c, reduction_prev: NasNetCell(
            genes[kind], c_pp, c_p, c, dims, kind == "reduce", reduction_prev))
        self.head = Head(self.cells[-1].out_channels, classes, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)


def build_nasnet(space: Any, arch: Any, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The NASNet network of ``arch`` for inputs ``input_shape`` (batch excluded)."""
    dims = input_dims(space, input_shape)
    arch = space.canonicalize(arch)
    p = space.params
    return NasNetNetwork(
        arch.genes, int(input_shape[0]), int(p["channels"]), int(p["cells_per_stage"]), num_classes, dims
    )


# ---------------------------------------------------------------------------------- edge cell
class EdgeCell(nn.Module):
    """A NAS-Bench-201 cell: node ``j`` is the sum over live edges ``i -> j`` of ``op(node i)``.

    ``edges`` lists ``(i, j, op)`` of the live (canonical, non-``none``) edges; a node with no live
    input edge is never read, and an output without one is zero.
    """

    def __init__(self, edges: list[tuple[int, int, str]], nodes: int, channels: int, dims: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.edges = [(i, j) for i, j, _ in edges]
        self.ops = nn.ModuleList(create_op(op, channels, channels, 1, dims) for _, _, op in edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states: list[Any] = [x] + [None] * (self.nodes - 1)
        for (i, j), op in zip(self.edges, self.ops, strict=True):
            h = op(states[i])
            states[j] = h if states[j] is None else states[j] + h
        out = states[self.nodes - 1]
        return x * 0.0 if out is None else out


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-conv-BN (the first strided) plus a strided shortcut."""

    def __init__(self, c_in: int, c_out: int, dims: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, dims)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, dims)
        self.shortcut = nn.Sequential(conv_nd(dims)(c_in, c_out, 1, stride=2, bias=False), bn_nd(dims)(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class EdgeCellNetwork(nn.Module):
    """Stem, 3 stages of ``cells_per_stage`` edge cells separated by residual reductions, head."""

    def __init__(self, edges: list[tuple[int, int, str]], nodes: int, c_in: int, channels: int, n: int,
                 classes: int, dims: int) -> None:
        super().__init__()
        self.stem = stem(c_in, channels, dims)
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c, dims))
                c *= 2
            layers += [EdgeCell(edges, nodes, c, dims) for _ in range(n)]
        self.cells = nn.Sequential(*layers)
        self.head = Head(c, classes, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))


def build_edge_cell(space: Any, arch: Any, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The NAS-Bench-201-style network of the edge cell ``arch`` (built from its canonical form)."""
    dims = input_dims(space, input_shape)
    arch = space.canonicalize(arch)
    live = space.live_edges(arch)
    ops = arch.genes["edges"]
    edges = [(i, j, op) for (i, j), op, on in zip(space.edges(), ops, live, strict=True) if on]
    p = space.params
    return EdgeCellNetwork(
        edges, space.nodes, int(input_shape[0]), int(p["channels"]), int(p["cells_per_stage"]),
        num_classes, dims,
    )


__all__ = ["EdgeCellNetwork", "NasNetNetwork", "build_edge_cell", "build_nasnet"]
