"""Checkpoint files of a trial: its trained weights, and optionally its whole training state.

Inside a trial's ``checkpoint_dir``:

* ``model.pt``: the model's state dict (what ``export``, ``predict`` and weight inheritance read);
* ``model.json``: ``{"epochs": N}``, the epochs those weights were trained for;
* ``train_state.pt``: :meth:`~nasforge.estimate.loop.TrainingRun.state_dict` (model, optimizer, schedule,
  RNG states, epoch counter), written when a trial may be continued (a scheduler pauses it).

Files are written atomically (a temporary file, then ``os.replace``), so a SIGKILL never leaves a
half-written checkpoint under the real name. :func:`file_sha256` gives the hash the study stores; a
checkpoint whose hash no longer matches is refused by :func:`load_state`. Everything is loaded with
``torch.load(..., weights_only=True)``: nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from nasforge.errors import EvaluationError

WEIGHTS_FILE = "model.pt"
META_FILE = "model.json"
STATE_FILE = "train_state.pt"


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(model: torch.nn.Module, directory: str | os.PathLike[str], epochs: int) -> str:
    """Write ``model.pt`` (state dict on CPU) and ``model.json``; returns the weights path."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    weights = path / WEIGHTS_FILE
    atomic_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights)
    (path / META_FILE).write_text(json.dumps({"epochs": int(epochs)}))
    return str(weights)


def save_state(state: dict[str, Any], directory: str | os.PathLike[str]) -> tuple[str, str]:
    """Write ``train_state.pt``; returns ``(path, sha256)``."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    target = path / STATE_FILE
    atomic_save(state, target)
    return str(target), file_sha256(target)


def state_path(checkpoint: str | os.PathLike[str]) -> Path:
    """The ``train_state.pt`` that belongs to a checkpoint directory or to its ``model.pt``."""
    path = Path(checkpoint)
    return path / STATE_FILE if path.is_dir() or path.suffix != ".pt" else path.with_name(STATE_FILE)


def load_state(path: str | os.PathLike[str], device: torch.device | str = "cpu",
               expected_sha256: str | None = None) -> dict[str, Any]:
    """Load a training state; ``EvaluationError`` with reason ``missing_checkpoint`` when the file is
    absent and ``bad_checkpoint`` when it is truncated, corrupt or not the file the study recorded."""
    target = Path(path)
    if not target.exists():
        raise EvaluationError("missing_checkpoint", f"training state {str(target)!r} does not exist")
    if expected_sha256 is not None and file_sha256(target) != expected_sha256:
        raise EvaluationError(
            "bad_checkpoint", f"training state {str(target)!r} does not match the hash the study recorded"
        )
    try:
        state = torch.load(target, map_location=device, weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, foreign pickle globals
        raise EvaluationError("bad_checkpoint", f"cannot read training state {str(target)!r}: {exc}") from exc
    if not isinstance(state, dict):
        raise EvaluationError("bad_checkpoint", f"{str(target)!r} holds {type(state).__name__}, not a state")
    return state


def load_weights(
    checkpoint: str | os.PathLike[str], device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], int]:
    """``(state dict, epochs trained)`` of a checkpoint directory or ``model.pt`` path."""
    path = Path(checkpoint)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    if not path.exists():
        raise EvaluationError("missing_checkpoint", f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise EvaluationError("bad_checkpoint", f"cannot read checkpoint {str(path)!r}: {exc}") from exc
    epochs = 0
    meta = path.with_name(META_FILE)
    if meta.exists():
        try:
            epochs = int(json.loads(meta.read_text()).get("epochs", 0))
        except (ValueError, AttributeError):
            epochs = 0
    return state, epochs


__all__ = ["META_FILE", "STATE_FILE", "WEIGHTS_FILE", "atomic_save", "file_sha256", "load_state",
           "load_weights", "save_state", "save_weights", "state_path"]
