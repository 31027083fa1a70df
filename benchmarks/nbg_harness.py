"""Quick iteration harness for the black-box strategies on NAS-Bench-Graph (issue #4).

Runs ``nasforge.bench.runner.run_one`` (ask -> table lookup -> tell, in memory) for a few strategies,
datasets and seeds, and prints the mean validation regret (percentage points) at the final query.
The full comparison is ``nasforge bench nasbench-graph``; this is for fast, small experiments::

    python benchmarks/nbg_harness.py --strategies random,gp --datasets cora,citeseer --seeds 5
    python benchmarks/nbg_harness.py --strategies gp --options '{"features": "onehot"}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")


def regret(name: str, dataset: str, seeds: list[int], queries: int, options: str = "{}") -> np.ndarray:
    """Final validation regret (pp) of each seed."""
    from nasforge.bench.runner import RunSpec, run_one

    out = []
    for seed in seeds:
        res = run_one(RunSpec("nasbench-graph", dataset, name, seed, queries, options))
        out.append(float(res.regret_pp[-1]))
    return np.array(out)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser()
    p.add_argument("--strategies", default="random,regularized-evolution")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--seed-offset", type=int, default=0)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--options", default="{}", help="JSON strategy options (applied to every strategy)")
    args = p.parse_args()
    names = args.strategies.split(",")
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    json.loads(args.options)
    means: dict[str, list[float]] = {n: [] for n in names}
    print("dataset    " + " ".join(f"{n:>18}" for n in names), flush=True)
    for d in args.datasets.split(","):
        row = []
        for n in names:
            t0 = time.perf_counter()
            r = regret(n, d, seeds, args.queries, args.options if n not in ("random",) else "{}")
            means[n].append(float(r.mean()))
            row.append(f"{r.mean():6.3f} ({time.perf_counter() - t0:5.0f}s)")
        print(f"{d:10} " + " ".join(f"{c:>18}" for c in row), flush=True)
    print(f"{'mean':10} " + " ".join(f"{np.mean(means[n]):18.3f}" for n in names))


if __name__ == "__main__":
    main()
