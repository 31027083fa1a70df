"""``nasforge bench``: strategies side by side on a tabular benchmark.

Example::

    nasforge bench nasbench-graph --strategies random,regularized-evolution,tpe --queries 100 --seeds 30

writes ``results.csv``, ``summary.md`` and ``regret.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasforge.errors import ConfigError


def _csv(text: str, flag: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{flag} expects a comma-separated list, got {text!r}")
    return items


def _ints(text: str, flag: str) -> list[int]:
    values = []
    for item in _csv(text, flag):
        try:
            values.append(int(item))
        except ValueError:
            raise ConfigError(f"{flag} expects comma-separated integers, got {text!r}") from None
    return values


def parse_strategy_options(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["tpe.n_startup_trials=20", ...]`` -> ``{"tpe": {"n_startup_trials": 20}}`` (JSON values)."""
    options: dict[str, dict[str, Any]] = {}
    for item in items or []:
        name, dot, rest = item.partition(".")
        key, eq, raw = rest.partition("=")
        if not (name and dot and key and eq):
            raise ConfigError(
                "--strategy-opt expects NAME.KEY=VALUE (e.g. regularized-evolution.population=20), "
                f"got {item!r}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options.setdefault(name, {})[key] = value
    return options


def register(subparsers: Any) -> None:
    """Add the ``bench`` sub-command."""
    parser = subparsers.add_parser(
        "bench",
        help="run strategies side by side on a tabular benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("benchmark", help="the tabular benchmark: nasbench-graph")
    parser.add_argument("--datasets", default=None, help="comma-separated datasets (default: all 9)")
    parser.add_argument(
        "--strategies",
        default="random,regularized-evolution,tpe",
        help="comma-separated strategies (default: random,regularized-evolution,tpe)",
    )
    parser.add_argument("--queries", type=int, default=100, help="queries per run (default 100)")
    parser.add_argument("--seeds", type=int, default=30, help="seeds per (dataset, strategy) (default 30)")
    parser.add_argument("--seed-offset", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--out", default="bench-results", help="output folder (default bench-results)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--budgets", default=None, help="query budgets reported in summary.md (default 25,50,100)"
    )
    parser.add_argument(
        "--strategy-opt",
        action="append",
        default=None,
        metavar="NAME.KEY=VALUE",
        help="strategy parameter, repeatable (e.g. regularized-evolution.population=20)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; returns the exit status."""
    from rich.console import Console
    from rich.table import Table

    from nasforge.bench import run_bench
    from nasforge.bench.summary import aggregate, budgets_for

    datasets = None if args.datasets is None else _csv(args.datasets, "--datasets")
    budgets = None if args.budgets is None else _ints(args.budgets, "--budgets")
    outcome = run_bench(
        benchmark=args.benchmark,
        datasets=datasets,
        strategies=_csv(args.strategies, "--strategies"),
        queries=args.queries,
        seeds=args.seeds,
        seed_offset=args.seed_offset,
        out=args.out,
        workers=args.workers,
        strategy_options=parse_strategy_options(args.strategy_opt),
        budgets=budgets,
        progress=not args.no_progress,
    )
    results = outcome["results"]
    last = budgets_for(args.queries, budgets)[-1]
    stats = aggregate(results, [last])
    table = Table(title=f"mean over datasets at {last} queries")
    for column in ("strategy", "valid regret (pp)", "test acc (%)", "seconds"):
        table.add_column(column)
    for strategy in dict.fromkeys(r.spec.strategy for r in results):
        keys = [k for k in stats if k[1] == strategy]
        regret = sum(stats[k]["regret"][0][0] for k in keys) / len(keys)
        test = sum(stats[k]["test"][0][0] for k in keys) / len(keys)
        seconds = sum(r.seconds for r in results if r.spec.strategy == strategy)
        table.add_row(strategy, f"{regret:.2f}", f"{test:.2f}", f"{seconds:.1f}")
    console = Console()
    console.print(table)
    for path in outcome["paths"].values():
        console.print(f"wrote {path}")
    return 0
