"""A study's stored config: build it, compare it (resume refuses on a difference), rebuild its parts.

The config is JSON: ``space``, ``strategy`` and ``evaluator`` (each ``{"name": ..., **params}``),
``objective``, ``direction``, ``seed`` and ``task`` (the evaluator's task descriptor). The run settings
(``budget``: ``n_trials``, ``time_limit``, ``workers``, ``executor``, ...) and the trials left out of
replay (``skip_trials``) are stored with it but never compared: a study may be resumed with more trials
or on another executor. The task's ``data_hash`` and ``path`` are checked apart (see
:mod:`nasforge.study.taskcheck`), and task fields an older store did not record are not compared.
"""

from __future__ import annotations

import json
from typing import Any

from nasforge.checks import check_choice, check_int
from nasforge.errors import ConfigError, NasforgeError, StoreError

#: keys that may differ between runs of one study (where and how long, not what)
IGNORED_KEYS = frozenset(
    {"evaluator.device", "evaluator.threads", "nasforge_version", "task.data_hash", "task.path",
     "scheduler.keep_checkpoints"}
)
IGNORED_PREFIXES = ("budget", "skip_trials", "warm_start.data", "oneshot")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def normalise(config: dict[str, Any]) -> dict[str, Any]:
    """The config as it reads back from JSON (tuples become lists, ...)."""
    from nasforge.study.store import dumps

    return json.loads(dumps(config))


def config_diff(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Human-readable differences ``key: stored X, given Y`` (ignoring :data:`IGNORED_KEYS`)."""
    a, b = _flatten(normalise(stored)), _flatten(normalise(given))
    lines = []
    for key in sorted(set(a) | set(b)):
        if key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES):
            continue
        if key.startswith("task.") and key not in a:  # described by a newer nasforge than the store's
            continue
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            lines.append(f"{key}: stored {a.get(key, '<absent>')!r}, given {b.get(key, '<absent>')!r}")
    return lines


def check_same(name: str, stored: dict[str, Any], given: dict[str, Any]) -> None:
    """Raise :class:`StoreError` showing the difference if ``given`` differs from ``stored``."""
    diff = config_diff(stored, given)
    if diff:
        raise StoreError(
            f"study {name!r} exists with a different config ({'; '.join(diff)}); resume it with its "
            "stored settings (`nasforge resume NAME`) or choose a new --name"
        )


def check_parts(name: Any, space: Any, strategy: Any, evaluator: Any, seed: Any, objective: Any,
                direction: Any) -> str:
    """Check what :meth:`~nasforge.study.Study.create` was given; returns the objective (the evaluator's
    default when ``None``). Raises :class:`ConfigError` naming the argument."""
    from nasforge.estimate.base import Evaluator
    from nasforge.space.base import SearchSpace
    from nasforge.strategies.base import Strategy

    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ConfigError(f"study name must be a non-empty string (<= 200 chars), got {name!r}")
    for arg, value, cls, how in (("space", space, SearchSpace, "nf.spaces.create(...)"),
                                 ("strategy", strategy, Strategy, "nf.strategies.create(...)"),
                                 ("evaluator", evaluator, Evaluator, "e.g. nf.estimate.TrainEvaluator")):
        if not isinstance(value, cls):
            raise ConfigError(f"{arg} must be a {cls.__name__} ({how}), got {type(value).__name__}")
    check_int("seed", seed, 0)
    objective = objective or evaluator.default_objective
    if not isinstance(objective, str) or not objective:
        raise ConfigError(f"objective must be a metric name such as 'valid_acc', got {objective!r}")
    if objective.startswith("test"):
        raise ConfigError(
            f"objective {objective!r} reads the test split, which never selects; use a validation "
            "metric such as 'valid_acc'"
        )
    check_choice("direction", direction, ("maximize", "minimize"))
    from nasforge.estimate.inherit import check_evaluator

    check_evaluator(evaluator, strategy)  # inheritance needs an evaluator that leaves weights
    return objective


def space_from_config(config: dict[str, Any]) -> Any:
    from nasforge.space import SearchSpace

    return _rebuild("space", config, SearchSpace.from_config)


def strategy_from_config(config: dict[str, Any]) -> Any:
    from nasforge import oneshot, strategies

    def make(cfg: dict[str, Any]) -> Any:
        params = dict(cfg)
        name = params.pop("name")
        return (oneshot.create if oneshot.is_oneshot(name) else strategies.create)(name, **params)

    return _rebuild("strategy", config, make)


def evaluator_from_config(config: dict[str, Any]) -> Any:
    """Rebuild an evaluator from its config through the evaluator registry.

    A class with a ``from_config`` classmethod is rebuilt with it; otherwise it is called with the
    stored parameters.
    """

    def make(cfg: dict[str, Any]) -> Any:
        from nasforge.estimate.registry import EVALUATORS

        params = dict(cfg)
        cls = EVALUATORS.get(params.pop("name"))
        if hasattr(cls, "from_config"):
            return cls.from_config(dict(cfg))
        return cls(**params)

    return _rebuild("evaluator", config, make)


def _rebuild(kind: str, config: dict[str, Any], make: Any) -> Any:
    part = config.get(kind)
    if not isinstance(part, dict) or "name" not in part:
        raise StoreError(f"the stored study config has no valid {kind!r} entry (got {part!r})")
    try:
        return make(part)
    except NasforgeError as exc:
        raise StoreError(f"cannot rebuild the stored {kind} {part!r}: {exc}") from exc
    except (TypeError, ValueError, ImportError) as exc:
        raise StoreError(
            f"cannot rebuild the stored {kind} {part!r} ({type(exc).__name__}: {exc}); "
            f"pass {kind}=... explicitly"
        ) from exc


def scheduler_entry(scheduler: Any, evaluator: Any) -> dict[str, Any]:
    """``{"scheduler": config}`` for a study with a scheduler (checked against the evaluator), else ``{}``."""
    if scheduler is None:
        return {}
    from nasforge.schedulers import Scheduler
    from nasforge.study.scheduled_run import check_evaluator

    if not isinstance(scheduler, Scheduler):
        raise ConfigError(
            f"scheduler must be a Scheduler (nf.schedulers.create(...)), got {type(scheduler).__name__}"
        )
    check_evaluator(scheduler, evaluator)
    return {"scheduler": scheduler.to_config()}


def scheduler_from_config(config: dict[str, Any], evaluator: Any = None) -> Any:
    """The stored scheduler, set up with the study's seed and objective (``None`` when there is none)."""
    if not config.get("scheduler"):
        return None
    from nasforge.schedulers import from_config

    scheduler = _rebuild("scheduler", config, from_config)
    scheduler.setup(int(config.get("seed", 0)), str(config.get("objective", "valid_acc")),
                    str(config.get("direction", "maximize")),
                    getattr(evaluator, "epochs", None) or (config.get("evaluator") or {}).get("epochs"))
    return scheduler
