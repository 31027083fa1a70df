"""The section registry: a report page is its registered sections in ``order``.

A section is one function ``render(study, ctx) -> str | None`` returning an HTML fragment, or ``None``
when the study holds no data for it (the section is then left out). ``ctx`` (:class:`Context`) makes
page-unique figure keys. ``scope="study"`` sections render once per study; ``scope="comparison"``
sections render once on a page of several studies and get the list of studies instead.

Adding a section is writing one function::

    from nasforge.report.sections import register_section

    @register_section("rungs", title="Rungs and budgets", order=45)
    def rungs(study, ctx):
        if not study.has_budgets:
            return None
        return ctx.figure(lambda: my_figure(study), "rungs", "where each trial stopped")

The built-in sections are listed lazily in :data:`SECTIONS` (``"module:attribute"`` strings), so a
page imports only the modules of the sections it shows; the multi-fidelity, one-shot and
multi-objective sections live in :mod:`~nasforge.report.multifidelity`, :mod:`~nasforge.report.oneshot`
and :mod:`~nasforge.report.multiobjective`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nasforge.registry import Registry
from nasforge.report import figures
from nasforge.report.data import StudyData
from nasforge.report.html import esc, figure, fmt, kv_table, note, notice


@dataclass
class Context:
    """Per-page state handed to sections: the study's index on the page (for unique keys)."""

    index: int = 0

    def key(self, name: str) -> str:
        return f"s{self.index}-{name}"

    def figure(self, make: Callable[[], Any], name: str, caption: str) -> str:
        """An inline figure with a page-unique key (see :func:`nasforge.report.html.figure`)."""
        return figure(make, self.key(name), caption)


@dataclass(frozen=True)
class Section:
    """A registered page section."""

    name: str
    title: str
    order: int
    render: Callable[..., str | None]
    scope: str = "study"


SECTIONS: Registry[Section] = Registry(
    "report section",
    {
        "compare-summary": "nasforge.report.sections:COMPARE_SUMMARY",
        "compare-incumbent": "nasforge.report.sections:COMPARE_INCUMBENT",
        "summary": "nasforge.report.sections:SUMMARY",
        "incumbent": "nasforge.report.sections:INCUMBENT",
        "scatter": "nasforge.report.sections:SCATTER",
        "pareto": "nasforge.report.multiobjective:PARETO",
        "curves": "nasforge.report.sections:CURVES",
        "rungs": "nasforge.report.multifidelity:RUNGS",
        "oneshot": "nasforge.report.oneshot:ONESHOT",
        "architecture": "nasforge.report.sections:ARCHITECTURE",
        "failures": "nasforge.report.sections:FAILURES",
        "trials": "nasforge.report.table:TRIALS",
    },
)


def section(name: str, *, title: str, order: int, scope: str = "study") -> Callable[..., Section]:
    """Decorator making a :class:`Section` of a render function (not registered)."""

    def deco(fn: Callable[..., str | None]) -> Section:
        return Section(name, title, order, fn, scope)

    return deco


def register_section(name: str, *, title: str, order: int, scope: str = "study") -> Callable[..., Section]:
    """Decorator making a :class:`Section` and registering it in :data:`SECTIONS`."""

    def deco(fn: Callable[..., str | None]) -> Section:
        made = Section(name, title, order, fn, scope)
        SECTIONS.register(name, made, overwrite=True)
        return made

    return deco


def ordered(scope: str) -> list[Section]:
    """Registered sections of ``scope``, by ``order``."""
    found = [SECTIONS.get(name) for name in SECTIONS.names()]
    return sorted((s for s in found if s.scope == scope), key=lambda s: (s.order, s.name))


# -- study sections -----------------------------------------------------------------------------
def _named(config: Any) -> str:
    """``name (k=v, ...)`` of a ``{"name": ..., ...}`` config."""
    if not isinstance(config, dict):
        return esc(config if config is not None else "-")
    params = ", ".join(f"{k}={v}" for k, v in sorted(config.items()) if k != "name")
    text = f"<b>{esc(config.get('name', '?'))}</b>"
    return text + (f" <small>({esc(params[:300])})</small>" if params else "")


