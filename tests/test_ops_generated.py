"""Generated from the op registry: every registered op (built-in or registered by a user before the
tests are collected) runs forward and backward on each of its dims, halves the size at stride 2 where
it reduces, changes width where allowed, traces with torch.fx, and rejects options it does not take.
The catalog's declarations are checked against the factories' signatures."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from nasforge.errors import ConfigError, RegistryError  # noqa: E402
from nasforge.ops import OPS, create_op, get_op, list_ops, register_op  # noqa: E402
from nasforge.ops.catalog import BUILTIN_OPS  # noqa: E402

SHAPES = {0: (4, 6), 1: (4, 6, 9), 2: (4, 6, 7, 7)}
CASES = [(name, dims) for name in list_ops() for dims in sorted(get_op(name).dims)]
IDS = [f"{n}-{d}d" for n, d in CASES]
NAMES = list_ops()


def _c_out(name: str) -> int:
    return 8 if get_op(name).channel_change else 6


@pytest.mark.parametrize(("name", "dims"), CASES, ids=IDS)
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


@pytest.mark.parametrize(("name", "dims"), CASES, ids=IDS)
def test_traces_with_fx_to_the_same_function(name: str, dims: int) -> None:
    op = create_op(name, 6, _c_out(name), 1, dims).eval()
    x = torch.randn(*SHAPES[dims])
    traced = torch.fx.symbolic_trace(op)
    assert torch.allclose(traced(x), op(x))


REDUCING = [(n, d) for n, d in CASES if d > 0 and get_op(n).reduces]
FIXED_STRIDE = [(n, d) for n, d in CASES if not get_op(n).reduces]


@pytest.mark.parametrize(("name", "dims"), REDUCING, ids=[f"{n}-{d}d" for n, d in REDUCING])
def test_stride_two_halves_spatial_size(name: str, dims: int) -> None:
    op = create_op(name, 6, _c_out(name), 2, dims)
    x = torch.randn(*SHAPES[dims])
    out = op(x)
    assert tuple(out.shape[2:]) == tuple((s + 1) // 2 for s in x.shape[2:])


@pytest.mark.parametrize(("name", "dims"), FIXED_STRIDE, ids=[f"{n}-{d}d" for n, d in FIXED_STRIDE])
def test_ops_that_do_not_reduce_refuse_stride_two(name: str, dims: int) -> None:
    with pytest.raises(ConfigError, match=rf"op '{name}' cannot reduce"):
        create_op(name, 6, 6, 2, dims)


@pytest.mark.parametrize("name", NAMES)
def test_width_change_only_where_allowed(name: str) -> None:
    spec = get_op(name)
    dims = min(spec.dims)
    x = torch.randn(*SHAPES[dims])
    if spec.channel_change:
        assert create_op(name, 6, 3, 1, dims)(x).shape[1] == 3
    else:
        with pytest.raises(ConfigError, match="keeps channels"):
            create_op(name, 6, 3, 1, dims)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_rejected_naming_op_option_and_accepted_ones(name: str) -> None:
    spec = get_op(name)
    if spec.options is None:
        pytest.skip(f"op {name!r} takes any keyword (its factory has **kwargs)")
    dims = min(spec.dims)
    with pytest.raises(ConfigError) as info:
        create_op(name, 6, 6, 1, dims, no_such_option=1)
    message = str(info.value)
    assert f"op {name!r}" in message and "'no_such_option'" in message
    assert all(repr(o) in message for o in spec.options) or "takes no options" in message
    for option in spec.options:  # a misspelling is caught and the intended option suggested
        with pytest.raises(ConfigError, match=rf"did you mean '{option}'"):
            create_op(name, 6, 6, 1, dims, **{option + "s": 1})


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_option_is_taken_at_its_default(name: str) -> None:
    """Passing each declared option explicitly with the factory's default builds the same op."""
    spec = get_op(name)
    params = inspect.signature(spec.load()).parameters
    dims = min(spec.dims)
    defaults = {o: params[o].default for o in sorted(spec.options or ())}
    torch.manual_seed(0)
    plain = create_op(name, 6, _c_out(name), 1, dims)
    torch.manual_seed(0)
    explicit = create_op(name, 6, _c_out(name), 1, dims, **defaults)
    assert repr(plain) == repr(explicit)


