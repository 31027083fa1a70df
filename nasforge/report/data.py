"""What a report shows, read from the store: one :class:`StudyData` per study.

Reports read the store only, through the public study API (``Study.load(..., build_evaluator=False)``,
``study.trials``); every figure, section and table is a function of a :class:`StudyData`, so the HTML
report, ``nasforge plot`` and the dashboard draw the same things.

Where later parts keep their data (the report renders it when present, and skips it otherwise):

* **objectives**: ``config["objectives"]`` as a list of ``[metric, "max"|"min"]`` pairs,
  ``{"metric": ..., "direction": ...}`` dicts or ``"metric:max"`` strings; single-objective studies keep
  ``config["objective"]`` / ``config["direction"]``. Selection (the best trial, the incumbent) reads the
  first objective, which is a validation metric.
* **scheduler**: ``config["scheduler"]`` (``{"name": ..., ...}``); budgets are ``trial.budget`` and the
  epochs of ``trial.intermediate``.
* **one-shot phase**: ``config["oneshot"]`` (see :mod:`nasforge.report.oneshot`).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from nasforge.selection import best_trial
from nasforge.trial import Trial, TrialState

#: cost metrics the scatter plots put on the x axis: metric -> (axis label, log scale)
COST_METRICS: dict[str, tuple[str, bool]] = {
    "params": ("parameters", True),
    "macs": ("MACs (multiply-accumulates)", True),
    "latency_ms": ("latency (ms)", False),
}
#: metric names read as another when the first is missing (``flops`` is the older name of ``macs``)
ALIASES: dict[str, tuple[str, ...]] = {"macs": ("macs", "flops")}
#: axis labels of common metrics
LABELS: dict[str, str] = {
    "valid_acc": "validation accuracy",
    "test_acc": "test accuracy",
    "valid_loss": "validation loss",
    "train_loss": "training loss",
    "train_seconds": "training time (s)",
    **{k: v[0] for k, v in COST_METRICS.items()},
}


def label(metric: str) -> str:
    """Human axis label of a metric name (the name itself when unknown)."""
    return LABELS.get(metric, metric)


def parse_objectives(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The study's objectives as ``[(metric, "max"|"min"), ...]`` (first = the one that selects)."""
    raw = config.get("objectives")
    out: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            metric, _, direction = item.partition(":")
        elif isinstance(item, dict):
            metric, direction = str(item.get("metric", item.get("name", ""))), str(item.get("direction", ""))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            metric, direction = str(item[0]), str(item[1])
        else:
            continue
        if metric:
            out.append((metric, "min" if direction.lower().startswith("min") else "max"))
    if not out:
        direction = "min" if str(config.get("direction", "maximize")).startswith("min") else "max"
        out.append((str(config.get("objective", "valid_acc")), direction))
    return out


