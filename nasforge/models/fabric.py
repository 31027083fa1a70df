"""Fabric phenotypes: the CNN of a set of kept trellis edges, and the whole fabric as a supernet.

Both networks are ``stem -> trellis -> classifier``. The stem (3x3 convolution, batch norm) gives node
``(0, 0)``; every kept edge ``(l, a, b)`` is one conv-BN-ReLU (kernel ``kernel_size``) from
``channels * 2**a`` to ``channels * 2**b`` channels, with stride 2 when it goes to a coarser scale and
followed by nearest upsampling to the finer size when it goes to a finer one; node ``(l, b)`` sums its
incoming edges; the classifier averages the output node ``(layers - 1, scales - 1)`` globally and
applies a linear layer. Every halving maps a size ``n`` to ``ceil(n / 2)``, so any 1-D ``(C, L)`` or
2-D ``(C, H, W)`` input works.

* :class:`FabricNet` (``nasforge.models.build``): only the genotype's edges. The whole fabric (the
  paper's network) is the genotype ``space.full()``, trained by the ordinary training evaluator.
* :class:`FabricSupernet` (``build_supernet``): every band edge, gated by the decision points' weights:
  ``forward(x, weights)`` scales edge ``k``'s output by ``weights[k][1]`` (its ``True`` weight); an edge
  whose weights carry no gradient and whose ``True`` weight is 0 does not run. SPOS gates a sampled
  edge subset, path dropout a random mask, DARTS softmaxed alphas.

Both hold the same modules under the same names (``stem``, ``edges.e{l}_{a}_{b}``, ``head``), so the
weights of a genotype's edges copy from the supernet into its :class:`FabricNet` one to one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from nasforge.models.cells import input_dims, stem
from nasforge.models.common import ClassifierHead
from nasforge.models.mixed import disable_running_stats
from nasforge.models.supernet import Supernet
from nasforge.ops import create_op

Edge = tuple[int, int, int]
Gate = Callable[[int, Edge], Any]


def edge_key(edge: Edge) -> str:
    """The module name of ``edge`` in :attr:`FabricNet.edges`."""
    return "e{}_{}_{}".format(*edge)


def scale_sizes(spatial: Sequence[int], scales: int) -> list[tuple[int, ...]]:
    """The spatial size of every scale (each halving rounds up)."""
    sizes = [tuple(int(d) for d in spatial)]
    for _ in range(1, scales):
        sizes.append(tuple(-(-d // 2) for d in sizes[-1]))
    return sizes


class EdgeOp(nn.Sequential):
    """One trellis edge: conv-BN-ReLU (stride 2 to a coarser scale), upsampled to a finer scale."""

    def __init__(self, space: Any, edge: Edge, sizes: list[tuple[int, ...]], dims: int) -> None:
        _, a, b = edge
        layers: list[nn.Module] = [create_op("conv", space.width(a), space.width(b), 2 if b > a else 1, dims,
                                             kernel_size=int(space.params["kernel_size"]))]
        if b < a:
            layers.append(nn.Upsample(size=sizes[b], mode="nearest"))
        super().__init__(*layers)


class _Trellis(nn.Module):
    """The shared body: stem, one :class:`EdgeOp` per edge, head; :meth:`run` sums gated edges."""

    def _build(self, space: Any, edges: Sequence[Edge], input_shape: tuple[int, ...],
               num_classes: int) -> None:
        dims = input_dims(space, input_shape)
        self.layers, self.scales = space.layers, space.scales
        self.order = [tuple(int(v) for v in e) for e in edges]
        sizes = scale_sizes(input_shape[1:], space.scales)
        self.out_shape = (space.width(space.scales - 1), *sizes[-1])
        self.stem = stem(int(input_shape[0]), space.width(0), dims)
        self.edges = nn.ModuleDict({edge_key(e): EdgeOp(space, e, sizes, dims) for e in self.order})
        self.head = ClassifierHead(self.out_shape, int(num_classes), "gap")

    def run(self, x: torch.Tensor, gate: Gate) -> torch.Tensor:
        """Logits, with edge ``k`` (``self.order`` index) multiplied by ``gate(k, edge)``: ``None`` skips
        the edge, ``1`` keeps it as is."""
        states: dict[tuple[int, int], torch.Tensor] = {(0, 0): self.stem(x)}
        for k, edge in enumerate(self.order):
            layer, a, b = edge
            src = states.get((layer - 1, a))
            g = gate(k, edge)
            if src is None or g is None:
                continue
            h = self.edges[edge_key(edge)](src)
            h = h if isinstance(g, int) and g == 1 else g * h
            old = states.get((layer, b))
            states[(layer, b)] = h if old is None else old + h
        out = states.get((self.layers - 1, self.scales - 1))
        if out is None:  # no live edge reaches the output (a path-dropout mask can do that)
            out = x.new_zeros((x.shape[0], *self.out_shape))
        return self.head(out)


class FabricNet(_Trellis):
    """The CNN of a fabric genotype: only its kept edges (see the module docstring)."""

    def __init__(self, space: Any, architecture: Any, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self._build(space, sorted(space.kept(architecture)), tuple(input_shape), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, lambda k, e: 1)


class FabricSupernet(_Trellis, Supernet):
    """The whole fabric with every band edge gated by its decision point (see the module docstring)."""

    def __init__(self, space: Any, input_shape: tuple[int, ...], num_classes: int) -> None:
        Supernet.__init__(self, space)
        self._build(space, space.edges(), tuple(input_shape), num_classes)
        disable_running_stats(self)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        def gate(k: int, edge: Edge) -> Any:
            w = weights[k]
            if not w.requires_grad and float(w[1]) == 0.0:
                return None
            return 1 if not w.requires_grad and float(w[1]) == 1.0 else w[1]

        return self.run(x, gate)


def build_fabric(space: Any, architecture: Any, input_shape: tuple[int, ...], num_classes: int) -> FabricNet:
    """The :class:`FabricNet` of ``architecture`` for ``input_shape`` (no batch dim) and ``num_classes``."""
    return FabricNet(space, architecture, tuple(int(d) for d in input_shape), int(num_classes))


__all__ = ["EdgeOp", "FabricNet", "FabricSupernet", "build_fabric", "edge_key", "scale_sizes"]
