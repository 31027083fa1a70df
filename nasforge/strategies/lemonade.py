"""LEMONADE: Lamarckian evolution for multi-objective NAS (Elsken, Metzen & Hutter, "Efficient
multi-objective neural architecture search via Lamarckian evolution", ICLR 2019).

The population is the current Pareto front: the non-dominated told trials on the study's objectives
(constrained domination, :mod:`nasforge.multiobjective.selection`; in a single-objective study the
front is taken on ``(value, params)`` so the search still trades size for accuracy). Until
``n_initial`` trials are told, candidates are random samples trained with the evaluator's full budget.
Then, generation after generation:

1. a Gaussian kernel density estimate ``p_KDE`` is fit on the front's *cheap* objectives -- those
   computable without training (``params``, ``macs``; :mod:`nasforge.strategies.cheap`), by default
   the study's objectives that are cheap, else ``params`` -- on the log scale;
2. ``n_pc`` parents are drawn from the front with probability proportional to ``1 / p_KDE`` (Eq. 1 of
   the paper): parents in sparsely populated size regions are preferred;
3. each parent gets one child by one random (approximate) network morphism
   (:func:`nasforge.models.morphisms.random_moves` over every operator of the space): the exact ones
   grow (widen, deepen, grow a kernel, add a skip on the multi-branch space), the approximate ones
   shrink (remove a layer, narrow);
4. the children's cheap objectives are computed (no training) and ``n_ac`` of them are accepted, drawn
   without replacement with probability proportional to ``1 / p_KDE`` of the children (Eq. 2);
5. an accepted child starts from its parent's trained weights transformed by the morphism (weight
   inheritance, :mod:`nasforge.estimate.inherit`) and trains ``inherit_epochs`` epochs; its lineage
   (parent, operator, exact or not) is stored with the trial;
6. the front is recomputed from the told trials (``P_{i+1} = ParetoFront(P_i + children)``).

Ask/tell: a generation begins when ``n_initial`` trials (the first) or ``n_ac`` more trials (each next
one) have been told, and is a function of the told trials before it and the seed (its generator is
seeded ``(seed, trials told at its start)``). An ask returns the generation's next accepted child that is
neither pending nor evaluated; with more workers than ``n_ac``, the generation's later children in the
same weighted order, then children of freshly drawn parents. Resume is replay.

The paper's settings (CIFAR-10; as recalled here, check the paper before relying on them): a small
initial population of simple networks; children are fine-tuned briefly with SGDR; cheap objective the
parameter count; ``n_pc`` proposed children per generation with ``n_ac`` an order of magnitude fewer
accepted and trained. Scaled down for CPU studies of tens of trials: ``n_initial=4`` random starts,
``n_pc=16``, ``n_ac=4``, ``inherit_epochs=3``; no knowledge distillation after approximate morphisms
(the child is only fine-tuned). Refuses spaces without morphism operators (tabular benchmarks, a joint
space) with :class:`~nasforge.errors.MorphismError`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasforge.checks import check_choice
from nasforge.errors import ConfigError
from nasforge.multiobjective.selection import rank_crowding, usable
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.cheap import (
    CHEAP,
    CheapObjectives,
    check_cheap,
    inverse_density_weights,
    weighted_order,
)
from nasforge.strategies.inheritance import child_candidate
from nasforge.trial import Candidate, Trial

#: children per parent draw tried before a generation gives up on a parent (no morphism applies)
_TRIES = 4


class LEMONADE(Strategy):
    """LEMONADE's Pareto-front evolution with (approximate) morphisms and cheap-objective densities.

    Args:
        n_initial: random architectures trained (full budget) before the first generation.
        n_pc: children proposed per generation (cheap: no training).
        n_ac: children accepted (trained) per generation, ``n_ac <= n_pc``.
        cheap: the cheap objectives the density is fit on (``"params"``, ``"macs"``; a list or a
            comma-separated string); ``None``: the study's objectives that are cheap, else ``params``.
        inherit_weights: children start from their parent's transformed weights (``False``: they train
            from scratch with the evaluator's budget).
        inherit_epochs: training epochs of a child (``None``: 3).
    """

    name = "lemonade"
    requires_morphisms: ClassVar[bool] = True
    default_child_epochs: ClassVar[int] = 3

    def __init__(self, n_initial: int = 4, n_pc: int = 16, n_ac: int = 4, cheap: Any = None,
                 inherit_weights: bool = True, inherit_epochs: int | None = None) -> None:
        n_pc, n_ac = positive_int("n_pc", n_pc), positive_int("n_ac", n_ac)
        if n_ac > n_pc:
            raise ConfigError(f"`n_ac <= n_pc` must hold (accepted children are chosen among the proposed "
                              f"ones), but got (n_ac={n_ac}, n_pc={n_pc})")
        if isinstance(cheap, str):
            cheap = [c.strip() for c in cheap.split(",") if c.strip()]
        epochs = self.default_child_epochs if inherit_epochs is None else inherit_epochs
        super().__init__(n_initial=positive_int("n_initial", n_initial), n_pc=n_pc, n_ac=n_ac,
                         cheap=None if cheap is None else check_cheap(cheap),
                         inherit_weights=check_choice("inherit_weights", inherit_weights, (True, False)),
                         inherit_epochs=positive_int("inherit_epochs", epochs))

    # -- life cycle ---------------------------------------------------------------------------
    def on_setup(self) -> None:
        names = self.params["cheap"]
        if names is None:
            names = [o.metric for o in (self.objectives or []) if o.metric in CHEAP] or ["params"]
        self.cheap = CheapObjectives(self._space(), names, self.task)
        self.gen_start: int | None = None  # history length when the current generation began
        self.generation = 0
        self._children: tuple[int, list[Candidate]] | None = None

    def observe(self, trial: Trial) -> None:
        told = len(self.history)
        if self.gen_start is None:
            if told >= self.params["n_initial"]:
                self.gen_start = told
        elif told - self.gen_start >= self.params["n_ac"]:
            self.gen_start, self.generation = told, self.generation + 1

    # -- the front and its density ------------------------------------------------------------
    def front(self, trials: list[Trial]) -> list[Trial]:
        """The non-dominated trials of ``trials`` (rank 0 under constrained domination), by number."""
        rows = usable(trials, self.objectives)
        if not rows:
            return []
        costs = np.array([c for _, c, _ in rows])
        if not self.objectives:  # one objective: trade it against the (first) cheap objective
            costs = np.column_stack([costs, [self.cheap(t.architecture)[0] for t, _, _ in rows]])
        rank, _ = rank_crowding(costs, np.array([v for _, _, v in rows]))
        return sorted((rows[i][0] for i in np.flatnonzero(rank == 0)), key=lambda t: t.number)

    def parent_probabilities(self, front: list[Trial]) -> np.ndarray:
        """LEMONADE's Eq. 1: ``p(N) ~ 1 / p_KDE(cheap(N))`` with the KDE fit on the front itself."""
        points = self.cheap.matrix([t.architecture for t in front])
        return inverse_density_weights(points, points)

    def child_probabilities(self, front: list[Trial], children: list[Candidate]) -> np.ndarray:
        """LEMONADE's Eq. 2: ``p(child) ~ 1 / p_KDE(cheap(child))`` under the front's KDE."""
        reference = self.cheap.matrix([t.architecture for t in front])
        return inverse_density_weights(reference, self.cheap.matrix([c.architecture for c in children]))

    # -- proposals ----------------------------------------------------------------------------
    def _child(self, parent: Trial, rng: np.random.Generator) -> Candidate | None:
        """One child of ``parent`` by one random morphism (exact or approximate), or ``None``."""
        from nasforge.estimate.inherit import lineage
        from nasforge.models.morphisms import random_moves

        space = self._space()
        arch, moves = random_moves(space, parent.architecture, rng, n=1, exact=False)
        if not moves:
            return None
        if self.params["inherit_weights"]:
            return child_candidate(space, parent, arch, self.params, moves=moves)
        info = {"lineage": lineage(parent.number, parent.architecture, moves)}
        return Candidate(arch, parent=parent.number, info=info)

    def children(self, told: list[Trial], rng: np.random.Generator) -> list[Candidate]:
        """One generation from the trials ``told`` before it: ``n_pc`` proposed children (distinct,
        not yet evaluated) in acceptance order; the first ``n_ac`` are the accepted ones."""
        front = self.front(told)
        if not front:
            return []
        probs = self.parent_probabilities(front)
        space = self._space()
        seen = {space.canonical_hash(t.architecture) for t in told}
        proposed: list[Candidate] = []
        for _ in range(self.params["n_pc"] * _TRIES):
            if len(proposed) >= self.params["n_pc"]:
                break
            child = self._child(front[int(rng.choice(len(front), p=probs))], rng)
            if child is None:
                continue
            key = space.canonical_hash(child.architecture)
            if key not in seen:
                seen.add(key)
                proposed.append(child)
        if not proposed:
            return []
        order = weighted_order(self.child_probabilities(front, proposed), rng)
        return [proposed[i] for i in order]

    def _generation(self) -> list[Candidate]:
        start = int(self.gen_start or 0)
        if self._children is None or self._children[0] != start:
            rng = np.random.default_rng([self.seed, start, 1])
            self._children = (start, self.children(self.history[:start], rng))
        return self._children[1]

    def propose(self) -> Candidate:
        space = self._space()
        if self.gen_start is None:
            return Candidate(space.sample(self.rng))
        for child in self._generation():
            if not self._known(child.architecture):
                return child
        front = self.front(self.history)  # the generation is used up (many workers): fresh parents
        if front:
            probs = self.parent_probabilities(front)
            for _ in range(_TRIES):
                child = self._child(front[int(self.rng.choice(len(front), p=probs))], self.rng)
                if child is not None:
                    return child
        return Candidate(space.sample(self.rng))


__all__ = ["LEMONADE"]
