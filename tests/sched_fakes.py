"""A budgeted toy evaluator for the scheduler tests: a learning curve per toy genotype, a JSON training
state that continues exactly (epoch counter and running sum), and a create-or-resume driver for the
SIGKILL tests (``python tests/sched_fakes.py STORE NAME N_TRIALS SLEEP SCHEDULER [WORKERS]``; with
``WORKERS`` the search runs on that many process workers)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakes import ToySpace, score

from nasforge.estimate.base import Evaluator, Reporter
from nasforge.space.architecture import Architecture
from nasforge.trial import EvalContext

STATE = "train_state.pt"


def curve(x: int, y: int, epoch: int, seed: int) -> float:
    """Accuracy after ``epoch`` epochs: rises to the genotype's score, with a seeded wiggle."""
    wiggle = ((epoch * 7 + x * 3 + y) % 11) / 1000.0  # seed-free: a re-run (new number) scores alike
    return score(x, y) * (1.0 - 0.6 ** epoch) + wiggle


class CurveEvaluator(Evaluator):
    """Trains toy genotypes epoch by epoch; ``context.resume_from`` continues the saved epoch counter."""

    name = "toy-curve"
    epochs = 9

    def __init__(self, epochs: int = 9, sleep: float = 0.0) -> None:
        self.epochs = epochs
        self.sleep = sleep

    def evaluate(self, architecture: Architecture, context: EvalContext,
                 reporter: Reporter | None = None) -> dict[str, Any]:
        x, y = int(architecture["x"]), int(architecture["y"])
        budget = int(context.budget or self.epochs)
        epoch, trained = 0, 0
        metrics: dict[str, Any] = {}
        if context.resume_from:
            path = Path(context.resume_from) / STATE
            ok = path.exists() and (context.resume_sha256 is None
                                    or hashlib.sha256(path.read_bytes()).hexdigest() == context.resume_sha256)
            if ok:
                try:
                    epoch = int(json.loads(path.read_text())["epoch"])
                except (ValueError, KeyError):
                    ok = False
            if not ok:
                warnings.warn(f"trial {context.trial_number}: bad state; training it again from zero",
                              stacklevel=2)
                metrics["restarted"] = 1
            metrics["resumed_at"] = epoch
        acc = curve(x, y, epoch, context.seed) if epoch else 0.0
        while epoch < budget:
            if self.sleep:
                time.sleep(self.sleep)
            epoch += 1
            trained += 1
            acc = curve(x, y, epoch, context.seed)
            if reporter is not None and not reporter.report(epoch, {"valid_acc": acc, "train_loss": 1 - acc}):
                break
        metrics.update({"valid_acc": acc, "test_acc": acc - 0.01, "epochs": epoch, "trained_epochs": trained})
        if context.checkpoint_dir:
            d = Path(context.checkpoint_dir)
            d.mkdir(parents=True, exist_ok=True)
            (d / "model.pt").write_text(f"{x},{y},{epoch}")
            metrics["checkpoint"] = str(d / "model.pt")
            if context.save_state:
                (d / STATE).write_text(json.dumps({"epoch": epoch}))
                metrics["state_sha256"] = hashlib.sha256((d / STATE).read_bytes()).hexdigest()
        return metrics

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "epochs": self.epochs, "sleep": self.sleep}

    def describe_task(self) -> dict[str, Any]:
        return {"name": "toy-task"}


def make_study(store: str, name: str, scheduler: str = "hyperband", sleep: float = 0.0,
               seed: int = 3, **opts: Any) -> Any:
    import nasforge as nf
    from nasforge.study import Study

    evaluator = CurveEvaluator(epochs=9, sleep=sleep)
    with nf.study.Store(store) as st:
        exists = st.has_study(name)
    if exists:
        return Study.load(store=store, name=name, evaluator=evaluator)
    return Study.create(store=store, name=name, space=ToySpace(), strategy=nf.strategies.create("random"),
                        evaluator=evaluator, seed=seed,
                        scheduler=nf.schedulers.create(scheduler, **opts))


if __name__ == "__main__":
    args = sys.argv[1:]
    study = make_study(args[0], args[1], args[4], float(args[3]))
    if len(args) > 5:
        print("PID", os.getpid(), flush=True)
        study.optimize(n_trials=int(args[2]), workers=int(args[5]), executor="process", show_progress=False)
    else:
        study.optimize(n_trials=int(args[2]), show_progress=False)
    print("DONE", len(study.trials), flush=True)
