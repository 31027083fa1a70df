"""Weight-sharing searches that end in genotypes: DARTS (first and second order), SPOS, path dropout,
SMASH (a hypernetwork generating the weights), ENAS.

A one-shot method is a study phase (:mod:`nasforge.oneshot.phase`): it trains a supernet of the
study's space (:mod:`nasforge.models.supernet`), derives genotypes from it, and hands them to the
study's ordinary evaluator, which retrains them from scratch as ordinary trials. The methods are
ask/tell strategies (:mod:`nasforge.oneshot.strategy`) kept in their own registry, :data:`ONESHOT`,
so ``nasforge search --strategy darts`` finds them while the black-box strategy registry (and the
tests generated from it) holds only black-box strategies. ``SupernetEvaluator``
(:mod:`nasforge.oneshot.evaluator`, evaluator ``supernet``) lends a trained supernet to any strategy.
"""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry

ONESHOT: Registry[Any] = Registry(
    "one-shot method",
    {
        "darts": "nasforge.oneshot.strategy:DartsStrategy",
        "spos": "nasforge.oneshot.strategy:SposStrategy",
        "path-dropout": "nasforge.oneshot.strategy:PathDropoutStrategy",
        "smash": "nasforge.oneshot.smash:SmashStrategy",
        "enas": "nasforge.oneshot.enas:EnasStrategy",
        "retrain": "nasforge.oneshot.strategy:RetrainStrategy",
    },
)


def is_oneshot(name: Any) -> bool:
    """Whether ``name`` names a one-shot method (or the retraining of given genotypes)."""
    return isinstance(name, str) and name in ONESHOT.names()


def check_settings(settings: dict[str, Any]) -> str | None:
    """Refuse a one-shot method or the ``supernet`` evaluator on a space without a supernet (chain,
    nasbench-graph, ...) and the supernet evaluator under a one-shot method, naming what is supported
    (:class:`~nasforge.errors.ConfigError`). Returns the space name the ``supernet`` evaluator is
    created with (its errors name it), else ``None``."""
    from nasforge.errors import ConfigError
    from nasforge.estimate.registry import EVALUATORS
    from nasforge.models.supernet import SUPERNET_SPACES

    strategy, space = settings.get("strategy"), settings.get("space")
    evaluator = settings.get("evaluator") or "train"
    EVALUATORS.get(evaluator)  # an unknown evaluator: RegistryError listing the registered ones
    supported = ", ".join(SUPERNET_SPACES)
    if is_oneshot(strategy) and strategy != "retrain" and space not in SUPERNET_SPACES:
        raise ConfigError(
            f"one-shot method {strategy!r} needs a space with decision points and a supernet; supported: "
            f"{supported}; got space {space!r}"
        )
    if evaluator != "supernet":
        return None
    if is_oneshot(strategy):
        raise ConfigError(
            f"--evaluator supernet scores candidates of a black-box strategy (random, regularized-evolution, "
            f"...); one-shot method {strategy!r} trains its own supernet: drop --evaluator"
        )
    if space not in SUPERNET_SPACES:
        raise ConfigError(f"--evaluator supernet supports the spaces {supported}; got space {space!r}")
    return str(space)


def create(name: str, /, **params: Any) -> Any:
    """The one-shot strategy ``name`` with its keyword parameters."""
    return ONESHOT.create(name, **params)


__all__ = ["ONESHOT", "check_settings", "create", "is_oneshot"]
