"""The report's figures, each a function of :class:`~nasforge.report.data.StudyData` returning a
matplotlib figure (reused by ``nasforge report``, ``nasforge plot`` and the dashboard).

Every figure has a title, axis labels and units. Artists with many elements (markers, curves) are
rasterised above :data:`RASTER_ABOVE` elements, so an inline SVG of a 1,000-trial study stays small.
A figure that has nothing to show raises :class:`NothingToPlot` (its message says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.errors import NasforgeError
from nasforge.report.data import COST_METRICS, StudyData, label, metric_value
from nasforge.report.svg import new_figure, pyplot
from nasforge.trial import TrialState

#: rasterise a scatter or line collection with more elements than this
RASTER_ABOVE = 200
BEST_STYLE = {"marker": "*", "s": 160, "color": "#d62728", "edgecolor": "black", "zorder": 5}


class NothingToPlot(NasforgeError):
    """A figure was asked of a study that holds no data for it (e.g. no completed trial)."""


def colour(k: int) -> str:
    """The k-th study colour (matplotlib's default cycle)."""
    return f"C{k % 10}"


def _require_complete(study: StudyData, what: str) -> None:
    if not study.complete:
        raise NothingToPlot(
            f"study {study.name!r} has no completed trial yet, so there is no {what} to plot; "
            f"see `nasforge status {study.name}`"
        )


def _objective_label(study: StudyData) -> str:
    metric, direction = study.objectives[0]
    better = "higher" if direction == "max" else "lower"
    return f"{label(metric)} ({better} is better)"


# -- incumbent ----------------------------------------------------------------------------------
def incumbent(studies: Sequence[StudyData], axis: str = "trials") -> Any:
    """Best validation objective so far against finished trials (``axis="trials"``) or wall time."""
    for study in studies:
        _require_complete(study, "incumbent")
    fig, ax = new_figure()
    for k, study in enumerate(studies):
        x, y = study.incumbent(axis)
        name = study.name if len(studies) > 1 else "best so far"
        ax.step(x, y, where="post", color=colour(k), linewidth=2, label=name)
        if len(studies) == 1:
            _all_values(ax, study, axis)
    if axis == "trials":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.03, y=0.08)
    ax.set_xlabel("trials finished" if axis == "trials" else "wall time since the first trial (s)")
    ax.set_ylabel(_objective_label(studies[0]))
    over = "trials" if axis == "trials" else "wall time"
    ax.set_title(f"Incumbent over {over}: best {label(studies[0].objective)} so far")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if studies[0].objectives[0][1] == "max" else "upper right", fontsize=8)
    return fig


def _all_values(ax: Any, study: StudyData, axis: str) -> None:
    xs, ys = [], []
    for k, t in enumerate(study.finished, start=1):
        if t.state is TrialState.COMPLETE and study.value(t) is not None:
            x = k if axis == "trials" else study.elapsed(t)
            if x is not None:
                xs.append(x)
                ys.append(study.value(t))
    ax.scatter(
        xs, ys, s=10, color="#7f7f7f", alpha=0.5, label="each trial", rasterized=len(xs) > RASTER_ABOVE
    )


# -- scatter against cost -----------------------------------------------------------------------
def scatter(study: StudyData) -> Any:
    """The objective against each cost metric (parameters, MACs, latency), best trial starred; with
    several objectives, the Pareto-optimal trials and the 2-D front of each panel drawn."""
    _require_complete(study, "scatter")
    metrics = study.cost_metrics
    if not metrics:
        raise NothingToPlot(
            f"study {study.name!r} reports none of {list(COST_METRICS)}; no scatter against cost to plot"
        )
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.6), squeeze=False)
    front = {t.number for t in study.pareto}
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = [(metric_value(t, metric), study.value(t), t) for t in study.complete]
        rows = [r for r in rows if r[0] is not None and r[1] is not None]
        xs = np.array([r[0] for r in rows])
        ys = np.array([r[1] for r in rows])
        on_front = np.array([r[2].number in front for r in rows], dtype=bool)
        ax.scatter(
            xs[~on_front],
            ys[~on_front],
            s=12,
            alpha=0.6,
            color="#1f77b4",
            label="trial",
            rasterized=len(xs) > RASTER_ABOVE,
        )
        if study.multi_objective:
            ax.scatter(xs[on_front], ys[on_front], s=22, color="#ff7f0e", label="Pareto-optimal")
            _front_line(ax, study, metric, xs, ys)
        best = study.best
        if best is not None and metric_value(best, metric) is not None:
            ax.scatter(
                [metric_value(best, metric)], [study.value(best)], label=f"best #{best.number}", **BEST_STYLE
            )
        if COST_METRICS[metric][1] and len(xs) and xs.min() > 0:
            ax.set_xscale("log")
        ax.margins(0.08)
        ax.set_xlabel(label(metric))
        ax.set_ylabel(_objective_label(study))
        ax.set_title(f"{label(study.objective)} vs {label(metric).split(' (')[0]}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{study.name}: trials against cost", fontsize=11)
    fig.tight_layout()
    return fig


