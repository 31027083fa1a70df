"""DARTS / NAS-Bench-201 cell ops for 1-D signals and 2-D images (tag ``cell``).

Every factory has the registry signature ``(c_in, c_out, stride, dims, affine=True)``, keeps spatial
size ``ceil(size / stride)`` for any input size (odd sizes included) and accepts a change of width, so
the cell builders can wire any op to any block input. ``affine`` (the one option of every cell op)
gives the op's batch norms learnable scale and shift; a one-shot supernet builds its mixed ops with
``affine=False``, as DARTS does (an op without batch norm, such as ``none``, has nothing to change).
The ops are declared (name, dims, tags, options) in :mod:`nasforge.ops.catalog`; this module holds
their factories, built on the primitives of :mod:`nasforge.ops.primitives`. Every module is
``torch.fx``-traceable.

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

from collections.abc import Callable

from torch import nn

from nasforge.checks import check_choice, check_int
from nasforge.ops.catalog import CELL_OPS
from nasforge.ops.primitives import DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero, pool_nd

Factory = Callable[..., nn.Module]


def _check(name: str, c_in: int, c_out: int, stride: int, dims: int, affine: bool) -> None:
    for label, value in (("channels_in", c_in), ("channels_out", c_out)):
        check_int(f"op {name!r}: {label}", value, 1)
    check_choice(f"op {name!r}: stride", stride, (1, 2))
    check_choice(f"op {name!r}: dims", dims, (1, 2))
    check_choice(f"op {name!r}: affine", affine, (True, False))


def _adapter(c_in: int, c_out: int, stride: int, dims: int, affine: bool) -> nn.Module:
    """Shape adapter used by skip/pool ops: factorized reduce at stride 2, else ReLU-1x1-BN."""
    if stride == 2 and c_out >= 2:
        return FactorizedReduce(c_in, c_out, dims, affine)
    return ReLUConvBN(c_in, c_out, 1, stride, 0, dims, affine)


def none(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
    """The zero op: no connection. Strided zeros of width ``c_out``."""
    _check("none", c_in, c_out, stride, dims, affine)
    return Zero(stride, dims, None if c_in == c_out else c_out)


def skip_connect(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
    """Identity; factorized reduce when ``stride == 2``; ReLU-1x1 conv-BN when only the width changes."""
    _check("skip_connect", c_in, c_out, stride, dims, affine)
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return _adapter(c_in, c_out, stride, dims, affine)


def _sep(kernel: int) -> Factory:
    name = f"sep_conv_{kernel}x{kernel}"

    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
        _check(name, c_in, c_out, stride, dims, affine)
        return SepConv(c_in, c_out, kernel, stride, kernel // 2, dims, affine)

    factory.__doc__ = f"Two stacked ReLU-separable {kernel}x{kernel} conv-BN blocks (the first strides)."
    factory.__name__ = factory.__qualname__ = name
    return factory


def _dil(kernel: int) -> Factory:
    name = f"dil_conv_{kernel}x{kernel}"

    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
        _check(name, c_in, c_out, stride, dims, affine)
        return DilConv(c_in, c_out, kernel, stride, kernel - 1, 2, dims, affine)

    factory.__doc__ = f"ReLU, dilation-2 depthwise {kernel}x{kernel} conv, 1x1 conv, BN."
    factory.__name__ = factory.__qualname__ = name
    return factory


def _conv(kernel: int) -> Factory:
    name = f"conv_{kernel}x{kernel}"

    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
        _check(name, c_in, c_out, stride, dims, affine)
        return ReLUConvBN(c_in, c_out, kernel, stride, kernel // 2, dims, affine)

    factory.__doc__ = f"ReLU, {kernel}x{kernel} conv, BN (NAS-Bench-201 ``nor_conv_{kernel}x{kernel}``)."
    factory.__name__ = factory.__qualname__ = name
    return factory


def _pool(kind: str) -> Factory:
    name = f"{kind}_pool_3x3"

    def factory(c_in: int, c_out: int, stride: int = 1, dims: int = 2, affine: bool = True) -> nn.Module:
        _check(name, c_in, c_out, stride, dims, affine)
        cls = pool_nd(kind, dims)
        pool = (
            cls(3, stride=stride, padding=1, count_include_pad=False)
            if kind == "avg"
            else cls(3, stride=stride, padding=1)
        )
        if c_in == c_out:
            return pool
        return nn.Sequential(pool, ReLUConvBN(c_in, c_out, 1, 1, 0, dims, affine))

    factory.__doc__ = f"{kind.capitalize()} pooling 3x3 (padding 1); a ReLU-1x1 conv-BN on a width change."
    factory.__name__ = factory.__qualname__ = name
    return factory


sep_conv_3x3 = _sep(3)
sep_conv_5x5 = _sep(5)
dil_conv_3x3 = _dil(3)
dil_conv_5x5 = _dil(5)
conv_1x1 = _conv(1)
conv_3x3 = _conv(3)
max_pool_3x3 = _pool("max")
avg_pool_3x3 = _pool("avg")


def factorized_reduce(
    c_in: int, c_out: int, stride: int = 2, dims: int = 2, affine: bool = True
) -> nn.Module:
    """Two offset strided 1x1 convolutions concatenated (DARTS); ReLU-1x1 conv-BN at stride 1."""
    _check("factorized_reduce", c_in, c_out, stride, dims, affine)
    return _adapter(c_in, c_out, stride, dims, affine)


__all__ = ["CELL_OPS", *CELL_OPS]
