"""Regularized evolution in the chain space and in the NASNet cell space, same budget, on MNIST-1D.

Both searches get the same number of trials, the same training recipe and epochs per trial, the same
seed and the same executor. For each space the script prints the test accuracy of the trial that is
best by *validation* accuracy (the test split never selects), the best test accuracy of any trial,
and the wall time; then the nasnet/chain ratios (the chain run is the baseline measured in the same
run, so the ratios are comparable across machines and loads).

The default budget is modest (about 10 minutes on 2 free CPU cores); scale it with the flags::

    python benchmarks/bench_chain_vs_nasnet.py                       # defaults
    python benchmarks/bench_chain_vs_nasnet.py --trials 40 --epochs 10 --channels 16 --blocks 5
    python benchmarks/bench_chain_vs_nasnet.py --trials 4 --epochs 1 --workers 1   # smoke test

The NASNet defaults here (``--blocks 3 --channels 8``) are smaller than the space's defaults (5
blocks, 16 channels) so that a trial costs about as much as a chain trial on a CPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def run_search(args: argparse.Namespace, space_name: str, space_params: dict[str, Any],
               store: str) -> dict[str, Any]:
    """One regularized-evolution study; returns its summary."""
    import nasforge as nf
    from nasforge.estimate import TrainEvaluator

    space = nf.spaces.create(space_name, **space_params)
    strategy = nf.strategies.create("regularized-evolution", population=args.population, sample=args.sample)
    evaluator = TrainEvaluator(
        "mnist1d", space=space, epochs=args.epochs, batch_size=args.batch_size, threads=1,
        latency_repeats=0, device="cpu",
    )
    study = nf.Study.create(
        store=store, name=space_name, space=space, strategy=strategy, evaluator=evaluator, seed=args.seed
    )
    start = time.perf_counter()
    study.optimize(n_trials=args.trials, workers=args.workers, show_progress=False)
    seconds = time.perf_counter() - start
    done = [t for t in study.trials if t.value is not None]
    best = study.best_trial
    return {
        "space": space_name,
        "space_params": space.to_config(),
        "trials": len(study.trials),
        "completed": len(done),
        "best_valid_acc": None if best is None else best.metrics.get("valid_acc"),
        "test_acc_of_best": None if best is None else best.metrics.get("test_acc"),
        "max_test_acc": max((t.metrics.get("test_acc", 0.0) for t in done), default=None),
        "best_params": None if best is None else best.metrics.get("params"),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=12, help="trials per space (default 12)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs per trial (default 4)")
    parser.add_argument("--population", type=int, default=6, help="evolution population (default 6)")
    parser.add_argument("--sample", type=int, default=3, help="tournament size (default 3)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="parallel trials (process executor if > 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blocks", type=int, default=3, help="NASNet blocks per cell (default 3)")
    parser.add_argument("--channels", type=int, default=8, help="NASNet initial channels (default 8)")
    parser.add_argument("--cells-per-stage", type=int, default=1, help="NASNet N (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary to this file")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    nasnet = {"blocks": args.blocks, "channels": args.channels, "cells_per_stage": args.cells_per_stage}
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "bench.db")
        results = [run_search(args, "chain", {}, store), run_search(args, "nasnet", nasnet, store)]
    for r in results:
        print(
            f"{r['space']:7s} trials={r['completed']}/{r['trials']} "
            f"best valid_acc={r['best_valid_acc']:.4f} -> test_acc={r['test_acc_of_best']:.4f} "
            f"(max test_acc {r['max_test_acc']:.4f}, params {r['best_params']}) in {r['seconds']:.0f}s"
        )
    chain, cell = results
    ratios = {
        "test_acc_ratio": cell["test_acc_of_best"] / chain["test_acc_of_best"],
        "time_ratio": cell["seconds"] / chain["seconds"],
    }
    print(f"nasnet/chain: test_acc ratio {ratios['test_acc_ratio']:.3f}, "
          f"wall-time ratio {ratios['time_ratio']:.2f}")
    print(f"budget: {args.trials} trials x {args.epochs} epochs, population {args.population}, "
          f"sample {args.sample}, seed {args.seed}, workers {args.workers}")
    if args.json is not None:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "results": results,
                                         **ratios}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
