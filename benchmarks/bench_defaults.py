"""Spread of random samples of the default search space at the default training recipe.

    python benchmarks/bench_defaults.py [--samples 6] [--epochs N] [--seed 0]

Trains ``--samples`` random architectures of the default chain space on MNIST-1D with one torch
thread and prints each one's validation/test accuracy and training time, then min/median/max.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch


def main() -> None:
    from nasforge import defaults, spaces
    from nasforge.estimate import EvalContext, TrainEvaluator

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--samples", type=int, default=6)
    p.add_argument("--epochs", type=int, default=defaults.SEARCH["epochs"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    space = spaces.create("chain", input_kind="1d", **defaults.CHAIN_SPACE)
    evaluator = TrainEvaluator(defaults.SEARCH["task"], space=space, epochs=args.epochs, threads=1,
                               latency_repeats=0, **defaults.TRAINING)
    evaluator.prepare()
    rng = np.random.default_rng(args.seed)
    rows = []
    for i in range(args.samples):
        arch = space.sample(rng)
        m = evaluator.evaluate(arch, EvalContext(trial_number=i, seed=args.seed + i))
        rows.append(m)
        ops = ",".join(f"{la['op']}/{la['width']}/k{la['kernel']}/s{la['stride']}" for la in arch["layers"])
        print(f"{i}: valid {m['valid_acc']:.3f} test {m['test_acc']:.3f} {m['train_seconds']:.1f}s "
              f"params {m['params']} [{ops}]", flush=True)
    for key in ("valid_acc", "test_acc", "train_seconds"):
        vals = [r[key] for r in rows]
        print(f"{key}: min {min(vals):.3f} median {statistics.median(vals):.3f} max {max(vals):.3f}")


if __name__ == "__main__":
    main()
