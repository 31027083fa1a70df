"""A stored study's Pareto front as plain records (``nasforge best NAME --pareto``).

The front is taken over the study's COMPLETE, feasible trials (no positive ``constraint_violation``)
that have every objective metric; test accuracy is shown, never used. The hypervolume printed with it
uses :func:`~nasforge.multiobjective.pareto.reference_point` of the feasible trials' costs (their nadir
plus 10% of the range), so it compares the front with the rest of the same study only.
"""

from __future__ import annotations

from typing import Any

from nasforge.errors import StoreError
from nasforge.multiobjective.objectives import VIOLATION, cost_matrix, from_config
from nasforge.multiobjective.pareto import hypervolume, non_dominated, reference_point
from nasforge.trial import TrialState


def pareto_records(study: Any) -> dict[str, Any]:
    """``{"study", "objectives", "constraints", "front": [...], "hypervolume", "reference_point"}``;
    front rows sorted by the first objective (best first)."""
    objectives, constraints = from_config(study.config)
    trials = [t for t in study.trials if t.state is TrialState.COMPLETE and not t.metrics.get(VIOLATION)]
    kept, costs = cost_matrix(trials, objectives)
    if not kept:
        raise StoreError(
            f"study {study.name!r} has no completed feasible trial yet; see `nasforge status {study.name}`"
        )
    mask = non_dominated(costs)
    ref = reference_point(costs)
    rows = []
    for t, c, on in zip(kept, costs, mask, strict=True):
        if on:
            rows.append((c[0], t.number, {
                "number": t.number,
                **{o.metric: t.metrics.get(o.metric) for o in objectives},
                "test_acc": t.metrics.get("test_acc"),
                "genotype": t.architecture.to_dict(),
                "checkpoint": t.checkpoint,
            }))
    rows.sort(key=lambda r: (r[0], r[1]))
    return {
        "study": study.name,
        "objectives": [[o.metric, o.direction] for o in objectives],
        "constraints": [str(c) for c in constraints],
        "n_feasible": len(kept),
        "front": [r[2] for r in rows],
        "hypervolume": hypervolume(costs[mask], ref) if len(objectives) <= 3 else None,
        "reference_point": [float(-x * o.sign) for x, o in zip(ref, objectives, strict=True)],
    }


def print_front(record: dict[str, Any]) -> None:
    """The front as a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    from nasforge.cli.common import fmt, genotype_summary

    names = [m for m, _ in record["objectives"]]
    table = Table(title=f"study {record['study']}: Pareto front, {len(record['front'])} of "
                        f"{record['n_feasible']} feasible trials")
    columns = ("#", *(f"{m} ({d})" for m, d in record["objectives"]), "test acc (reported only)", "genotype")
    for col in columns:
        table.add_column(col, justify="right" if col != "genotype" else "left")
    for row in record["front"]:
        table.add_row(str(row["number"]), *(fmt(row[m]) for m in names), fmt(row["test_acc"]),
                      genotype_summary(row["genotype"]["genes"], 50))
    console = Console()
    console.print(table)
    if record["constraints"]:
        console.print(f"constraints: {', '.join(record['constraints'])}")
    if record["hypervolume"] is not None:
        ref = ", ".join(f"{m}={fmt(v)}" for m, v in zip(names, record["reference_point"], strict=True))
        console.print(f"hypervolume {record['hypervolume']:.6g} (reference point: {ref})")
