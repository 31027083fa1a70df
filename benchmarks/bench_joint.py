"""Joint (architecture + training hyperparameters) search against architecture-only search.

Protocol of issue 17 (the defaults): MNIST-1D and digits, 3 seeds, the same trial budget for both arms,
TPE, SMAC and GP. The architecture-only arm searches the chain space with the default recipe; the joint
arm searches the same chain plus ``lr`` (log 1e-4..1e-1), ``weight_decay`` (log 1e-5..1e-1) and
``batch_size`` (64, 128, 256), its random start (the first ``trials // 3`` candidates) trained with
the default recipe (``default_first``; chosen on digits tuning seeds 0-2, ``results/joint_default/``).
Selection is by validation accuracy; the table prints the selected trial's *test* accuracy (reporting
only), mean +- standard deviation over seeds, arms side by side::

    python benchmarks/bench_joint.py                                          # the issue's protocol
    python benchmarks/bench_joint.py --tasks mnist1d --seeds 1 --trials 8 --epochs 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

HP = {"lr": {"low": 1e-4, "high": 1e-1, "log": True},
      "weight_decay": {"low": 1e-5, "high": 1e-1, "log": True},
      "batch_size": [64, 128, 256]}


def random_start(trials: int) -> int:
    """Random trials before a strategy's model is used (and, by default, trained on the default recipe)."""
    return max(2, trials // 3)


def run(task: str, strategy: str, joint: bool, seed: int, trials: int, epochs: int,
        store: Path, default_first: int = 0) -> tuple[float, float, float]:
    """(test accuracy, validation accuracy, validation loss) of the best-by-validation trial of one
    study; ``default_first``: the joint space's first candidates train with the default recipe."""
    import nasforge as nf
    from nasforge.estimate.train import TrainEvaluator
    from nasforge.space.joint import JointSpace

    ev = TrainEvaluator(task, epochs=epochs, latency_repeats=0, device="cpu", threads=1)
    ev.prepare()
    arch = nf.spaces.create("chain", input_kind=ev.task_data.input_kind, max_layers=4, widths=[16, 32, 64])
    space = JointSpace(arch, HP, default_first=default_first) if joint else arch
    ev.space = space
    start = random_start(trials)
    options = {"n_startup_trials": start} if strategy == "tpe" else {"n_initial": start}
    study = nf.Study.create(store=store, name=f"{task}-{strategy}-{joint}-{seed}", space=space,
                            strategy=nf.strategies.create(strategy, **options), evaluator=ev, seed=seed)
    study.optimize(n_trials=trials, show_progress=False)
    best = study.best_trial
    return float(best.metrics["test_acc"]), float(best.value), float(best.metrics["valid_loss"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="mnist1d,digits")
    p.add_argument("--strategies", default="tpe,smac,gp")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed-offset", type=int, default=1000)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--arms", default="arch,joint", help="which arms to run (a tuning run of a change "
                   "that touches only the joint arm may skip the other)")
    p.add_argument("--default-first", type=int, default=None, help="joint arm: the first K candidates "
                   "pair a random architecture with the default recipe (JointSpace default_first; "
                   "default: the strategies' random start, max(2, trials // 3); 0: off)")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.default_first is None:
        args.default_first = random_start(args.trials)
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    full = args.seeds >= 3 and args.trials >= 30 and args.epochs >= 10  # per task: the protocol's sizes
    lines = [
        "# bench_joint: best-by-validation test accuracy, joint (chain + lr + weight decay + batch size) vs "
        "architecture-only (default recipe), same trial budget",
        f"# tasks {args.tasks}, seeds {seeds}, {args.trials} trials x {args.epochs} epochs per study; "
        f"joint default_first={args.default_first}",
        "# " + (f"issue protocol on {args.tasks}" if full else
                "REDUCED run (issue protocol: mnist1d + digits, 3 seeds, 30 trials x 10 epochs)"),
        f"{'task':8} {'strategy':6} {'arch-only':>16} {'joint':>16} {'seconds':>8}",
    ]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.db"
        for task in args.tasks.split(","):
            for strategy in args.strategies.split(","):
                t0 = time.perf_counter()
                arms = [[run(task, strategy, joint, s, args.trials, args.epochs, store,
                             args.default_first if joint else 0) for s in seeds]
                        if name in args.arms.split(",") else None
                        for name, joint in (("arch", False), ("joint", True))]
                tests = [None if a is None else [r[0] for r in a] for a in arms]
                cells = ["-" if t is None else f"{np.mean(t):.4f} +- {np.std(t):.4f}" for t in tests]
                took = time.perf_counter() - t0
                lines.append(f"{task:8} {strategy:6} {cells[0]:>16} {cells[1]:>16} {took:8.0f}")
                valid = ["-" if a is None else " ".join(f"{r[1]:.4f}" for r in a) for a in arms]
                lines.append(f"#   validation (for choosing settings), per seed: arch-only {valid[0]}; "
                             f"joint {valid[1]}")
                loss = ["-" if a is None else " ".join(f"{r[2]:.4f}" for r in a) for a in arms]
                lines.append(f"#   validation loss of the same trials: arch-only {loss[0]}; joint {loss[1]}")
                print("\n".join(lines[-3:]), flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
