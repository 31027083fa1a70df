"""Real PyTorch training as a performance estimator.

AdamW with a one-cycle learning-rate schedule, fixed batch size, ``epochs`` as the budget. The hot
loop works on pre-made tensors (no DataLoader): one seeded ``torch.randperm`` per epoch, index the
batch, step. Evaluation runs under ``torch.inference_mode()``. All torch randomness (initialisation,
shuffling, dropout) is drawn inside ``torch.random.fork_rng`` seeded from ``context.seed``, so a
trial is deterministic under its seed and the caller's global RNG is untouched.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasforge.data import Task
from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.base import EvalContext, Evaluator, NullReporter, Reporter
from nasforge.estimate.metrics import count_macs, count_params, measure_latency_ms
from nasforge.space.architecture import Architecture

#: file names inside ``context.checkpoint_dir``
WEIGHTS_FILE = "model.pt"
META_FILE = "model.json"


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


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Batch start offsets; a trailing batch smaller than 2 samples is dropped (batch norm)."""
    starts = list(range(0, n, batch_size))
    if starts and n - starts[-1] < 2 and len(starts) > 1:
        starts.pop()
    return starts


class TrainEvaluator(Evaluator):
    """Train an architecture from scratch (or from a parent checkpoint) and score it.

    Args:
        task: a :class:`~nasforge.data.Task` or anything :func:`nasforge.data.load` accepts
            (a built-in name is loaded lazily in :meth:`prepare`, once per process).
        space: the search space (object, ``to_config()`` dict or name) used to build models;
            ``None`` creates the genotype's space with default parameters for the task.
        epochs: training epochs when the context gives no budget.
        batch_size, lr (one-cycle peak), weight_decay, label_smoothing: the recipe.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        threads: torch intra-op threads set before training (``None`` leaves them).
        latency_repeats: batch-1 forward passes timed for ``latency_ms`` (0 skips it).
    """

    name = "train"

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
        self._check()
        self._task: Task | None = task if isinstance(task, Task) else None
        self._space_obj: Any = None
        self._tensors: dict[str, Any] = {}

    def _check(self) -> None:
        for key, low in (("epochs", 1), ("batch_size", 2), ("latency_repeats", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
        for key in ("lr", "weight_decay", "label_smoothing"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{key} must be a finite number, got {value!r}")
        if self.lr <= 0 or self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise ConfigError(
                f"need lr > 0, weight_decay >= 0 and 0 <= label_smoothing < 1, got lr={self.lr}, "
                f"weight_decay={self.weight_decay}, label_smoothing={self.label_smoothing}"
            )
        if not isinstance(self.device, str):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ConfigError(f"threads must be an integer >= 1 or None, got {self.threads!r}")

    # -- pickling: ship parameters and the task arrays, not cached tensors ---------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tensors"] = {}
        state["_space_obj"] = None
        return state

    # -- set-up -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load the task (once per process)."""
        if self._task is None:
            from nasforge.data import load

            self._task = load(self.task)

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

    def to_config(self) -> dict[str, Any]:
        task = self.task if isinstance(self.task, str) else self.task_data.name
        space = self.space
        if space is not None and not isinstance(space, (str, dict)):
            space = space.to_config()
        return {
            "name": self.name, "task": str(task), "space": space, "epochs": self.epochs,
            "batch_size": self.batch_size, "lr": self.lr, "weight_decay": self.weight_decay,
            "label_smoothing": self.label_smoothing, "device": self.device, "threads": self.threads,
            "latency_repeats": self.latency_repeats,
        }

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
        """Train ``architecture`` for ``context.budget`` (else ``epochs``) epochs; return metrics."""
        context = context if context is not None else EvalContext()
        reporter = reporter if reporter is not None else NullReporter()
        epochs = self.epochs if context.budget is None else context.budget
        if not isinstance(epochs, (int, float)) or isinstance(epochs, bool) or not epochs >= 1:
            raise ConfigError(f"budget (epochs) must be >= 1, got {epochs!r}")
        epochs = round(epochs)
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        device = resolve_device(self.device, context.device)
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            torch.manual_seed(int(context.seed))
            return self._run(architecture, context, reporter, epochs, device)

    def _run(self, architecture: Architecture, context: EvalContext, reporter: Reporter, epochs: int,
             device: torch.device) -> dict[str, Any]:
        model = self.build_model(architecture).to(device)
        done_before = 0
        if context.parent_checkpoint:
            done_before = _load_parent(model, context.parent_checkpoint, device)
            epochs = max(1, epochs - done_before) if done_before else epochs
        data = self._data(device)
        x, y = data["x_train"], data["y_train"]
        n = len(y)
        bs = min(self.batch_size, n)
        starts = batch_starts(n, bs)
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.lr, total_steps=epochs * len(starts)
        )
        generator = torch.Generator(device=device).manual_seed(int(context.seed))
        smoothing = float(self.label_smoothing)
        started = time.perf_counter()
        epoch_times: list[float] = []
        valid_acc = 0.0
        trained = 0
        for epoch in range(epochs):
            t0 = time.perf_counter()
            model.train()
            perm = torch.randperm(n, generator=generator, device=device)
            total = torch.zeros((), device=device)
            for s in starts:
                idx = perm[s: s + bs]
                loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.detach()
            train_loss = float(total) / len(starts)
            if not math.isfinite(train_loss):
                raise EvaluationError("non_finite", f"training loss became {train_loss} in epoch {epoch + 1}")
            valid_acc = accuracy(model, data["x_valid"], data["y_valid"])
            trained = epoch + 1
            epoch_times.append(time.perf_counter() - t0)
            if not reporter.report(done_before + trained, {"valid_acc": valid_acc, "train_loss": train_loss}):
                break
        train_seconds = time.perf_counter() - started
        metrics: dict[str, Any] = {
            "valid_acc": valid_acc,
            "test_acc": accuracy(model, data["x_test"], data["y_test"]),
            "train_loss": train_loss,
            "params": count_params(model),
            "macs": count_macs(model, self.task_data.input_shape, device),
            "train_seconds": train_seconds,
            "epoch_seconds": train_seconds / max(trained, 1),
            "epochs": done_before + trained,
        }
        if self.latency_repeats:
            metrics["latency_ms"] = measure_latency_ms(model, self.task_data.input_shape, device,
                                                       repeats=self.latency_repeats)
        if context.checkpoint_dir:
            metrics["checkpoint"] = save_checkpoint(model, context.checkpoint_dir, done_before + trained)
        return metrics


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy in eval mode under ``torch.inference_mode()``."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for s in range(0, len(y), batch_size):
            correct += int((model(x[s: s + batch_size]).argmax(dim=1) == y[s: s + batch_size]).sum())
    return correct / max(len(y), 1)


def save_checkpoint(model: nn.Module, directory: str | os.PathLike[str], epochs: int) -> str:
    """Save the state dict to ``<directory>/model.pt`` (+ ``model.json`` with the epochs)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    weights = path / WEIGHTS_FILE
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, weights)
    (path / META_FILE).write_text(json.dumps({"epochs": int(epochs)}))
    return str(weights)


def _load_parent(model: nn.Module, checkpoint: str, device: torch.device) -> int:
    """Load parent weights (``weights_only=True``); return the epochs the parent had trained."""
    path = Path(checkpoint)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    if not path.exists():
        raise EvaluationError("missing_checkpoint", f"parent checkpoint {str(path)!r} does not exist")
    state = torch.load(path, map_location=device, weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise EvaluationError("bad_checkpoint", f"parent weights do not fit this model: {exc}") from exc
    meta = path.with_name(META_FILE)
    if meta.exists():
        try:
            return int(json.loads(meta.read_text()).get("epochs", 0))
        except (ValueError, AttributeError):
            return 0
    return 0
