"""One registry pattern for ops, spaces, strategies, evaluators, executors, model builders and tasks.

A :class:`Registry` maps a name to either an object or a lazy ``"module:attribute"`` string, so the
built-in entries are listed in one place without importing their modules (nothing heavy is imported
until an entry is created). Users extend a registry with the :meth:`Registry.register` decorator.
The op registry (:mod:`nasforge.ops`) holds light :class:`~nasforge.ops.catalog.OpSpec` records
whose factories are such lazy references, resolved with :func:`resolve` when an op is created, so
op metadata is readable without importing torch.
An entry may note the optional packages it needs (``requires``): :meth:`Registry.missing` says which of
them are not installed without importing anything (``nasforge list`` shows it).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from nasforge.errors import RegistryError

T = TypeVar("T")

#: optional package (import name) -> the nasforge extra that installs it
EXTRAS = {"optuna": "bench", "nas_bench_graph": "bench", "ray": "ray"}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (looked up, not imported; a blocked one counts as absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class Registry(Generic[T]):
    """Name -> factory, with lazy built-ins.

    Args:
        kind: what the registry holds, used in error messages ("space", "strategy", ...).
        builtins: name -> ``"package.module:Attribute"`` resolved on first use.
        requires: name -> the optional packages (import names) the entry needs.
    """

    def __init__(self, kind: str, builtins: dict[str, str] | None = None,
                 requires: dict[str, tuple[str, ...]] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = dict(builtins or {})
        self._requires: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (requires or {}).items()}

    def requires(self, name: str) -> tuple[str, ...]:
        """The optional packages entry ``name`` needs (``()`` when none)."""
        return self._requires.get(name, ())

    def missing(self, name: str) -> list[str]:
        """The packages entry ``name`` needs that are not installed (nothing is imported)."""
        return [module for module in self.requires(name) if not installed(module)]

    def register(self, name: str, obj: T | None = None, *, overwrite: bool = False) -> Any:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``."""

        def deco(value: T) -> T:
            if name in self._entries and not overwrite and self._entries[name] is not value:
                current = self._entries[name]
                if not (isinstance(current, str) and _qualname(value) == current):
                    raise RegistryError(
                        f"{self.kind} {name!r} is already registered; pass overwrite=True to replace it"
                    )
            self._entries[name] = value
            return value

        return deco(obj) if obj is not None else deco

    def get(self, name: str) -> T:
        """The registered object (class or factory) for ``name``; raises :class:`RegistryError`."""
        if not isinstance(name, str) or name not in self._entries:
            close = difflib.get_close_matches(str(name), list(self._entries), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}; expected one of: {', '.join(self.names())}.{hint}"
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = resolve(entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """Instantiate the entry ``name`` with keyword arguments."""
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        return factory(**kwargs)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def resolve(reference: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names (imports the module)."""
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
