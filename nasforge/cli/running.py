"""What ``nasforge search`` and ``nasforge resume`` share: the run flags (budget and where trials run),
how the budget is resolved, the settings line, the executor, and running a study to its results.

The budget: ``--trials``, ``--time-limit``, ``--workers``, ``--executor`` and ``--ray-address``. Only a
``search`` given none of them (by flag or config file) runs the built-in demo budget
(``nasforge/defaults.py``: a trial count, a time limit and two workers). Given any of them, what is not
given means: no time limit, one worker, ``auto`` executor, and the default trial count when neither a
trial count nor a time limit was given. ``resume`` runs with the settings stored by the study's last
run (its budget, executor and workers) unless flags say otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nasforge.checks import check_int, check_seconds
from nasforge.cli.common import add_store_arg
from nasforge.errors import ConfigError

#: the budget keys: when none is given to ``search``, the built-in demo budget applies
BUDGET_KEYS = ("trials", "time_limit", "workers", "executor", "ray_address")
#: run-setting keys and the ``Study.budget`` keys they are stored under
STORED_AS = {
    "trials": "n_trials",
    "time_limit": "time_limit",
    "workers": "workers",
    "executor": "executor",
    "trial_timeout": "trial_timeout",
    "retries": "retries",
    "max_consecutive_failures": "max_consecutive_failures",
}
#: values of the run settings nobody gave (the demo budget aside)
RUN_DEFAULTS: dict[str, Any] = {
    "workers": 1,
    "executor": "auto",
    "retries": 1,
    "max_consecutive_failures": 10,
}


def demo_workers() -> int:
    from nasforge import defaults

    return int(defaults.SEARCH.get("workers", 1))


def add_run_args(p: argparse.ArgumentParser) -> None:
    """Flags shared by ``search`` and ``resume`` (budget and where trials run)."""
    add_store_arg(p)
    p.add_argument("--trials", type=int, help="total number of trials of the study")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop starting trials after this")
    p.add_argument(
        "--workers", type=int,
        help=f"trials run in parallel (default 1; {demo_workers()} in the built-in demo, which runs when "
        "no budget flag is given)",
    )
    p.add_argument("--executor", help="auto, serial, process or ray (default auto: serial for one worker)")
    p.add_argument("--ray-address", metavar="HOST:PORT", help="join this Ray cluster (implies ray)")
    p.add_argument("--trial-timeout", type=float, metavar="SECONDS", help="fail trials running longer")
    p.add_argument(
        "--retries", type=int,
        help="re-runs of a trial lost with its worker or driver, counted across resumes (default 1)",
    )
    p.add_argument("--max-consecutive-failures", type=int, help="abort after this many failures in a row")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--top", type=int, default=10, help="rows of the results table (default 10)")


def validate_run_settings(s: dict[str, Any]) -> None:
    """Budgets and counts in range; one clear :class:`ConfigError` naming the flag otherwise."""
    for key, low in (("trials", 1), ("epochs", 1), ("workers", 1), ("seed", 0), ("retries", 0),
                     ("max_consecutive_failures", 1)):
        if s.get(key) is not None:
            check_int("--" + key.replace("_", "-"), s[key], low)
    for key in ("time_limit", "trial_timeout"):
        if s.get(key) is not None:
            check_seconds("--" + key.replace("_", "-"), s[key], allow_none=False)
    if s.get("ray_address"):
        if s.get("executor") not in (None, "auto", "ray"):
            raise ConfigError(f"--ray-address needs --executor ray, got --executor {s['executor']}")
        s["executor"] = "ray"


def fill_budget(s: dict[str, Any], sources: dict[str, str], given: set[str], demo: dict[str, Any]) -> None:
    """Complete the budget keys of ``s`` in place (see the module docstring); ``given``: the budget keys the
    user set, ``demo``: the built-in default settings."""
    if not given & set(BUDGET_KEYS):
        for key in ("trials", "time_limit", "workers", "executor"):
            s[key] = demo.get(key, RUN_DEFAULTS.get(key))
            sources[key] = "default: demo budget"
        return
    if "trials" not in given and "time_limit" not in given:
        s["trials"] = demo.get("trials")
    elif "trials" not in given:
        s["trials"] = None
    if "time_limit" not in given:
        s["time_limit"] = None
    for key in ("workers", "executor"):
        if key not in given:
            s[key] = RUN_DEFAULTS[key]


def describe(value: Any, key: str) -> str:
    if value is None:
        return "none"
    if key in ("time_limit", "trial_timeout"):
        return f"{value:g} s"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}" if value else "{}"
    return str(value)


def settings_line(command: str, s: dict[str, Any], sources: dict[str, str], keys: tuple[str, ...]) -> str:
    """``nasforge search: task mnist1d (default), trials 40 (default: demo budget), ...``."""
    parts = []
    for key in keys:
        if key not in s or (s[key] is None and key in ("ray_address", "trial_timeout", "cv")):
            continue
        parts.append(f"{key.replace('_', ' ')} {describe(s[key], key)} ({sources.get(key, 'default')})")
    return f"nasforge {command}: " + ", ".join(parts)


def print_settings(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def make_run_executor(s: dict[str, Any]) -> Any:
    """The executor of the settings (built before anything is stored, so bad flags store nothing)."""
    from nasforge.study.driver import make_executor

    options = {"address": s["ray_address"]} if s.get("ray_address") else None
    return make_executor(s.get("executor") or "auto", s.get("workers") or 1, s.get("trial_timeout"), options)


#: what early-started process workers import while the driver prepares (a training evaluator's needs;
#: torch._dynamo is what torch's optimizers import on first use, seconds on a small machine)
TRAINING_WARM = ("nasforge.estimate.train", "torch._dynamo")


def prestart(executor: Any, warm: tuple[str, ...]) -> None:
    """Start an executor's workers now, if it can start them before it has the evaluator (process)."""
    start_early = getattr(executor, "prestart", None)
    if callable(start_early):
        start_early(warm)


def run_study(study: Any, s: dict[str, Any], args: argparse.Namespace, executor: Any = None) -> int:
    """Optimise ``study`` with the run settings ``s``, then print the results."""
    from rich.console import Console

    from nasforge.cli.table import print_results
    from nasforge.oneshot.phase import run_phase

    console = Console(stderr=True)
    derived = run_phase(study, console.print)  # a one-shot study trains its supernet first
    n_trials = s.get("trials") if derived is None else derived
    console.print(
        f"study [bold]{study.name}[/bold] in {study.store.path}: space {study.space_name}, strategy "
        f"{study.strategy_name}, objective {study.objective}, "
        f"{f'{n_trials} trials' if n_trials else 'no trial limit'}"
        + (f", time limit {s['time_limit']:.0f}s" if s.get("time_limit") else "")
    )
    executor = executor if executor is not None else make_run_executor(s)
    study.optimize(
        n_trials=n_trials,
        timeout=s.get("time_limit"),
        workers=s.get("workers") or 1,
        executor=executor,
        trial_timeout=s.get("trial_timeout"),
        retries=RUN_DEFAULTS["retries"] if s.get("retries") is None else s["retries"],
        max_consecutive_failures=s.get("max_consecutive_failures") or 10,
        show_progress=not getattr(args, "no_progress", False),
        executor_options={"address": s["ray_address"]} if s.get("ray_address") else None,
        save_budget=True,
    )
    print_results(study, top=max(1, getattr(args, "top", 10) or 10))
    if study.interrupted:
        console.print(
            f"interrupted; the store is consistent. Continue with: nasforge resume {study.name} "
            f"--store {study.store.path}"
        )
        return 130
    return 0