@section("summary", title="Study summary", order=10)
def SUMMARY(study: StudyData, ctx: Context) -> str:
    cfg = study.config
    states = ", ".join(f"{n} {s.lower()}" for s, n in study.states.items() if n)
    budget = cfg.get("budget") or {}
    spent = f"{study.budget_used} trials" + (f" of {budget['n_trials']}" if budget.get("n_trials") else "")
    objectives = ", ".join(f"{m} ({'max' if d == 'max' else 'min'})" for m, d in study.objectives)
    rows = [
        ("space", _named(cfg.get("space"))),
        ("strategy", _named(cfg.get("strategy"))),
        (
            "scheduler",
            _named(study.scheduler) if study.scheduler else "none (every trial gets the full budget)",
        ),
        ("task", _named(cfg.get("task"))),
        ("evaluator", _named(cfg.get("evaluator"))),
        ("objectives" if study.multi_objective else "objective", esc(objectives)),
        ("seed", esc(cfg.get("seed", "-"))),
        ("budget spent", esc(f"{spent}; {states or 'no trials'}")),
        ("time", esc(f"{fmt(study.wall_seconds, 1)} s wall, {fmt(study.train_seconds, 1)} s training")),
    ]
    out = kv_table(rows)
    best = study.best
    if best is None:
        return out + notice(
            f"No completed trial yet in study {study.name!r}: nothing to select, plot or draw. "
            "This page fills in as trials complete."
        )
    return out + _best_block(study, best)


def _best_block(study: StudyData, best: Any) -> str:
    metrics = dict(best.metrics)
    rows = [(study.objective + " (selects)", f"<b>{esc(fmt(study.value(best)))}</b>")]
    if "test_acc" in metrics:
        rows.append(
            (
                "test_acc",
                f"{esc(fmt(metrics.pop('test_acc')))} "
                "<small>(test split: reported only, never used to select)</small>",
            )
        )
    for key in sorted(metrics):
        if (
            key != study.objective
            and not key.startswith("test")
            and not isinstance(metrics[key], (dict, list))
        ):
            rows.append((key, esc(fmt(metrics[key]))))
    for key in sorted(k for k in metrics if k.startswith("test")):
        rows.append((key, esc(fmt(metrics[key])) + " <small>(reported only)</small>"))
    if best.budget is not None:
        rows.append(("budget", esc(fmt(best.budget))))
    head = (
        f"<h3>Best trial #{best.number}</h3><p>selected by the validation objective "
        f"<code>{esc(study.objective)}</code></p>"
    )
    return head + kv_table(rows)


@section("incumbent", title="Incumbent", order=20)
def INCUMBENT(study: StudyData, ctx: Context) -> str | None:
    if not study.complete:
        return None
    return ctx.figure(
        lambda: figures.incumbent([study], "trials"),
        "incumbent-trials",
        "best validation objective so far, per finished trial (completion order)",
    ) + ctx.figure(
        lambda: figures.incumbent([study], "time"),
        "incumbent-time",
        "best validation objective so far, against wall time",
    )


@section("scatter", title="Trials against cost", order=30)
def SCATTER(study: StudyData, ctx: Context) -> str | None:
    if not study.complete:
        return None
    what = "Pareto-optimal trials and the front" if study.multi_objective else "best trial starred"
    return ctx.figure(
        lambda: figures.scatter(study), "scatter", f"objective against parameters / MACs / latency ({what})"
    )


@section("curves", title="Learning curves", order=40)
def CURVES(study: StudyData, ctx: Context) -> str | None:
    if not any(t.intermediate for t in study.trials):
        return None
    return ctx.figure(
        lambda: figures.curves(study),
        "curves",
        f"{study.curve_metric} reported after each epoch, one line per trial",
    )


