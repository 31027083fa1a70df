"""Each strategy's ask+tell time at 100 and 1,000 told trials on NAS-Bench-Graph (cora), issue #4.

For every strategy, a search is run to N told trials (table lookups, no training), then the time of
``--window`` further ask+tell rounds is measured (ms per trial). Random search is measured in the
same run, and every figure is also reported as a ratio to it, since timings on a shared machine are
noisy. Bars: model-based strategies <= 20 ms per trial at 1,000 told trials, the others <= 1 ms.

    python benchmarks/bench_strategy_overhead.py                       # all strategies
    python benchmarks/bench_strategy_overhead.py --strategies gp,bananas --points 100,1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

MODEL_BASED = {"smac", "gp", "bananas", "pnas", "reinforce", "tpe"}


def ms_per_trial(name: str, told: int, window: int, dataset: str = "cora", seed: int = 0) -> float:
    """Mean ask+tell milliseconds over ``window`` rounds after ``told`` told trials."""
    from nasforge.errors import EvaluationError
    from nasforge.space import create as create_space
    from nasforge.strategies import create
    from nasforge.trial import Trial, TrialState

    space = create_space("nasbench-graph", dataset=dataset)
    strategy = create(name).setup(space, seed)

    def step(number: int) -> float:
        t0 = time.perf_counter()
        cand = strategy.ask()
        spent = time.perf_counter() - t0
        try:
            value = space.entry(cand.architecture)["valid_acc"]
            trial = Trial(number, cand.architecture, TrialState.COMPLETE, value, {"valid_acc": value})
        except EvaluationError as exc:
            trial = Trial(number, cand.architecture, TrialState.FAILED, error=exc.reason)
        t0 = time.perf_counter()
        strategy.tell(trial)
        return spent + time.perf_counter() - t0

    for number in range(told):
        step(number)
    times = [step(told + i) for i in range(window)]
    return 1000.0 * float(np.mean(times))


def main() -> None:
    import torch

    from nasforge.strategies import list_strategies

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(list_strategies()))
    parser.add_argument("--points", default="100,1000", help="told-trial counts to measure at")
    parser.add_argument("--window", type=int, default=20, help="ask+tell rounds timed per point")
    args = parser.parse_args()
    names = [n for n in args.strategies.split(",") if n != "random"]
    points = [int(p) for p in args.points.split(",")]
    base = {p: ms_per_trial("random", p, args.window) for p in points}
    print(f"{'strategy':24}" + "".join(f"{f'ms@{p}':>10}{'x random':>10}" for p in points) + "   bar")
    print(f"{'random':24}" + "".join(f"{base[p]:10.3f}{1.0:10.1f}" for p in points) + "   <= 1 ms")
    failed = []
    for name in names:
        row = {p: ms_per_trial(name, p, args.window) for p in points}
        bar = 20.0 if name in MODEL_BASED else 1.0
        ok = row[max(points)] <= bar
        if not ok:
            failed.append(name)
        cells = "".join(f"{row[p]:10.3f}{row[p] / max(base[p], 1e-9):10.1f}" for p in points)
        print(f"{name:24}{cells}   <= {bar:g} ms {'ok' if ok else 'OVER'}", flush=True)
    print("all within their bars" if not failed else f"over the bar: {', '.join(failed)}")


if __name__ == "__main__":
    main()
