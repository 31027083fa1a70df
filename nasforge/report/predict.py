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
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.models.trained import TrainedModel, choose_trial, stored_preprocessing, trained_from_study


def open_study(store: str | os.PathLike[str], name: str) -> Any:
    """The study, loaded for reading only (no evaluator, no strategy state, nothing written)."""
    from nasforge.study import Study

    return Study.load(store=store, name=name, read_only=True)


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
