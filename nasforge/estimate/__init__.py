"""Performance estimation: evaluators that score an architecture at a budget.

Light to import: :class:`TrainEvaluator` (torch) is loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from nasforge.estimate.base import EvalContext, Evaluator, NullReporter, Reporter

_LAZY = {
    "TrainEvaluator": "nasforge.estimate.train",
    "TabularEvaluator": "nasforge.estimate.tabular",
    "EVALUATORS": "nasforge.estimate.registry",
    "create": "nasforge.estimate.registry",
    "list_evaluators": "nasforge.estimate.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nasforge.estimate' has no attribute {name!r}")


__all__ = ["EvalContext", "Evaluator", "NullReporter", "Reporter", "TrainEvaluator", *sorted(
    k for k in _LAZY if k != "TrainEvaluator")]
