"""Where a study meets its objectives: resolve them at ``Study.create``, hand them to the strategy,
settle each finished trial (every objective present; constraints checked).

The driver calls :func:`settle` on each result before storing it: in a study with several objectives a
trial missing one of them FAILS (``missing_objective``) like a single-objective trial missing its one;
in a constrained study every COMPLETE trial gets ``metrics["constraint_violation"]`` and a violating
one keeps its metrics but loses its ``value`` (never best, never on a front, ignored by
single-objective strategies). Unconstrained single-objective studies pass through untouched.
"""

from __future__ import annotations

import math
from typing import Any

from nasforge.errors import ConfigError
from nasforge.multiobjective.objectives import (
    VIOLATION,
    check_reported,
    from_config,
    parse_constraints,
    parse_objectives,
    to_config,
    violation,
)
from nasforge.trial import TrialState


def resolve(objectives: Any, constraints: Any, objective: str | None, direction: str,
            evaluator: Any) -> tuple[str | None, str, dict[str, Any]]:
    """``(objective, direction, extra config)`` for :meth:`Study.create`: the first of ``objectives``
    becomes the selecting objective; the extra keys are :func:`~.objectives.to_config`'s."""
    objs = parse_objectives(objectives)
    cons = parse_constraints(constraints)
    if objs:
        first = objs[0]
        if objective is not None and objective != first.metric:
            raise ConfigError(
                f"objective={objective!r} and objectives={[o.metric for o in objs]} disagree; give only "
                "objectives (its first entry selects)"
            )
        objective, direction = first.metric, "maximize" if first.direction == "max" else "minimize"
    reported = evaluator.reported_metrics() if hasattr(evaluator, "reported_metrics") else None
    check_reported(objs, cons, reported)
    if objective is not None and reported is not None and not objs:
        check_reported(parse_objectives([(objective, direction)]), [], reported)
    return objective, direction, to_config(objs, cons)


def bindings(config: dict[str, Any]) -> tuple[list[Any] | None, list[Any], dict[str, Any] | None,
                                              dict[str, Any] | None]:
    """What :meth:`Strategy.bind` gets from a stored config: objectives (``None`` unless several),
    constraints, warm-start data, the task descriptor."""
    objectives, constraints = from_config(config)
    warm = (config.get("warm_start") or {}).get("data")
    task = config.get("task") if isinstance(config.get("task"), dict) else None
    return (objectives if len(objectives) > 1 else None), constraints, warm, task


def settle(
    config: dict[str, Any], state: TrialState, value: float | None, error: str | None, tb: str | None,
    metrics: dict[str, Any],
) -> tuple[TrialState, float | None, str | None, str | None]:
    """Apply the study's other objectives and its constraints to one outcome (see the module
    docstring); ``metrics`` gains ``constraint_violation`` in a constrained study."""
    if state is not TrialState.COMPLETE or not (config.get("objectives") or config.get("constraints")):
        return state, value, error, tb
    objectives, constraints = from_config(config)
    for o in objectives:
        raw = metrics.get(o.metric)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            return (TrialState.FAILED, None, "missing_objective",
                    f"the evaluator returned no finite {o.metric!r} (metrics: {sorted(metrics)})")
    if constraints:
        amount = violation(metrics, constraints)
        metrics[VIOLATION] = amount
        if amount > 0:
            value = None
    return state, value, error, tb


def preflight(settings: dict[str, Any], space: Any, evaluator: Any, store_path: str) -> None:
    """What ``nasforge search`` checks before it prints or stores anything: the objectives and
    constraints against the evaluator, and the warm-start sources (when the store exists)."""
    import os

    from nasforge import warmstart

    objective, _, _ = resolve(settings.get("objective"), settings.get("constraint"), None, "maximize",
                              evaluator)
    spec = settings.get("warm_start")
    if spec is None:
        return
    if not os.path.exists(store_path):
        raise ConfigError(f"--warm-start {spec}: the store {store_path} does not exist (no source studies)")
    from nasforge.study.store import Store

    config = {"space": space.to_config(), "objective": objective or evaluator.default_objective,
              "task": evaluator.describe_task()}
    with Store(store_path, create=False, read_only=True) as store:
        warmstart.resolve(store, str(settings.get("name") or ""), spec, config, space)