def metric_value(trial: Trial, metric: str) -> float | None:
    """``trial.metrics[metric]`` as a finite float (aliases followed), else ``None``."""
    for name in ALIASES.get(metric, (metric,)):
        value = trial.metrics.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
    return None


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Rows of ``points`` (to maximise in every column) that no other row dominates."""
    points = np.asarray(points, dtype=float)
    keep = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        if not keep[i]:
            continue
        dominated = np.all(points >= points[i], axis=1) & np.any(points > points[i], axis=1)
        if dominated.any():
            keep[i] = False
    return keep


@dataclass
class StudyData:
    """A study's config and trials as the report sees them (plain data; no store handle kept)."""

    name: str
    config: dict[str, Any]
    trials: list[Trial]
    created: float = 0.0
    space: Any = None  # the SearchSpace (for drawing the architecture); None if it cannot be rebuilt
    store: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # -- objectives -----------------------------------------------------------------------------
    @cached_property
    def objectives(self) -> list[tuple[str, str]]:
        return parse_objectives(self.config)

    @property
    def objective(self) -> str:
        """The selecting objective's metric name."""
        return self.objectives[0][0]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def value(self, trial: Trial, metric: str | None = None) -> float | None:
        """The trial's value of ``metric`` (default: the selecting objective) as the user states it."""
        metric = metric or self.objective
        found = metric_value(trial, metric)
        if found is None and metric == self.objective and trial.value is not None:
            sign = -1.0 if self.objectives[0][1] == "min" else 1.0
            found = sign * float(trial.value)
        return found

    def score(self, trial: Trial, metric: str | None = None) -> float | None:
        """``value`` signed so that larger is better."""
        metric = metric or self.objective
        v = self.value(trial, metric)
        if v is None:
            return None
        direction = dict(self.objectives).get(metric, "min" if metric in COST_METRICS else "max")
        return -v if direction == "min" else v

    # -- trial subsets --------------------------------------------------------------------------
    @cached_property
    def complete(self) -> list[Trial]:
        """COMPLETE trials with an objective value, by number."""
        return [t for t in self.trials if t.state is TrialState.COMPLETE and self.score(t) is not None]

    @cached_property
    def finished(self) -> list[Trial]:
        """Finished trials in completion order (the order the strategy was told them)."""
        done = [t for t in self.trials if t.state.finished]
        return sorted(done, key=lambda t: (t.info.get("seq", t.number), t.number))

    @cached_property
    def best(self) -> Trial | None:
        """Best COMPLETE trial by the selecting (validation) objective; ties by
        :data:`nasforge.selection.RULE`."""
        return best_trial(self.complete, self.score)

    @cached_property
    def states(self) -> dict[str, int]:
        counts = collections.Counter(t.state.value for t in self.trials)
        return {s.value: counts.get(s.value, 0) for s in TrialState}

    def failures(self) -> dict[str, list[Trial]]:
        """FAILED trials grouped by reason (most frequent first)."""
        groups: dict[str, list[Trial]] = collections.defaultdict(list)
        for t in self.trials:
            if t.state is TrialState.FAILED:
                groups[str(t.error or "unknown").split(":")[0].strip() or "unknown"].append(t)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    # -- time -----------------------------------------------------------------------------------
    @cached_property
    def t0(self) -> float:
        """Start of the first trial (epoch seconds); the origin of wall-time axes."""
        starts = [t.started_at for t in self.trials if t.started_at is not None]
        return min(starts) if starts else self.created

    def elapsed(self, trial: Trial) -> float | None:
        """Seconds from :attr:`t0` to the trial's completion."""
        return None if trial.completed_at is None else trial.completed_at - self.t0

    def incumbent(self, axis: str = "trials") -> tuple[np.ndarray, np.ndarray]:
        """Best objective so far (user's sign) after each finished trial, in completion order.

        ``axis="trials"``: x counts finished trials (1, 2, ...); ``axis="time"``: x is wall time (s).
        Points before the first complete trial are left out.
        """
        xs, ys, best = [], [], None
        for k, t in enumerate(self.finished, start=1):
            s = self.score(t) if t.state is TrialState.COMPLETE else None
            if s is not None and (best is None or s > best):
                best = s
            x = k if axis == "trials" else self.elapsed(t)
            if best is not None and x is not None:
                xs.append(x)
                ys.append(best)
        sign = -1.0 if self.objectives[0][1] == "min" else 1.0
        return np.asarray(xs, dtype=float), sign * np.asarray(ys, dtype=float)

    # -- cost and Pareto ------------------------------------------------------------------------
    @cached_property
    def cost_metrics(self) -> list[str]:
        """Cost metrics present on at least one complete trial, in :data:`COST_METRICS` order."""
        return [m for m in COST_METRICS if any(metric_value(t, m) is not None for t in self.complete)]

    @cached_property
    def pareto(self) -> list[Trial]:
        """Complete feasible trials (no ``constraint_violation``) on the front of all objectives (empty for
        single-objective studies)."""
        if not self.multi_objective:
            return []
        feasible = [t for t in self.complete if not t.metrics.get("constraint_violation")]
        rows = [(t, [self.score(t, m) for m, _ in self.objectives]) for t in feasible]
        rows = [(t, s) for t, s in rows if all(v is not None for v in s)]
        if not rows:
            return []
        mask = pareto_mask(np.array([s for _, s in rows], dtype=float))
        return [t for (t, _), keep in zip(rows, mask, strict=True) if keep]

    # -- budgets and learning curves ------------------------------------------------------------
    @cached_property
    def scheduler(self) -> dict[str, Any] | None:
        value = self.config.get("scheduler")
        return value if isinstance(value, dict) and value else None

    def curve(self, trial: Trial, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of ``metric`` (default: the objective, else ``valid_acc``) reported."""
        metric = metric or self.curve_metric
        pairs = [(float(s), m.get(metric)) for s, m in trial.intermediate if isinstance(m, dict)]
        pairs = [(s, float(v)) for s, v in pairs if isinstance(v, (int, float)) and np.isfinite(v)]
        steps = np.array([p[0] for p in pairs], dtype=float)
        return steps, np.array([p[1] for p in pairs], dtype=float)

    @cached_property
    def curve_metric(self) -> str:
        """The metric the learning curves show: the objective if reported per step, else valid_acc."""
        for t in self.trials:
            for _, m in t.intermediate:
                if isinstance(m, dict) and self.objective in m:
                    return self.objective
        return "valid_acc"

    def budget_reached(self, trial: Trial) -> float | None:
        """The last step a trial reported, else its assigned budget."""
        steps, _ = self.curve(trial)
        if len(steps):
            return float(steps.max())
        return None if trial.budget is None else float(trial.budget)

    @cached_property
    def has_budgets(self) -> bool:
        """A scheduler ran, or trials reached different budgets."""
        reached = {self.budget_reached(t) for t in self.trials if t.state.finished}
        return self.scheduler is not None or len(reached - {None}) > 1

    # -- summary --------------------------------------------------------------------------------
    @cached_property
    def train_seconds(self) -> float:
        return float(sum(metric_value(t, "train_seconds") or 0.0 for t in self.trials))

    @cached_property
    def wall_seconds(self) -> float:
        ends = [t.completed_at for t in self.trials if t.completed_at is not None]
        return max(ends) - self.t0 if ends else 0.0

    @cached_property
    def budget_used(self) -> int:
        """Trials that count in the study's budget (re-queued attempts do not)."""
        return sum(1 for t in self.trials if not t.info.get("requeued"))


def load(store: str | os.PathLike[str], name: str) -> StudyData:
    """Read study ``name`` from the store file (never creates it; a missing study is a StoreError).

    If the study's space or strategy cannot be rebuilt in this process (a plug-in that is not
    imported here), the trials are still read and ``space`` is ``None`` (the drawing then shows the
    genotype as text); ``extra["space_error"]`` says why.
    """
    from nasforge.errors import NasforgeError
    from nasforge.study import Study
    from nasforge.study.store import Store

    st = Store(store, create=False, read_only=True)
    try:
        try:
            study = Study.load(store=st, name=name, read_only=True)
            space = study.space  # built on first use: a plug-in space that is not importable fails here
        except NasforgeError as exc:
            record = st.get_study(name)  # an unknown name raises here, with the stored names
            return StudyData(
                name=record.name,
                config=dict(record.config),
                trials=st.trials(record.id),
                created=float(record.created),
                space=None,
                store=str(store),
                extra={"space_error": str(exc)},
            )
        return StudyData(
            name=study.name,
            config=dict(study.config),
            trials=study.trials,
            created=float(study.record.created),
            space=space,
            store=str(store),
        )
    finally:
        st.close()


def study_names(store: str | os.PathLike[str]) -> list[str]:
    """Names of every study in the store, oldest first."""
    from nasforge.study.store import Store

    with Store(store, create=False, read_only=True) as st:
        return [r.name for r in st.list_studies()]
