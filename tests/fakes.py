"""Test-only space, evaluator and executor for the study, store and CLI tests (no torch, instant).

``ToySpace`` ("toy"): genes ``{"x": 0..9, "y": 0..9}`` (100 genotypes). ``ToyEvaluator`` scores
``valid_acc = 1 - ((x - 7)^2 + (y - 3)^2) / 200`` (best at x=7, y=3), optionally sleeping, failing on
some ``x`` values, or raising ``KeyboardInterrupt`` on a given trial number. Both are registered
under ``toy`` (spaces, evaluators) when this module is imported, so stored studies can be rebuilt.

Run as a script (``python tests/fakes.py STORE NAME N_TRIALS SLEEP``) it creates-or-resumes a toy study
and optimises it: the SIGKILL tests drive it in a subprocess.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import EvaluationError
from nasforge.estimate.base import EvalContext, Evaluator, Reporter
from nasforge.space import SPACES, Architecture, Decision, SearchSpace
from nasforge.study.executors.base import Executor, Job, JobResult

_VALUES = tuple(range(10))


class ToySpace(SearchSpace):
    """Two integer genes in 0..9."""

    name = "toy"
    input_kinds = frozenset()

    def __init__(self, width: int = 10) -> None:
        super().__init__(width=width)

    def sample(self, rng: np.random.Generator) -> Architecture:
        w = self.params["width"]
        return Architecture("toy", {"x": int(rng.integers(w)), "y": int(rng.integers(w))})

    def validate(self, arch: Architecture) -> None:
        from nasforge.errors import SpaceError

        for key in ("x", "y"):
            if arch.genes.get(key) not in range(self.params["width"]):
                raise SpaceError(f"toy.{key} must be in 0..{self.params['width'] - 1}")

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        choices = tuple(range(self.params["width"]))
        return [Decision("x", choices), Decision("y", choices)]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        return (int(arch["x"]), int(arch["y"]))

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        return Architecture("toy", {"x": int(indices[0]), "y": int(indices[1])})


def score(x: int, y: int) -> float:
    return 1.0 - ((x - 7) ** 2 + (y - 3) ** 2) / 200.0


class ToyEvaluator(Evaluator):
    """Instant evaluator of toy genotypes (see the module docstring)."""

    name = "toy"

    def __init__(
        self,
        sleep: float = 0.0,
        fail_x: Sequence[int] = (),
        fail_all: bool = False,
        interrupt_at: int | None = None,
        write_checkpoint: bool = True,
        metric: str = "valid_acc",
    ) -> None:
        self.sleep = sleep
        self.fail_x = list(fail_x)
        self.fail_all = fail_all
        self.interrupt_at = interrupt_at
        self.write_checkpoint = write_checkpoint
        self.metric = metric

    def evaluate(
        self, architecture: Architecture, context: EvalContext, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        x, y = int(architecture["x"]), int(architecture["y"])
        if self.interrupt_at is not None and context.trial_number == self.interrupt_at:
            raise KeyboardInterrupt
        if self.sleep:
            time.sleep(self.sleep)
        if self.fail_all:
            raise EvaluationError("non_finite", "loss became nan")
        if x in self.fail_x:
            raise ValueError(f"toy failure for x={x}")
        acc = score(x, y)
        if reporter is not None:
            reporter.report(1, {"valid_acc": acc / 2})
        metrics: dict[str, Any] = {self.metric: acc, "test_acc": acc - 0.01, "params": 10 * x + y}
        metrics["seed"] = context.seed
        if self.write_checkpoint and context.checkpoint_dir:
            path = Path(context.checkpoint_dir) / "model.pt"
            path.write_text(f"{x},{y}")
            metrics["checkpoint"] = str(path)
        return metrics

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "sleep": self.sleep, "fail_x": self.fail_x, "fail_all": self.fail_all}

    def describe_task(self) -> dict[str, Any]:
        return {"name": "toy-task"}


class FlakyExecutor(Executor):
    """Serial executor whose first attempt of each genotype in ``lose`` returns ``worker_lost``."""

    name = "flaky"

    def __init__(self, lose: Sequence[tuple[int, int]] = (), always: bool = False) -> None:
        self.lose = {tuple(p) for p in lose}
        self.always = always
        self.seen: set[tuple[int, int]] = set()
        self.evaluator: Evaluator | None = None
        self.jobs: list[Job] = []

    def start(self, evaluator: Evaluator, on_report: Any = None) -> None:
        self.evaluator = evaluator

    @property
    def capacity(self) -> int:
        return 2

    @property
    def in_flight(self) -> int:
        return len(self.jobs)

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        from nasforge.study.executors.worker import run_job

        job = self.jobs.pop(0)
        key = (int(job.architecture["x"]), int(job.architecture["y"]))
        if key in self.lose and (self.always or key not in self.seen):
            self.seen.add(key)
            return [JobResult(job.trial_number, "failed", reason="worker_lost", traceback="worker died")]
        assert self.evaluator is not None
        return [run_job(self.evaluator, job)]

    def shutdown(self, cancel: bool = True) -> None:
        self.jobs.clear()


def register() -> None:
    """Register the toy space and evaluator (idempotent)."""
    if "toy" not in SPACES:
        SPACES.register("toy", ToySpace)
    try:
        from nasforge.estimate.registry import EVALUATORS
    except ImportError:  # registry not landed yet: studies must pass the evaluator explicitly
        return
    if "toy" not in EVALUATORS:
        EVALUATORS.register("toy", ToyEvaluator)


register()


def _main(argv: list[str]) -> int:
    """``STORE NAME N_TRIALS SLEEP``: create-or-resume a toy study and run it (SIGKILL tests)."""
    import nasforge as nf
    from nasforge.study import Study

    store, name, n_trials, sleep = argv[0], argv[1], int(argv[2]), float(argv[3])
    evaluator = ToyEvaluator(sleep=sleep)
    with nf.study.Store(store) as st:
        exists = st.has_study(name)
    if exists:
        study = Study.load(store=store, name=name, evaluator=evaluator)
    else:
        study = Study.create(
            store=store,
            name=name,
            space=ToySpace(),
            strategy=nf.strategies.create("regularized-evolution", population=4, sample=2),
            evaluator=evaluator,
            seed=3,
        )
    study.optimize(n_trials=n_trials, show_progress=False)
    print("DONE", len(study.trials), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(_main(sys.argv[1:]))
