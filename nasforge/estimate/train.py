"""Real PyTorch training as a performance estimator.

:class:`TrainEvaluator` builds the genotype's network, trains it with its :class:`~.recipe.Recipe`
(AdamW with a one-cycle schedule by default) for ``context.budget`` epochs (else ``epochs``) and scores
it: validation accuracy and loss (selection), test accuracy (reporting only), parameters, MACs,
latency. The training state is a :class:`~.loop.TrainingRun`; all torch randomness (initialisation,
shuffling, dropout) is drawn inside ``torch.random.fork_rng`` seeded from ``context.seed``, so a trial
is deterministic under its seed and the caller's global RNG is untouched.

Continuing: ``context.resume_from`` restores a paused trial's whole training state and trains on to
the new budget, ending bit-for-bit where an uninterrupted run ends (the schedule spans
``context.max_budget``); a missing or corrupt state restarts the trial from zero with a warning.
``context.parent_checkpoint`` starts from another trial's weights with a fresh optimizer.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import torch
from torch import nn

from nasforge.checks import check_int
from nasforge.data import Task
from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate import checkpoint as ckpt
from nasforge.estimate.base import Evaluator, NullReporter, Reporter
from nasforge.estimate.cv import check_folds, fit_final, resolve_folds, run_cv
from nasforge.estimate.loop import TrainingRun, accuracy, batch_starts, evaluate_split
from nasforge.estimate.metrics import count_macs, count_params, measure_latency_ms
from nasforge.recipe import Recipe
from nasforge.space.architecture import Architecture
from nasforge.trial import EvalContext

#: file names inside ``context.checkpoint_dir`` (kept here for callers of the old names)
WEIGHTS_FILE = ckpt.WEIGHTS_FILE
META_FILE = ckpt.META_FILE


def resolve_device(device: str, context_device: str | None = None) -> torch.device:
    """``"auto"`` -> the context's CUDA device or ``cuda`` if available, else ``cpu``."""
    if device == "auto":
        if context_device and str(context_device).startswith("cuda") and torch.cuda.is_available():
            return torch.device(context_device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}") from exc


