"""Predictions of a study's trained model on raw data, in the user's label space.

:func:`load_trained` reads everything from the store: the trial (best by the study's objective, or a
given number), its checkpoint (``weights_only=True``), the space that builds its network and the
task's input contract (``config["task"]["preprocessing"]``), so neither the user's training file nor a
strategy is needed. :meth:`TrainedModel.predict` checks raw inputs against the contract, applies the
preprocessing in NumPy (:meth:`~nasforge.data.preprocess.Preprocessing.apply`; the same float32
arithmetic as training and the exported models) and maps the argmax to the task's labels.
:func:`predict_file` reads a ``.csv`` / ``.npz`` with the same rules as ``--task``
(:func:`nasforge.data.inputs.read_inputs`) and writes a CSV of predictions. Nothing is written to the
store.
"""

from __future__ import annotations

import csv
import inspect
import io
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.data.preprocess import Preprocessing
from nasforge.errors import ConfigError
from nasforge.trial import Trial, TrialState


@dataclass
class TrainedModel:
    """A stored trial's trained network with its task's input contract."""

    study: str
    trial: Trial
    network: nn.Module
    preprocessing: Preprocessing
    space: Any
    task: dict[str, Any]

    def logits(self, x: Any, batch_size: int = 512) -> np.ndarray:
        """Logits ``(N, classes)`` of raw samples ``x`` (``(N, *raw_shape)``)."""
        inputs = torch.from_numpy(self.preprocessing.apply(x))
        self.network.eval()
        with torch.inference_mode():
            parts = [self.network(inputs[s: s + batch_size]) for s in range(0, len(inputs), batch_size)]
        if not parts:
            return np.zeros((0, len(self.preprocessing.labels)), np.float32)
        return torch.cat(parts).numpy()

    def predict(self, x: Any) -> list[Any]:
        """The labels of raw samples ``x`` (strings where the training CSV had strings)."""
        return self.preprocessing.decode(self.logits(x).argmax(axis=1))


def open_study(store: str | os.PathLike[str], name: str) -> Any:
    """The study, loaded for reading only (no evaluator, and no strategy state where supported)."""
    from nasforge.study import Study

    if "read_only" in inspect.signature(Study.load).parameters:
        return Study.load(store=store, name=name, build_evaluator=False, read_only=True)
    return Study.load(store=store, name=name, build_evaluator=False)  # until read_only lands


def choose_trial(study: Any, number: int | None) -> Trial:
    """The best trial (validation objective) or trial ``number``; it must be complete with weights."""
    if number is None:
        chosen = study.best_trial
        if chosen is None:
            raise ConfigError(f"study {study.name!r} has no completed trial yet; run `nasforge resume`")
    else:
        matches = [t for t in study.trials if t.number == number]
        if not matches:
            raise ConfigError(f"study {study.name!r} has no trial {number}; `nasforge status "
                              f"{study.name}` lists its trials")
        chosen = matches[0]
        if chosen.state is not TrialState.COMPLETE:
            raise ConfigError(f"trial {number} of study {study.name!r} is {chosen.state.value}, not "
                              "complete; pick a completed trial")
    if not chosen.checkpoint or not Path(chosen.checkpoint).exists():
        raise ConfigError(
            f"trial {chosen.number} of study {study.name!r} has no saved weights (checkpoint "
            f"{chosen.checkpoint!r}); retrain it with `nasforge train` instead"
        )
    return chosen


def stored_preprocessing(study: Any) -> Preprocessing:
    """The task's input contract from the study's stored task descriptor.

    Studies stored before the descriptor held it get it by re-loading their task (a built-in name or
    the data file), which must still match the stored sizes.
    """
    task = study.config.get("task") or {}
    if "input_shape" not in task or "num_classes" not in task:
        raise ConfigError(f"study {study.name!r} records no task shape; it was not a training study")
    if "preprocessing" in task:
        return Preprocessing.from_dict(task["preprocessing"])
    source = (study.config.get("evaluator") or {}).get("task")
    try:
        from nasforge.data import load

        loaded = load(source).describe()
    except Exception as exc:
        raise ConfigError(f"study {study.name!r} was stored without its input contract and its task "
                          f"{source!r} cannot be re-loaded ({exc}); re-run the search") from exc
    keys = ("input_shape", "num_classes", "n_train", "n_valid", "n_test")
    if any(loaded.get(k) != task.get(k) for k in keys):
        raise ConfigError(f"study {study.name!r} was stored without its input contract and its task "
                          f"{source!r} has changed since; re-run the search")
    return Preprocessing.from_dict(loaded["preprocessing"])


def trained_from_study(study: Any, trial: int | None = None) -> TrainedModel:
    """The :class:`TrainedModel` of ``study``'s best trial (or trial number ``trial``)."""
    from nasforge.models import build

    chosen = choose_trial(study, trial)
    prep = stored_preprocessing(study)
    task = dict(study.config.get("task") or {})
    shape = tuple(int(d) for d in task["input_shape"])
    network = build(study.space, chosen.architecture,
                    types.SimpleNamespace(input_shape=shape, num_classes=int(task["num_classes"])))
    state = torch.load(chosen.checkpoint, map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return TrainedModel(study.name, chosen, network.eval(), prep, study.space, task)


def load_trained(store: str | os.PathLike[str], name: str, trial: int | None = None) -> TrainedModel:
    """:func:`trained_from_study` of study ``name`` in ``store`` (opened read-only)."""
    return trained_from_study(open_study(store, name), trial)


def predictions_csv(labels: list[Any], column: str) -> str:
    """``labels`` as CSV text with a header row ``column``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column])
    writer.writerows([label] for label in labels)
    return buffer.getvalue()


def predict_file(store: str | os.PathLike[str], name: str, data: str | os.PathLike[str],
                 out: str | os.PathLike[str] | None = None, trial: int | None = None) -> dict[str, Any]:
    """Predict the raw samples in ``data`` (``.csv`` / ``.npz``) with study ``name``'s trained model.

    Writes a CSV (header: the task's label column name, else ``prediction``) to ``out`` if given.
    Returns ``{"trial", "n", "labels", "csv", "accuracy"}``; ``accuracy`` is against the file's own
    labels when it has them (else ``None``).
    """
    from nasforge.data.inputs import read_inputs

    trained = load_trained(store, name, trial)
    x, y = read_inputs(data, trained.preprocessing)
    predicted = trained.logits(x).argmax(axis=1)
    labels = trained.preprocessing.decode(predicted)
    text = predictions_csv(labels, trained.preprocessing.target or "prediction")
    if out is not None:
        try:
            Path(out).write_text(text)
        except OSError as exc:
            raise ConfigError(f"cannot write predictions to {str(out)!r}: {exc}") from exc
    accuracy = None if y is None else float(np.mean(predicted == y)) if len(y) else None
    return {"trial": trained.trial.number, "n": len(labels), "labels": labels, "csv": text,
            "accuracy": accuracy}


__all__ = ["TrainedModel", "choose_trial", "load_trained", "open_study", "predict_file",
           "stored_preprocessing", "trained_from_study"]
