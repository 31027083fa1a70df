"""Picklable fake evaluators for executor and fault tests (importable by spawned workers and Ray).

A fake architecture is ``Architecture("fake", {"mode": MODE, "x": INT, "t": SECONDS})``; MODE picks
the behaviour: ``ok`` (sleep ``t`` and return metrics), ``raise`` (a ValueError), ``nan`` (raises
``EvaluationError("non_finite")``), ``nan_metric`` (returns a NaN ``valid_acc``), ``kill`` (SIGKILLs
its own worker process), ``kill_once`` (SIGKILLs the worker the first time this ``x`` is seen,
remembered in ``marker_dir``), ``hang`` (sleeps forever).
"""

from __future__ import annotations

import os
import signal
import time
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
