"""Chain-space genotype -> ``nn.Module``: the layers in sequence, then a classifier head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.models.common import ClassifierHead, kind_of, output_shape
from nasforge.ops import create_op, get_op


class ChainNet(nn.Module):
    """``features`` (one module per layer) followed by ``head``.

    A dense (tabular) genotype on signal or image input flattens the input first.
    """

    def __init__(self, features: nn.Sequential, head: nn.Module, flatten_input: bool = False) -> None:
        super().__init__()
        self.flatten = nn.Flatten() if flatten_input else nn.Identity()
        self.features = features
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.flatten(x)))


def build_chain(space: Any, architecture: Any, input_shape: tuple[int, ...], num_classes: int) -> ChainNet:
    """Build the network of a chain genotype for ``input_shape`` (no batch dim) and ``num_classes``."""
    input_shape = tuple(int(d) for d in input_shape)
    kind = kind_of(input_shape)
    layers = architecture.genes["layers"]
    tabular_genotype = "kernel" not in layers[0]
    if not tabular_genotype and kind == "tabular":
        raise ConfigError(
            "this chain genotype is convolutional but the task is tabular (N x F); create the space "
            "with input_kind='tabular'"
        )
    flatten_input = tabular_genotype and kind != "tabular"
    dims = 0 if tabular_genotype else {"1d": 1, "2d": 2}[kind]
    channels = input_shape[0]
    if flatten_input:
        channels = 1
        for d in input_shape:
            channels *= d
    modules = []
    for layer in layers:
        options = {"activation": layer["activation"], "norm": layer["norm"],
                   "dropout": float(layer["dropout"])}
        if "kernel" in layer:
            options["kernel_size"] = int(layer["kernel"])
        stride = int(layer.get("stride", 1))
        options = get_op(layer["op"]).select_options(options)  # e.g. identity has no kernel or activation
        modules.append(create_op(layer["op"], channels, int(layer["width"]), stride, dims, **options))
        channels = int(layer["width"])
    features = nn.Sequential(*modules)
    probe = nn.Sequential(nn.Flatten(), features) if flatten_input else features
    head = ClassifierHead(output_shape(probe, input_shape), int(num_classes),
                          space.params.get("head", "flatten"))
    return ChainNet(features, head, flatten_input)
