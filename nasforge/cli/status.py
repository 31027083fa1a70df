"""``nasforge status [NAME] [--json]``: the studies in a store, or one study's trials."""

from __future__ import annotations

import argparse
import collections
import datetime
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg, fmt, load_study, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="list studies, or one study's trials", description=__doc__)
    p.add_argument("name", nargs="?", help="a study name (omit to list every study)")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def study_rows(store_path: str) -> list[dict[str, Any]]:
    """One summary per stored study."""
    from nasforge.study.store import Store

    with Store(store_path, create=False, read_only=True) as store:
        rows = []
        for record in store.list_studies():
            trials = store.trials(record.id)
            states = collections.Counter(t.state.value for t in trials)
            done = [t for t in trials if t.state.value == "COMPLETE" and t.value is not None]
            best = max(done, key=lambda t: t.value) if done else None
            sign = -1.0 if record.config.get("direction") == "minimize" else 1.0
            rows.append(
                {
                    "name": record.name,
                    "trials": len(trials),
                    "states": dict(states),
                    "objective": record.config.get("objective"),
                    "best_value": None if best is None else sign * best.value,
                    "best_test_acc": None if best is None else best.metrics.get("test_acc"),
                    "space": (record.config.get("space") or {}).get("name"),
                    "strategy": (record.config.get("strategy") or {}).get("name"),
                    "created": datetime.datetime.fromtimestamp(record.created).isoformat(timespec="seconds"),
                }
            )
        return rows


def _lineage(info: dict[str, Any]) -> dict[str, Any] | None:
    """A trial's lineage (parent, operator, exact, moves) without the parent's genotype."""
    record = info.get("lineage")
    if not isinstance(record, dict):
        return None
    return {k: v for k, v in record.items() if k != "parent_genotype"}


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if args.name is None:
        rows = study_rows(args.store or DEFAULT_STORE)
        if args.json:
            print_json(rows)
            return 0
        table = Table(title=f"studies in {args.store or DEFAULT_STORE}")
        for column in (
            "name",
            "space",
            "strategy",
            "trials",
            "complete",
            "failed",
            "running",
            "best",
            "created",
        ):
            table.add_column(
                column,
                justify="right" if column in ("trials", "complete", "failed", "running", "best") else "left",
            )
        for r in rows:
            s = r["states"]
            table.add_row(
                r["name"],
                str(r["space"]),
                str(r["strategy"]),
                str(r["trials"]),
                str(s.get("COMPLETE", 0)),
                str(s.get("FAILED", 0)),
                str(s.get("RUNNING", 0)),
                fmt(r["best_value"]),
                r["created"],
            )
        console.print(table)
        return 0
    study = load_study(args)
    if args.json:
        summary = study.summary()
        summary["trials"] = [
            {
                "number": t.number,
                "state": t.state.value,
                "value": study.user_value(t),
                "metrics": t.metrics,
                "error": t.error,
                "genotype": t.architecture.to_dict(),
                "duration": t.duration,
                "retry_of": t.info.get("retry_of"),
                "requeued": t.info.get("requeued"),
                "budget": t.budget,
                "lineage": _lineage(t.info),
            }
            for t in study.trials
        ]
        print_json(summary)
        return 0
    from nasforge.cli.table import print_best_line, trials_table

    console.print(trials_table(study))
    from nasforge.schedulers.cli import rung_lines

    for line in rung_lines(study):
        console.print(line)
    from nasforge.oneshot.phase import describe

    if describe(study.config):
        console.print(describe(study.config))
    print_best_line(study)
    return 0
