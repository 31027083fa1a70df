"""Pieces shared by model builders: the classifier head and shape probing."""

from __future__ import annotations

import torch
from torch import nn

from nasforge.errors import ConfigError


def kind_of(input_shape: tuple[int, ...]) -> str:
    """``"tabular"``, ``"1d"`` or ``"2d"`` from a per-sample input shape."""
    kinds = {1: "tabular", 2: "1d", 3: "2d"}
    if len(input_shape) not in kinds:
        raise ConfigError(
            f"input_shape must be (F,), (C, L) or (C, H, W) (no batch dimension), got {input_shape}"
        )
    return kinds[len(input_shape)]


@torch.no_grad()
def output_shape(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample output shape of ``module`` on zeros of ``input_shape`` (probed in eval mode)."""
    was_training = module.training
    module.eval()
    try:
        out = module(torch.zeros(1, *input_shape))
    finally:
        module.train(was_training)
    return tuple(int(d) for d in out.shape[1:])


class ClassifierHead(nn.Sequential):
    """Features ``(N, C, *spatial)`` -> logits ``(N, num_classes)``.

    ``kind="gap"`` averages over the spatial axes first; ``"flatten"`` keeps positions (a linear
    layer over ``C * prod(spatial)`` features). Tabular features ``(N, F)`` go straight to the
    linear layer.
    """

    def __init__(self, feature_shape: tuple[int, ...], num_classes: int, kind: str = "flatten") -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        if kind not in ("gap", "flatten"):
            raise ConfigError(f"head must be 'gap' or 'flatten', got {kind!r}")
        channels = feature_shape[0]
        spatial = feature_shape[1:]
        layers: list[nn.Module] = []
        if spatial and kind == "gap":
            pool = nn.AdaptiveAvgPool1d(1) if len(spatial) == 1 else nn.AdaptiveAvgPool2d(1)
            layers += [pool, nn.Flatten()]
            features = channels
        else:
            if spatial:
                layers.append(nn.Flatten())
            features = channels
            for d in spatial:
                features *= d
        layers.append(nn.Linear(features, num_classes))
        super().__init__(*layers)
