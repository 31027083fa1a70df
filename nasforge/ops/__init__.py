"""Op registry: name -> factory ``(channels_in, channels_out, stride, dims, **options) -> nn.Module``.

``dims`` is 1 (signals, ``N x C x L``), 2 (images, ``N x C x H x W``) or 0 (tabular, ``N x F``; channels
are features). Ops are registered with :func:`register_op` in the modules listed in
``_BUILTIN_MODULES``, which are imported the first time the registry is queried (importing
``nasforge`` does not import torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nasforge.errors import RegistryError

_BUILTIN_MODULES = ("nasforge.ops.basic", "nasforge.ops.cell")


@dataclass(frozen=True)
class OpSpec:
    """A registered op: its factory and the ``dims`` it supports.

    ``reduces``: the op can take ``stride=2``; ``channel_change``: ``channels_in != channels_out``
    is allowed. ``tags`` group ops for spaces (``"chain"``, ``"cell"``, ...).
    """

    name: str
    factory: Callable[..., Any]
    dims: frozenset[int]
    reduces: bool = True
    channel_change: bool = True
    tags: frozenset[str] = frozenset()


_OPS: dict[str, OpSpec] = {}
_loaded = False


def register_op(
    name: str,
    *,
    dims: tuple[int, ...] = (1, 2),
    reduces: bool = True,
    channel_change: bool = True,
    tags: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering an op factory ``(c_in, c_out, stride, dims, **options) -> nn.Module``."""

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _OPS and _OPS[name].factory is not factory:
            raise RegistryError(f"op {name!r} is already registered")
        _OPS[name] = OpSpec(name, factory, frozenset(dims), reduces, channel_change, frozenset(tags))
        return factory

    return deco


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)


def get_op(name: str) -> OpSpec:
    """The :class:`OpSpec` of ``name``; raises :class:`RegistryError` listing the known ops."""
    _load()
    if name not in _OPS:
        raise RegistryError(f"unknown op {name!r}; expected one of: {', '.join(sorted(_OPS))}")
    return _OPS[name]


def create_op(
    name: str, channels_in: int, channels_out: int, stride: int = 1, dims: int = 1, **options: Any
) -> Any:
    """Instantiate op ``name``; raises :class:`RegistryError`/``ConfigError`` on unsupported use."""
    from nasforge.errors import ConfigError

    spec = get_op(name)
    if dims not in spec.dims:
        raise ConfigError(f"op {name!r} supports dims {sorted(spec.dims)}, got dims={dims}")
    if stride != 1 and not spec.reduces:
        raise ConfigError(f"op {name!r} cannot reduce (stride must be 1), got stride={stride}")
    if channels_in != channels_out and not spec.channel_change:
        raise ConfigError(
            f"op {name!r} keeps channels, got channels_in={channels_in} != channels_out={channels_out}"
        )
    return spec.factory(channels_in, channels_out, stride, dims, **options)


def list_ops(dims: int | None = None, tag: str | None = None) -> list[str]:
    """Names of registered ops, optionally only those supporting ``dims`` / carrying ``tag``."""
    _load()
    return sorted(
        n
        for n, s in _OPS.items()
        if (dims is None or dims in s.dims) and (tag is None or tag in s.tags)
    )


__all__ = ["OpSpec", "create_op", "get_op", "list_ops", "register_op"]
