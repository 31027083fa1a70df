"""A network (``nn.Module`` tree) as readable, torch-only Python source.

Each module becomes the expression that builds it:

* a ``torch.nn`` built-in: its constructor, arguments read back from the module (required ones
  positional, defaults left out, ``(3,)`` written as ``3``): ``nn.Conv1d(1, 32, 3, stride=2, padding=1)``;
* a sequential container (``nn.Sequential`` or a subclass that keeps its ``forward``):
  ``nn.Sequential(...)``; ``nn.ModuleList([...])``; ``nn.ModuleDict({...})``;
* any other module: a small generated class whose ``__init__`` takes its submodules by name and
  whose ``forward`` is the module's own code traced by :mod:`nasforge.report.forward` (genotype
  wiring folded in). Instances whose code is the same share one class (all normal cells of a NASNet
  are one ``NasNetCell``); different variants of one original class are numbered.

The submodule names, and so the ``state_dict`` keys, are the original's, so its weights load as they
are. :meth:`Generator.network` returns the class sources and the construction expression;
:func:`layout` writes an expression over lines of at most ``width`` characters.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasforge.report.forward import ExportError, forward_source, literal
from nasforge.report.source import Call, Items, layout

#: constructor parameters never written (placement is the loader's business)
_SKIP_ARGS = frozenset({"device", "dtype"})
#: parameters whose tuple of equal ints may be written as one int
_SCALAR_TUPLES = frozenset({"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size",
                            "normalized_shape"})


@dataclass
class _Class:
    base: str
    source: str  # with the class name written as {name}
    name: str = ""


# ------------------------------------------------------------------------------ built-in modules
def _same_value(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _scalar(name: str, value: Any) -> Any:
    if name in _SCALAR_TUPLES and isinstance(value, (tuple, list)) and value and all(
        isinstance(v, int) and v == value[0] for v in value
    ):
        return value[0]
    return value


def constructor(module: nn.Module, where: str = "module") -> Call:
    """The call that re-creates the ``torch.nn`` built-in ``module`` (without its weights)."""
    cls = type(module)
    if getattr(nn, cls.__name__, None) is not cls:
        raise ExportError(
            f"{where}: {cls.__module__}.{cls.__qualname__} is not a public torch.nn module; export "
            "needs models made of torch.nn modules and traceable code"
        )
    call = Call(f"nn.{cls.__name__}")
    positional = True
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in _SKIP_ARGS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name == "bias" and isinstance(getattr(module, "bias", None), (torch.Tensor, type(None))):
            value: Any = module.bias is not None
        elif hasattr(module, name):
            value = getattr(module, name)
        elif param.default is inspect.Parameter.empty:
            raise ExportError(f"{where}: cannot read constructor argument {name!r} of {cls.__name__} back")
        else:
            positional = False
            continue
        value = _scalar(name, value)
        has_default = param.default is not inspect.Parameter.empty
        if has_default and _same_value(value, _scalar(name, param.default)):
            positional = False
            continue  # defaults are left out: shorter code that also loads on other torch versions
        text = literal(value)
        if positional and not has_default and param.kind is not param.KEYWORD_ONLY:
            call.args.append(text)
        else:
            positional = False
            call.kwargs.append((name, text))
    return call


# ------------------------------------------------------------------------------- the generator
def _has_state(module: nn.Module) -> bool:
    return any(True for _ in module.state_dict())


def _is_sequential(module: nn.Module) -> bool:
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _is_list(module: nn.Module) -> bool:
    return isinstance(module, nn.ModuleList) and type(module).forward is nn.ModuleList.forward


def _is_dict(module: nn.Module) -> bool:
    return isinstance(module, nn.ModuleDict) and type(module).forward is nn.ModuleDict.forward


def _doc_line(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").replace('"""', "'''").strip()
    return first or f"{cls.__name__} exported by nasforge."


