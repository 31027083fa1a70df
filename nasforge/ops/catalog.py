"""The op catalog: every built-in op declared once, as a light record. No torch is imported here.

An :class:`OpSpec` says what an op is without building it: its name, the ``dims`` it supports (0
tabular ``N x F``, 1 signals ``N x C x L``, 2 images ``N x C x H x W``), whether it can reduce
(``stride=2``), whether it may change the width (``channels_in != channels_out``), its tags (which
spaces it is meant for: ``"chain"`` layer ops, ``"cell"`` DARTS / NAS-Bench-201 ops) and the keyword
options its factory takes. The factory itself is a lazy ``"module:attribute"`` reference, imported
(with torch) only when an op is created, so ``nasforge list ops`` and the spaces read op metadata
without torch. :data:`BUILTIN_OPS` is the one list of built-in ops; :mod:`nasforge.ops` registers it,
and a test checks each declaration against its factory's signature, so the two cannot drift apart.

Option defaults live in the factory signatures only (one source of truth); the catalog lists the
option names, which is what checking a call needs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nasforge.errors import ConfigError

#: activation names understood by the layer ops (and the chain space's ``activations``)
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "silu", "elu", "leaky_relu", "tanh", "none")
#: normalisation names understood by the layer ops (and the chain space's ``norms``)
NORMS: tuple[str, ...] = ("batch", "layer", "none")
#: input kind (spaces' ``input_kind``) -> op ``dims``
KIND_DIMS: dict[str, int] = {"1d": 1, "2d": 2, "tabular": 0}


@dataclass(frozen=True)
class OpSpec:
    """A registered op: its metadata and a (possibly lazy) factory.

    Attributes:
        name: the registry name.
        factory: a callable ``(channels_in, channels_out, stride, dims, **options) -> nn.Module`` or a
            ``"module:attribute"`` reference to one, resolved by :meth:`load`.
        dims: the ``dims`` the op supports (subset of {0, 1, 2}).
        reduces: the op accepts ``stride=2`` (halving every spatial size, rounding up).
        channel_change: ``channels_in != channels_out`` is allowed.
        tags: groups for spaces (``"chain"``, ``"cell"``, or a user's own).
        options: the keyword options the factory takes; ``None`` when the factory takes any keyword
            (a user factory with ``**kwargs``), which the registry then cannot check.
        summary: one line for ``nasforge list ops``.
    """

    name: str
    factory: Callable[..., Any] | str
    dims: frozenset[int]
    reduces: bool = True
    channel_change: bool = True
    tags: frozenset[str] = frozenset()
    options: frozenset[str] | None = frozenset()
    summary: str = ""

    def accepts(self, option: str) -> bool:
        """Whether the factory takes the keyword ``option``."""
        return self.options is None or option in self.options

    def select_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of ``values`` this op takes: how a builder maps a genotype's genes to options
        (e.g. a chain layer's ``kernel`` gene means nothing to ``identity``)."""
        return {k: v for k, v in values.items() if self.accepts(k)}

    def check_options(self, options: Iterable[str]) -> None:
        """Raise :class:`ConfigError` naming the op, every option it does not take and the ones it takes."""
        unknown = sorted(o for o in options if not self.accepts(o))
        if not unknown:
            return
        accepted = sorted(self.options or ())
        what = f"option {unknown[0]!r}" if len(unknown) == 1 else f"options {unknown}"
        hint = ""
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        takes = f"it takes {accepted}" if accepted else "it takes no options"
        raise ConfigError(f"op {self.name!r} does not take {what}; {takes}{hint}")

    def load(self) -> Callable[..., Any]:
        """The factory callable (imports its module the first time: this is where torch comes in)."""
        if isinstance(self.factory, str):
            from nasforge.registry import resolve

            return resolve(self.factory)
        return self.factory

    def supports_kind(self, kind: str) -> bool:
        """Whether the op builds for input kind ``"1d"``, ``"2d"`` or ``"tabular"``."""
        return KIND_DIMS.get(kind) in self.dims

    def describe(self) -> str:
        """``summary; dims 1,2; reduces; changes width; tags cell; options affine`` (``list ops``)."""
        parts = [self.summary] if self.summary else []
        parts.append("dims " + ",".join(str(d) for d in sorted(self.dims)))
        parts.append("reduces" if self.reduces else "stride 1 only")
        parts.append("changes width" if self.channel_change else "keeps width")
        if self.tags:
            parts.append("tags " + ",".join(sorted(self.tags)))
        if self.options is None:
            parts.append("options: any (unchecked)")
        else:
            parts.append("options " + (",".join(sorted(self.options)) if self.options else "none"))
        return "; ".join(parts)


def spec(
    name: str,
    factory: Callable[..., Any] | str,
    *,
    dims: Iterable[int] = (1, 2),
    reduces: bool = True,
    channel_change: bool = True,
    tags: Iterable[str] = (),
    options: Iterable[str] | None = (),
    summary: str = "",
) -> OpSpec:
    """An :class:`OpSpec` from plain arguments (checks ``dims``; the option set is frozen)."""
    dims = frozenset(dims)
    if not dims or not dims <= {0, 1, 2}:
        raise ConfigError(f"op {name!r}: dims must be a non-empty subset of [0, 1, 2], got {sorted(dims)}")
    frozen = None if options is None else frozenset(options)
    return OpSpec(name, factory, dims, bool(reduces), bool(channel_change), frozenset(tags), frozen, summary)


# ----------------------------------------------------------------------------- built-in ops
_LAYERS = "nasforge.ops.layers"
_CELL = "nasforge.ops.cell"
#: options of the convolution and pooling layer ops (the chain space's per-layer genes)
LAYER_OPTIONS: tuple[str, ...] = ("kernel_size", "activation", "norm", "dropout")
#: the option every cell op takes: ``affine`` batch norms (``False`` inside mixed ops, as in DARTS)
CELL_OPTIONS: tuple[str, ...] = ("affine",)


def _layer(name: str, summary: str, **kw: Any) -> OpSpec:
    kw.setdefault("options", LAYER_OPTIONS)
    return spec(name, f"{_LAYERS}:{name}", tags=("chain",), summary=summary, **kw)


def _cell(name: str, summary: str) -> OpSpec:
    return spec(name, f"{_CELL}:{name}", tags=("cell",), options=CELL_OPTIONS, summary=summary)


#: every built-in op, in listing order: chain layer ops, then the cell ops in DARTS order
BUILTIN_OPS: tuple[OpSpec, ...] = (
    _layer("conv", "convolution -> norm -> activation -> dropout"),
    _layer("sep_conv", "depthwise-separable convolution -> norm -> activation -> dropout"),
    _layer("dil_conv", "dilated convolution -> norm -> activation -> dropout",
           options=(*LAYER_OPTIONS, "dilation")),
    _layer("max_pool", "max pooling (a 1x1 projection if the width changes)"),
    _layer("avg_pool", "average pooling, padding excluded (a 1x1 projection if the width changes)"),
    _layer("identity", "the input (a strided 1x1 projection if the shape changes)", dims=(0, 1, 2),
           options=("norm",)),
    _layer("dense", "linear -> norm -> activation -> dropout on tabular features", dims=(0,),
           reduces=False, options=("activation", "norm", "dropout")),
    _cell("none", "zeros: no connection"),
    _cell("skip_connect", "identity; factorized reduce at stride 2"),
    _cell("sep_conv_3x3", "two stacked ReLU-separable 3x3 conv-BN blocks"),
    _cell("sep_conv_5x5", "two stacked ReLU-separable 5x5 conv-BN blocks"),
    _cell("dil_conv_3x3", "ReLU, dilation-2 depthwise 3x3 conv, 1x1 conv, BN"),
    _cell("dil_conv_5x5", "ReLU, dilation-2 depthwise 5x5 conv, 1x1 conv, BN"),
    _cell("max_pool_3x3", "3x3 max pooling"),
    _cell("avg_pool_3x3", "3x3 average pooling, padding excluded"),
    _cell("conv_1x1", "ReLU, 1x1 conv, BN"),
    _cell("conv_3x3", "ReLU, 3x3 conv, BN"),
    _cell("factorized_reduce", "two offset strided 1x1 convolutions"),
)
#: the cell ops in DARTS order (``none`` first)
CELL_OPS: tuple[str, ...] = tuple(s.name for s in BUILTIN_OPS if "cell" in s.tags)


__all__ = [
    "ACTIVATIONS",
    "BUILTIN_OPS",
    "CELL_OPS",
    "CELL_OPTIONS",
    "KIND_DIMS",
    "LAYER_OPTIONS",
    "NORMS",
    "OpSpec",
    "spec",
]
