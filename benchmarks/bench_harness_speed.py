"""Speed of the benchmark harness (issue #3 bar: 9 datasets x 30 seeds x 100 queries of regularized
evolution in <= 60 s on one core).

Measures, in one process and one run (so the ratios are comparable on a busy machine):
- loading the 9 NAS-Bench-Graph tables (once per process);
- a bare loop of table lookups (random row, dict lookup, running best) as the baseline per query;
- the regularized-evolution runs through the harness (``ask`` + lookup + ``tell`` per query), and the
  same for random search;
and prints the per-query cost of each as a ratio to the bare lookup.

    python benchmarks/bench_harness_speed.py [--seeds 30] [--queries 100] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from nasforge.bench.runner import execute, plan
from nasforge.space.nasbench_graph import DATASETS, load_table


def bare_lookups(n_runs: int, queries: int) -> float:
    """Seconds for ``n_runs x queries`` random table lookups with a running best (no strategy)."""
    tables = [load_table(d) for d in DATASETS]
    start = time.perf_counter()
    for run in range(n_runs):
        table = tables[run % len(tables)]
        keys, row, valid = table.keys, table.row, table.valid
        rng = np.random.default_rng(run)
        picks = rng.integers(len(keys), size=queries)
        best = -1.0
        for i in picks:
            value = float(valid[row[int(keys[i])]])
            if value > best:
                best = value
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="repeat the timed part, keep the fastest")
    args = parser.parse_args()

    start = time.perf_counter()
    for dataset in DATASETS:
        load_table(dataset)
    load = time.perf_counter() - start

    n_runs = len(DATASETS) * args.seeds
    n_queries = n_runs * args.queries
    timings: dict[str, float] = {
        "bare lookup": min(bare_lookups(n_runs, args.queries) for _ in range(args.repeat))
    }
    for strategy in ("regularized-evolution", "random"):
        specs = plan("nasbench-graph", list(DATASETS), [strategy], args.queries, args.seeds)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            execute(specs)
            best = min(best, time.perf_counter() - start)
        timings[strategy] = best

    base = timings["bare lookup"] / n_queries
    print(f"tables: 9 loaded in {load:.2f} s (once per process)")
    print(f"{n_runs} runs x {args.queries} queries = {n_queries} queries per strategy")
    print(f"{'':24s} {'total s':>9s} {'us/query':>9s} {'x bare':>8s}")
    for name, seconds in timings.items():
        per = seconds / n_queries
        print(f"{name:24s} {seconds:9.2f} {per * 1e6:9.1f} {per / base:8.1f}")
    re_total = timings["regularized-evolution"] + load
    verdict = "PASS" if re_total <= 60 else "FAIL"
    print(f"regularized evolution incl. table loading: {re_total:.2f} s (bar <= 60 s): {verdict}")


if __name__ == "__main__":
    main()
