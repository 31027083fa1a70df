"""Evaluators by name (``nasforge search --evaluator``, configs): a tiny lazy registry."""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry

EVALUATORS: Registry[Any] = Registry(
    "evaluator",
    {
        "train": "nasforge.estimate.train:TrainEvaluator",
        "tabular": "nasforge.estimate.tabular:TabularEvaluator",
        "supernet": "nasforge.oneshot.evaluator:SupernetEvaluator",
    },
)


def create(name: str, /, **params: Any) -> Any:
    """Create the registered evaluator ``name`` with its keyword parameters."""
    return EVALUATORS.create(name, **params)


def list_evaluators() -> list[str]:
    """Names of the registered evaluators."""
    return EVALUATORS.names()


__all__ = ["EVALUATORS", "create", "list_evaluators"]
