"""``SupernetEvaluator``: a trained supernet's shared weights as an estimator for any strategy.

``nasforge search --evaluator supernet --space edge-cell --evaluator-opt supernet=PATH`` scores every
candidate by the validation accuracy of its path in the supernet stored at ``PATH`` (the
``supernet.pt`` a one-shot study writes under ``<store>_artifacts/<study>/supernet/``), after
re-estimating batch-norm statistics on ``calib_batches`` training batches: a forward pass instead of a
training run, so random search, regularized evolution, GP, BANANAS ... search at that cost. Nothing is
trained, so a trial has no checkpoint; :func:`nasforge.cli.oneshot_retrain.retrain_best` retrains the best
``retrain_top`` genotypes from scratch into an ordinary study afterwards.

The stored supernet must have been trained for the same space (its config) and task (its name), else
:class:`~nasforge.errors.ConfigError` says which study to run first.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from nasforge.checks import check_int
from nasforge.errors import ConfigError
from nasforge.estimate.base import NullReporter, Reporter
from nasforge.estimate.train import TrainEvaluator, resolve_device
from nasforge.space.architecture import Architecture
from nasforge.trial import EvalContext


def missing_supernet(space: str, task: str, why: str) -> ConfigError:
    return ConfigError(
        f"evaluator 'supernet' needs a trained supernet for space {space!r} and task {task!r} ({why}); "
        f"train one with `nasforge search --strategy spos --space {space} --task {task}` (or path-dropout) "
        "and pass --evaluator-opt supernet=<store>_artifacts/<study>/supernet/supernet.pt"
    )


class SupernetEvaluator(TrainEvaluator):
    """Score genotypes with shared weights (see the module docstring).

    Args:
        task, space, device, batch_size: as :class:`~nasforge.estimate.train.TrainEvaluator`.
        supernet: path of a ``supernet.pt`` written by a SPOS / path-dropout / DARTS study.
        calib_batches: training batches for batch-norm recalibration before each score.
        retrain_top: how many of the best genotypes ``nasforge search`` retrains from scratch afterwards.
        epochs: the retraining epochs (the trials themselves train nothing).
    """

    name = "supernet"

    def __init__(self, task: Any = "mnist1d", space: Any = None, supernet: str | None = None,
                 calib_batches: int = 4, retrain_top: int = 3, epochs: int = 20, batch_size: int = 64,
                 device: str = "auto") -> None:
        super().__init__(task=task, space=space, epochs=epochs, batch_size=batch_size, device=device,
                         latency_repeats=0)
        self.supernet = None if supernet is None else str(supernet)
        self.calib_batches = check_int("calib_batches", calib_batches, 1)
        self.retrain_top = check_int("retrain_top", retrain_top, 0)
        space_name = space if isinstance(space, str) else getattr(space, "name", None) or "edge-cell"
        task_name = task if isinstance(task, str) else getattr(task, "name", "?")
        if self.supernet is None:
            raise missing_supernet(str(space_name), str(task_name), "no --evaluator-opt supernet=PATH given")
        if not Path(self.supernet).is_file():
            raise missing_supernet(str(space_name), str(task_name), f"{self.supernet!r} does not exist")
        self._net: Any = None
        self._check_header(str(space_name), str(task_name))

    def _check_header(self, space: str, task: str) -> None:
        """The stored supernet's space name and task name match (the full space config is compared when
        the weights load)."""
        try:
            record = torch.load(self.supernet, map_location="cpu", weights_only=True)  # type: ignore[arg-type]
            stored_space = json.loads(record["space"]).get("name")
            stored_task = record["task"]
        except Exception as exc:
            why = f"{self.supernet!r} is not a nasforge supernet: {exc}"
            raise missing_supernet(space, task, why) from exc
        named = task != "?" and not Path(task).suffix  # a data file's task name is checked on load
        if stored_space != space or (named and stored_task != task):
            raise missing_supernet(space, task, f"{self.supernet!r} was trained for space {stored_space!r} "
                                                f"and task {stored_task!r}")

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_net"] = None
        return state

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        keep = ("name", "task", "space", "epochs", "batch_size", "device")
        return {**{k: config[k] for k in keep}, "supernet": self.supernet,
                "calib_batches": self.calib_batches, "retrain_top": self.retrain_top}

    def load_supernet(self, device: torch.device) -> Any:
        """The stored supernet on ``device`` (checked against this space and task; loaded once)."""
        if self._net is not None:
            return self._net
        from nasforge.models.supernet import build_supernet

        space = self.get_space()
        task = self.task_data
        try:
            record = torch.load(self.supernet, map_location=device, weights_only=True)  # type: ignore[arg-type]
        except Exception as exc:
            raise missing_supernet(space.name, task.name, f"cannot read {self.supernet!r}: {exc}") from exc
        stored = json.loads(record.get("space", "{}"))
        if stored != json.loads(json.dumps(space.to_config())):
            raise missing_supernet(space.name, task.name, f"{self.supernet!r} was trained for space {stored}")
        if record.get("task") != task.name:
            raise missing_supernet(space.name, task.name,
                                   f"{self.supernet!r} was trained on task {record.get('task')!r}")
        net = build_supernet(space, tuple(task.input_shape), int(task.num_classes)).to(device)
        net.load_state_dict(record["net"])
        self._net = net
        return net

    def evaluate(self, architecture: Architecture, context: EvalContext | None = None,
                 reporter: Reporter | None = None) -> dict[str, Any]:
        """``valid_acc`` / ``valid_loss`` of the genotype's path (``supernet_score`` = ``valid_acc``)."""
        from nasforge.oneshot.sampling import score

        context = context if context is not None else EvalContext()
        reporter = reporter if reporter is not None else NullReporter()
        device = resolve_device(self.device, context.device)
        started = time.perf_counter()
        net = self.load_supernet(device)
        data = self._data(device)
        metrics = score(net, self.get_space(architecture), architecture, data["x_train"], data["x_valid"],
                        data["y_valid"], calib_batches=self.calib_batches, batch_size=self.batch_size)
        metrics["supernet_score"] = metrics["valid_acc"]
        metrics["train_seconds"] = time.perf_counter() - started
        reporter.report(1, {"valid_acc": metrics["valid_acc"]})
        return metrics


__all__ = ["SupernetEvaluator", "missing_supernet"]
