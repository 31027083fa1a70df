"""Export a trained architecture as standalone PyTorch: ``genotype.json``, ``model.py``, ``weights.pt``.

The model is traced with ``torch.fx.symbolic_trace``, so any space's phenotype exports, not only
chains: every leaf module the graph calls is a torch built-in (``nn.Conv1d``, ``nn.BatchNorm2d``,
...) that ``model.py`` re-creates from its constructor arguments (read back from the module's
attributes), every tensor the graph reads directly becomes a parameter or buffer, and ``forward`` is
the traced code. ``model.py`` imports only torch (and the standard library); it defines
``build_model()`` and ``load_model(weights_path=...)``. ``weights.pt`` is a plain state dict,
loadable with ``torch.load(..., weights_only=True)``. After writing, the export is re-imported and
checked to reproduce the model's outputs.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import types
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from nasforge.errors import ConfigError, NasforgeError

#: constructor parameters never written (placement is the loader's business)
_SKIP_ARGS = frozenset({"device", "dtype"})


class ExportError(NasforgeError):
    """The model cannot be exported as standalone PyTorch (the message says why)."""


def _literal(value: Any, where: str) -> str:
    """Python source for a constructor argument value."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_literal(v, where) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, torch.Size):
        return _literal(tuple(value), where)
    raise ExportError(f"{where}: cannot write constructor value {value!r} of type {type(value).__name__}")


def module_constructor(module: nn.Module, where: str = "module") -> str:
    """Source that re-creates the torch built-in ``module`` (without its weights)."""
    cls = type(module)
    if not cls.__module__.startswith("torch.nn"):
        raise ExportError(
            f"{where}: leaf module {cls.__module__}.{cls.__qualname__} is not a torch built-in; "
            "export needs models made of torch.nn modules and traceable code"
        )
    args: list[str] = []
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
            continue
        if param.default is not inspect.Parameter.empty and _same_value(value, param.default):
            continue  # defaults are left out: shorter code that also loads on other torch versions
        args.append(f"{name}={_literal(value, f'{where}.{name}')}")
    return f"torch.nn.{cls.__name__}({', '.join(args)})" if _public_nn(cls) else (
        f"{_import_path(cls)}({', '.join(args)})"
    )


def _same_value(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _public_nn(cls: type) -> bool:
    return getattr(nn, cls.__name__, None) is cls


def _import_path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _global_source(name: str, value: Any) -> str:
    """One line of ``model.py`` that binds a name the traced code uses."""
    if isinstance(value, types.ModuleType):
        root = value.__name__.split(".")[0]
        if root not in ("torch", "operator", "math", "builtins"):
            raise ExportError(f"traced code uses module {value.__name__!r}; only torch is allowed")
        return f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}"
    if value is type(None):
        return f"{name} = type(None)"
    if isinstance(value, (float, str)):
        return f"{name} = {_literal(value, name)}"  # numbers; strings are type annotations
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", getattr(value, "__name__", None))
    if not module or not qualname or module.split(".")[0] not in ("torch", "operator", "math", "builtins"):
        raise ExportError(f"traced code uses {name}={value!r}, which is not part of torch")
    if module == "builtins":
        return f"{name} = {qualname}"
    if "." in qualname or "<" in qualname:
        raise ExportError(f"traced code uses {value!r}, which cannot be imported by name")
    return f"from {module} import {qualname} as {name}"


def generate(model: nn.Module) -> tuple[str, dict[str, torch.Tensor]]:
    """``(model.py source, state dict)`` of ``model``, traced with ``torch.fx``."""
    try:
        gm = fx.symbolic_trace(model)
    except Exception as exc:
        raise ExportError(
            f"torch.fx cannot trace {type(model).__name__} (data-dependent control flow?): {exc}"
        ) from exc
    code = gm.graph.python_code(root_module="self")
    lines_init: list[str] = []
    state: dict[str, torch.Tensor] = {}
    seen: set[str] = set()
    for node in gm.graph.nodes:
        target = str(node.target)
        if node.op == "call_module" and target not in seen:
            seen.add(target)
            module = gm.get_submodule(target)
            lines_init.append(f"        _place(self, {target!r}, {module_constructor(module, target)})")
            for key, value in module.state_dict().items():
                state[f"{target}.{key}"] = value.detach().cpu().clone()
        elif node.op == "get_attr" and target not in seen:
            seen.add(target)
            value = _get_attr(gm, target)
            if not isinstance(value, torch.Tensor):
                raise ExportError(f"traced code reads attribute {target!r} that is not a tensor")
            kind = "parameter" if isinstance(value, nn.Parameter) else "buffer"
            grad = bool(value.requires_grad) if kind == "parameter" else False
            lines_init.append(
                f"        _tensor(self, {target!r}, {tuple(value.shape)!r}, torch.{_dtype_name(value)}, "
                f"{kind!r}, {grad})"
            )
            state[target] = value.detach().cpu().clone()
    imports = ["import os", "", "import torch"]
    bindings = [_global_source(k, v) for k, v in sorted(code.globals.items()) if k != "torch"]
    forward = "\n".join("    " + line if line.strip() else "" for line in code.src.strip("\n").splitlines())
    source = _TEMPLATE.format(
        imports="\n".join(imports),
        bindings="\n".join(bindings),
        init="\n".join(lines_init) or "        pass",
        forward=forward,
    )
    return source, state


