"""A study's objectives (metric + direction) and constraints (metric, comparison, bound).

Objectives are written ``"valid_acc:max,params:min,latency_ms:min"`` (CLI and config) or given as a list
of ``(metric, "max"|"min")`` pairs / such strings (API). The first objective is the one that selects
(``Study.best_trial``, single-objective strategies): a trial's ``value`` is that metric, negated when
minimised, exactly as in a single-objective study. Constraints (``"params<=100000"``) filter: a trial
violating one stays COMPLETE with its metrics, gets ``metrics["constraint_violation"] > 0`` (the summed
relative excess over the bounds) and no ``value``, so it is never best and never on a front.

Stored config (only for studies with several objectives or constraints; a single unconstrained
objective keeps the old ``objective``/``direction`` keys alone, so such stores are unchanged):
``"objectives": [["valid_acc", "max"], ["params", "min"]]`` and
``"constraints": [["params", "<=", 100000.0]]``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import ConfigError

DIRECTIONS = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}
COMPARISONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
#: the metric a constraint writes on every trial of a constrained study (0 when feasible)
VIOLATION = "constraint_violation"
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+)\s*$")


@dataclass(frozen=True)
class Objective:
    """One objective: a metric and ``"max"`` or ``"min"``."""

    metric: str
    direction: str

    @property
    def sign(self) -> float:
        """+1 for a maximised metric, -1 for a minimised one (``value = sign * metric``)."""
        return 1.0 if self.direction == "max" else -1.0


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``params <= 100000``."""

    metric: str
    op: str
    bound: float

    def violation(self, value: float) -> float:
        """0 when satisfied, else the excess relative to ``max(|bound|, 1)``."""
        if COMPARISONS[self.op](value, self.bound):
            return 0.0
        return max(abs(value - self.bound), 1e-12) / max(abs(self.bound), 1.0)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


def parse_objectives(spec: str | Sequence[Any] | None) -> list[Objective]:
    """Objectives from ``"m:dir,m:dir"``, a list of such strings or of ``(metric, direction)`` pairs."""
    if spec is None:
        return []
    items: Iterable[Any] = [s for s in spec.split(",") if s.strip()] if isinstance(spec, str) else spec
    out: list[Objective] = []
    for item in items:
        if isinstance(item, Objective):
            out.append(item)
            continue
        if isinstance(item, str):
            metric, sep, direction = item.strip().partition(":")
            if not sep:
                raise ConfigError(
                    f"objective {item.strip()!r} needs a direction: write METRIC:max or METRIC:min "
                    "(e.g. valid_acc:max,params:min)"
                )
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            metric, direction = str(item[0]), str(item[1])
        else:
            raise ConfigError(f"objective must be 'METRIC:max|min' or (metric, direction), got {item!r}")
        metric, direction = metric.strip(), direction.strip().lower()
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"objective {metric!r}: direction must be 'max' or 'min', got {direction!r}"
            )
        if not metric.isidentifier():
            raise ConfigError(f"objective metric must be a metric name such as 'valid_acc', got {metric!r}")
        if metric.startswith("test"):
            raise ConfigError(
                f"objective {metric!r} reads the test split, which never selects; use a validation "
                "metric such as 'valid_acc'"
            )
        out.append(Objective(metric, DIRECTIONS[direction]))
    names = [o.metric for o in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"objectives must name distinct metrics, got {names}")
    return out