@section("architecture", title="Best architecture", order=60)
def ARCHITECTURE(study: StudyData, ctx: Context) -> str | None:
    best = study.best
    if best is None:
        return None
    import json

    drawing = ctx.figure(
        lambda: figures.architecture(study),
        "architecture",
        f"trial #{best.number} ({best.architecture.space}), drawn from its genotype",
    )
    genotype = json.dumps(best.architecture.to_dict(), indent=1, sort_keys=True)
    return (
        f'<div class="arch">{drawing}</div><details><summary>genotype (JSON)</summary>'
        f"<pre>{esc(genotype)}</pre></details>"
    )


@section("failures", title="Failures", order=70)
def FAILURES(study: StudyData, ctx: Context) -> str:
    groups = study.failures()
    if not groups:
        return note("No trial failed.")
    rows = []
    for reason, trials in groups.items():
        numbers = ", ".join(f"#{t.number}" for t in trials[:12]) + (" ..." if len(trials) > 12 else "")
        tb = next((t.traceback for t in trials if t.traceback), "") or ""
        last = tb.strip().splitlines()[-1] if tb.strip() else ""
        requeued = sum(1 for t in trials if t.info.get("requeued"))
        rows.append(
            [
                (reason, f"<code>{esc(reason)}</code>"),
                (len(trials), esc(len(trials))),
                (requeued, esc(requeued)),
                (numbers, esc(numbers)),
                (last, f"<code>{esc(last[:200])}</code>"),
            ]
        )
    from nasforge.report.html import data_table

    headers = [
        ("reason", "text"),
        ("trials", "num"),
        ("re-run", "num"),
        ("which", "text"),
        ("last error line", "text"),
    ]
    return data_table(headers, rows)


# -- comparison sections ------------------------------------------------------------------------
@section("compare-summary", title="Studies compared", order=1, scope="comparison")
def COMPARE_SUMMARY(studies: list[StudyData], ctx: Context) -> str:
    from nasforge.report.html import data_table

    headers = [
        ("study", "text"),
        ("space", "text"),
        ("strategy", "text"),
        ("task", "text"),
        ("trials", "num"),
        ("complete", "num"),
        ("failed", "num"),
        ("objective", "text"),
        ("best", "num"),
        ("best's test acc (reported only)", "num"),
        ("wall time (s)", "num"),
    ]
    rows = []
    for s in studies:
        best = s.best
        value = None if best is None else s.value(best)
        test = None if best is None else best.metrics.get("test_acc")
        cells = [
            s.name,
            (s.config.get("space") or {}).get("name"),
            (s.config.get("strategy") or {}).get("name"),
            (s.config.get("task") or {}).get("name"),
        ]
        row = [(c, esc(c if c is not None else "-")) for c in cells]
        row += [
            (len(s.trials), esc(len(s.trials))),
            (s.states["COMPLETE"], esc(s.states["COMPLETE"])),
            (s.states["FAILED"], esc(s.states["FAILED"])),
            (s.objective, esc(s.objective)),
            (value, esc(fmt(value))),
            (test, esc(fmt(test))),
            (s.wall_seconds, esc(fmt(s.wall_seconds, 1))),
        ]
        rows.append(row)
    return data_table(headers, rows, sortable=True)


@section("compare-incumbent", title="Incumbents overlaid", order=2, scope="comparison")
def COMPARE_INCUMBENT(studies: list[StudyData], ctx: Context) -> str:
    ready = [s for s in studies if s.complete]
    if not ready:
        return notice("None of these studies has a completed trial yet.")
    missing = [s.name for s in studies if not s.complete]
    text = note(f"no completed trial yet: {', '.join(missing)}") if missing else ""
    return text + (
        ctx.figure(
            lambda: figures.incumbent(ready, "trials"),
            "cmp-incumbent-trials",
            "best validation objective so far per finished trial, one line per study",
        )
        + ctx.figure(
            lambda: figures.incumbent(ready, "time"),
            "cmp-incumbent-time",
            "best validation objective so far against wall time, one line per study",
        )
    )
