"""``model.onnx``: the raw-input model (:class:`~nasforge.report.contract.RawModel`) for onnxruntime.

Input ``x`` of shape ``(batch, *raw_shape)`` in the task's raw dtype (the cast to float32, the reshape
and the standardisation are in the graph), output ``logits`` of shape ``(batch, classes)``; the batch
axis is dynamic. Written with torch's ``torch.export``-based exporter (``dynamo=True``; the TorchScript
one is deprecated), which needs ``onnxscript``; checked with onnxruntime. All three come with the
``onnx`` extra: ``pip install 'nasforge[onnx]'``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasforge.data.preprocess import Preprocessing
from nasforge.errors import ConfigError
from nasforge.report.forward import ExportError

#: what the ONNX export needs installed: import name -> PyPI name
REQUIRES = {"onnx": "onnx", "onnxruntime": "onnxruntime", "onnxscript": "onnxscript"}
#: onnxruntime must reproduce PyTorch's logits to this
ATOL = 1e-4


def check_available() -> None:
    """A :class:`ConfigError` naming the missing packages unless the ONNX export can run."""
    missing = [pip for module, pip in REQUIRES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(
            f"--format onnx needs the packages {missing}, which are not installed; install the onnx "
            "extra: pip install 'nasforge[onnx]'"
        )


@contextlib.contextmanager
def _quiet() -> Any:
    """Keep the exporter's progress lines and warnings off the console."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def write_onnx(model: torch.nn.Module, path: str | Path, prep: Preprocessing) -> None:
    """Export ``model`` (raw input -> logits) to ``path`` with a dynamic batch axis."""
    check_available()
    example = torch.zeros((2, *prep.raw_shape), dtype=getattr(torch, prep.raw_dtype))
    batch = torch.export.Dim("batch", min=1)
    try:
        with _quiet():
            program = torch.onnx.export(
                model.eval(), (example,), input_names=["x"], output_names=["logits"],
                dynamic_shapes={"x": {0: batch}}, dynamo=True, verbose=False,
            )
            program.save(str(path))
    except Exception as exc:
        raise ExportError(f"torch.onnx cannot export {type(model).__name__}: {exc}") from exc


def run_onnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """The logits onnxruntime computes for ``x`` (CPU)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["logits"], {"x": x})[0])


def check_onnx(path: str | Path, x: np.ndarray, expected: np.ndarray, atol: float = ATOL) -> float:
    """Max |onnxruntime - expected| on ``x``; an :class:`ExportError` above ``atol``."""
    got = run_onnx(path, x)
    diff = float(np.abs(got - expected).max())
    if not diff <= atol:
        raise ExportError(f"model.onnx differs from the trained model by {diff:.3g} (> {atol})")
    return diff


__all__ = ["ATOL", "check_available", "check_onnx", "run_onnx", "write_onnx"]
