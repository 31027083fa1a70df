"""Picklable fake evaluators for executor and fault tests (importable by spawned workers and Ray).

A fake architecture is ``Architecture("fake", {"mode": MODE, "x": INT, "t": SECONDS})``; MODE picks
the behaviour: ``ok`` (sleep ``t`` and return metrics), ``raise`` (a ValueError), ``nan`` (raises
``EvaluationError("non_finite")``), ``nan_metric`` (returns a NaN ``valid_acc``), ``kill`` (SIGKILLs
its own worker process), ``kill_once`` (SIGKILLs the worker the first time this ``x`` is seen,
remembered in ``marker_dir``), ``hang`` (sleeps forever), ``threads`` (reports torch's threads),
``steps`` (``x`` epochs of ``t`` s, each reported; it stops at the first report answered ``False`` and
returns ``stopped_at``).

:class:`ToyFaultEvaluator` scores the study tests' toy genotypes (``{"x", "y"}``, see ``fakes.py``) and
injects faults by trial number. Run as a script (``python tests/executor_fakes.py STORE NAME N_TRIALS
SLEEP WORKERS``) it creates-or-resumes a toy study on the process executor (the SIGKILL/SIGINT tests).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasforge.errors import EvaluationError
from nasforge.estimate.base import EvalContext, Evaluator, Reporter
from nasforge.space.architecture import Architecture

LOADS = 0  # how many FakeEvaluator instances were unpickled in this process
PREPARED = 0  # how many times prepare() ran in this process


def arch(mode: str = "ok", x: int = 0, t: float = 0.0) -> Architecture:
    """A fake genotype."""
    return Architecture("fake", {"mode": mode, "x": x, "t": t})


class FakeEvaluator(Evaluator):
    """Behaves as the architecture's ``mode`` says; ``payload`` stands for task data (shipped once)."""

    name = "fake"

    def __init__(self, marker_dir: str | None = None, payload_size: int = 0) -> None:
        self.marker_dir = marker_dir
        self.payload_size = payload_size
        self.payload = bytes(payload_size)

    def __setstate__(self, state: dict[str, Any]) -> None:
        global LOADS
        LOADS += 1
        self.__dict__.update(state)

    def prepare(self) -> None:
        global PREPARED
        PREPARED += 1

    def evaluate(self, architecture: Architecture, context: EvalContext,
                 reporter: Reporter | None = None) -> dict[str, Any]:
        genes = architecture.genes
        mode, x, t = genes["mode"], int(genes["x"]), float(genes["t"])
        if mode == "steps":  # x epochs of t seconds, each reported; stops when report() answers False
            stopped, step = 0, 0
            for step in range(1, x + 1):
                time.sleep(t)
                if reporter is not None and not reporter.report(step, {"valid_acc": step / 100}):
                    stopped = step
                    break
            return {"valid_acc": step / 100, "stopped_at": stopped, "last_step": step, "pid": os.getpid()}
        if reporter is not None:
            reporter.report(1, {"valid_acc": 0.1})
        if mode == "raise":
            raise ValueError(f"boom {x}")
        if mode == "nan":
            raise EvaluationError("non_finite", "loss became nan")
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "kill_once" and self.marker_dir is not None:
            marker = Path(self.marker_dir) / f"killed-{x}"
            if not marker.exists():
                marker.write_text("1")
                os.kill(os.getpid(), signal.SIGKILL)
        if mode == "hang":
            while True:
                time.sleep(0.05)
        if mode == "threads":  # torch imported lazily, after the worker set its thread limit
            import torch

            return {"valid_acc": 0.0, "threads": torch.get_num_threads()}
        if t:
            time.sleep(t)
        if reporter is not None:
            reporter.report(2, {"valid_acc": 0.5})
        if mode == "nan_metric":
            return {"valid_acc": float("nan")}
        return {
            "valid_acc": (x % 10) / 10.0,
            "test_acc": 0.0,
            "pid": os.getpid(),
            "loads": LOADS,
            "prepared": PREPARED,
            "seed": context.seed,
        }


class ToyFaultEvaluator(Evaluator):
    """Toy-space evaluator (``valid_acc`` peaks at x=7, y=3) with faults injected by trial number.

    ``raise_at`` -> ValueError, ``nan_at`` -> ``EvaluationError("non_finite")``, ``kill_at`` -> SIGKILL of
    the worker, ``hang_at`` -> never returns; ``fail_all`` -> every trial is non-finite.
    """

    name = "toy-fault"

    def __init__(self, sleep: float = 0.0, raise_at: Sequence[int] = (), nan_at: Sequence[int] = (),
                 kill_at: Sequence[int] = (), hang_at: Sequence[int] = (), fail_all: bool = False) -> None:
        self.sleep = sleep
        self.raise_at = list(raise_at)
        self.nan_at = list(nan_at)
        self.kill_at = list(kill_at)
        self.hang_at = list(hang_at)
        self.fail_all = fail_all

    def evaluate(self, architecture: Architecture, context: EvalContext,
                 reporter: Reporter | None = None) -> dict[str, Any]:
        n = context.trial_number
        if reporter is not None:
            reporter.report(0, {"valid_acc": 0.0})
        if n in self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if n in self.hang_at:
            while True:
                time.sleep(0.05)
        if self.sleep:
            time.sleep(self.sleep)
        if n in self.raise_at:
            raise ValueError(f"injected failure in trial {n}")
        if self.fail_all or n in self.nan_at:
            raise EvaluationError("non_finite", "loss became nan")
        x, y = int(architecture["x"]), int(architecture["y"])
        acc = 1.0 - ((x - 7) ** 2 + (y - 3) ** 2) / 200.0
        return {"valid_acc": acc, "test_acc": acc, "pid": os.getpid()}

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "sleep": self.sleep}


def run_driver(argv: list[str]) -> int:
    """``STORE NAME N_TRIALS SLEEP WORKERS``: create-or-resume a toy study on the process executor."""
    import fakes  # registers the toy space, so a stored study can be rebuilt

    import nasforge as nf
    from nasforge.study import Study

    store, name, n_trials, sleep, workers = argv[0], argv[1], int(argv[2]), float(argv[3]), int(argv[4])
    evaluator = ToyFaultEvaluator(sleep=sleep)
    if nf.study.Store(store).has_study(name):
        study = Study.load(store=store, name=name, evaluator=evaluator)
    else:
        study = Study.create(store=store, name=name, space=fakes.ToySpace(),
                             strategy=nf.strategies.create("random"), evaluator=evaluator, seed=5)
    print("PID", os.getpid(), flush=True)
    study.optimize(n_trials=n_trials, workers=workers, executor="process", show_progress=False)
    print("INTERRUPTED" if study.interrupted else "DONE", len(study.trials), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_driver(sys.argv[1:]))
