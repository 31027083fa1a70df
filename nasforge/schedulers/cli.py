"""``nasforge search --scheduler NAME --scheduler-opt k=v --keep-checkpoints`` (and the ``scheduler`` /
``[scheduler_opt]`` config keys): the scheduler a search runs under."""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.errors import ConfigError


def add_scheduler_args(parser: argparse.ArgumentParser) -> None:
    """The scheduler flags of ``nasforge search``."""
    parser.add_argument("--scheduler", help="multi-fidelity scheduler (see `nasforge list schedulers`); "
                        "its max_budget defaults to --epochs")
    parser.add_argument("--scheduler-opt", action="append", metavar="KEY=VALUE",
                        help="scheduler parameter, e.g. eta=3, min_budget=1 (repeatable)")
    parser.add_argument("--keep-checkpoints", action="store_true", default=None,
                        help="keep the training state of trials that can no longer be promoted")


def scheduler_from_settings(s: dict[str, Any], args: argparse.Namespace | None = None) -> Any:
    """The scheduler the settings name (``None`` without one); bad options are a :class:`ConfigError`."""
    from nasforge import schedulers

    name = s.get("scheduler")
    options = dict(s.get("scheduler_opt") or {})
    if getattr(args, "keep_checkpoints", None):
        options["keep_checkpoints"] = True
    if not name:
        if options:
            raise ConfigError("--scheduler-opt / --keep-checkpoints need --scheduler NAME "
                              "(see `nasforge list schedulers`)")
        return None
    try:
        return schedulers.create(name, **options)
    except TypeError as exc:
        raise ConfigError(f"bad --scheduler-opt for scheduler {name!r}: {exc}") from exc


def rung_lines(study: Any) -> list[str]:
    """``nasforge status NAME``: per budget, how many trials reached it, are paused there, stopped there,
    completed it or run towards it (nothing for a study without a scheduler)."""
    from nasforge.schedulers.base import reached, sched_info
    from nasforge.trial import TrialState

    sched = study.config.get("scheduler")
    if not sched:
        return []
    trials = [t for t in study.trials if sched_info(t) and not t.info.get("requeued")]
    budgets = sorted({float(t.budget) for t in trials if t.budget is not None})
    params = ", ".join(f"{k}={v}" for k, v in sched.items() if k != "name")
    lines = [f"scheduler {sched.get('name')}: {params}"]
    for b in budgets:
        at = [t for t in trials if t.budget is not None and float(t.budget) == b]
        count = {s: sum(1 for t in at if t.state is s) for s in TrialState}
        stopped = sum(1 for t in at if t.state is TrialState.PRUNED and reached(t) < b)
        paused = count[TrialState.PRUNED] - stopped
        lines.append(f"  budget {b:g}: {len(at)} trials ({paused} paused, {stopped} stopped, "
                     f"{count[TrialState.COMPLETE]} complete, {count[TrialState.RUNNING]} running, "
                     f"{count[TrialState.FAILED]} failed)")
    brackets = sorted({int(sched_info(t).get("bracket", 0)) for t in trials})
    if len(brackets) > 1:
        lines.append(f"  brackets: {len(brackets)}")
    return lines