class TrainEvaluator(Evaluator):
    """Train an architecture from scratch (or from a checkpoint) and score it.

    Args:
        task: a :class:`~nasforge.data.Task` or anything :func:`nasforge.data.load` accepts
            (a built-in name is loaded lazily in :meth:`prepare`, once per process).
        space: the search space (object, ``to_config()`` dict or name) used to build models;
            ``None`` creates the genotype's space with default parameters for the task.
        epochs: training epochs when the context gives no budget.
        batch_size, lr (one-cycle peak), weight_decay, label_smoothing, optimizer, momentum, schedule:
            the :class:`~nasforge.recipe.Recipe`.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        threads: torch intra-op threads set before training (``None`` leaves them).
        latency_repeats: batch-1 forward passes timed for ``latency_ms`` (0 skips it).
        cv: ``0`` scores each trial on the validation split; ``K >= 2`` by stratified K-fold
            cross-validation on train+valid (:mod:`~nasforge.estimate.cv`; the final model is then
            trained by :meth:`fit_final`); ``"auto"``: cross-validation for small data
            (``nasforge.defaults.SMALL_DATA``), the holdout otherwise. :attr:`folds` is the resolved K.
    """

    name = "train"
    leaves_checkpoints = True

    def __init__(
        self,
        task: Any = "mnist1d",
        space: Any = None,
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 0.01,
        weight_decay: float = 0.01,
        label_smoothing: float = 0.0,
        device: str = "auto",
        threads: int | None = None,
        latency_repeats: int = 20,
        optimizer: str = "adamw",
        momentum: float = 0.9,
        schedule: str = "onecycle",
        cv: int | str = 0,
    ) -> None:
        self.task = task
        self.space = space
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.device = device
        self.threads = threads
        self.latency_repeats = latency_repeats
        self.optimizer = optimizer
        self.momentum = momentum
        self.schedule = schedule
        self.cv = cv
        self._check()
        self._folds: int | None = None
        self._task: Task | None = task if isinstance(task, Task) else None
        self._space_obj: Any = None
        self._tensors: dict[str, Any] = {}

    @property
    def recipe(self) -> Recipe:
        """The training recipe of every trial (a joint genotype may override parts of it)."""
        return Recipe(optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
                      momentum=self.momentum, batch_size=self.batch_size,
                      label_smoothing=self.label_smoothing, schedule=self.schedule)

    def _check(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("latency_repeats", self.latency_repeats, 0)
        check_int("threads", self.threads, 1, allow_none=True)
        check_folds(self.cv)
        self.recipe  # noqa: B018 - validates the recipe values
        if not isinstance(self.device, str):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")

    # -- pickling: ship parameters and the task arrays, not cached tensors ---------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tensors"] = {}
        state["_space_obj"] = None
        return state

    # -- set-up -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load the task (once per process) and resolve :attr:`folds` (a bad ``cv`` fails here)."""
        if self._task is None:
            from nasforge.data import load

            self._task = load(self.task)
        if self._folds is None:
            self._folds = resolve_folds(self.cv, self._task)

    @property
    def folds(self) -> int:
        """The cross-validation folds trials are scored with (``0``: the holdout validation split)."""
        self.prepare()
        return int(self._folds or 0)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TrainEvaluator:
        """Rebuild from :meth:`to_config`; a config without ``cv`` (holdout, or stored before
        cross-validation existed) keeps the holdout."""
        params = {k: v for k, v in config.items() if k != "name"}
        params.setdefault("cv", 0)
        return cls(**params)

    def fit_final(self, architecture: Architecture, *, seed: int, epochs: int,
                  schedule_epochs: int | None = None, checkpoint_dir: str | None = None) -> dict[str, Any]:
        """Train ``architecture`` on all non-test data (train+valid); see :func:`.cv.fit_final`."""
        return fit_final(self, architecture, seed=seed, epochs=epochs, schedule_epochs=schedule_epochs,
                         checkpoint_dir=checkpoint_dir)

    @property
    def task_data(self) -> Task:
        """The loaded :class:`Task`."""
        self.prepare()
        return self._task  # type: ignore[return-value]

    def describe_task(self) -> dict[str, Any]:
        return self.task_data.describe()

    def get_space(self, architecture: Architecture | None = None) -> Any:
        """The space models are built for (created from ``space`` or the genotype's space name)."""
        if self._space_obj is None:
            from nasforge.space import SearchSpace, create

            space = self.space
            if isinstance(space, SearchSpace):
                self._space_obj = space
            elif isinstance(space, dict):
                self._space_obj = SearchSpace.from_config(space)
            else:
                name = space if isinstance(space, str) else getattr(architecture, "space", None)
                if name is None:
                    raise ConfigError("TrainEvaluator needs space=... (or a genotype to infer it from)")
                kwargs = {"input_kind": self.task_data.input_kind} if name == "chain" else {}
                self._space_obj = create(name, **kwargs)
        return self._space_obj

    def reported_metrics(self) -> tuple[str, ...]:
        names = ("valid_acc", "valid_loss", "test_acc", "params", "macs", "train_seconds", "epoch_seconds",
                 "epochs")
        return (*names, "latency_ms") if self.latency_repeats else names

    def to_config(self) -> dict[str, Any]:
        task = self.task if isinstance(self.task, str) else self.task_data.name
        space = self.space
        if space is not None and not isinstance(space, (str, dict)):
            space = space.to_config()
        config = {
            "name": self.name, "task": str(task), "space": space, "epochs": self.epochs,
            "batch_size": self.batch_size, "lr": self.lr, "weight_decay": self.weight_decay,
            "label_smoothing": self.label_smoothing, "device": self.device, "threads": self.threads,
            "latency_repeats": self.latency_repeats,
        }
        # recipe keys added after 0.1.0 appear only when set, so older studies' configs still match
        new_keys = ("optimizer", "momentum", "schedule")
        extra = {k: v for k, v in self.recipe.non_default().items() if k in new_keys}
        if self.folds:  # recorded only when cross-validating, so holdout configs read as before
            extra["cv"] = self.folds
        return {**config, **extra}

    def build_model(self, architecture: Architecture) -> nn.Module:
        """The untrained ``nn.Module`` of ``architecture`` for this task."""
        from nasforge.models import build

        return build(self.get_space(architecture), architecture, self.task_data)

    def _data(self, device: torch.device) -> dict[str, torch.Tensor]:
        key = str(device)
        if self._tensors.get("device") != key:
            t = self.task_data
            self._tensors = {"device": key}
            for split in ("train", "valid", "test"):
                self._tensors[f"x_{split}"] = torch.as_tensor(getattr(t, f"x_{split}")).to(device)
                self._tensors[f"y_{split}"] = torch.as_tensor(getattr(t, f"y_{split}")).to(device)
        return self._tensors

    # -- the work -----------------------------------------------------------------------------
    def evaluate(
        self, architecture: Architecture, context: EvalContext | None = None, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        """Train ``architecture`` to ``context.budget`` (else ``epochs``) epochs; return metrics."""
        context = context if context is not None else EvalContext()
        reporter = reporter if reporter is not None else NullReporter()
        epochs = self.epochs if context.budget is None else context.budget
        if not isinstance(epochs, (int, float)) or isinstance(epochs, bool) or not epochs >= 1:
            raise ConfigError(f"budget (epochs) must be >= 1, got {epochs!r}")
        epochs = round(epochs)
        span = max(epochs, round(context.max_budget) if context.max_budget else 0)
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        device = resolve_device(self.device, context.device)
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            torch.manual_seed(int(context.seed))
            return self._run(architecture, context, reporter, epochs, span, device)

    def recipe_for(self, architecture: Architecture) -> Recipe:
        """The recipe a trial of ``architecture`` trains with: the evaluator's, with a joint genotype's
        hyperparameters (:mod:`nasforge.space.joint`) applied."""
        from nasforge.space.joint import recipe_of

        hp = recipe_of(architecture)
        return self.recipe.replace(**hp) if hp else self.recipe

    def _run(self, architecture: Architecture, context: EvalContext, reporter: Reporter, epochs: int,
             span: int, device: torch.device) -> dict[str, Any]:
        if self.folds:
            return run_cv(self, architecture, context, reporter, epochs, span, device)
        model = self.build_model(architecture).to(device)
        data = self._data(device)
        x, y = data["x_train"], data["y_train"]
        recipe = self.recipe_for(architecture)
        overrides = ((context.extra or {}).get("lineage") or {}).get("recipe")
        if overrides:  # e.g. NASH's SGDR fine-tuning of a child
            recipe = recipe.replace(**overrides)
        metrics: dict[str, Any] = {}
        if context.parent_checkpoint and not context.resume_from:  # weights first: the optimizer sees them
            from nasforge.estimate.inherit import load_parent

            metrics.update(load_parent(model, architecture, self.get_space(architecture), context,
                                       tuple(self.task_data.input_shape), int(self.task_data.num_classes)))
        run = TrainingRun(model, recipe, len(y), span, int(context.seed), device)
        if context.resume_from and not self._resume(run, context):
            metrics["restarted"] = 1
        started = time.perf_counter()
        begun = run.epoch
        train_loss = valid_acc = valid_loss = float("nan")
        while run.epoch < epochs:
            train_loss = run.train_epoch(x, y)
            valid_acc, valid_loss = evaluate_split(model, data["x_valid"], data["y_valid"])
            report = {"valid_acc": valid_acc, "valid_loss": valid_loss, "train_loss": train_loss}
            if not reporter.report(run.epoch, report):
                break
        if run.epoch == begun:  # nothing left to train (a resumed run already at its budget)
            valid_acc, valid_loss = evaluate_split(model, data["x_valid"], data["y_valid"])
        train_seconds = time.perf_counter() - started
        trained = run.epoch - begun
        metrics.update({
            "valid_acc": valid_acc,
            "valid_loss": valid_loss,
            "test_acc": accuracy(model, data["x_test"], data["y_test"]),
            "params": count_params(model),
            "macs": count_macs(model, self.task_data.input_shape, device),
            "train_seconds": train_seconds,
            "epoch_seconds": train_seconds / max(trained, 1),
            "epochs": run.epoch,
        })
        if trained:
            metrics["train_loss"] = train_loss
        if self.latency_repeats:
            metrics["latency_ms"] = measure_latency_ms(model, self.task_data.input_shape, device,
                                                       repeats=self.latency_repeats)
        if context.checkpoint_dir:
            metrics["checkpoint"] = ckpt.save_weights(model, context.checkpoint_dir, run.epoch)
            if context.save_state:
                _, metrics["state_sha256"] = ckpt.save_state(run.state_dict(), context.checkpoint_dir)
        return metrics

    def _resume(self, run: TrainingRun, context: EvalContext) -> bool:
        """Restore ``run`` from ``context.resume_from``; ``False`` (with a warning) when that state is
        missing or corrupt and the trial restarts from zero."""
        path = ckpt.state_path(context.resume_from)  # type: ignore[arg-type]
        try:
            run.load_state_dict(ckpt.load_state(path, run.device, context.resume_sha256))
        except EvaluationError as exc:
            warnings.warn(f"trial {context.trial_number}: {exc}; training it again from zero", stacklevel=2)
            return False
        return True


__all__ = ["TrainEvaluator", "accuracy", "batch_starts", "resolve_device"]
