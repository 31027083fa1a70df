"""One module's ``forward`` as readable Python source, from a ``torch.fx`` graph.

:func:`trace_forward` traces a module with every submodule call kept as a call (``self.head(x)``), so
the graph holds only this module's own wiring: submodule calls, tensor functions (``torch.cat``),
operators and methods, with the module's Python constants (the genotype's wiring) already folded in.
:func:`forward_source` writes it back as statements: ``self.cells[0](s0, s1)`` for module paths,
infix operators, ``x[:, :, 1:]`` for indexing, single-use values inlined into the next statement,
``nn.Identity`` calls dropped, and no ``x = None`` lines. It also reports which direct submodules the
code uses and whether ``torch.nn.functional`` (imported as ``F``) is needed.
"""

from __future__ import annotations

import builtins
import inspect
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from nasforge.errors import NasforgeError
from nasforge.report.source import Call, Items, inline, layout


class ExportError(NasforgeError):
    """The model cannot be exported as standalone PyTorch (the message says why)."""


_BINARY = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
           operator.floordiv: "//", operator.matmul: "@", operator.pow: "**", operator.mod: "%"}
_UNARY = {operator.neg: "-", operator.pos: "+"}
#: namespaces a traced function may come from, and how ``model.py`` names them
_NAMESPACES = ((torch, "torch"), (torch.nn.functional, "F"), (math, "math"))
#: an inlined expression may be at most this long (longer ones get their own variable)
_INLINE_CHARS = 60
#: ... or this long when it is what forward returns
_RETURN_CHARS = 90
#: statements are broken over lines beyond this width
_WIDTH = 100


def _defaults(fn: Any) -> dict[str, Any]:
    """Keyword defaults of a Python function (``{}`` for builtins without a signature)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


class _ChildCalls(fx.Tracer):
    """Keep every submodule call as one ``call_module`` node (only the root's own code is traced)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True


def trace_forward(module: nn.Module, where: str) -> fx.Graph:
    """The graph of ``module.forward`` with submodule calls as leaves (dead code removed)."""
    try:
        graph = _ChildCalls().trace(module)
    except Exception as exc:
        raise ExportError(
            f"torch.fx cannot trace {where} ({type(module).__name__}; data-dependent control flow?): {exc}"
        ) from exc
    graph.owning_module = module  # for the purity check of eliminate_dead_code
    graph.eliminate_dead_code()
    return graph


@dataclass
class _Value:
    expr: Any  # str, Call or Items
    atomic: bool = True  # a name, call, subscript or attribute: needs no parentheses as an operand
    inlined: bool = False  # an expression waiting to be written into the next statement

    @property
    def text(self) -> str:
        return inline(self.expr)


@dataclass
class ForwardCode:
    """``signature`` (``"x: torch.Tensor"``), ``body`` lines (indented for a method body), the direct
    children the code reads and whether it calls ``F.*``."""

    signature: str
    body: list[str]
    returns_tensor: bool
    children: set[str] = field(default_factory=set)
    uses_functional: bool = False


def module_path(root: nn.Module, target: str) -> str:
    """``"cells.0.ops.3"`` -> ``"self.cells[0].ops[3]"`` (indexing for lists and dicts)."""
    text, obj = "self", root
    for part in target.split("."):
        if isinstance(obj, (nn.ModuleList, nn.Sequential)) and part.isdigit():
            text += f"[{part}]"
        elif isinstance(obj, nn.ModuleDict):
            text += f"[{part!r}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            raise ExportError(f"module path {target!r} has a part {part!r} that is not a Python name")
        obj = getattr(obj, part)
    return text


def literal(value: Any) -> str:
    """Python source of a constant argument."""
    if isinstance(value, str):
        plain = value.isprintable() and '"' not in value and "\\" not in value
        return f'"{value}"' if plain else repr(value)
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, torch.device):
        return f"torch.device({str(value)!r})"
    if isinstance(value, torch.Size):
        return literal(tuple(value))
    if isinstance(value, (tuple, list)):
        inner = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    raise ExportError(f"cannot write the constant {value!r} ({type(value).__name__}) as Python source")


