"""Multi-branch phenotype: a DAG of layers with skip connections and add/concat merges.

Shapes are resolved at construction: every node's width and downsampling factor (product of the
strides before it) is known from the genotype, so each skip input gets a fixed adapter (strided
``skip_connect`` ops, i.e. factorized reductions, until its size matches the main input; for ``add``
also a width projection). ``forward`` is a fixed unrolled sequence, hence ``torch.fx``-traceable.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nasforge.models.cells import Head, input_dims, stem
from nasforge.ops import create_op


def skip_adapter(c_in: int, c_out: int, factor: int, dims: int) -> nn.Module:
    """Reduce spatial size by ``factor`` (a power of two) and map ``c_in`` -> ``c_out`` channels."""
    layers: list[nn.Module] = []
    c = c_in
    while factor > 1:
        layers.append(create_op("skip_connect", c, c_out, 2, dims))
        c, factor = c_out, factor // 2
    if c != c_out:
        layers.append(create_op("skip_connect", c, c_out, 1, dims))
    return nn.Sequential(*layers) if layers else nn.Identity()


class BranchLayer(nn.Module):
    """One layer: merge the main input with adapted skip inputs, then apply the op."""

    def __init__(self, op: nn.Module, skips: list[int], adapters: list[nn.Module], concat: bool) -> None:
        super().__init__()
        self.op = op
        self.skips = skips
        self.adapters = nn.ModuleList(adapters)
        self.concat = concat


class MultiBranchNetwork(nn.Module):
    """Stem (node 0), the layers in order (node k = layer k), global pooling and a classifier."""

    def __init__(self, layers: list[dict[str, Any]], c_in: int, stem_channels: int, classes: int,
                 dims: int) -> None:
        super().__init__()
        self.stem = stem(c_in, stem_channels, dims)
        widths, factors = [stem_channels], [1]
        self.layers = nn.ModuleList()
        for k, spec in enumerate(layers, start=1):
            c_main, f_main = widths[k - 1], factors[k - 1]
            concat = spec["merge"] == "concat" and bool(spec["skips"])
            adapters = []
            c_merged = c_main
            for i in spec["skips"]:
                c_skip = widths[i] if concat else c_main
                adapters.append(skip_adapter(widths[i], c_skip, f_main // factors[i], dims))
                if concat:
                    c_merged += c_skip
            op = create_op(spec["op"], c_merged, spec["width"], spec["stride"], dims)
            self.layers.append(BranchLayer(op, list(spec["skips"]), adapters, concat))
            widths.append(spec["width"])
            factors.append(f_main * spec["stride"])
        self.head = Head(widths[-1], classes, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [self.stem(x)]
        for layer in self.layers:
            h = nodes[-1]
            inputs = [adapter(nodes[i]) for i, adapter in zip(layer.skips, layer.adapters, strict=True)]
            if layer.concat:
                h = torch.cat([h, *inputs], dim=1)
            else:
                for extra in inputs:
                    h = h + extra
            nodes.append(layer.op(h))
        return self.head(nodes[-1])


def build_multibranch(space: Any, arch: Any, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The multi-branch network of ``arch`` for inputs ``input_shape`` (batch excluded)."""
    dims = input_dims(space, input_shape)
    layers = space.canonicalize(arch).genes["layers"]
    return MultiBranchNetwork(
        layers, int(input_shape[0]), int(space.params["stem_channels"]), num_classes, dims
    )


__all__ = ["MultiBranchNetwork", "build_multibranch"]
