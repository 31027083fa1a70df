"""Basic ops for 1-D signals, 2-D images and tabular data, plus reusable primitives.

Registered ops (factory ``(c_in, c_out, stride, dims, **options) -> nn.Module``):

* ``conv``, ``sep_conv``, ``dil_conv``: convolution -> norm -> activation -> dropout (dims 1, 2)
* ``max_pool``, ``avg_pool``: pooling (then a 1x1 projection if the width changes) (dims 1, 2)
* ``identity``: the input itself (a strided 1x1 projection if shape changes) (dims 0, 1, 2)
* ``dense``: linear -> norm -> activation -> dropout (dims 0, tabular)

Options understood by the layer ops: ``kernel_size`` (odd, default 3), ``activation`` (see
:data:`ACTIVATIONS`), ``norm`` (see :data:`NORMS`), ``dropout`` (probability in ``[0, 1)``).

Primitives for other op families (e.g. DARTS cell ops): :func:`conv_nd`, :func:`bn_nd`,
:func:`pool_nd`, :func:`make_activation`, :func:`make_norm`, :class:`ReLUConvBN`, :class:`SepConv`,
:class:`DilConv`, :class:`FactorizedReduce`, :class:`Zero`. Every module here is traceable with
``torch.fx`` (no data-dependent control flow), so models built from them export as plain PyTorch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops import register_op

#: activation name -> ``nn.Module`` class (constructed without arguments)
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
NORMS: tuple[str, ...] = ("batch", "layer", "none")


def _check_dims(dims: int, allowed: tuple[int, ...] = (0, 1, 2)) -> int:
    if dims not in allowed:
        raise ConfigError(f"dims must be one of {list(allowed)}, got {dims!r}")
    return dims


def conv_nd(dims: int) -> type[nn.Module]:
    """``nn.Conv1d`` or ``nn.Conv2d`` for ``dims`` 1 or 2."""
    return {1: nn.Conv1d, 2: nn.Conv2d}[_check_dims(dims, (1, 2))]


def bn_nd(dims: int) -> type[nn.Module]:
    """``nn.BatchNorm1d`` (dims 0 or 1) or ``nn.BatchNorm2d`` (dims 2)."""
    return {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[_check_dims(dims)]


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
    _check_dims(dims)
    if name == "batch":
        return bn_nd(dims)(channels, affine=affine)
    if name == "layer":
        return nn.LayerNorm(channels, elementwise_affine=affine) if dims == 0 else nn.GroupNorm(
            1, channels, affine=affine
        )
    if name == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {list(NORMS)}, got {name!r}")


def _check_common(c_in: int, c_out: int, stride: int, kernel_size: int, dropout: float) -> None:
    for label, value in (("channels_in", c_in), ("channels_out", c_out), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{label} must be a positive integer, got {value!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ConfigError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")
    if kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be odd (shape-preserving padding), got {kernel_size}")
    if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
        raise ConfigError(f"dropout must be a probability in [0, 1), got {dropout!r}")


def _post(c_out: int, dims: int, norm: str, activation: str, dropout: float) -> list[nn.Module]:
    """norm -> activation -> dropout, leaving out the parts that are ``none`` / zero."""
    norm_layer = make_norm(norm, c_out, dims)
    act_layer = make_activation(activation)
    layers = [m for m in (norm_layer, act_layer) if not isinstance(m, nn.Identity)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return layers


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


# --------------------------------------------------------------------------- registered ops
def _conv_layer(
    c_in: int,
    c_out: int,
    stride: int,
    dims: int,
    *,
    kernel_size: int,
    activation: str,
    norm: str,
    dropout: float,
    dilation: int = 1,
    separable: bool = False,
) -> nn.Module:
    _check_common(c_in, c_out, stride, kernel_size, dropout)
    conv = conv_nd(dims)
    padding = dilation * (kernel_size - 1) // 2
    bias = norm == "none"
    if separable:
        layers: list[nn.Module] = [
            conv(c_in, c_in, kernel_size, stride=stride, padding=padding, groups=c_in, bias=False),
            conv(c_in, c_out, 1, bias=bias),
        ]
    else:
        layers = [conv(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                       bias=bias)]
    return nn.Sequential(*layers, *_post(c_out, dims, norm, activation, dropout))


@register_op("conv", dims=(1, 2), tags=("chain",))
def conv(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    **_: Any,
) -> nn.Module:
    """Convolution -> norm -> activation -> dropout."""
    return _conv_layer(c_in, c_out, stride, dims, kernel_size=kernel_size, activation=activation,
                       norm=norm, dropout=dropout)


@register_op("sep_conv", dims=(1, 2), tags=("chain",))
def sep_conv(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    **_: Any,
) -> nn.Module:
    """Depthwise-separable convolution (depthwise k x k, pointwise 1x1) -> norm -> act -> dropout."""
    return _conv_layer(c_in, c_out, stride, dims, kernel_size=kernel_size, activation=activation,
                       norm=norm, dropout=dropout, separable=True)


@register_op("dil_conv", dims=(1, 2), tags=("chain",))
def dil_conv(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    dilation: int = 2,
    **_: Any,
) -> nn.Module:
    """Dilated convolution (dilation 2 by default) -> norm -> activation -> dropout."""
    if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
        raise ConfigError(f"dilation must be a positive integer, got {dilation!r}")
    return _conv_layer(c_in, c_out, stride, dims, kernel_size=kernel_size, activation=activation,
                       norm=norm, dropout=dropout, dilation=dilation)


def _pool_layer(kind: str, c_in: int, c_out: int, stride: int, dims: int, kernel_size: int,
                activation: str, norm: str, dropout: float) -> nn.Module:
    _check_common(c_in, c_out, stride, kernel_size, dropout)
    pool_cls = pool_nd(kind, dims)
    padding = kernel_size // 2
    if kind == "avg":
        pool = pool_cls(kernel_size, stride=stride, padding=padding, count_include_pad=False)
    else:
        pool = pool_cls(kernel_size, stride=stride, padding=padding)
    if c_in == c_out:
        return pool
    proj = conv_nd(dims)(c_in, c_out, 1, bias=norm == "none")
    return nn.Sequential(pool, proj, *_post(c_out, dims, norm, activation, dropout))


@register_op("max_pool", dims=(1, 2), tags=("chain",))
def max_pool(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    **_: Any,
) -> nn.Module:
    """Max pooling; if the width changes, a 1x1 conv -> norm -> activation follows."""
    return _pool_layer("max", c_in, c_out, stride, dims, kernel_size, activation, norm, dropout)


@register_op("avg_pool", dims=(1, 2), tags=("chain",))
def avg_pool(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    **_: Any,
) -> nn.Module:
    """Average pooling (padding excluded); if the width changes, 1x1 conv -> norm -> activation."""
    return _pool_layer("avg", c_in, c_out, stride, dims, kernel_size, activation, norm, dropout)


@register_op("identity", dims=(0, 1, 2), tags=("chain",))
def identity(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    norm: str = "batch",
    **_: Any,
) -> nn.Module:
    """The input unchanged; a strided 1x1 projection with a norm if the shape must change."""
    _check_common(c_in, c_out, stride, 1, 0.0)
    if c_in == c_out and stride == 1:
        return nn.Identity()
    return projection(c_in, c_out, stride, dims, norm=norm)


@register_op("dense", dims=(0,), reduces=False, tags=("chain",))
def dense(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 0,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
    **_: Any,
) -> nn.Module:
    """Linear -> norm -> activation -> dropout on ``N x F`` tabular features."""
    _check_common(c_in, c_out, stride, 1, dropout)
    if stride != 1:
        raise ConfigError(f"dense cannot reduce (stride must be 1), got stride={stride}")
    _check_dims(dims, (0,))
    return nn.Sequential(nn.Linear(c_in, c_out, bias=norm == "none"),
                         *_post(c_out, 0, norm, activation, dropout))


__all__ = [
    "ACTIVATIONS",
    "NORMS",
    "DilConv",
    "FactorizedReduce",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "bn_nd",
    "conv_nd",
    "make_activation",
    "make_norm",
    "pool_nd",
    "projection",
]
