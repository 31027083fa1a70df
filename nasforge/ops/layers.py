"""Layer ops for 1-D signals, 2-D images and tabular data (tag ``chain``): the chain space's layers.

Factories ``(c_in, c_out, stride, dims, **options) -> nn.Module``, declared in
:data:`nasforge.ops.catalog.BUILTIN_OPS` (their metadata lives there, not here):

* ``conv``, ``sep_conv``, ``dil_conv``: convolution -> norm -> activation -> dropout (dims 1, 2)
* ``max_pool``, ``avg_pool``: pooling (then a 1x1 projection if the width changes) (dims 1, 2)
* ``identity``: the input itself (a strided 1x1 projection if the shape changes) (dims 0, 1, 2)
* ``dense``: linear -> norm -> activation -> dropout (dims 0, tabular)

Options, each taken only by the ops that use it (see the catalog, or ``nasforge list ops``):
``kernel_size`` (odd, default 3; convolutions and pools), ``activation`` (see
:data:`~nasforge.ops.primitives.ACTIVATIONS`; not ``identity``), ``norm`` (see
:data:`~nasforge.ops.primitives.NORMS`), ``dropout`` (probability in ``[0, 1)``; not ``identity``),
``dilation`` (``dil_conv`` only, default 2). A pool only uses ``activation``/``norm``/``dropout`` in
the projection it adds when the width changes. Every factory rejects keywords it does not take.
"""

from __future__ import annotations

from torch import nn

from nasforge.checks import check_int, check_probability
from nasforge.errors import ConfigError
from nasforge.ops.primitives import check_dims, conv_nd, make_activation, make_norm, pool_nd, projection


def _check_common(c_in: int, c_out: int, stride: int, kernel_size: int, dropout: float) -> None:
    for label, value in (("channels_in", c_in), ("channels_out", c_out), ("stride", stride)):
        check_int(label, value, 1)
    check_int("kernel_size", kernel_size, 1)
    if kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be odd (shape-preserving padding), got {kernel_size}")
    check_probability("dropout", dropout)


def _post(c_out: int, dims: int, norm: str, activation: str, dropout: float) -> list[nn.Module]:
    """norm -> activation -> dropout, leaving out the parts that are ``none`` / zero."""
    norm_layer = make_norm(norm, c_out, dims)
    act_layer = make_activation(activation)
    layers = [m for m in (norm_layer, act_layer) if not isinstance(m, nn.Identity)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return layers


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
    conv_cls = conv_nd(dims)
    padding = dilation * (kernel_size - 1) // 2
    bias = norm == "none"
    if separable:
        layers: list[nn.Module] = [
            conv_cls(c_in, c_in, kernel_size, stride=stride, padding=padding, groups=c_in, bias=False),
            conv_cls(c_in, c_out, 1, bias=bias),
        ]
    else:
        layers = [conv_cls(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                           bias=bias)]
    return nn.Sequential(*layers, *_post(c_out, dims, norm, activation, dropout))


def conv(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """Convolution -> norm -> activation -> dropout."""
    return _conv_layer(c_in, c_out, stride, dims, kernel_size=kernel_size, activation=activation,
                       norm=norm, dropout=dropout)


def sep_conv(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """Depthwise-separable convolution (depthwise k x k, pointwise 1x1) -> norm -> act -> dropout."""
    return _conv_layer(c_in, c_out, stride, dims, kernel_size=kernel_size, activation=activation,
                       norm=norm, dropout=dropout, separable=True)


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
) -> nn.Module:
    """Dilated convolution (dilation 2 by default) -> norm -> activation -> dropout."""
    check_int("dilation", dilation, 1)
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


def max_pool(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """Max pooling; if the width changes, a 1x1 conv -> norm -> activation follows."""
    return _pool_layer("max", c_in, c_out, stride, dims, kernel_size, activation, norm, dropout)


def avg_pool(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 1,
    kernel_size: int = 3,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """Average pooling (padding excluded); if the width changes, 1x1 conv -> norm -> activation."""
    return _pool_layer("avg", c_in, c_out, stride, dims, kernel_size, activation, norm, dropout)


def identity(c_in: int, c_out: int, stride: int = 1, dims: int = 1, norm: str = "batch") -> nn.Module:
    """The input unchanged; a strided 1x1 projection with a norm if the shape must change."""
    _check_common(c_in, c_out, stride, 1, 0.0)
    if c_in == c_out and stride == 1:
        return nn.Identity()
    return projection(c_in, c_out, stride, dims, norm=norm)


def dense(
    c_in: int,
    c_out: int,
    stride: int = 1,
    dims: int = 0,
    activation: str = "relu",
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """Linear -> norm -> activation -> dropout on ``N x F`` tabular features."""
    _check_common(c_in, c_out, stride, 1, dropout)
    if stride != 1:
        raise ConfigError(f"dense cannot reduce (stride must be 1), got stride={stride}")
    check_dims(dims, (0,))
    return nn.Sequential(nn.Linear(c_in, c_out, bias=norm == "none"),
                         *_post(c_out, 0, norm, activation, dropout))


__all__ = ["avg_pool", "conv", "dense", "dil_conv", "identity", "max_pool", "sep_conv"]
