"""Export a trained network with its task's input contract: ``model.py`` + ``weights.pt``, ``model.onnx``
and ``genotype.json``.

Every format takes the data exactly as the user supplied it (``(N, F)`` for a table, the ``.npz``
array's own per-sample shape, ``(N, 40)`` for MNIST-1D's raw signals) and applies the task's
preprocessing itself (:mod:`nasforge.report.contract`: float32 cast, reshape, standardisation with
buffers). ``model.py`` imports only torch and is written to be read (:mod:`nasforge.report.codegen`):
named submodules, ``nn.Sequential`` for chains, a small class per distinct block; it defines
``Model`` (``forward`` gives logits, ``predict`` the user's labels), ``build_model()`` and
``load_model(weights_path=...)``; ``weights.pt`` is a plain state dict for ``weights_only=True``.
``model.onnx`` (``--format onnx``, :mod:`nasforge.report.onnx`) has input ``x`` (raw dtype, dynamic
batch) and output ``logits``. ``genotype.json`` holds the genotype, the input contract (``input``:
shape, dtype, labels, columns) and the full ``preprocessing`` record. After writing, each file is
loaded back and must reproduce the in-memory model's outputs.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import string
import textwrap
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.data.preprocess import Preprocessing
from nasforge.errors import ConfigError
from nasforge.report.codegen import Generator, Items, layout
from nasforge.report.contract import RawModel, Standardize, raw_model
from nasforge.report.forward import ExportError, literal

#: the export formats: what each writes besides genotype.json
FORMATS = {"pytorch": ("model.py", "weights.pt"), "onnx": ("model.onnx",)}
#: names model.py defines itself (generated classes avoid them)
_RESERVED = frozenset({"Model", "Standardize", "LABELS", "INPUT_SHAPE", "INPUT_DTYPE", "COLUMNS"})


def check_formats(formats: Any) -> tuple[str, ...]:
    """``"pytorch"``, ``"onnx"``, ``"all"`` or a sequence of them -> the tuple of formats."""
    items = [formats] if isinstance(formats, str) else list(formats or [])
    out: list[str] = []
    for item in items:
        if item == "all":
            out += list(FORMATS)
        elif item in FORMATS:
            out.append(item)
        else:
            raise ConfigError(f"export format must be one of {[*FORMATS, 'all']}, got {item!r}")
    if not out:
        raise ConfigError(f"give at least one export format out of {[*FORMATS, 'all']}")
    return tuple(dict.fromkeys(out))


def contract_of(contract: Any, model: nn.Module) -> Preprocessing:
    """A :class:`Preprocessing` from one, a task (its preprocessing) or a bare network input shape
    (no preprocessing; labels ``0..K-1`` with ``K`` read off the model's output)."""
    if isinstance(contract, Preprocessing):
        return contract
    prep = getattr(contract, "preprocessing", None)
    if isinstance(prep, Preprocessing):
        return prep
    if isinstance(contract, (tuple, list)) and contract:
        shape = tuple(int(d) for d in contract)
        with torch.inference_mode():
            was = model.training
            model.eval()
            classes = int(model(torch.zeros(2, *shape)).shape[1])
            model.train(was)
        return Preprocessing(shape, "float32", shape, (0.0,) * shape[0], (1.0,) * shape[0],
                             tuple(range(classes)))
    raise ConfigError(f"export needs a Preprocessing, a Task or an input shape, got {contract!r}")


def input_contract(prep: Preprocessing) -> dict[str, Any]:
    """The ``input`` entry of ``genotype.json``: what a caller must feed."""
    return {"shape": ["N", *prep.raw_shape], "dtype": prep.raw_dtype, "labels": list(prep.labels),
            "columns": None if prep.columns is None else list(prep.columns), "target": prep.target}


# ---------------------------------------------------------------------------------- model.py
_TEMPLATE = string.Template('''"""$title

A standalone PyTorch model exported by nasforge; it needs only torch. It takes the data exactly as it
was given to nasforge and applies the task's preprocessing itself.

$contract_text

Example:

    import torch
    from model import load_model

    model = load_model()  # weights.pt next to this file, in eval mode
    x = torch.zeros($example_shape, dtype=torch.$dtype)  # two raw samples
    logits = model(x)  # shape (2, $num_classes)
    labels = model.predict(x)  # two labels out of LABELS
"""

import os

import torch
${functional}from torch import nn

${constants}


$standardize


$classes


class Model(nn.Module):
    """Raw input (N, *INPUT_SHAPE) -> preprocess -> network -> logits (N, $num_classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.preprocess = Standardize($input_shape)
$network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != INPUT_SHAPE:
            raise ValueError(f"expected raw input of shape (N, $shape_text), got {tuple(x.shape)}")
        return self.network(self.preprocess(x))

    @torch.no_grad()
    def predict(self, x) -> list:
        """The labels (from LABELS) of raw samples x, an array or tensor of shape (N, *INPUT_SHAPE)."""
        logits = self(torch.as_tensor(x))
        return [LABELS[i] for i in logits.argmax(dim=1).tolist()]


def build_model() -> Model:
    """The network with freshly initialised weights (and identity preprocessing statistics)."""
    return Model()


def load_model(weights_path: str | None = None, map_location: str = "cpu") -> Model:
    """The model with the exported weights (default: weights.pt next to this file), in eval mode."""
    if weights_path is None:
        weights_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights.pt")
    model = build_model()
    state = torch.load(weights_path, map_location=map_location, weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model
''')


def model_source(network: nn.Module, prep: Preprocessing, title: str) -> str:
    """The text of ``model.py`` for ``network`` behind ``prep``."""
    gen = Generator(_RESERVED)
    classes, expr = gen.network(network.cpu().eval())
    shape_text = ", ".join(map(str, prep.raw_shape))
    constants = layout(Items([literal(v) for v in prep.labels]), 0, "LABELS = ")
    constants.insert(0, "#: the labels of the logits, in order")
    constants += ["#: per-sample shape and dtype of the raw input (a batch is (N, *INPUT_SHAPE))",
                  f"INPUT_SHAPE = {literal(prep.raw_shape)}", f"INPUT_DTYPE = {literal(prep.raw_dtype)}"]
    if prep.columns is not None:
        constants += ["#: the feature columns of a row, in order"]
        constants += layout(Items([literal(c) for c in prep.columns]), 0, "COLUMNS = ")
    if prep.columns is not None:
        input_text = f"x of shape (N, {shape_text}): rows of the feature columns COLUMNS, in that order"
    else:
        input_text = f"x of shape (N, {shape_text})"
    input_text += f", dtype {prep.raw_dtype} (any numeric dtype is cast to float32)."
    steps = ["x is cast to float32"]
    if prep.input_shape != prep.raw_shape:
        steps.append(f"reshaped to (N, {', '.join(map(str, prep.input_shape))})")
    if any(m != 0.0 for m in prep.mean) or any(s != 1.0 for s in prep.std):
        steps.append("standardised, (x - mean) / std, with the training split's statistics (buffers "
                     "preprocess.mean and preprocess.std)")
    prep_text = (", ".join(steps[:-1]) + " and " + steps[-1] if len(steps) > 1 else steps[0]) + "."
    contract = [f"Input: {input_text}",
                f"Output: model(x) gives logits of shape (N, {len(prep.labels)}); model.predict(x) gives "
                "the labels (LABELS).", f"Inside: {prep_text}"]
    contract_text = "\n".join(textwrap.fill(p, 100, subsequent_indent="    ") for p in contract)
    return _TEMPLATE.substitute(
        title=textwrap.fill(title, 100), contract_text=contract_text, num_classes=len(prep.labels),
        example_shape=", ".join(map(str, (2, *prep.raw_shape))),
        dtype=prep.raw_dtype, functional="import torch.nn.functional as F\n" if gen.uses_functional else "",
        constants="\n".join(constants), standardize=inspect.getsource(Standardize).rstrip(),
        classes="\n\n\n".join(classes) if classes else "# (the network is built from torch.nn modules only)",
        input_shape=literal(prep.input_shape), shape_text=shape_text,
        network="\n".join(layout(expr, 8, "self.network = ")),
    )


def _import_file(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"_nasforge_export_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise ExportError(f"cannot import the generated {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_inputs(prep: Preprocessing, n: int = 4, seed: int = 0) -> np.ndarray:
    """``n`` random raw samples in ``prep``'s raw dtype, spread like the training data."""
    rng = np.random.default_rng(seed)
    mean, std = prep.arrays()
    z = rng.normal(size=(n, *prep.input_shape)).astype(np.float32) * std + mean
    raw = z.reshape(n, *prep.raw_shape)
    dtype = np.dtype(prep.raw_dtype)
    if dtype.kind in "biu":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        raw = np.rint(raw)
        raw = raw > 0.5 if info is None else np.clip(raw, info.min, info.max)
    return raw.astype(dtype)


# ---------------------------------------------------------------------------------- export
def export_model(
    model: nn.Module,
    out_dir: str | Path,
    contract: Any,
    architecture: Any = None,
    extra: dict[str, Any] | None = None,
    *,
    formats: Any = ("pytorch",),
    check: bool = True,
    atol: float = 1e-5,
    title: str | None = None,
) -> dict[str, Any]:
    """Write the export of the trained network ``model`` into ``out_dir``.

    ``contract`` is the task's :class:`Preprocessing` (or the task, or a bare network input shape).
    ``formats``: ``"pytorch"`` (``model.py``, ``weights.pt``), ``"onnx"`` (``model.onnx``) or
    ``"all"``; ``genotype.json`` is always written. With ``check`` each written model is loaded back
    and must reproduce ``model``'s eval-mode outputs on random raw input (``atol`` for model.py,
    ``1e-4`` for onnxruntime). Returns a summary (paths, ``max_abs_diff``, ``onnx_max_abs_diff``).
    """
    chosen = check_formats(formats)
    prep = contract_of(contract, model)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create export directory {str(out)!r}: {exc}") from exc
    full = raw_model(prep, model)
    summary: dict[str, Any] = {"out": str(out), "genotype": str(out / "genotype.json"),
                               "formats": list(chosen)}
    x = torch.from_numpy(sample_inputs(prep))
    with torch.inference_mode():
        expected = full(x)
    if "pytorch" in chosen:
        source = model_source(model, prep, title or "A classifier found by nasforge.")
        (out / "model.py").write_text(source)
        torch.save({k: v.detach().cpu().clone() for k, v in full.state_dict().items()}, out / "weights.pt")
        summary.update(model_py=str(out / "model.py"), weights=str(out / "weights.pt"))
        if check:
            summary["max_abs_diff"] = _check_model_py(out, x, expected, atol)
    if "onnx" in chosen:
        from nasforge.report.onnx import check_onnx, write_onnx

        write_onnx(full, out / "model.onnx", prep)
        summary["onnx"] = str(out / "model.onnx")
        if check:
            summary["onnx_max_abs_diff"] = check_onnx(out / "model.onnx", x.numpy(), expected.numpy())
    info: dict[str, Any] = {"input": input_contract(prep), "preprocessing": prep.to_dict(), **(extra or {})}
    if architecture is not None:
        info = {**architecture.to_dict(), **info}
    (out / "genotype.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return summary


def _check_model_py(out: Path, x: torch.Tensor, expected: torch.Tensor, atol: float) -> float:
    generated = _import_file(out / "model.py").load_model(str(out / "weights.pt"))
    with torch.inference_mode():
        diff = float((generated(x) - expected).abs().max())
    if not diff <= atol:
        raise ExportError(f"the exported model.py differs from the trained model by {diff:.3g} (> {atol})")
    return diff


def export_trial(store: str, name: str, out_dir: str | Path, trial: int | None = None,
                 formats: Any = ("pytorch",)) -> dict[str, Any]:
    """Export study ``name``'s best trial (or trial number ``trial``) from its stored checkpoint."""
    from nasforge.report.predict import load_trained

    chosen = check_formats(formats)
    trained = load_trained(store, name, trial)
    t = trained.trial
    extra = {
        "study": name, "trial": t.number, "space_config": trained.space.to_config(),
        "task": trained.task,
        "metrics": {k: v for k, v in t.metrics.items() if isinstance(v, (int, float, str))},
    }
    from nasforge.space.joint import recipe_of

    if recipe_of(t.architecture):  # a joint genotype: the training hyperparameters this trial used
        extra["recipe"] = recipe_of(t.architecture)
    metrics = ", ".join(f"{k} {t.metrics[k]:.4f}" for k in ("valid_acc", "test_acc")
                        if isinstance(t.metrics.get(k), (int, float)))
    title = (f"A classifier for task {trained.task.get('name', '?')!r} found by nasforge: study {name!r}, "
             f"trial {t.number}, {t.architecture.space} space" + (f" ({metrics})." if metrics else "."))
    summary = export_model(trained.network, out_dir, trained.preprocessing, t.architecture, extra,
                           formats=chosen, title=title)
    summary["trial"] = t.number
    return summary


__all__ = ["FORMATS", "ExportError", "RawModel", "check_formats", "export_model", "export_trial",
           "model_source"]
