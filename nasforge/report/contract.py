"""A task's input contract as torch modules: raw data in, the trained network's logits out.

:class:`Standardize` applies a :class:`~nasforge.data.preprocess.Preprocessing` (float32 cast,
reshape, ``(x - mean) / std`` with the statistics as buffers); its source is copied verbatim into the
exported ``model.py``, so it uses nothing but torch. :class:`RawModel` is ``Standardize`` followed by
the network: what ``model.onnx`` is exported from and what the export check compares ``model.py``
against.
"""

from __future__ import annotations

import torch
from torch import nn

from nasforge.data.preprocess import Preprocessing


class Standardize(nn.Module):
    """Raw samples -> the network's input: cast to float32, reshape each sample to ``shape``, then
    ``(x - mean) / std`` with the training split's statistics (one per channel, or per feature of a
    table). ``mean`` and ``std`` are buffers, filled from the weights file."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)
        stats = (1, self.shape[0]) + (1,) * (len(self.shape) - 1)
        self.register_buffer("mean", torch.zeros(stats))
        self.register_buffer("std", torch.ones(stats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32).reshape((-1, *self.shape))
        return (x - self.mean) / self.std


def standardize_module(prep: Preprocessing) -> Standardize:
    """A :class:`Standardize` holding ``prep``'s statistics."""
    module = Standardize(prep.input_shape)
    mean, std = prep.arrays()
    module.mean.copy_(torch.from_numpy(mean))
    module.std.copy_(torch.from_numpy(std))
    return module


class RawModel(nn.Module):
    """``network(preprocess(x))`` for raw inputs ``x`` of shape ``(N, *raw_shape)``."""

    def __init__(self, preprocess: Standardize, network: nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(self.preprocess(x))


def raw_model(prep: Preprocessing, network: nn.Module) -> RawModel:
    """The network behind ``prep``'s preprocessing, in eval mode on the CPU."""
    return RawModel(standardize_module(prep), network.cpu()).eval()


__all__ = ["RawModel", "Standardize", "raw_model", "standardize_module"]