@pytest.mark.parametrize("spec", BUILTIN_OPS, ids=[s.name for s in BUILTIN_OPS])
def test_catalog_declares_exactly_the_factory_options(spec: object) -> None:
    """The catalog is the one list of op metadata: its option names must be the factory's keywords."""
    from nasforge.ops import _signature_options

    factory = spec.load()
    assert _signature_options(spec.name, factory) == spec.options, spec.name
    assert isinstance(spec.factory, str), "built-in factories stay lazy (no torch to read the catalog)"
    assert factory.__name__ == spec.name


AFFINE = [n for n in NAMES if get_op(n).accepts("affine") and get_op(n).options is not None]


@pytest.mark.parametrize("name", AFFINE)
def test_affine_false_leaves_no_learnable_norm_parameters(name: str) -> None:
    """Mixed ops of a one-shot supernet are built with ``affine=False`` (DARTS)."""
    for stride in (1, 2) if get_op(name).reduces else (1,):
        op = create_op(name, 6, 8, stride, 1, affine=False)
        norms = [m for m in op.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        assert all(m.weight is None and m.bias is None for m in norms), (name, stride)
        with_affine = create_op(name, 6, 8, stride, 1)
        extra = sum(p.numel() for p in with_affine.parameters()) - sum(p.numel() for p in op.parameters())
        assert extra == 2 * sum(m.num_features for m in norms)


def test_unsupported_use_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dims"):
        create_op("dense", 4, 4, 1, 1)
    with pytest.raises(ConfigError, match="stride"):
        create_op("dense", 4, 4, 2, 0)
    with pytest.raises(ConfigError, match="odd"):
        create_op("conv", 4, 4, 1, 1, kernel_size=4)
    with pytest.raises(ConfigError, match="activation"):
        create_op("conv", 4, 4, 1, 1, activation="swishy")
    takes_norm = r"op 'identity' does not take option 'kernel_size'; it takes \['norm'\]"
    with pytest.raises(ConfigError, match=takes_norm):
        create_op("identity", 4, 4, 1, 1, kernel_size=3)
    with pytest.raises(RegistryError, match="unknown op"):
        get_op("no-such-op")
    with pytest.raises(TypeError):  # the factories themselves take no stray keywords either
        get_op("conv").load()(4, 4, 1, 1, kernel=3)


def test_basic_primitives_shapes() -> None:
    from nasforge.ops.primitives import DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero

    for dims in (1, 2):
        x = torch.randn(2, 4, *([7] * dims))
        half = tuple([4] * dims)
        assert FactorizedReduce(4, 6, dims)(x).shape == (2, 6, *half)
        assert SepConv(4, 5, 3, 2, 1, dims)(x).shape == (2, 5, *half)
        assert DilConv(4, 5, 3, 1, 2, 2, dims)(x).shape == (2, 5, *x.shape[2:])
        assert ReLUConvBN(4, 5, 1, 1, 0, dims)(x).shape == (2, 5, *x.shape[2:])
        z = Zero(2, dims)(x)
        assert z.shape == (2, 4, *half) and not z.any()


def test_activation_and_norm_names_have_one_source() -> None:
    from nasforge.ops import catalog, primitives

    assert tuple(primitives.ACTIVATIONS) == catalog.ACTIVATIONS
    assert primitives.NORMS == catalog.NORMS
    for norm in catalog.NORMS:
        primitives.make_norm(norm, 4, 1)


def test_op_metadata_and_chain_space_need_no_torch() -> None:
    code = (
        "import sys\n"
        "from nasforge.ops import get_op, list_ops\n"
        "from nasforge.cli.list_cmd import names\n"
        "import nasforge.space as s\n"
        "assert get_op('dense').dims == {0} and 'conv' in list_ops(dims=1, tag='chain')\n"
        "assert any(n == 'conv' and 'kernel_size' in note for n, note in names('ops'))\n"
        "s.create('chain', input_kind='tabular'); s.create('chain', ops=['conv', 'sep_conv_3x3'])\n"
        "s.create('nasnet'); s.create('edge-cell'); s.create('multibranch')\n"
        "assert 'torch' not in sys.modules, 'reading op metadata imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------- user ops
@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """User ops registered in a test vanish afterwards (the registry is process-global)."""
    monkeypatch.setattr(OPS, "_entries", dict(OPS._entries))


def test_user_op_is_checked_listed_and_usable_by_the_chain_space(scratch_registry: None) -> None:
    from tiny import tiny_task

    import nasforge.space as spaces
    from nasforge.models import build

    @register_op("gated_conv", dims=(1,), tags=("chain",))
    def gated_conv(c_in: int, c_out: int, stride: int = 1, dims: int = 1, kernel_size: int = 3,
                   gate: str = "sigmoid") -> torch.nn.Module:
        """A convolution times a sigmoid gate."""
        return torch.nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2)

    spec = get_op("gated_conv")
    assert spec.options == {"kernel_size", "gate"} and spec.summary.startswith("A convolution")
    assert "gated_conv" in list_ops(dims=1, tag="chain") and "gated_conv" not in list_ops(dims=2)
    assert create_op("gated_conv", 2, 3, 2, 1, kernel_size=5)(torch.randn(1, 2, 9)).shape == (1, 3, 5)
    with pytest.raises(ConfigError, match=r"'gated_conv' does not take option 'gates'.*did you mean 'gate'"):
        create_op("gated_conv", 2, 3, 1, 1, gates="tanh")
    with pytest.raises(ConfigError, match="dims"):
        create_op("gated_conv", 2, 3, 1, 2)
    # the chain space reads its dims from the registry; the builder passes only the genes it takes
    space = spaces.create("chain", ops=["gated_conv", "identity"], min_layers=1, max_layers=2)
    with pytest.raises(ConfigError, match="input_kind='2d'"):
        spaces.create("chain", ops=["gated_conv"], input_kind="2d")
    import numpy as np

    arch = space.sample(np.random.default_rng(0))
    assert build(space, arch, tiny_task("1d", n=30))(torch.zeros(2, 1, 16)).shape == (2, 3)
    # the same name again: fine for the same factory, an error for another one
    register_op("gated_conv", gated_conv, dims=(1,), tags=("chain",))
    with pytest.raises(RegistryError, match="already registered"):
        register_op("gated_conv", lambda a, b, c, d: None)
    register_op("gated_conv", lambda a, b, c, d: torch.nn.Identity(), overwrite=True)
    assert get_op("gated_conv").options == frozenset()


def test_user_op_registration_forms(scratch_registry: None) -> None:
    def loose(c_in: int, c_out: int, stride: int, dims: int, **kwargs: object) -> torch.nn.Module:
        return torch.nn.Identity()

    register_op("loose", loose)
    assert get_op("loose").options is None  # takes anything: nothing to check
    create_op("loose", 3, 3, 1, 1, whatever=1)
    with pytest.raises(ConfigError, match="needs options"):
        register_op("lazy", "nasforge.ops.layers:conv")
    register_op("lazy", "nasforge.ops.layers:conv", options=["kernel_size"], tags=("chain",))
    assert create_op("lazy", 2, 2, 1, 1, kernel_size=5)[0].kernel_size == (5,)
    with pytest.raises(ConfigError, match="does not take option 'norm'"):
        create_op("lazy", 2, 2, 1, 1, norm="none")
    with pytest.raises(ConfigError, match="positionally"):
        register_op("short", lambda c_in, c_out: None)
    with pytest.raises(ConfigError, match="dims"):
        register_op("flat", loose, dims=(3,))