def _get_attr(root: nn.Module, target: str) -> Any:
    obj: Any = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


_TEMPLATE = '''"""A standalone PyTorch model exported by nasforge. Needs only torch.

    from model import load_model
    model = load_model()          # weights.pt next to this file, eval mode
    logits = model(x)
"""

{imports}

{bindings}


def _place(root: torch.nn.Module, path: str, module: torch.nn.Module) -> None:
    *parents, last = path.split(".")
    for name in parents:
        if not hasattr(root, name):
            root.add_module(name, torch.nn.Module())
        root = getattr(root, name)
    root.add_module(last, module)


def _tensor(root, path, shape, dtype, kind, requires_grad):
    *parents, last = path.split(".")
    for name in parents:
        if not hasattr(root, name):
            root.add_module(name, torch.nn.Module())
        root = getattr(root, name)
    value = torch.zeros(shape, dtype=dtype)
    if kind == "parameter":
        root.register_parameter(last, torch.nn.Parameter(value, requires_grad=requires_grad))
    else:
        root.register_buffer(last, value)


class Model(torch.nn.Module):
    """The exported network (structure only; see load_model for the weights)."""

    def __init__(self) -> None:
        super().__init__()
{init}

{forward}


def build_model() -> Model:
    """The network with freshly initialised weights."""
    return Model()


def load_model(weights_path: str | None = None, map_location: str = "cpu") -> Model:
    """The network with the exported weights (default: weights.pt next to this file), in eval mode."""
    if weights_path is None:
        weights_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights.pt")
    model = build_model()
    state = torch.load(weights_path, map_location=map_location, weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model
'''


def _import_file(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"_nasforge_export_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise ExportError(f"cannot import the generated {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_model(
    model: nn.Module,
    out_dir: str | Path,
    input_shape: tuple[int, ...],
    architecture: Any = None,
    extra: dict[str, Any] | None = None,
    check: bool = True,
    atol: float = 1e-5,
) -> dict[str, Any]:
    """Write ``model.py``, ``weights.pt`` and ``genotype.json`` for ``model`` into ``out_dir``.

    ``input_shape`` excludes the batch dimension. With ``check`` the written files are imported
    and must reproduce ``model``'s eval-mode outputs on random input to ``atol``. Returns a summary
    (paths, ``max_abs_diff``).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create export directory {str(out)!r}: {exc}") from exc
    model = model.cpu().eval()
    source, state = generate(model)
    (out / "model.py").write_text(source)
    torch.save(state, out / "weights.pt")
    info: dict[str, Any] = {"input_shape": list(input_shape), **(extra or {})}
    if architecture is not None:
        info = {**architecture.to_dict(), **info}
    (out / "genotype.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    summary: dict[str, Any] = {
        "out": str(out), "model_py": str(out / "model.py"), "weights": str(out / "weights.pt"),
        "genotype": str(out / "genotype.json"),
    }
    if check:
        generated = _import_file(out / "model.py").load_model(str(out / "weights.pt"))
        x = torch.randn(4, *input_shape, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            diff = float((generated(x) - model(x)).abs().max())
        if not diff <= atol:
            raise ExportError(f"the exported model differs from the original by {diff:.3g} (> {atol})")
        summary["max_abs_diff"] = diff
    return summary


def export_trial(store: str, name: str, out_dir: str | Path, trial: int | None = None) -> dict[str, Any]:
    """Export study ``name``'s best trial (or trial number ``trial``) from its stored checkpoint."""
    from nasforge.models import build
    from nasforge.study import Study

    study = Study.load(store=store, name=name, build_evaluator=False)
    if trial is None:
        chosen = study.best_trial
        if chosen is None:
            raise ConfigError(f"study {name!r} has no completed trial to export yet")
    else:
        matches = [t for t in study.trials if t.number == trial]
        if not matches:
            raise ConfigError(f"study {name!r} has no trial {trial}")
        chosen = matches[0]
    if not chosen.checkpoint or not Path(chosen.checkpoint).exists():
        raise ConfigError(
            f"trial {chosen.number} of study {name!r} has no saved weights (checkpoint "
            f"{chosen.checkpoint!r}); retrain it with `nasforge train` instead"
        )
    task = study.config.get("task") or {}
    if "input_shape" not in task or "num_classes" not in task:
        raise ConfigError(f"study {name!r} records no task shape; it was not a training study")
    shape = tuple(int(d) for d in task["input_shape"])
    model = build(study.space, chosen.architecture,
                  types.SimpleNamespace(input_shape=shape, num_classes=int(task["num_classes"])))
    state = torch.load(chosen.checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    extra = {
        "study": name, "trial": chosen.number, "space_config": study.space.to_config(), "task": task,
        "metrics": {k: v for k, v in chosen.metrics.items() if isinstance(v, (int, float, str))},
    }
    summary = export_model(model, out_dir, shape, chosen.architecture, extra)
    summary["trial"] = chosen.number
    return summary
