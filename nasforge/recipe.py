"""The training recipe: optimizer, learning-rate schedule, batch size and regularisation of one training run.

A :class:`Recipe` is plain, validated data. :meth:`Recipe.replace` gives a copy with some values changed
(a joint architecture + hyperparameter genotype overrides the evaluator's recipe this way). The
schedule is defined on a number of epochs fixed when the run starts (``schedule_epochs``), so a run
paused after 3 of 9 epochs and continued ends where a 9-epoch run ends.

Schedules (stepped once per batch):

* ``onecycle``: ``torch.optim.lr_scheduler.OneCycleLR`` peaking at ``lr`` (the default);
* ``cosine``: cosine annealing from ``lr`` to 0 over the schedule;
* ``sgdr``: cosine with warm restarts (Loshchilov & Hutter 2017), first period ``restart_period`` epochs,
  each next one ``restart_mult`` times longer (NASH's short fine-tuning);
* ``constant``: ``lr`` throughout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from nasforge.checks import check_choice, check_int, check_number

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("onecycle", "cosine", "sgdr", "constant")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a network is trained (validated on construction; raises ``ConfigError``).

    Args:
        optimizer: ``adamw``, ``adam`` or ``sgd``.
        lr: peak (onecycle) or initial learning rate, > 0.
        weight_decay: decoupled (adamw) or L2 (adam, sgd) weight decay, >= 0.
        momentum: SGD momentum in [0, 1) (ignored by the Adam family).
        batch_size: samples per step, >= 2 (batch norm).
        label_smoothing: in [0, 1).
        schedule: one of :data:`SCHEDULES`.
        restart_period: ``sgdr``: epochs of the first cosine period, >= 1.
        restart_mult: ``sgdr``: growth factor of each next period, >= 1.
    """

    optimizer: str = "adamw"
    lr: float = 0.01
    weight_decay: float = 0.01
    momentum: float = 0.9
    batch_size: int = 128
    label_smoothing: float = 0.0
    schedule: str = "onecycle"
    restart_period: int = 1
    restart_mult: int = 2

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("lr", self.lr, 0.0, low_open=True)
        check_number("weight_decay", self.weight_decay, 0.0)
        check_number("momentum", self.momentum, 0.0, 1.0, high_open=True)
        check_number("label_smoothing", self.label_smoothing, 0.0, 1.0, high_open=True)
        check_int("batch_size", self.batch_size, 2)
        check_int("restart_period", self.restart_period, 1)
        check_int("restart_mult", self.restart_mult, 1)

    def replace(self, **changes: Any) -> Recipe:
        """A validated copy with ``changes`` applied (unknown names raise ``ConfigError``)."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            from nasforge.errors import ConfigError

            raise ConfigError(
                f"unknown training hyperparameter(s) {unknown}; expected some of {list(self.field_names())}"
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The recipe's hyperparameter names."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a plain dict."""
        return dataclasses.asdict(self)

    def non_default(self) -> dict[str, Any]:
        """Only the values that differ from the defaults."""
        default = Recipe()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    # -- torch objects --------------------------------------------------------------------------
    def make_optimizer(self, parameters: Iterable[Any]) -> Any:
        """The ``torch.optim`` optimizer of this recipe over ``parameters``."""
        import torch

        if self.optimizer == "adamw":
            return torch.optim.AdamW(parameters, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(parameters, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def make_schedule(self, optimizer: Any, total_steps: int, steps_per_epoch: int) -> Any:
        """The per-batch learning-rate schedule over ``total_steps`` steps."""
        import torch

        sched = torch.optim.lr_scheduler
        total_steps = max(1, int(total_steps))
        if self.schedule == "onecycle":
            # SGD keeps the recipe's momentum (OneCycleLR would otherwise cycle it over 0.85..0.95)
            return sched.OneCycleLR(optimizer, max_lr=self.lr, total_steps=total_steps,
                                    cycle_momentum=self.optimizer != "sgd")
        if self.schedule == "cosine":
            return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
        if self.schedule == "sgdr":
            return sched.CosineAnnealingWarmRestarts(
                optimizer, T_0=max(1, self.restart_period * steps_per_epoch), T_mult=self.restart_mult
            )
        return sched.LambdaLR(optimizer, lambda _step: 1.0)


__all__ = ["OPTIMIZERS", "SCHEDULES", "Recipe"]
