"""One training run as an object whose whole state can be saved and restored exactly.

:class:`TrainingRun` holds the model, the optimizer, the per-batch learning-rate schedule, the shuffling
generator, the global torch RNG (dropout) and the epoch counter. :meth:`TrainingRun.state_dict` captures
all of it (tensors, numbers and strings only, so it loads with ``torch.load(..., weights_only=True)``) and
:meth:`TrainingRun.load_state_dict` restores it, so a run paused after epoch 3 and continued to epoch 9 ends
bit-for-bit where a run trained 9 epochs straight ends (same seed, CPU).

The hot loop works on pre-made tensors (no DataLoader): one seeded ``torch.randperm`` per epoch, index
the batch, step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasforge.errors import EvaluationError
from nasforge.recipe import Recipe

#: the version of :meth:`TrainingRun.state_dict`'s layout
STATE_FORMAT = 1


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Batch start offsets; a trailing batch smaller than 2 samples is dropped (batch norm)."""
    starts = list(range(0, n, batch_size))
    if starts and n - starts[-1] < 2 and len(starts) > 1:
        starts.pop()
    return starts


class TrainingRun:
    """The training state of one model under one :class:`Recipe`.

    Args:
        model: the network (already on ``device``).
        recipe: optimizer, schedule, batch size, label smoothing.
        n_train: training samples per epoch.
        schedule_epochs: the epochs the learning-rate schedule spans (a scheduler's maximum budget, so
            a paused run continues on the same schedule).
        seed: seeds the shuffling generator.
        device: where the tensors live.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, n_train: int, schedule_epochs: int, seed: int,
                 device: torch.device) -> None:
        self.model = model
        self.recipe = recipe
        self.device = device
        self.n_train = int(n_train)
        self.batch_size = min(recipe.batch_size, self.n_train)
        self.starts = batch_starts(self.n_train, self.batch_size)
        self.schedule_epochs = max(1, int(schedule_epochs))
        self.optimizer = recipe.make_optimizer(model.parameters())
        self.schedule = recipe.make_schedule(
            self.optimizer, self.schedule_epochs * len(self.starts), len(self.starts)
        )
        self.generator = torch.Generator(device=device).manual_seed(int(seed))
        self.epoch = 0

    @property
    def steps_per_epoch(self) -> int:
        return len(self.starts)

    def train_epoch(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One epoch over ``(x, y)``; returns the mean training loss (``EvaluationError`` if not finite)."""
        if self.epoch >= self.schedule_epochs:
            raise EvaluationError(
                "bad_budget",
                f"the schedule spans {self.schedule_epochs} epochs; epoch {self.epoch + 1} is past it",
            )
        model, bs = self.model, self.batch_size
        model.train()
        perm = torch.randperm(self.n_train, generator=self.generator, device=self.device)
        total = torch.zeros((), device=self.device)
        smoothing = float(self.recipe.label_smoothing)
        for s in self.starts:
            idx = perm[s: s + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.schedule.step()
            total += loss.detach()
        self.epoch += 1
        train_loss = float(total) / len(self.starts)
        if not math.isfinite(train_loss):
            raise EvaluationError("non_finite", f"training loss became {train_loss} in epoch {self.epoch}")
        return train_loss

    # -- exact save / restore ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (loadable with ``weights_only=True``)."""
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "epoch": self.epoch,
            "schedule_epochs": self.schedule_epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "recipe": self.recipe.to_dict(),
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output; ``EvaluationError("bad_checkpoint")`` if it does not fit."""
        try:
            if int(state["format"]) != STATE_FORMAT:
                raise ValueError(f"state format {state['format']} (this nasforge writes {STATE_FORMAT})")
            if int(state["steps_per_epoch"]) != self.steps_per_epoch:
                raise ValueError(
                    f"{state['steps_per_epoch']} steps per epoch, this run has {self.steps_per_epoch}"
                )
            if int(state["schedule_epochs"]) != self.schedule_epochs:
                raise ValueError(
                    f"a schedule over {state['schedule_epochs']} epochs, "
                    f"this run's spans {self.schedule_epochs}"
                )
            if dict(state["recipe"]) != self.recipe.to_dict():
                raise ValueError(f"recipe {state['recipe']}, this run's is {self.recipe.to_dict()}")
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
            self.generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            if self.device.type == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state(state["cuda_rng"], self.device)
            self.epoch = int(state["epoch"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise EvaluationError(
                "bad_checkpoint", f"the saved training state does not fit this run: {exc}"
            ) from exc


@torch.inference_mode()
def evaluate_split(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256
) -> tuple[float, float]:
    """``(top-1 accuracy, mean cross-entropy)`` of ``model`` in eval mode."""
    model.eval()
    correct = 0
    loss = 0.0
    for s in range(0, len(y), batch_size):
        logits = model(x[s: s + batch_size])
        target = y[s: s + batch_size]
        correct += int((logits.argmax(dim=1) == target).sum())
        loss += float(F.cross_entropy(logits.float(), target, reduction="sum"))
    n = max(len(y), 1)
    return correct / n, loss / n


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy in eval mode under ``torch.inference_mode()``."""
    return evaluate_split(model, x, y, batch_size)[0]


__all__ = ["STATE_FORMAT", "TrainingRun", "accuracy", "batch_starts", "evaluate_split"]
