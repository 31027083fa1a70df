"""Black-box search strategies (ask/tell), one module each, behind one registry."""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.strategies.base import Strategy

STRATEGIES: Registry[type[Strategy]] = Registry(
    "strategy",
    {
        "random": "nasforge.strategies.random_search:RandomSearch",
        "regularized-evolution": "nasforge.strategies.regularized_evolution:RegularizedEvolution",
        "tpe": "nasforge.strategies.tpe:TPEStrategy",
        "evolution": "nasforge.strategies.evolution:Evolution",
        "reinforce": "nasforge.strategies.reinforce:ReinforceController",
        "smac": "nasforge.strategies.smac:SMACStrategy",
        "gp": "nasforge.strategies.gp:GPStrategy",
        "pnas": "nasforge.strategies.pnas:PNASStrategy",
        "bananas": "nasforge.strategies.bananas:BananasStrategy",
        "local-search": "nasforge.strategies.local_search:LocalSearch",
        "nash": "nasforge.strategies.nash:NASH",
        "nsga2": "nasforge.strategies.nsga2:NSGA2",
        "mo-evolution": "nasforge.strategies.mo_evolution:MORegularizedEvolution",
        "lemonade": "nasforge.strategies.lemonade:LEMONADE",
    },
    requires={"tpe": ("optuna",)},
)


def create(name: str, /, **params: Any) -> Strategy:
    """Create the registered strategy ``name`` with its keyword parameters."""
    return STRATEGIES.create(name, **params)


def list_strategies() -> list[str]:
    """Names of the registered strategies."""
    return STRATEGIES.names()


def register(name: str) -> Any:
    """Decorator registering a :class:`Strategy` subclass under ``name``."""
    return STRATEGIES.register(name)


__all__ = ["STRATEGIES", "Strategy", "create", "list_strategies", "register"]
