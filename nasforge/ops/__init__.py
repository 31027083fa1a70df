"""Op registry: name -> :class:`OpSpec`, whose factory is ``(channels_in, channels_out, stride, dims,
**options) -> nn.Module``.

``dims`` is 1 (signals, ``N x C x L``), 2 (images, ``N x C x H x W``) or 0 (tabular, ``N x F``; channels
are features). The built-in ops are declared once, in :data:`nasforge.ops.catalog.BUILTIN_OPS`, as
records pointing at lazy ``"module:factory"`` references: querying the registry (:func:`get_op`,
:func:`list_ops`) never imports torch; :func:`create_op` imports the factory's module the first time.

:func:`create_op` checks the call against the record before building: the ``dims``, ``stride=2``
only for ops that reduce, a width change only where allowed, and every keyword option against the
options the op takes (an unknown or misspelled option is a :class:`~nasforge.errors.ConfigError`
naming the op, the option and the accepted ones, never silently ignored). Users add ops with
:func:`register_op`; such an op is listed, checked and usable by the spaces like a built-in one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from nasforge.errors import ConfigError, RegistryError
from nasforge.ops.catalog import BUILTIN_OPS, OpSpec, spec
from nasforge.registry import Registry

OPS: Registry[OpSpec] = Registry("op")
for _spec in BUILTIN_OPS:
    OPS.register(_spec.name, _spec)

_FIXED = 4  # channels_in, channels_out, stride, dims


def _signature_options(name: str, factory: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword options of a factory ``(c_in, c_out, stride, dims, **options)``; ``None`` if it takes
    ``**kwargs`` (or its signature cannot be read)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < _FIXED and not any(p.kind == p.VAR_POSITIONAL for p in params):
        raise ConfigError(
            f"op {name!r}: the factory must take (channels_in, channels_out, stride, dims, **options) "
            f"positionally, got parameters {[p.name for p in params]}"
        )
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    rest = positional[_FIXED:] + [p for p in params if p.kind == p.KEYWORD_ONLY]
    return frozenset(p.name for p in rest)


def register_op(
    name: str,
    factory: Callable[..., Any] | str | None = None,
    *,
    dims: Iterable[int] = (1, 2),
    reduces: bool = True,
    channel_change: bool = True,
    tags: Iterable[str] = (),
    options: Iterable[str] | None = None,
    summary: str = "",
    overwrite: bool = False,
) -> Any:
    """Register an op factory ``(c_in, c_out, stride, dims, **options) -> nn.Module``.

    Used as a decorator (``@register_op("my_op", dims=(1, 2))``) or called with ``factory``, which may be
    a callable or a lazy ``"package.module:attribute"`` reference. ``options`` are the keyword options
    the factory takes; by default they are read from a callable's signature (a factory with
    ``**kwargs`` takes any option, unchecked). A lazy reference needs ``options`` given, since reading
    its signature would import it. Registering another factory under a taken name needs
    ``overwrite=True``. Returns the factory (so the decorator leaves the function as it was).
    """

    def deco(fn: Callable[..., Any] | str) -> Callable[..., Any] | str:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"op name must be a non-empty string, got {name!r}")
        if isinstance(fn, str):
            if options is None:
                raise ConfigError(
                    f"op {name!r}: a lazy factory reference {fn!r} needs options=[...] (the keyword options "
                    "it takes; [] for none)"
                )
            taken: Iterable[str] | None = options
        elif callable(fn):
            taken = _signature_options(name, fn) if options is None else options
        else:
            raise ConfigError(f"op {name!r}: factory must be a callable or 'module:attribute', got {fn!r}")
        new = spec(name, fn, dims=dims, reduces=reduces, channel_change=channel_change, tags=tags,
                   options=taken, summary=summary or _first_line(fn))
        if name in OPS and not overwrite and OPS.get(name) != new:
            raise RegistryError(f"op {name!r} is already registered; pass overwrite=True to replace it")
        OPS.register(name, new, overwrite=True)
        return fn

    return deco(factory) if factory is not None else deco


def _first_line(fn: Any) -> str:
    doc = inspect.getdoc(fn) if callable(fn) else None
    return doc.strip().splitlines()[0] if doc else ""


def get_op(name: str) -> OpSpec:
    """The :class:`OpSpec` of ``name``; raises :class:`RegistryError` listing the known ops."""
    return OPS.get(name)


def create_op(
    name: str, channels_in: int, channels_out: int, stride: int = 1, dims: int = 1, **options: Any
) -> Any:
    """Instantiate op ``name`` (imports its factory); raises :class:`RegistryError` for an unknown op and
    ``ConfigError`` for a use its record does not allow (``dims``, stride, width change, an option)."""
    op = get_op(name)
    if dims not in op.dims:
        raise ConfigError(f"op {name!r} supports dims {sorted(op.dims)}, got dims={dims}")
    if stride != 1 and not op.reduces:
        raise ConfigError(f"op {name!r} cannot reduce (stride must be 1), got stride={stride}")
    if channels_in != channels_out and not op.channel_change:
        raise ConfigError(
            f"op {name!r} keeps channels, got channels_in={channels_in} != channels_out={channels_out}"
        )
    op.check_options(options)
    return op.load()(channels_in, channels_out, stride, dims, **options)


def list_ops(dims: int | None = None, tag: str | None = None) -> list[str]:
    """Names of registered ops, sorted, optionally only those supporting ``dims`` / carrying ``tag``."""
    return [
        n
        for n in OPS.names()
        if (dims is None or dims in OPS.get(n).dims) and (tag is None or tag in OPS.get(n).tags)
    ]


__all__ = ["OPS", "OpSpec", "create_op", "get_op", "list_ops", "register_op"]
