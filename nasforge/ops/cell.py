"""DARTS / NAS-Bench-201 cell ops for 1-D signals and 2-D images (tag ``cell``).

Every factory has the registry signature ``(c_in, c_out, stride, dims, **options)``, keeps spatial
size ``ceil(size / stride)`` for any input size (odd sizes included) and accepts a change of width, so
the cell builders can wire any op to any block input. Built on the primitives of
:mod:`nasforge.ops.basic`; every module is ``torch.fx``-traceable.

========================  ===================================================================
``none``                  zeros (strided, of width ``c_out``)
``skip_connect``          identity; factorized reduce at stride 2; ReLU-1x1 conv-BN on a width change
``sep_conv_3x3/5x5``      two stacked separable convolutions (DARTS ``SepConv``)
``dil_conv_3x3/5x5``      dilated (2) separable convolution (DARTS ``DilConv``)
``max_pool_3x3``          max pooling (then ReLU-1x1 conv-BN on a width change)
``avg_pool_3x3``          average pooling, padding excluded (same width adapter)
``conv_1x1``/``conv_3x3`` ReLU-conv-BN (NAS-Bench-201 ``nor_conv``)
``factorized_reduce``     two offset strided 1x1 convolutions (halves the size at stride 2)
========================  ===================================================================
"""

from __future__ import annotations

from typing import Any

from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops import register_op
from nasforge.ops.basic import DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero, pool_nd

#: the cell ops in DARTS order (``none`` first), as registered here
CELL_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "conv_1x1",
    "conv_3x3",
    "factorized_reduce",
)


def _check(name: str, c_in: int, c_out: int, stride: int, dims: int) -> None:
    for label, value in (("channels_in", c_in), ("channels_out", c_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"op {name!r}: {label} must be a positive integer, got {value!r}")
    if stride not in (1, 2):
        raise ConfigError(f"op {name!r}: stride must be 1 or 2, got {stride!r}")
    if dims not in (1, 2):
        raise ConfigError(f"op {name!r}: dims must be 1 (signals) or 2 (images), got {dims!r}")


def _adapter(c_in: int, c_out: int, stride: int, dims: int) -> nn.Module:
    """Shape adapter used by skip/pool ops: factorized reduce at stride 2, else ReLU-1x1-BN."""
    if stride == 2 and c_out >= 2:
        return FactorizedReduce(c_in, c_out, dims)
    return ReLUConvBN(c_in, c_out, 1, stride, 0, dims)


@register_op("none", dims=(1, 2), tags=("cell",))
def none(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
    """The zero op: no connection. Strided zeros of width ``c_out``."""
    _check("none", c_in, c_out, stride, dims)
    return Zero(stride, dims, None if c_in == c_out else c_out)


@register_op("skip_connect", dims=(1, 2), tags=("cell",))
def skip_connect(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
    """Identity; factorized reduce when ``stride == 2``; ReLU-1x1 conv-BN when only the width changes."""
    _check("skip_connect", c_in, c_out, stride, dims)
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return _adapter(c_in, c_out, stride, dims)


def _sep(kernel: int) -> Any:
    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
        _check(f"sep_conv_{kernel}x{kernel}", c_in, c_out, stride, dims)
        return SepConv(c_in, c_out, kernel, stride, kernel // 2, dims)

    factory.__doc__ = f"Two stacked ReLU-separable {kernel}x{kernel} conv-BN blocks (the first strides)."
    factory.__name__ = f"sep_conv_{kernel}x{kernel}"
    return factory


def _dil(kernel: int) -> Any:
    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
        _check(f"dil_conv_{kernel}x{kernel}", c_in, c_out, stride, dims)
        return DilConv(c_in, c_out, kernel, stride, kernel - 1, 2, dims)

    factory.__doc__ = f"ReLU, dilation-2 depthwise {kernel}x{kernel} conv, 1x1 conv, BN."
    factory.__name__ = f"dil_conv_{kernel}x{kernel}"
    return factory


def _conv(kernel: int) -> Any:
    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
        _check(f"conv_{kernel}x{kernel}", c_in, c_out, stride, dims)
        return ReLUConvBN(c_in, c_out, kernel, stride, kernel // 2, dims)

    factory.__doc__ = f"ReLU, {kernel}x{kernel} conv, BN (NAS-Bench-201 ``nor_conv_{kernel}x{kernel}``)."
    factory.__name__ = f"conv_{kernel}x{kernel}"
    return factory


def _pool(kind: str) -> Any:
    name = f"{kind}_pool_3x3"

    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, **_: Any) -> nn.Module:
        _check(name, c_in, c_out, stride, dims)
        cls = pool_nd(kind, dims)
        pool = (
            cls(3, stride=stride, padding=1, count_include_pad=False)
            if kind == "avg"
            else cls(3, stride=stride, padding=1)
        )
        if c_in == c_out:
            return pool
        return nn.Sequential(pool, ReLUConvBN(c_in, c_out, 1, 1, 0, dims))

    factory.__doc__ = f"{kind.capitalize()} pooling 3x3 (padding 1); a ReLU-1x1 conv-BN on a width change."
    factory.__name__ = name
    return factory


for _k in (3, 5):
    register_op(f"sep_conv_{_k}x{_k}", dims=(1, 2), tags=("cell",))(_sep(_k))
    register_op(f"dil_conv_{_k}x{_k}", dims=(1, 2), tags=("cell",))(_dil(_k))
for _k in (1, 3):
    register_op(f"conv_{_k}x{_k}", dims=(1, 2), tags=("cell",))(_conv(_k))
for _kind in ("max", "avg"):
    register_op(f"{_kind}_pool_3x3", dims=(1, 2), tags=("cell",))(_pool(_kind))


@register_op("factorized_reduce", dims=(1, 2), tags=("cell",))
def factorized_reduce(c_in: int, c_out: int, stride: int = 2, dims: int = 2, **_: Any) -> nn.Module:
    """Two offset strided 1x1 convolutions concatenated (DARTS); ReLU-1x1 conv-BN at stride 1."""
    _check("factorized_reduce", c_in, c_out, stride, dims)
    return _adapter(c_in, c_out, stride, dims)


__all__ = ["CELL_OPS"]
