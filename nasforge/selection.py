"""Which trial is "the best": the one selection rule every command uses.

Among COMPLETE trials with a value, the best is the one with, in order:

1. the **higher objective value** (``Trial.value``: the objective, negated for minimised objectives);
2. then the **lower validation loss** (``valid_loss``; with k-fold cross-validation the mean over the
   folds), missing counts as worst;
3. then **fewer parameters** (``params``), missing counts as worst;
4. then the **lower trial number** (the earlier trial).

Ties are exact equality of the value before them. Nothing here reads the test split: ``test_acc`` is
reported, never used to choose. ``Study.best_trial``, ``nasforge best`` / ``export`` / ``predict``, the
results table and the HTML report all go through :func:`best_trial`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from nasforge.trial import Trial, TrialState

#: the rule in words (shown in docs and ``--help`` texts)
RULE = "higher objective, then lower validation loss, then fewer parameters, then lower trial number"


def _metric(trial: Trial, key: str) -> float:
    value = trial.metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return math.inf
    return float(value)


def selection_key(trial: Trial, value: float) -> tuple[float, float, float, int]:
    """A key whose **minimum** is the best trial (``value``: its objective, higher is better)."""
    return (-float(value), _metric(trial, "valid_loss"), _metric(trial, "params"), int(trial.number))


def best_trial(trials: Iterable[Trial], value: Callable[[Trial], Any] | None = None) -> Trial | None:
    """The best COMPLETE trial by :data:`RULE`, or ``None``. ``value(trial)`` gives the objective with
    higher = better (default ``trial.value``); trials whose value is ``None`` or not finite are left out."""
    score = value if value is not None else (lambda t: t.value)
    ranked = []
    for t in trials:
        if t.state is not TrialState.COMPLETE:
            continue
        v = score(t)
        if v is None or not math.isfinite(float(v)):
            continue
        ranked.append((selection_key(t, float(v)), t))
    if not ranked:
        return None
    return min(ranked, key=lambda pair: pair[0])[1]


__all__ = ["RULE", "best_trial", "selection_key"]
