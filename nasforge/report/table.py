"""The sortable table of every trial (click a header to sort; numbers sort numerically, missing last)."""

from __future__ import annotations

import json
from typing import Any

from nasforge.report.data import StudyData, label, metric_value
from nasforge.report.html import PAGE_ROWS, fmt, note, paged_table
from nasforge.report.sections import Context, section
from nasforge.trial import Trial

GENOTYPE_CHARS = 90


def genotype_text(trial: Trial) -> str:
    """Compact JSON of the genotype, cut at :data:`GENOTYPE_CHARS`."""
    text = json.dumps(trial.architecture.genes, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= GENOTYPE_CHARS else text[: GENOTYPE_CHARS - 3] + "..."


def columns(study: StudyData) -> list[tuple[str, str, Any]]:
    """``(header, kind, cell(trial) -> sort value)`` of the table's columns."""
    cols: list[tuple[str, str, Any]] = [
        ("#", "num", lambda t: t.number),
        ("state", "text", lambda t: t.state.value),
    ]
    for metric, direction in study.objectives:
        cols.append((f"{metric} ({direction})", "num", lambda t, m=metric: study.value(t, m)))
    if any("test_acc" in t.metrics for t in study.trials):
        cols.append(("test_acc (reported only)", "num", lambda t: metric_value(t, "test_acc")))
    taken = {m for m, _ in study.objectives}
    for metric in study.cost_metrics:
        if metric not in taken:
            cols.append((label(metric).split(" (")[0], "num", lambda t, m=metric: metric_value(t, m)))
    if study.has_budgets:
        cols.append(("budget", "num", study.budget_reached))
    cols.append(("seconds", "num", lambda t: metric_value(t, "train_seconds") or t.duration))
    cols.append(("genotype / error", "text", _note))
    return cols


def _note(trial: Trial) -> str:
    if trial.state.value == "FAILED":
        return f"{trial.error or 'failed'}" + (" (re-run)" if trial.info.get("requeued") else "")
    if trial.info.get("retry_of") is not None:
        return f"retry of #{trial.info['retry_of']}: {genotype_text(trial)}"
    return genotype_text(trial)


def _cell(value: Any, kind: str) -> tuple[Any, str]:
    if kind == "num":
        return value, fmt(value, 4 if isinstance(value, float) and abs(value) < 10 else 1)
    return value, str(value)


@section("trials", title="All trials", order=80)
def TRIALS(study: StudyData, ctx: Context) -> str:
    if not study.trials:
        return note("No trials yet.")
    cols = columns(study)
    trials = study.trials
    rows = [[_cell(get(t), kind) for _, kind, get in cols] for t in trials]
    number = study.best.number if study.best is not None else None
    best = next((i for i, t in enumerate(trials) if t.number == number), None)
    table = paged_table([(h, k) for h, k, _ in cols], rows, [t.state.value for t in trials], best)
    return (
        f"<p>{len(trials)} trials, {PAGE_ROWS} rows a page; click a column header to sort them all. "
        f"The best trial's row is highlighted.</p>{table}"
    )