def _front_line(ax: Any, study: StudyData, metric: str, xs: np.ndarray, ys: np.ndarray) -> None:
    """The non-dominated staircase of (objective, ``metric``) in this panel (cost minimised)."""
    sign = 1.0 if study.objectives[0][1] == "max" else -1.0
    order = np.lexsort((-sign * ys, xs))
    best, fx, fy = -np.inf, [], []
    for i in order:
        if sign * ys[i] > best:
            best = sign * ys[i]
            fx.append(xs[i])
            fy.append(ys[i])
    ax.step(fx, fy, where="post", color="#ff7f0e", linewidth=1.2, label="2-D front")


# -- learning curves ----------------------------------------------------------------------------
def curves(study: StudyData) -> Any:
    """Per-step (epoch) metric of every trial that reported one; the best trial's curve in red."""
    lines = [(t, *study.curve(t)) for t in study.trials]
    lines = [(t, x, y) for t, x, y in lines if len(x)]
    if not lines:
        raise NothingToPlot(f"study {study.name!r} has no per-epoch reports; no learning curves to plot")
    from matplotlib.collections import LineCollection

    fig, ax = new_figure()
    longest = max(len(x) for _, x, _ in lines)
    segments = [np.column_stack([x, y]) for _, x, y in lines]
    if longest > 1:
        coll = LineCollection(
            segments,
            colors="#1f77b4",
            alpha=0.35,
            linewidths=0.8,
            rasterized=len(segments) > RASTER_ABOVE,
            label="trials",
        )
        ax.add_collection(coll)
    ends = np.array([seg[-1] for seg in segments])
    ax.scatter(
        ends[:, 0],
        ends[:, 1],
        s=8,
        color="#1f77b4",
        alpha=0.6,
        rasterized=len(ends) > RASTER_ABOVE,
        label="last report" if longest > 1 else "trials",
    )
    best = study.best
    if best is not None:
        bx, by = study.curve(best)
        if len(bx):
            ax.plot(
                bx, by, color="#d62728", linewidth=2, marker="o", markersize=3, label=f"best #{best.number}"
            )
    ax.autoscale()
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(float(x.max()) for _, x, _ in lines) * 1.05 + 0.5)
    ax.set_xlabel("epoch (budget step)")
    ax.set_ylabel(label(study.curve_metric))
    ax.set_title(f"Learning curves: {label(study.curve_metric)} per epoch ({len(lines)} trials)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def architecture(study: StudyData, trial: Any = None) -> Any:
    """The best (or given) trial's architecture drawn as a graph (see :mod:`nasforge.report.archdraw`)."""
    from nasforge.report.archdraw import draw

    trial = trial if trial is not None else study.best
    if trial is None:
        _require_complete(study, "architecture")
    return draw(study.space, trial.architecture, title=f"{study.name}: trial #{trial.number}")


#: ``nasforge plot --kind``: kind -> "module:function" of (studies, axis) -> figure
PLOT_KINDS: dict[str, str] = {
    "incumbent": "nasforge.report.figures:_plot_incumbent",
    "scatter": "nasforge.report.figures:_plot_scatter",
    "curves": "nasforge.report.figures:_plot_curves",
    "arch": "nasforge.report.figures:_plot_arch",
    "rungs": "nasforge.report.multifidelity:plot_rungs",
}


def plot(kind: str, studies: Sequence[StudyData], axis: str = "trials") -> Any:
    """The figure ``kind`` (see :data:`PLOT_KINDS`) of ``studies`` (several only for ``incumbent``)."""
    import importlib

    from nasforge.checks import check_choice

    check_choice("--kind", kind, list(PLOT_KINDS))
    check_choice("--axis", axis, ["trials", "time"])
    if kind != "incumbent" and len(studies) != 1:
        raise NothingToPlot(
            f"--kind {kind} draws one study, got {len(studies)}; only incumbent overlays several"
        )
    module, _, attr = PLOT_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), attr)(studies, axis)


def _plot_incumbent(studies: Sequence[StudyData], axis: str) -> Any:
    return incumbent(studies, axis)


def _plot_scatter(studies: Sequence[StudyData], axis: str) -> Any:
    return scatter(studies[0])


def _plot_curves(studies: Sequence[StudyData], axis: str) -> Any:
    return curves(studies[0])


def _plot_arch(studies: Sequence[StudyData], axis: str) -> Any:
    return architecture(studies[0])