class _Writer:
    def __init__(self, root: nn.Module, graph: fx.Graph, where: str) -> None:
        self.root, self.graph, self.where = root, graph, where
        self.env: dict[fx.Node, _Value] = {}
        self.code = ForwardCode("", [], True)

    # -- arguments ---------------------------------------------------------------------------------
    def arg(self, a: Any) -> Any:
        """An argument as an expression (lists of values stay :class:`Items`, so they can be wrapped)."""
        if isinstance(a, fx.Node):
            return self.env[a].expr
        if isinstance(a, list):
            return Items([self.arg(v) for v in a])
        if isinstance(a, tuple):
            inner = ", ".join(inline(self.arg(v)) for v in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, dict):
            return Items([self.arg(v) for v in a.values()], [str(k) for k in a])
        if isinstance(a, slice):
            raise ExportError(f"{self.where}: a slice outside indexing cannot be written")
        return literal(a)

    def operand(self, a: Any) -> str:
        if isinstance(a, fx.Node) and not self.env[a].atomic:
            return f"({self.env[a].text})"
        return inline(self.arg(a))

    def index(self, a: Any) -> str:
        def one(v: Any) -> str:
            if isinstance(v, slice):
                parts = ["" if p is None else inline(self.arg(p)) for p in (v.start, v.stop)]
                text = ":".join(parts)
                return text + (f":{inline(self.arg(v.step))}" if v.step is not None else "")
            return inline(self.arg(v))

        if isinstance(a, tuple) and a:
            return ", ".join(one(v) for v in a) + ("," if len(a) == 1 else "")
        return one(a)

    def call(self, func: str, args: Any, kwargs: dict[str, Any],
             defaults: dict[str, Any] | None = None) -> Call:
        """``func(*args, **kwargs)``; keywords equal to the function's default are left out."""
        kept = [(k, self.arg(v)) for k, v in kwargs.items()
                if not (defaults and k in defaults and _same(v, defaults[k]))]
        return Call(func, [self.arg(v) for v in args], kept)

    def function_name(self, fn: Any) -> str:
        name = getattr(fn, "__name__", None)
        for namespace, prefix in _NAMESPACES:
            if name and getattr(namespace, name, None) is fn:
                if prefix == "F":
                    self.code.uses_functional = True
                return f"{prefix}.{name}"
        if name and getattr(builtins, name, None) is fn:
            return name
        raise ExportError(f"{self.where}: traced code calls {fn!r}, which is not part of torch")

    # -- nodes -------------------------------------------------------------------------------------
    def expression(self, node: fx.Node) -> _Value | None:
        """The node's value as an expression (``None``: an identity, aliased to its input)."""
        if node.op == "call_module":
            target = str(node.target)
            module = self.root.get_submodule(target)
            source = node.args[0] if len(node.args) == 1 and not node.kwargs else None
            if type(module) is nn.Identity and isinstance(source, fx.Node):
                if self.env[source].inlined:  # it may have several users now: give it a name
                    self.statement(f"{source.name} = ", self.env[source].expr)
                    self.env[source] = _Value(source.name)
                self.env[node] = self.env[source]
                return None
            self.code.children.add(target.split(".")[0])
            return _Value(self.call(module_path(self.root, target), node.args, node.kwargs))
        if node.op == "get_attr":
            target = str(node.target)
            if target.split(".")[-1].startswith("_tensor_constant"):
                raise ExportError(f"{self.where}: forward creates tensor constants; register them as buffers")
            self.code.children.add(target.split(".")[0])
            parent, _, leaf = target.rpartition(".")
            base = module_path(self.root, parent) if parent else "self"
            return _Value(f"{base}.{leaf}")
        if node.op == "call_method":
            base, *rest = node.args
            return _Value(self.call(f"{self.operand(base)}.{node.target}", rest, node.kwargs))
        if node.op == "call_function":
            fn = node.target
            if fn in _BINARY and len(node.args) == 2 and not node.kwargs:
                a, b = node.args
                return _Value(f"{self.operand(a)} {_BINARY[fn]} {self.operand(b)}", atomic=False)
            if fn in _UNARY and len(node.args) == 1:
                return _Value(f"{_UNARY[fn]}{self.operand(node.args[0])}", atomic=False)
            if fn is operator.getitem:
                return _Value(f"{self.operand(node.args[0])}[{self.index(node.args[1])}]")
            if fn is builtins.getattr and len(node.args) == 2 and isinstance(node.args[1], str):
                return _Value(f"{self.operand(node.args[0])}.{node.args[1]}")
            return _Value(self.call(self.function_name(fn), node.args, node.kwargs, _defaults(fn)))
        raise ExportError(f"{self.where}: unexpected graph node {node.op} {node.target}")

    def statement(self, lead: str, expr: Any) -> None:
        self.code.body += layout(expr, 8, lead, width=_WIDTH)

    def write(self) -> ForwardCode:
        params: list[str] = []
        for node in self.graph.nodes:
            if node.op == "placeholder":
                if str(node.target).startswith("*"):
                    raise ExportError(f"{self.where}: forward(*args) cannot be exported")
                default = f" = {literal(node.args[0])}" if node.args else ""
                params.append(f"{node.name}: torch.Tensor{default}")
                self.env[node] = _Value(node.name)
                continue
            if node.op == "output":
                result = node.args[0]
                self.code.returns_tensor = isinstance(result, fx.Node)
                self.statement("return ", self.arg(result))
                continue
            value = self.expression(node)
            if value is None:
                continue
            users = list(node.users)
            limit = _RETURN_CHARS if node.next.op == "output" else _INLINE_CHARS
            if len(users) == 1 and users[0] is node.next and len(value.text) <= limit:
                value.inlined = True
                self.env[node] = value
            else:
                self.statement(f"{node.name} = ", value.expr)
                self.env[node] = _Value(node.name)
        self.code.signature = ", ".join(params)
        return self.code


def forward_source(module: nn.Module, where: str) -> ForwardCode:
    """The readable ``forward`` of ``module`` (see the module docstring)."""
    return _Writer(module, trace_forward(module, where), where).write()


__all__ = ["ExportError", "ForwardCode", "forward_source", "literal", "module_path", "trace_forward"]
