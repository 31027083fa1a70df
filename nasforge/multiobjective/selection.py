"""What multi-objective strategies share: a told trial's cost vector and feasibility, and NSGA-II's
ranking (constrained domination, then crowding distance) of a set of trials.

A strategy bound to several objectives (``strategy.objectives``) reads each trial's metrics; in a
single-objective study it reads ``-trial.value`` as its one cost, so every multi-objective strategy also
runs (as a plain evolutionary search) where one objective is given. Constrained domination (Deb 2000):
a feasible trial beats an infeasible one, two infeasible ones compare by ``constraint_violation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.multiobjective.objectives import VIOLATION, cost_vector
from nasforge.multiobjective.pareto import crowding_distance, non_dominated_sort
from nasforge.trial import Trial, TrialState

#: a scored trial: (trial, cost vector, constraint violation)
Row = tuple[Trial, np.ndarray, float]


def costs_of(trial: Trial, objectives: Sequence[Any] | None) -> np.ndarray | None:
    """The trial's cost vector (``None`` unless COMPLETE with every objective metric)."""
    if trial.state is not TrialState.COMPLETE:
        return None
    if objectives:
        return cost_vector(trial.metrics, objectives)
    if trial.value is not None:
        return np.array([-float(trial.value)])
    # a single-objective trial without value: infeasible, still ranked by its metrics below
    return np.array([np.inf]) if trial.metrics.get(VIOLATION) else None


def usable(trials: Sequence[Trial], objectives: Sequence[Any] | None) -> list[Row]:
    """``(trial, costs, violation)`` of the trials that have costs."""
    out = []
    for t in trials:
        c = costs_of(t, objectives)
        if c is not None:
            v = t.metrics.get(VIOLATION) or 0.0
            out.append((t, c, float(v)))
    return out


def rank_crowding(costs: np.ndarray, violations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NSGA-II's ``(rank, crowding)`` per row under constrained domination: feasible rows get their
    front number, infeasible rows come after every feasible front in order of violation."""
    n = len(costs)
    rank = np.zeros(n, dtype=int)
    crowd = np.zeros(n)
    feasible = np.flatnonzero(violations <= 0)
    last = 0
    if feasible.size:
        fronts = non_dominated_sort(costs[feasible])
        for r, front in enumerate(fronts):
            idx = feasible[front]
            rank[idx] = r
            crowd[idx] = crowding_distance(costs[idx])
        last = len(fronts)
    infeasible = np.flatnonzero(violations > 0)
    if infeasible.size:
        order = infeasible[np.argsort(violations[infeasible], kind="stable")]
        rank[order] = last + np.arange(len(order))
        crowd[order] = 0.0
    return rank, crowd


def better(i: int, j: int, rank: np.ndarray, crowd: np.ndarray) -> int:
    """The winner of a crowded-comparison tournament between rows ``i`` and ``j`` (ties: ``i``)."""
    if rank[j] < rank[i] or (rank[j] == rank[i] and crowd[j] > crowd[i]):
        return j
    return i


def survivors(rows: list[Row], size: int) -> list[Row]:
    """The ``size`` best rows by (rank, -crowding, trial number): NSGA-II's elitist truncation."""
    if len(rows) <= size:
        return list(rows)
    costs = np.array([c for _, c, _ in rows])
    viol = np.array([v for _, _, v in rows])
    rank, crowd = rank_crowding(costs, viol)
    order = sorted(range(len(rows)), key=lambda i: (rank[i], -crowd[i], rows[i][0].number))
    keep = sorted(order[:size])
    return [rows[i] for i in keep]
