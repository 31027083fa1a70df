"""``nasforge resume NAME``: continue a study after a crash, a SIGKILL or Ctrl-C.

The space, strategy and evaluator are rebuilt from the stored config; the stored history is replayed
into the strategy; trials left RUNNING by a dead driver are marked FAILED ``driver_lost`` and re-run.
Without ``--trials``/``--time-limit`` the budget stored by the original ``search`` is used.
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.cli.common import DEFAULT_STORE
from nasforge.cli.search import add_run_args, make_run_executor, run_study, validate_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("resume", help="continue a stored study", description=__doc__)
    p.add_argument("name", help="the study name (see `nasforge status`)")
    add_run_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nasforge.study import Study

    study = Study.load(store=args.store or DEFAULT_STORE, name=args.name)
    stored = study.budget
    s: dict[str, Any] = {
        "task": "-",
        "space": study.space.name,
        "strategy": study.strategy.name,
        "trials": args.trials if args.trials is not None else stored.get("n_trials"),
        "time_limit": args.time_limit if args.time_limit is not None else stored.get("time_limit"),
        "workers": args.workers,
        "executor": args.executor,
        "ray_address": args.ray_address,
        "trial_timeout": args.trial_timeout,
        "retries": args.retries,
        "max_consecutive_failures": args.max_consecutive_failures,
    }
    validate_settings(s)
    return run_study(study, s, args, make_run_executor(s))
