"""The shared part of every weight-sharing search: a supernet, its weight optimizer, epochs, checkpoints.

:class:`SupernetSearch` builds the space's supernet (:func:`nasforge.models.supernet.build_supernet`)
for a task, trains its weights with SGD (momentum 0.9, cosine schedule, gradient clipping at 5, as the
DARTS reference) for ``epochs`` epochs, and after every epoch writes its whole state atomically to
``checkpoint_dir/supernet_state.pt`` (supernet, optimizers, schedule, architecture weights, the
sampling generator, the epoch and the history). A search constructed on a directory holding such a
state continues from its last finished epoch, so a run killed by SIGKILL resumes and ends exactly
where an uninterrupted one ends (CPU). Everything is loaded with ``torch.load(weights_only=True)``.

All randomness (shuffling, sampled paths, drop masks) comes from one ``torch.Generator`` seeded from
``seed``; the caller's global RNG is not used. Subclasses implement :meth:`SupernetSearch.train_step`
(one batch) and may add state with :meth:`extra_state` / :meth:`load_extra_state`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.checks import check_int, check_number
from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.checkpoint import atomic_save
from nasforge.models.supernet import build_supernet

STATE_FILE = "supernet_state.pt"
#: the final shared weights (what :class:`~nasforge.oneshot.evaluator.SupernetEvaluator` loads)
SUPERNET_FILE = "supernet.pt"


#: supernet training epochs when none are given
DEFAULT_EPOCHS = 10


class SupernetSearch:
    """Train a supernet of ``space`` on ``task`` (see the module docstring).

    Args:
        space: an ``edge-cell``, ``nasnet`` or ``fabric`` space (others: :class:`ConfigError` naming the
            supported).
        task: a :class:`~nasforge.data.Task`.
        epochs: supernet training epochs.
        batch_size, lr (SGD, cosine-annealed to ``lr_min``), momentum, weight_decay, grad_clip: weights.
        seed: seeds the initialisation and the generator.
        device: a torch device string.
        checkpoint_dir: where the per-epoch state lives (``None``: no checkpoints).
        dtype: the floating type of the supernet (float64 for gradient checks).
    """

    method: ClassVar[str] = ""
    #: whether the weights train on one half of the training split (DARTS: the other half is alpha's)
    split_halves: ClassVar[bool] = False

    def __init__(self, space: Any, task: Any, *, epochs: int = DEFAULT_EPOCHS, batch_size: int = 64,
                 lr: float = 0.025, lr_min: float = 0.001, momentum: float = 0.9, weight_decay: float = 3e-4,
                 grad_clip: float = 5.0, seed: int = 0, device: str = "cpu",
                 checkpoint_dir: str | os.PathLike[str] | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.epochs = check_int("epochs", epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 2)
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            check_number(name, value, 0.0)
        if not lr > 0:
            raise ConfigError(f"lr (the supernet weights' learning rate) must be > 0, got {lr!r}")
        self.lr, self.lr_min, self.momentum = float(lr), float(lr_min), float(momentum)
        self.weight_decay, self.grad_clip = float(weight_decay), float(grad_clip)
        self.seed = check_int("seed", seed, 0)
        self.space, self.task = space, task
        self.device = torch.device(device)
        self.dtype = dtype
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = build_supernet(space, tuple(task.input_shape), int(task.num_classes))
        self.net.to(device=self.device, dtype=dtype)
        self.generator = torch.Generator(device="cpu").manual_seed(self.seed)
        self._load_data()
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=self.lr, momentum=self.momentum,
                                         weight_decay=self.weight_decay)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, self.epochs, self.lr_min)
        self.epoch = 0
        self.seconds = 0.0
        self.history: list[dict[str, Any]] = []
        self.resumed_from: int | None = None

    # -- data ---------------------------------------------------------------------------------
    def _load_data(self) -> None:
        t = self.task
        x = torch.as_tensor(np.asarray(t.x_train), dtype=self.dtype, device=self.device)
        y = torch.as_tensor(np.asarray(t.y_train), dtype=torch.long, device=self.device)
        if len(y) < 4:
            raise ConfigError(f"a supernet search needs at least 4 training samples, got {len(y)}")
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(self.seed)).to(self.device)
        if self.split_halves:  # DARTS: weights on one half, architecture weights on the other
            half = len(y) // 2
            self.x_w, self.y_w = x[order[:half]], y[order[:half]]
            self.x_a, self.y_a = x[order[half:]], y[order[half:]]
        else:
            self.x_w, self.y_w = x, y
            self.x_a, self.y_a = x[:0], y[:0]
        self.x_valid = torch.as_tensor(np.asarray(t.x_valid), dtype=self.dtype, device=self.device)
        self.y_valid = torch.as_tensor(np.asarray(t.y_valid), dtype=torch.long, device=self.device)

    def batches(self, x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled batches of ``(x, y)`` drawn with the search's generator (last one if >= 2 samples)."""
        perm = torch.randperm(len(y), generator=self.generator).to(x.device)
        bs = min(self.batch_size, len(y))
        out = []
        for s in range(0, len(y), bs):
            idx = perm[s: s + bs]
            if len(idx) >= 2:
                out.append((x[idx], y[idx]))
        return out

    def loss(self, x: torch.Tensor, y: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
        """Cross-entropy of the supernet under the path / mixture ``weights``."""
        return F.cross_entropy(self.net(x, weights), y)

    def weight_step(self, x: torch.Tensor, y: torch.Tensor, weights: list[torch.Tensor]) -> float:
        """One SGD step of the network weights (never of the architecture weights)."""
        self.net.train()
        loss = self.loss(x, y, weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        self.optimizer.step()
        return float(loss.detach())

    # -- the loop -----------------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        """Train on one batch (subclasses); returns the training loss."""
        raise NotImplementedError

    def end_epoch(self) -> dict[str, Any]:
        """Work after an epoch's batches (counted in :attr:`seconds`) and its record added to
        :attr:`history` (subclasses add their own keys)."""
        return {}

    def run(self, on_epoch: Any = None) -> SupernetSearch:
        """Train from the stored state (if any) to :attr:`epochs`, checkpointing after every epoch;
        ``on_epoch(search)`` is called after each one."""
        self.resume()
        while self.epoch < self.epochs:
            started = time.perf_counter()
            batches = self.batches(self.x_w, self.y_w)
            total = 0.0
            for k, (x, y) in enumerate(batches):
                total += self.train_step(x, y, k, len(batches))
            self.schedule.step()
            self.epoch += 1
            train_loss = total / max(len(batches), 1)
            if not math.isfinite(train_loss):
                raise EvaluationError("non_finite",
                                      f"supernet loss became {train_loss} in epoch {self.epoch}")
            extra = self.end_epoch()  # timed with the epoch (ENAS trains its controller here)
            self.seconds += time.perf_counter() - started
            self.history.append({"epoch": self.epoch, "train_loss": train_loss, **extra})
            self.save()
            if on_epoch is not None:
                on_epoch(self)
        return self

    # -- state --------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "epoch": self.epoch, "epochs": self.epochs, "seconds": self.seconds,
            "net": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
            "generator": self.generator.get_state(), "history": self.history,
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("method") != self.method or int(state.get("epochs", -1)) != self.epochs:
            raise ConfigError(
                f"the supernet state in {str(self.checkpoint_dir)!r} belongs to a "
                f"{state.get('method')!r} run "
                f"of {state.get('epochs')} epochs, not to this {self.method!r} run of {self.epochs}; "
                "use another checkpoint directory"
            )
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.generator.set_state(state["generator"])
        self.history = list(state["history"])
        self.epoch, self.seconds = int(state["epoch"]), float(state["seconds"])
        self.load_extra_state(state["extra"])

    def save(self) -> None:
        """Write the whole state (after an epoch) and the current shared weights, atomically."""
        if self.checkpoint_dir is None:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        atomic_save(self.state_dict(), self.checkpoint_dir / STATE_FILE)
        atomic_save(self.supernet_record(), self.checkpoint_dir / SUPERNET_FILE)

    def supernet_record(self) -> dict[str, Any]:
        """The trained shared weights with what they fit (space config, task, method, epochs)."""
        import json

        return {"net": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
                "space": json.dumps(self.space.to_config(), sort_keys=True),
                "task": str(getattr(self.task, "name", "")), "method": self.method,
                "epochs": self.epoch}

    def resume(self) -> bool:
        """Load the stored state if there is one (once); ``True`` if training continues from it."""
        if self.checkpoint_dir is None or self.resumed_from is not None:
            return False
        path = self.checkpoint_dir / STATE_FILE
        if not path.exists():
            self.resumed_from = 0
            return False
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as exc:  # truncated / foreign file
            raise EvaluationError("bad_checkpoint",
                                  f"cannot read supernet state {str(path)!r}: {exc}") from exc
        self.load_state_dict(state)
        self.resumed_from = self.epoch
        return True

    def record(self) -> dict[str, Any]:
        """The search's cost and history as JSON data (the study's ``oneshot`` record)."""
        return {"method": self.method, "epochs": self.epoch, "seconds": round(self.seconds, 3),
                "history": self.history}


__all__ = ["STATE_FILE", "SUPERNET_FILE", "SupernetSearch"]
