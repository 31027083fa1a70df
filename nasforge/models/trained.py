"""A stored trial's trained network with its task's input contract: what ``predict`` and exports use.

Works on any study-like object with ``name``, ``config``, ``space``, ``trials`` and ``best_trial`` (a
:class:`~nasforge.study.Study`), without importing the study package, so :meth:`Study.predict` and the
report layer both build on it. Weights load with ``weights_only=True``.
"""

from __future__ import annotations

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
    if not chosen.checkpoint and chosen.metrics.get("cv_folds"):
        raise ConfigError(
            f"trial {chosen.number} of study {study.name!r} was scored by {chosen.metrics['cv_folds']}-fold "
            "cross-validation and keeps no weights; only the best trial's final model (trained on "
            f"train+valid when the search ends; `nasforge resume {study.name}` trains it after an "
            "interruption) is kept, or retrain this one with `nasforge train`"
        )
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


__all__ = ["TrainedModel", "choose_trial", "stored_preprocessing", "trained_from_study"]
