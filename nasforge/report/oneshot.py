"""The one-shot phase in the report: architecture weights over epochs and the supernet's ranking.

Where the data is read (:func:`phase`): ``config["oneshot"]`` of the study (or ``StudyData.extra``),
a JSON mapping::

    {"method": "darts", "epochs": 50, "seconds": 812.4,
     "alpha_history": [{"epoch": 0, "alphas": {"edge 0->1": {"conv_3x3": 0.21, "none": 0.18, ...}, ...}},
                       ...],
     "ranking": [{"trial": 12, "supernet": 0.61, "standalone": 0.83}, ...],
     "derived": {"space": "edge-cell", "genes": {...}}}

(``alphas`` are softmaxed weights per decision point; ``ranking`` pairs the supernet's score of a
genotype with its stand-alone accuracy). Every key is optional; the section renders what is there. The
one-shot issue writes this shape, or changes :func:`phase` to read where it stores it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasforge.report.data import StudyData
from nasforge.report.figures import NothingToPlot
from nasforge.report.html import esc, fmt, kv_table
from nasforge.report.sections import Context, section
from nasforge.report.svg import pyplot

MAX_PANELS = 16


def phase(study: StudyData) -> dict[str, Any] | None:
    """The study's one-shot record, or ``None`` if no one-shot phase ran."""
    found = study.extra.get("oneshot") or study.config.get("oneshot")
    return found if isinstance(found, dict) and found else None


def alphas(study: StudyData) -> Any:
    """One panel per decision point (first 16): each op's weight against the epoch."""
    history = (phase(study) or {}).get("alpha_history") or []
    if not history:
        raise NothingToPlot(f"study {study.name!r} recorded no architecture weights")
    decisions = list(history[-1].get("alphas", {}))[:MAX_PANELS]
    cols = min(4, len(decisions))
    rows = math.ceil(len(decisions) / cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    epochs = [float(h.get("epoch", i)) for i, h in enumerate(history)]
    for ax, name in zip(axes.ravel(), decisions, strict=False):
        ops = list(history[-1]["alphas"][name])
        for op in ops:
            ax.plot(
                epochs,
                [float(h.get("alphas", {}).get(name, {}).get(op, np.nan)) for h in history],
                label=op,
                linewidth=1.2,
            )
        ax.set_title(str(name), fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("weight (softmax)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(decisions) :]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, frameon=False)
    fig.suptitle(f"{study.name}: architecture weights over the search", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def ranking(study: StudyData) -> Any:
    """Supernet score against stand-alone accuracy, with Kendall's tau."""
    pairs = [(p.get("supernet"), p.get("standalone")) for p in (phase(study) or {}).get("ranking") or []]
    pairs = [
        (float(a), float(b)) for a, b in pairs if isinstance(a, (int, float)) and isinstance(b, (int, float))
    ]
    if len(pairs) < 2:
        raise NothingToPlot(f"study {study.name!r} recorded no supernet ranking")
    from scipy.stats import kendalltau

    x, y = np.array(pairs).T
    tau = kendalltau(x, y).statistic
    fig, ax = pyplot().subplots(figsize=(4.6, 3.6))
    ax.scatter(x, y, s=16, alpha=0.7)
    ax.set_xlabel("supernet score (shared weights)")
    ax.set_ylabel("stand-alone accuracy")
    ax.set_title(f"Supernet ranking: Kendall tau = {tau:.3f} (n={len(pairs)})")
    ax.grid(alpha=0.3)
    return fig


@section("oneshot", title="One-shot phase", order=50)
def ONESHOT(study: StudyData, ctx: Context) -> str | None:
    record = phase(study)
    if record is None:
        return None
    rows = [(k, esc(fmt(record[k]))) for k in ("method", "epochs", "seconds") if k in record]
    if isinstance(record.get("derived"), dict):
        import json

        rows.append(
            ("derived genotype", f"<code>{esc(json.dumps(record['derived'], sort_keys=True))}</code>")
        )
    out = kv_table(rows) if rows else ""
    if record.get("alpha_history"):
        out += ctx.figure(
            lambda: alphas(study), "alphas", "architecture weights per decision point over epochs"
        )
    if record.get("ranking"):
        out += ctx.figure(lambda: ranking(study), "ranking", "supernet score against stand-alone accuracy")
    return out
