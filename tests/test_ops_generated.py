"""Generated from the op registry: every op, for each of its dims, runs forward and backward."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasforge.errors import ConfigError, RegistryError  # noqa: E402
from nasforge.ops import create_op, get_op, list_ops  # noqa: E402

SHAPES = {0: (4, 6), 1: (4, 6, 9), 2: (4, 6, 7, 7)}
CASES = [(name, dims) for name in list_ops() for dims in sorted(get_op(name).dims)]


def _c_out(name: str) -> int:
    return 8 if get_op(name).channel_change else 6


@pytest.mark.parametrize(("name", "dims"), CASES, ids=[f"{n}-{d}d" for n, d in CASES])
def test_forward_backward(name: str, dims: int) -> None:
    torch.manual_seed(0)
    op = create_op(name, 6, _c_out(name), 1, dims)
    x = torch.randn(*SHAPES[dims], requires_grad=True)
    out = op(x)
    assert out.shape[0] == 4 and out.shape[1] == _c_out(name)
    assert out.shape[2:] == x.shape[2:], f"{name} must keep the spatial size at stride 1"
    out.float().pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    grads = [p.grad for p in op.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


REDUCING = [(n, d) for n, d in CASES if d > 0 and get_op(n).reduces]


@pytest.mark.parametrize(("name", "dims"), REDUCING, ids=[f"{n}-{d}d" for n, d in REDUCING])
def test_stride_two_halves_spatial_size(name: str, dims: int) -> None:
    op = create_op(name, 6, _c_out(name), 2, dims)
    x = torch.randn(*SHAPES[dims])
    out = op(x)
    assert tuple(out.shape[2:]) == tuple((s + 1) // 2 for s in x.shape[2:])


def test_unsupported_use_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dims"):
        create_op("dense", 4, 4, 1, 1)
    with pytest.raises(ConfigError, match="stride"):
        create_op("dense", 4, 4, 2, 0)
    with pytest.raises(ConfigError, match="odd"):
        create_op("conv", 4, 4, 1, 1, kernel_size=4)
    with pytest.raises(ConfigError, match="activation"):
        create_op("conv", 4, 4, 1, 1, activation="swishy")
    with pytest.raises(RegistryError, match="unknown op"):
        get_op("no-such-op")


def test_basic_primitives_shapes() -> None:
    from nasforge.ops.basic import DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero

    for dims in (1, 2):
        x = torch.randn(2, 4, *([7] * dims))
        half = tuple([4] * dims)
        assert FactorizedReduce(4, 6, dims)(x).shape == (2, 6, *half)
        assert SepConv(4, 5, 3, 2, 1, dims)(x).shape == (2, 5, *half)
        assert DilConv(4, 5, 3, 1, 2, 2, dims)(x).shape == (2, 5, *x.shape[2:])
        assert ReLUConvBN(4, 5, 1, 1, 0, dims)(x).shape == (2, 5, *x.shape[2:])
        z = Zero(2, dims)(x)
        assert z.shape == (2, 4, *half) and not z.any()