class Generator:
    """Collects the generated classes of one model; :meth:`network` gives ``(sources, expression)``."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self.reserved = set(reserved)
        self.classes: dict[str, _Class] = {}  # source -> class, in first-seen order
        self.uses_functional = False

    def expression(self, module: nn.Module, where: str) -> Any:
        """The expression that builds ``module`` (generating classes as needed)."""
        if _is_sequential(module):
            names = [n for n, _ in module.named_children()]
            if names != [str(i) for i in range(len(names))]:
                raise ExportError(f"{where}: an nn.Sequential with named children {names} cannot be written")
            return Call("nn.Sequential", [self.expression(m, f"{where}.{n}")
                                          for n, m in module.named_children()])
        if _is_list(module):
            items = [self.expression(m, f"{where}.{n}") for n, m in module.named_children()]
            return Call("nn.ModuleList", [Items(items)] if items else [])
        if _is_dict(module):
            names = [n for n, _ in module.named_children()]
            items = [self.expression(m, f"{where}.{n}") for n, m in module.named_children()]
            return Call("nn.ModuleDict", [Items(items, names)] if items else [])
        if type(module).__module__.startswith("torch.nn"):
            return constructor(module, where)
        return self._custom(module, where)

    def _custom(self, module: nn.Module, where: str) -> Call:
        cls = type(module)
        has_forward = cls.forward is not nn.Module.forward
        if has_forward:
            code = forward_source(module, where)
            self.uses_functional |= code.uses_functional
            keep = code.children
        else:
            code, keep = None, {n for n, _ in module.named_children()}
        children = [(n, m) for n, m in module.named_children() if n in keep or _has_state(m)]
        tensors = self._own_tensors(module, where)
        lines = ["class {name}(nn.Module):", f'    """{_doc_line(cls)}"""']
        if children or tensors:
            params = "".join(f", {n}: nn.Module" for n, _ in children)
            lines += ["", f"    def __init__(self{params}) -> None:", "        super().__init__()"]
            lines += [f"        self.{n} = {n}" for n, _ in children] + tensors
        if code is not None:
            result = " -> torch.Tensor" if code.returns_tensor else ""
            sig = f"self, {code.signature}" if code.signature else "self"
            lines += ["", f"    def forward({sig}){result}:", *code.body]
        source = "\n".join(lines)
        kwargs = [(n, self.expression(m, f"{where}.{n}")) for n, m in children]  # parts' classes first
        return Call(self.classes.setdefault(source, _Class(cls.__name__, source)), kwargs=kwargs)

    def _own_tensors(self, module: nn.Module, where: str) -> list[str]:
        lines = []
        for name, p in module._parameters.items():
            if p is not None:
                grad = "" if p.requires_grad else ", requires_grad=False"
                lines.append(f"        self.{name} = nn.Parameter(torch.zeros({literal(tuple(p.shape))}, "
                             f"dtype={literal(p.dtype)}){grad})")
        for name, b in module._buffers.items():
            if b is None:
                continue
            if name in module._non_persistent_buffers_set:
                raise ExportError(f"{where}: non-persistent buffer {name!r} cannot be exported")
            lines.append(f"        self.register_buffer({name!r}, torch.zeros({literal(tuple(b.shape))}, "
                         f"dtype={literal(b.dtype)}))")
        return lines

    def name_classes(self) -> list[str]:
        """Give every class its name (``Base``, or ``Base1``, ``Base2``, ... for variants)."""
        by_base: dict[str, list[_Class]] = {}
        for c in self.classes.values():
            by_base.setdefault(c.base, []).append(c)
        for base, group in by_base.items():
            stem = base if base not in self.reserved else f"{base}Block"
            for k, c in enumerate(group, start=1):
                c.name = stem if len(group) == 1 else f"{stem}{k}"
        return [c.source.replace("{name}", c.name, 1) for c in self.classes.values()]

    def network(self, module: nn.Module) -> tuple[list[str], Any]:
        """``(class sources, construction expression)`` of ``module``."""
        expr = self.expression(module, "network")
        return self.name_classes(), expr


__all__ = ["Generator", "constructor", "layout"]
