"""Test-only space, evaluator and executor for the study, store and CLI tests (no torch, instant).

``ToySpace`` ("toy"): genes ``{"x": 0..9, "y": 0..9}`` (100 genotypes). ``ToyEvaluator`` scores
``valid_acc = 1 - ((x - 7)^2 + (y - 3)^2) / 200`` (best at x=7, y=3), optionally sleeping, failing on
some ``x`` values, raising ``KeyboardInterrupt`` on a given trial number, or ending the whole process
(``os._exit``, as a crash of the driver) on given genotypes. Both are registered under ``toy`` (spaces,
evaluators) when this module is imported, so stored studies can be rebuilt. ``FragileStrategy``
("toy-fragile", registered by its tests) is random search whose ``tell`` raises on one trial number.

Run as a script (``python tests/fakes.py STORE NAME N_TRIALS SLEEP [EXIT_ON] [RETRIES]``) it
creates-or-resumes a toy study and optimises it: the SIGKILL and driver-crash tests drive it in a
subprocess (``EXIT_ON``: JSON list of ``[x, y]`` genotypes that end the process, exit code 17).
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
from nasforge.strategies.random_search import RandomSearch
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
        exit_on: Sequence[Sequence[int]] = (),
    ) -> None:
        self.sleep = sleep
        self.fail_x = list(fail_x)
        self.fail_all = fail_all
        self.interrupt_at = interrupt_at
        self.write_checkpoint = write_checkpoint
        self.metric = metric
        self.exit_on = [list(g) for g in exit_on]

    def evaluate(
        self, architecture: Architecture, context: EvalContext, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        x, y = int(architecture["x"]), int(architecture["y"])
        if self.interrupt_at is not None and context.trial_number == self.interrupt_at:
            raise KeyboardInterrupt
        if [x, y] in self.exit_on:
            os._exit(17)  # the driver process dies mid-trial, as on a crash or an OOM kill
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
        config = {"name": self.name, "sleep": self.sleep, "fail_x": self.fail_x, "fail_all": self.fail_all}
        if self.exit_on:
            config["exit_on"] = self.exit_on
        return config

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


class FragileStrategy(RandomSearch):
    """Random search whose ``tell`` raises on trial ``fail_at`` (a strategy that cannot take a trial)."""

    name = "toy-fragile"

    def __init__(self, fail_at: int = 0) -> None:
        super().__init__()
        self.params["fail_at"] = fail_at

    def observe(self, trial: Any) -> None:
        if trial.number == self.params["fail_at"]:
            raise ValueError(f"cannot learn from trial {trial.number}")


def toy_parts(evaluator: Evaluator) -> Any:
    """A stand-in for ``nasforge.cli.search.build_parts``: the toy space, random search, ``evaluator``."""

    def build(settings: dict[str, Any]) -> tuple[Any, Any, Any]:
        import nasforge as nf

        return ToySpace(), nf.strategies.create("random"), evaluator

    return build


def register() -> None:
    """Register the toy space and evaluator (idempotent). ``FragileStrategy`` is registered by the tests
    that use it only (the strategy tests generated from the registry would meet it otherwise)."""
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
    """``STORE NAME N_TRIALS SLEEP [EXIT_ON] [RETRIES]``: create-or-resume a toy study and run it."""
    import json

    import nasforge as nf
    from nasforge.study import Study

    store, name, n_trials, sleep = argv[0], argv[1], int(argv[2]), float(argv[3])
    exit_on = json.loads(argv[4]) if len(argv) > 4 else []
    retries = int(argv[5]) if len(argv) > 5 else 1
    evaluator = ToyEvaluator(sleep=sleep, exit_on=exit_on)
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
    study.optimize(n_trials=n_trials, retries=retries, show_progress=False)
    print("DONE", len(study.trials), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(_main(sys.argv[1:]))
