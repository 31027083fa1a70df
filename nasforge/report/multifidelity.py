"""Multi-fidelity in the report: where each trial stopped and how many reached each budget.

Reads what the store holds for every study: ``trial.budget`` (what the scheduler assigned),
``trial.intermediate`` (one ``(epoch, metrics)`` report per epoch, so the last step is the budget a
trial reached), PRUNED states, and ``config["scheduler"]``. The section renders when a scheduler ran
or trials reached different budgets; the scheduler issue can extend it (brackets, promotions) here.
"""

from __future__ import annotations

from typing import Any

from nasforge.report.data import StudyData, label
from nasforge.report.figures import RASTER_ABOVE, NothingToPlot
from nasforge.report.html import data_table, esc
from nasforge.report.sections import Context, section
from nasforge.report.svg import new_figure
from nasforge.trial import TrialState


def rung_rows(study: StudyData) -> list[tuple[float, float, Any]]:
    """``(budget reached, last reported value, trial)`` of every finished trial that has both."""
    rows = [(study.budget_reached(t), last_value(study, t), t) for t in study.trials if t.state.finished]
    return [r for r in rows if r[0] is not None and r[1] is not None]  # type: ignore[misc]


def last_value(study: StudyData, trial: Any) -> float | None:
    _, ys = study.curve(trial)
    if len(ys):
        return float(ys[-1])
    return study.value(trial) if trial.state is TrialState.COMPLETE else None


def rungs(study: StudyData) -> Any:
    """Budget each trial reached against its last reported value; stopped (PRUNED) trials marked."""
    rows = rung_rows(study)
    if not rows:
        raise NothingToPlot(f"study {study.name!r} records no budgets; no rungs to plot")
    fig, ax = new_figure()
    for state, style in (
        (TrialState.COMPLETE, {"marker": "o", "color": "#1f77b4"}),
        (TrialState.PRUNED, {"marker": "x", "color": "#7f7f7f"}),
    ):
        pts = [(b, v) for b, v, t in rows if t.state is state]
        if pts:
            b, v = zip(*pts, strict=True)
            ax.scatter(
                b,
                v,
                s=14,
                alpha=0.6,
                label=f"{state.value.lower()} ({len(pts)})",
                rasterized=len(pts) > RASTER_ABOVE,
                **style,
            )
    budgets = sorted({b for b, _, _ in rows})
    if len(budgets) > 1 and budgets[0] > 0 and budgets[-1] / budgets[0] >= 4:
        ax.set_xscale("log", base=2)
    counts = {b: sum(1 for r in rows if r[0] == b) for b in budgets}
    ax.set_xticks(budgets, [f"{b:g}\n(n={counts[b]})" for b in budgets], fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel("budget reached (epochs); n = trials stopping there")
    ax.set_ylabel(label(study.curve_metric))
    ax.set_title(f"Rungs ({(study.scheduler or {}).get('name', 'budgets')}): where each trial stopped")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@section("rungs", title="Rungs and budgets", order=45)
def RUNGS(study: StudyData, ctx: Context) -> str | None:
    if not study.has_budgets:
        return None
    rows = rung_rows(study)
    table = []
    for budget in sorted({b for b, _, _ in rows}):
        at = [(v, t) for b, v, t in rows if b == budget]
        pruned = sum(1 for _, t in at if t.state is TrialState.PRUNED)
        best = max(v for v, _ in at)
        table.append(
            [
                (budget, esc(f"{budget:g}")),
                (len(at), esc(len(at))),
                (pruned, esc(pruned)),
                (best, esc(f"{best:.4f}")),
            ]
        )
    headers = [
        ("budget reached", "num"),
        ("trials", "num"),
        ("stopped there (pruned)", "num"),
        (f"best {study.curve_metric}", "num"),
    ]
    return ctx.figure(lambda: rungs(study), "rungs", "budget each trial reached and its last value") + (
        data_table(headers, table) if table else ""
    )


def plot_rungs(studies: Any, axis: str) -> Any:
    """``nasforge plot --kind rungs``."""
    return rungs(studies[0])
