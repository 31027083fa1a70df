"""Python expressions as small trees, written on one line or broken over several.

:class:`Call` and :class:`Items` are what generated code is made of (``nn.Sequential(...)``,
``torch.cat([...], dim=1)``); :func:`inline` writes one on one line and :func:`layout` breaks it one
argument per line, like a formatter would, wherever a line would pass ``width`` characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """``func(*args, **kwargs)`` with expression arguments (``str``, :class:`Call`, :class:`Items`)."""

    func: Any  # str, or an object whose ``name`` is written (a generated class, named late)
    args: list[Any] = field(default_factory=list)
    kwargs: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Items:
    """A list ``[...]`` or, with ``keys``, a dict ``{...}`` of expressions."""

    items: list[Any]
    keys: list[str] | None = None


def _func(e: Call) -> str:
    return str(getattr(e.func, "name", e.func))


def inline(e: Any) -> str:
    """The expression on one line."""
    if isinstance(e, Call):
        parts = [inline(a) for a in e.args] + [f"{k}={inline(v)}" for k, v in e.kwargs]
        return f"{_func(e)}({', '.join(parts)})"
    if isinstance(e, Items):
        if e.keys is None:
            return "[" + ", ".join(inline(a) for a in e.items) + "]"
        return "{" + ", ".join(f"{k!r}: {inline(a)}" for k, a in zip(e.keys, e.items, strict=True)) + "}"
    return str(e)


def layout(e: Any, indent: int, lead: str = "", trail: str = "", width: int = 100) -> list[str]:
    """``lead + expression + trail`` at ``indent``, broken one argument per line where too long."""
    pad = " " * indent
    one = inline(e)
    if indent + len(lead) + len(one) + len(trail) <= width or not isinstance(e, (Call, Items)):
        return [pad + lead + one + trail]
    if isinstance(e, Call) and len(e.args) == 1 and not e.kwargs and isinstance(e.args[0], Items):
        inner = e.args[0]  # hug a single list argument: nn.ModuleList([
        opener = "[" if inner.keys is None else "{"
        closer = "]" if inner.keys is None else "}"
        head, tail, entries = f"{_func(e)}({opener}", f"{closer})", _entries(inner)
    elif isinstance(e, Call):
        head, tail = f"{_func(e)}(", ")"
        entries = [("", a) for a in e.args] + [(f"{k}=", v) for k, v in e.kwargs]
    else:
        head, tail = ("[", "]") if e.keys is None else ("{", "}")
        entries = _entries(e)
    out = [pad + lead + head]
    for key, value in entries:
        out += layout(value, indent + 4, key, ",", width)
    out.append(pad + tail + trail)
    return out


def _entries(e: Items) -> list[tuple[str, Any]]:
    if e.keys is None:
        return [("", a) for a in e.items]
    return [(f"{k!r}: ", a) for k, a in zip(e.keys, e.items, strict=True)]


__all__ = ["Call", "Items", "inline", "layout"]
