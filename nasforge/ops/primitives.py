"""Primitives the op families are built from (layer ops in :mod:`nasforge.ops.layers`, cell ops in
:mod:`nasforge.ops.cell`), usable by model builders directly.

:func:`conv_nd`, :func:`bn_nd`, :func:`pool_nd` (the 1-D / 2-D torch class for ``dims``),
:func:`make_activation`, :func:`make_norm`, :func:`projection` (shape adapter), and the DARTS modules
:class:`ReLUConvBN`, :class:`SepConv`, :class:`DilConv`, :class:`FactorizedReduce`, :class:`Zero`.
Every module here is traceable with ``torch.fx`` (no data-dependent control flow), so models built
from them export as plain PyTorch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops import catalog

#: activation name (:data:`nasforge.ops.catalog.ACTIVATIONS`) -> ``nn.Module`` class (built without arguments)
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "none": nn.Identity,
}
#: normalisation names understood by :func:`make_norm`
NORMS: tuple[str, ...] = catalog.NORMS


def check_dims(dims: int, allowed: tuple[int, ...] = (0, 1, 2)) -> int:
    """``dims`` if it is one of ``allowed``; :class:`ConfigError` otherwise."""
    if dims not in allowed:
        raise ConfigError(f"dims must be one of {list(allowed)}, got {dims!r}")
    return dims


def conv_nd(dims: int) -> type[nn.Module]:
    """``nn.Conv1d`` or ``nn.Conv2d`` for ``dims`` 1 or 2."""
    return {1: nn.Conv1d, 2: nn.Conv2d}[check_dims(dims, (1, 2))]


def bn_nd(dims: int) -> type[nn.Module]:
    """``nn.BatchNorm1d`` (dims 0 or 1) or ``nn.BatchNorm2d`` (dims 2)."""
    return {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[check_dims(dims)]


def pool_nd(kind: str, dims: int) -> type[nn.Module]:
    """``nn.MaxPool{1,2}d`` or ``nn.AvgPool{1,2}d`` for ``kind`` ``"max"``/``"avg"``."""
    table = {
        ("max", 1): nn.MaxPool1d,
        ("max", 2): nn.MaxPool2d,
        ("avg", 1): nn.AvgPool1d,
        ("avg", 2): nn.AvgPool2d,
    }
    if (kind, dims) not in table:
        raise ConfigError(f"pooling needs kind in ['max', 'avg'] and dims in [1, 2], got {kind!r}, {dims}")
    return table[(kind, dims)]


def make_activation(name: str) -> nn.Module:
    """The activation module named ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def make_norm(name: str, channels: int, dims: int, affine: bool = True) -> nn.Module:
    """Normalisation over ``channels``: ``batch`` (BatchNorm), ``layer`` (GroupNorm with one group
    for 1-D/2-D, LayerNorm for tabular) or ``none`` (identity)."""
    check_dims(dims)
    if name == "batch":
        return bn_nd(dims)(channels, affine=affine)
    if name == "layer":
        return nn.LayerNorm(channels, elementwise_affine=affine) if dims == 0 else nn.GroupNorm(
            1, channels, affine=affine
        )
    if name == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {list(NORMS)}, got {name!r}")


class ReLUConvBN(nn.Sequential):
    """DARTS ``ReLUConvBN``: activation -> convolution -> batch norm."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dims: int = 2,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            conv_nd(dims)(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            bn_nd(dims)(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """DARTS ``DilConv``: ReLU -> dilated depthwise conv -> 1x1 conv -> batch norm."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dilation: int,
        dims: int = 2,
        affine: bool = True,
    ) -> None:
        conv = conv_nd(dims)
        super().__init__(
            nn.ReLU(inplace=False),
            conv(c_in, c_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                 groups=c_in, bias=False),
            conv(c_in, c_out, 1, bias=False),
            bn_nd(dims)(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """DARTS ``SepConv``: two stacked (ReLU, depthwise, pointwise, BN) blocks; the first strides."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dims: int = 2,
        affine: bool = True,
    ) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel_size, stride, padding, 1, dims, affine),
            DilConv(c_in, c_out, kernel_size, 1, padding, 1, dims, affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two strided 1x1 convolutions on offset grids (DARTS).

    Works for odd sizes too (the shifted branch is zero-padded at the end), so both halves always
    have ``ceil(size / 2)`` positions. Needs ``c_out >= 2``.
    """

    def __init__(self, c_in: int, c_out: int, dims: int = 2, affine: bool = True) -> None:
        super().__init__()
        if c_out < 2:
            raise ConfigError(f"FactorizedReduce needs channels_out >= 2, got {c_out}")
        conv = conv_nd(dims)
        self.dims = dims
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = conv(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = conv(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = bn_nd(dims)(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if self.dims == 1:
            shifted = F.pad(x, (0, 1))[:, :, 1:]
        else:
            shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """The ``none`` op: zeros of the output shape (strided over every spatial axis)."""

    def __init__(self, stride: int = 1, dims: int = 2, c_out: int | None = None) -> None:
        super().__init__()
        self.stride = stride
        self.dims = dims
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            if self.dims == 1:
                x = x[:, :, :: self.stride]
            else:
                x = x[:, :, :: self.stride, :: self.stride]
        if self.c_out is not None:
            x = x[:, :1].expand(-1, self.c_out, *([-1] * self.dims))
        return x * 0.0


def projection(c_in: int, c_out: int, stride: int, dims: int, norm: str = "batch") -> nn.Module:
    """A strided 1x1 convolution (or linear map for tabular) with a norm: shape adapter."""
    if dims == 0:
        if stride != 1:
            raise ConfigError(f"tabular ops cannot reduce (stride must be 1), got stride={stride}")
        return nn.Sequential(nn.Linear(c_in, c_out, bias=norm == "none"), make_norm(norm, c_out, 0))
    return nn.Sequential(
        conv_nd(dims)(c_in, c_out, 1, stride=stride, bias=norm == "none"), make_norm(norm, c_out, dims)
    )


__all__ = [
    "ACTIVATIONS",
    "NORMS",
    "DilConv",
    "FactorizedReduce",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "bn_nd",
    "check_dims",
    "conv_nd",
    "make_activation",
    "make_norm",
    "pool_nd",
    "projection",
]
