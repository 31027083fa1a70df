"""Multi-fidelity schedulers (ask/tell, replayable), one module each, behind one registry.

The strategy says what to try; a scheduler says how much budget each trial gets and answers its
intermediate reports (continue / stop / pause). See :mod:`nasforge.schedulers.base`.
"""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.schedulers.base import Assignment, Decision, Scheduler

SCHEDULERS: Registry[type[Scheduler]] = Registry(
    "scheduler",
    {
        "successive-halving": "nasforge.schedulers.hyperband:SuccessiveHalving",
        "hyperband": "nasforge.schedulers.hyperband:Hyperband",
        "asha": "nasforge.schedulers.asha:ASHA",
        "median-stopping": "nasforge.schedulers.median:MedianStopping",
        "bohb": "nasforge.schedulers.bohb:BOHB",
    },
    requires={"bohb": ("optuna",)},
)


def create(name: str, /, **params: Any) -> Scheduler:
    """Create the registered scheduler ``name`` with its keyword parameters."""
    return SCHEDULERS.create(name, **params)


def list_schedulers() -> list[str]:
    """Names of the registered schedulers."""
    return SCHEDULERS.names()


def register(name: str) -> Any:
    """Decorator registering a :class:`Scheduler` subclass under ``name``."""
    return SCHEDULERS.register(name)


def from_config(config: dict[str, Any]) -> Scheduler:
    """Rebuild a scheduler from its ``to_config()`` dict."""
    params = dict(config)
    return create(params.pop("name"), **params)


__all__ = ["SCHEDULERS", "Assignment", "Decision", "Scheduler", "create", "from_config", "list_schedulers",
           "register"]
