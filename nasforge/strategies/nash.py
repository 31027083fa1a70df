"""NASH: hill climbing with network morphisms (Elsken, Metzen & Hutter, "Simple and efficient
architecture search for convolutional neural networks", 2017).

The climb starts from one architecture trained with the evaluator's full budget (of 32 random
samples, the one with the most applicable exact morphisms: room to grow). Each step makes
``n_neighbours`` children of the current best, each by a sequence of ``n_morphisms`` random *exact*
morphisms (:func:`nasforge.models.morphisms.random_moves`), so every child starts computing what its
parent computes; it inherits the parent's weights through the morphisms' transforms and is fine-tuned
for ``epochs_neighbours`` epochs with SGDR (cosine annealing restarted for each child, one period over
its whole budget). When all children of a step are told, the best of them and the current point
becomes the current point (the paper takes the best child; keeping the parent when no child beats it
makes the climb monotone).

The paper's defaults (CIFAR-10, §5.1): ``n_neigh = 8`` children per step, ``n_NM = 5`` morphisms per
child, ``epoch_neigh = 17`` fine-tuning epochs, ``epoch_final = 20``, SGDR from ``lambda_start = 0.05``
to ``lambda_end = 0`` (SGD), ``n_steps = 5`` (8 in the longer run); these are the defaults here, except
that the learning rate and optimizer are the evaluator's unless ``lr`` / ``optimizer`` are given. A
study of ``1 + n_steps * n_neighbours`` trials is one climb of ``n_steps`` steps.

On a space without morphisms (a tabular benchmark) a child is ``n_morphisms`` ordinary mutations,
inheriting the tensors whose shapes match (or nothing, with ``inherit_weights=False``). The climb is a
function of the told trials only (replayable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.checks import check_choice, check_number
from nasforge.recipe import OPTIMIZERS
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.inheritance import child_candidate
from nasforge.trial import Candidate, Trial, TrialState


class NASH(Strategy):
    """Hill climbing with morphisms and short SGDR fine-tuning of the children.

    Args:
        n_neighbours: children per step (``n_neigh``).
        n_morphisms: random morphisms applied in sequence to make one child (``n_NM``).
        epochs_neighbours: fine-tuning epochs of a child (``epoch_neigh``).
        lr: initial SGDR learning rate of a child (``None``: the evaluator's ``lr``; the paper: 0.05).
        optimizer: a child's optimizer (``None``: the evaluator's; the paper: ``"sgd"``).
        inherit_weights: children start from the parent's weights (``False`` only for benchmarks
            without weights).
    """

    name = "nash"

    def __init__(self, n_neighbours: int = 8, n_morphisms: int = 5, epochs_neighbours: int = 17,
                 lr: float | None = None, optimizer: str | None = None, inherit_weights: bool = True) -> None:
        params: dict[str, Any] = {
            "n_neighbours": positive_int("n_neighbours", n_neighbours),
            "n_morphisms": positive_int("n_morphisms", n_morphisms),
            "epochs_neighbours": positive_int("epochs_neighbours", epochs_neighbours),
            "lr": None if lr is None else check_number("lr", lr, 0.0, low_open=True),
            "optimizer": None if optimizer is None else check_choice("optimizer", optimizer, OPTIMIZERS),
            "inherit_weights": check_choice("inherit_weights", inherit_weights, (True, False)),
        }
        super().__init__(**params)

    def on_setup(self) -> None:
        self.current: Trial | None = None
        self.step = 0
        self._since = 0  # history index where the current step began

    def _recipe(self) -> dict[str, Any]:
        p = self.params
        recipe: dict[str, Any] = {"schedule": "sgdr", "restart_period": p["epochs_neighbours"],
                                  "restart_mult": 1}
        if p["lr"] is not None:
            recipe["lr"] = p["lr"]
        if p["optimizer"] is not None:
            recipe["optimizer"] = p["optimizer"]
        return recipe

    def propose(self) -> Candidate:
        space = self._space()
        from nasforge.models.morphisms import operators, random_moves, supports

        if self.current is None:  # a start the morphisms can grow most (the paper starts from a small net)
            ops = operators(space.name, exact=True)
            samples = [space.sample(self.rng) for _ in range(32 if ops else 1)]
            room = [sum(len(op.options(space, a)) for op in ops) for a in samples]
            return Candidate(samples[int(np.argmax(room))])

        p = self.params
        parent = self.current
        arch, moves = parent.architecture, []
        if supports(space):
            arch, moves = random_moves(space, parent.architecture, self.rng, n=p["n_morphisms"])
        if not moves:  # no morphism applies (or none exists for this space): ordinary mutations
            for _ in range(p["n_morphisms"]):
                arch = space.mutate(arch, self.rng)
        inherit = {"inherit_weights": p["inherit_weights"], "inherit_epochs": p["epochs_neighbours"]}
        candidate = child_candidate(space, parent, arch, inherit, moves=moves, recipe=self._recipe())
        if not p["inherit_weights"]:
            candidate = Candidate(arch, budget=p["epochs_neighbours"], parent=parent.number)
        return candidate

    def observe(self, trial: Trial) -> None:
        ok = trial.state is TrialState.COMPLETE and trial.value is not None
        if self.current is None:
            if ok:
                self.current, self._since = trial, len(self.history)
            return
        children = [t for t in self.history[self._since:] if t.parent == self.current.number]
        if len(children) < self.params["n_neighbours"]:
            return
        scored = [t for t in (self.current, *children)
                  if t.state is TrialState.COMPLETE and t.value is not None]
        self.current = max(scored, key=lambda t: (t.value, -t.number))  # type: ignore[arg-type,return-value]
        self.step += 1
        self._since = len(self.history)


__all__ = ["NASH"]
