"""``nasforge resume NAME``: continue a study after a crash, a SIGKILL or Ctrl-C.

The space, strategy and evaluator are rebuilt from the stored config; the stored history is replayed
into the strategy; trials left RUNNING by a dead driver are marked FAILED ``driver_lost`` and re-run
(at most ``--retries`` times per candidate, counted across resumes). The run settings stored by the
study's last run (trial budget, time limit, executor, workers, ...) are used unless flags say otherwise;
the first line printed lists them and where each came from (stored / flag / default).

The task's data must be what the study ran on (its content hash is stored): a changed or missing data
file is refused; ``--task FILE`` points to a moved copy (accepted when its content matches). A stored
trial the strategy cannot take makes resume fail naming it; ``--skip-trial N`` leaves it out of the
replay from then on (recorded with the study).
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.cli import running
from nasforge.cli.common import DEFAULT_STORE

SHOWN = ("trials", "time_limit", "workers", "executor", "ray_address", "trial_timeout", "retries",
         "max_consecutive_failures", "task", "skip_trials")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("resume", help="continue a stored study", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="the study name (see `nasforge status`)")
    running.add_run_args(p)
    p.add_argument("--task", metavar="FILE", help="the study's data file, moved (its content must match)")
    p.add_argument("--skip-trial", type=int, action="append", metavar="N",
                   help="never replay stored trial N into the strategy (repeatable; recorded with the study)")
    p.set_defaults(func=run)


def resume_settings(
    args: argparse.Namespace, stored: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The run settings: flags, else the study's stored ones, else the defaults; and their sources."""
    s: dict[str, Any] = {}
    sources: dict[str, str] = {}
    options = stored.get("executor_options") or {}
    stored_values = {key: stored.get(name) for key, name in running.STORED_AS.items()}
    stored_values["ray_address"] = options.get("address") if isinstance(options, dict) else None
    for key, value in stored_values.items():
        flag = getattr(args, key, None)
        if flag is not None:
            s[key], sources[key] = flag, "flag"
        elif value is not None:
            s[key], sources[key] = value, "stored"
        else:
            s[key], sources[key] = running.RUN_DEFAULTS.get(key), "default"
    if sources["workers"] == "flag" and sources["executor"] == "stored" and s["executor"] == "serial":
        s["executor"], sources["executor"] = "auto", "default"  # more workers than a serial run has
    if sources["ray_address"] == "flag" and sources["executor"] != "flag":
        s["executor"], sources["executor"] = "ray", "flag"
    running.validate_run_settings(s)
    return s, sources


def run(args: argparse.Namespace) -> int:
    from nasforge.study import Study

    study = Study.load(store=args.store or DEFAULT_STORE, name=args.name, task=args.task)
    s, sources = resume_settings(args, study.budget)
    executor = running.make_run_executor(s)  # bad flags fail here, before anything is stored
    try:  # whatever fails, the workers started early stop with it
        if study.evaluator is not None and getattr(study.evaluator, "name", "") == "train":
            running.prestart(executor, running.TRAINING_WARM)  # they start while the data is checked
        if args.skip_trial:
            study.skip_trials(args.skip_trial)
        shown = {**s, "task": args.task or (study.config.get("task") or {}).get("path"),
                 "skip_trials": study.skipped_trials or None}
        sources.update(task="flag" if args.task else "stored", skip_trials="stored")
        for key in ("task", "skip_trials"):
            if shown[key] is None:
                shown.pop(key)
        running.print_settings(running.settings_line(f"resume {study.name}", shown, sources, SHOWN))
        return running.run_study(study, s, args, executor)
    finally:
        executor.shutdown(cancel=True)