def parse_constraints(spec: str | Sequence[Any] | None) -> list[Constraint]:
    """Constraints from ``"params<=100000,latency_ms<5"``, a list of such strings or of
    ``(metric, op, bound)`` triples."""
    if spec is None:
        return []
    items: Iterable[Any] = [s for s in spec.split(",") if s.strip()] if isinstance(spec, str) else spec
    out: list[Constraint] = []
    for item in items:
        if isinstance(item, Constraint):
            out.append(item)
            continue
        if isinstance(item, str):
            match = _CONSTRAINT.match(item)
            if match is None:
                raise ConfigError(
                    f"constraint {item!r} must read METRIC<=BOUND (or >=, <, >), e.g. params<=100000"
                )
            metric, op, text = match.groups()
            try:
                bound = float(text.replace("_", ""))
            except ValueError:
                raise ConfigError(f"constraint {item!r}: bound {text!r} is not a number") from None
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            metric, op, bound = str(item[0]), str(item[1]), item[2]
        else:
            raise ConfigError(f"constraint must be 'METRIC<=BOUND' or (metric, op, bound), got {item!r}")
        if op not in COMPARISONS:
            raise ConfigError(f"constraint on {metric!r}: comparison must be one of {list(COMPARISONS)}")
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ConfigError(f"constraint on {metric!r}: bound must be a finite number, got {bound!r}")
        if metric.startswith("test"):
            raise ConfigError(f"constraint on {metric!r} reads the test split, which never selects")
        out.append(Constraint(metric, op, float(bound)))
    return out


def check_reported(objectives: Sequence[Objective], constraints: Sequence[Constraint],
                   reported: Iterable[str] | None) -> None:
    """Every objective and constraint names a metric the evaluator reports (``reported``; ``None``:
    the evaluator does not say, nothing is checked)."""
    if reported is None:
        return
    known = set(reported)
    for kind, metric in [("objective", o.metric) for o in objectives] + [
        ("constraint", c.metric) for c in constraints
    ]:
        if metric not in known:
            raise ConfigError(
                f"{kind} {metric!r} is not a metric this evaluator reports; expected one of: "
                f"{', '.join(sorted(m for m in known if not m.startswith('test')))}"
            )


def to_config(objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> dict[str, Any]:
    """The study-config keys for these objectives and constraints (``{}`` for a single unconstrained
    objective: such a study's config is the single-objective one)."""
    out: dict[str, Any] = {}
    if len(objectives) > 1 or constraints:
        out["objectives"] = [[o.metric, o.direction] for o in objectives]
    if constraints:
        out["constraints"] = [[c.metric, c.op, c.bound] for c in constraints]
    return out


def from_config(config: dict[str, Any]) -> tuple[list[Objective], list[Constraint]]:
    """``(objectives, constraints)`` of a stored study config (single-objective studies: one
    objective from ``objective``/``direction``, no constraints)."""
    objectives = parse_objectives(config.get("objectives")) if config.get("objectives") else []
    if not objectives:
        direction = "min" if str(config.get("direction", "maximize")).startswith("min") else "max"
        objectives = [Objective(str(config.get("objective", "valid_acc")), direction)]
    return objectives, parse_constraints(config.get("constraints") or None)


def violation(metrics: dict[str, Any], constraints: Sequence[Constraint]) -> float:
    """Summed relative violation of ``constraints`` by ``metrics`` (a missing metric counts 1)."""
    total = 0.0
    for c in constraints:
        value = metrics.get(c.metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            total += 1.0
        else:
            total += c.violation(float(value))
    return total


def cost_vector(metrics: dict[str, Any], objectives: Sequence[Objective]) -> np.ndarray | None:
    """Costs (each minimised: ``-metric`` for max, ``metric`` for min), ``None`` if a metric is
    missing or not finite."""
    out = []
    for o in objectives:
        value = metrics.get(o.metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        out.append(-float(value) * o.sign)
    return np.asarray(out, dtype=float)


def cost_matrix(trials: Sequence[Any], objectives: Sequence[Objective]) -> tuple[list[Any], np.ndarray]:
    """The trials that have every objective metric and their ``(n, m)`` cost matrix."""
    kept, rows = [], []
    for t in trials:
        c = cost_vector(t.metrics, objectives)
        if c is not None:
            kept.append(t)
            rows.append(c)
    return kept, np.asarray(rows, dtype=float).reshape(len(rows), len(objectives))
