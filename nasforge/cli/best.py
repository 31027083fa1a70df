"""``nasforge best NAME [--json] [--pareto]``: the best trial by the validation objective (test reported
only); ``--pareto`` lists the front of all the study's objectives (:mod:`nasforge.cli.pareto`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasforge.cli.common import add_store_arg, load_study, print_json
from nasforge.errors import StoreError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("best", help="show a study's best trial", description=__doc__)
    p.add_argument("name", help="the study name")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--pareto", action="store_true", help="list the Pareto front of the study's objectives")
    p.set_defaults(func=run)


def best_record(study: Any) -> dict[str, Any]:
    best = study.best_trial
    if best is None:
        raise StoreError(
            f"study {study.name!r} has no completed trial yet; see `nasforge status {study.name}`"
        )
    return {
        "study": study.name,
        "number": best.number,
        "objective": study.objective,
        "value": study.user_value(best),
        "valid_acc": best.metrics.get("valid_acc"),
        "test_acc": best.metrics.get("test_acc"),
        "metrics": best.metrics,
        "genotype": best.architecture.to_dict(),
        "checkpoint": best.checkpoint,
        "budget": best.metrics.get("epochs", best.budget),  # the budget (epochs) the trial reached
    }


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from nasforge.cli.common import fmt

    if args.pareto:
        from nasforge.cli.pareto import pareto_records, print_front

        front = pareto_records(load_study(args))
        print_json(front) if args.json else print_front(front)
        return 0
    record = best_record(load_study(args))
    if args.json:
        print_json(record)
        return 0
    console = Console()
    console.print(f"study [bold]{record['study']}[/bold]: best trial #{record['number']}")
    console.print(
        f"  {record['objective']}: {fmt(record['value'])}   test accuracy: {fmt(record['test_acc'])}"
    )
    if record["budget"] is not None:
        console.print(f"  budget reached: {fmt(record['budget'])}")
    for key in ("params", "macs", "latency_ms", "train_seconds"):
        if key in record["metrics"]:
            console.print(f"  {key}: {fmt(record['metrics'][key])}")
    if record["checkpoint"]:
        console.print(f"  checkpoint: {record['checkpoint']}")
    console.print("  genotype:")
    print(json.dumps(record["genotype"], indent=2, sort_keys=True))
    return 0
