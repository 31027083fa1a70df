"""Several objectives in the report: the trials on the Pareto front of all the study's objectives.

The scatter section already draws each cost panel's front; this section lists the trials no other
trial dominates over every objective (``StudyData.pareto``). It renders only for studies with more
than one objective (``config["objectives"]``, see :mod:`nasforge.report.data`). The multi-objective
issue can add hypervolume over trials here; it shows the front's hypervolume (reference point: the nadir of
the completed trials plus 10% of their range, as ``nasforge best --pareto``).
"""

from __future__ import annotations

from nasforge.report.data import StudyData, label
from nasforge.report.html import data_table, esc, fmt
from nasforge.report.sections import Context, section


@section("pareto", title="Pareto front", order=35)
def PARETO(study: StudyData, ctx: Context) -> str | None:
    if not study.multi_objective or not study.pareto:
        return None
    objectives = study.objectives
    headers = [("#", "num")] + [(f"{label(m)} ({d})", "num") for m, d in objectives]
    headers.append(("test acc (reported only)", "num"))
    rows = []
    for t in sorted(study.pareto, key=lambda t: -(study.score(t) or 0.0)):
        row = [(t.number, esc(t.number))]
        row += [(study.value(t, m), esc(fmt(study.value(t, m)))) for m, _ in objectives]
        test = t.metrics.get("test_acc")
        row.append((test, esc(fmt(test))))
        rows.append(row)
    names = ", ".join(m for m, _ in objectives)
    return (
        f"<p>{len(study.pareto)} of {len(study.complete)} completed trials are Pareto-optimal over "
        f"({esc(names)}).{_hypervolume(study)}</p>" + data_table(headers, rows, sortable=True)
    )


def _hypervolume(study: StudyData) -> str:
    """`` Hypervolume H (reference point: ...).`` of the front (2-3 objectives), or ``""``."""
    import numpy as np

    from nasforge.multiobjective.pareto import hypervolume, reference_point

    objectives = study.objectives
    if not 2 <= len(objectives) <= 3:
        return ""
    feasible = [t for t in study.complete if not t.metrics.get("constraint_violation")]
    rows = [[study.score(t, m) for m, _ in objectives] for t in feasible]
    costs = -np.array([r for r in rows if all(v is not None for v in r)], dtype=float)
    if len(costs) == 0:
        return ""
    ref = reference_point(costs)
    shown = ", ".join(f"{m} {fmt(-x if d == 'max' else x)}"
                      for (m, d), x in zip(objectives, ref, strict=True))
    volume = hypervolume(costs, ref)
    return f" Hypervolume {volume:.4g} (reference point: {esc(shown)}; nadir + 10% of range)."
