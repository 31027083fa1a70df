"""Evaluations per minute with 1 and 2 workers, for the ``process`` and ``ray`` executors.

Every configuration trains the *same* chain-space architectures on MNIST-1D with the real
``TrainEvaluator`` (one torch thread per worker). The task is loaded once in the driver and shipped
to each worker once (process: pickled at start; Ray: one ``ray.put``). Each architecture appears twice
in a row (two seeds), so two workers always run equally sized jobs side by side and the 2/1 ratio
measures parallel efficiency, not scheduling luck. Worker start-up and one warm-up job per worker are
timed separately and not part of the throughput. A ceiling is measured in the same run: the same
jobs in a bare 2-process ``multiprocessing`` pool against one process (no executor); on a busy machine
it falls well below 2.0, and the executor ratios with it. The script prints evaluations per minute
per configuration and the 2-worker/1-worker ratio of each executor (both measured in the same run,
so the ratio is comparable across machines); bars: process >= 1.7x, ray >= 1.6x.

    python benchmarks/bench_executors.py                          # defaults, ~2-3 min on 2 free cores
    python benchmarks/bench_executors.py --pairs 2 --epochs 1     # smoke test
    python benchmarks/bench_executors.py --executors process --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from typing import Any

BARS = {"process": 1.7, "ray": 1.6}


def make_jobs(pairs: int, seed: int) -> tuple[Any, list[Any]]:
    """The benchmark space and its jobs: ``pairs`` sampled architectures, each twice (two seeds)."""
    import numpy as np

    import nasforge as nf
    from nasforge.estimate.base import EvalContext
    from nasforge.study.executors.base import Job

    space = nf.spaces.create("chain", min_layers=2, max_layers=4, widths=[16, 32], dropouts=[0.0])
    rng = np.random.default_rng(seed)
    archs: list[Any] = []
    while len(archs) < pairs:
        arch = space.sample(rng)
        if all(arch != a for a in archs):
            archs.append(arch)
    jobs = []
    for i, arch in enumerate(archs):
        for j in range(2):
            n = 2 * i + j
            jobs.append(Job(n, arch, EvalContext(trial_number=n, seed=1000 + n, device="cpu")))
    return space, jobs


def run_config(executor_name: str, workers: int, evaluator: Any, jobs: list[Any]) -> dict[str, Any]:
    """Start an executor, run every job, return timings."""
    from nasforge.study.executors import create
    from nasforge.study.executors.base import Job

    executor = create(executor_name, workers=workers, threads=1)
    t0 = time.perf_counter()
    executor.start(evaluator)
    try:
        # warm-up: one short job per worker (lazy imports, first torch ops), not timed as throughput
        first = jobs[0]
        for i in range(workers):
            context = dataclasses.replace(first.context, trial_number=-1 - i, budget=1)
            executor.submit(Job(-1 - i, first.architecture, context))
        warm = 0
        while warm < workers:
            warm += len(executor.wait(timeout=5.0))
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        for job in jobs:
            executor.submit(job)
        results = []
        while len(results) < len(jobs):
            results.extend(executor.wait(timeout=5.0))
        seconds = time.perf_counter() - t1
    finally:
        executor.shutdown(cancel=True)
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise SystemExit(f"{executor_name} x{workers}: {len(failed)} jobs failed, e.g. {failed[0].traceback}")
    accs = {r.trial_number: round(float(r.metrics["valid_acc"]), 6) for r in results}
    return {
        "executor": executor_name,
        "workers": workers,
        "evaluations": len(results),
        "seconds": seconds,
        "evals_per_min": 60.0 * len(results) / seconds,
        "startup_seconds": startup,  # start + warm-up
        "valid_acc": accs,
    }


_POOL_STATE: dict[str, Any] = {}


def _pool_init(evaluator: Any, jobs: list[Any]) -> None:
    import torch

    torch.set_num_threads(1)
    _POOL_STATE.update(evaluator=evaluator, jobs=jobs)
    evaluator.prepare()


def _pool_run(index: int) -> float:
    job = _POOL_STATE["jobs"][index]
    t0 = time.perf_counter()
    _POOL_STATE["evaluator"].evaluate(job.architecture, job.context)
    return time.perf_counter() - t0


def raw_pool_ratio(evaluator: Any, jobs: list[Any]) -> float:
    """The same jobs in a bare ``multiprocessing`` pool of 2 (no executor): 2-process / 1-process
    throughput. This is what the machine allows right now for this workload (2.0 = ideal)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2, initializer=_pool_init, initargs=(evaluator, jobs)) as pool:
        pool.map(_pool_run, [0, 0], chunksize=1)  # warm-up, one job per process
        t0 = time.perf_counter()
        for i in range(len(jobs)):
            pool.apply(_pool_run, (i,))
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.map(_pool_run, range(len(jobs)), chunksize=1)
        two = time.perf_counter() - t0
    return one / two


def best_row(rows: list[dict[str, Any]], executor: str, workers: int) -> dict[str, Any]:
    """The fastest run of ``executor`` with ``workers`` workers."""
    runs = [r for r in rows if r["executor"] == executor and r["workers"] == workers]
    return max(runs, key=lambda r: r["evals_per_min"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executors", default="process,ray", help="comma list of process, ray")
    parser.add_argument("--pairs", type=int, default=8, help="architectures (each evaluated twice)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1,
                        help="run 1 and 2 workers alternately this many times; the best of each counts")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)

    import torch

    import nasforge as nf
    from nasforge.estimate import TrainEvaluator

    torch.set_num_threads(1)
    names = [n.strip() for n in args.executors.split(",") if n.strip()]
    task = nf.data.load("mnist1d")  # loaded once here, shipped to each worker once
    space, jobs = make_jobs(args.pairs, args.seed)
    evaluator = TrainEvaluator(task, space=space, epochs=args.epochs, batch_size=128, threads=1,
                               latency_repeats=0, device="cpu")
    rows: list[dict[str, Any]] = []
    for name in names:
        ray = None
        if name == "ray":
            import ray

            # one local instance for both worker counts (the executors join it); no token notice
            logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        try:
            for workers in [1, 2] * max(1, args.repeats):
                row = run_config(name, workers, evaluator, jobs)
                rows.append(row)
                print(f"{name:8s} workers={workers}  {row['evaluations']:3d} evals in {row['seconds']:6.1f} s"
                      f"  = {row['evals_per_min']:6.1f} evals/min  (start-up {row['startup_seconds']:.1f} s)",
                      flush=True)
        finally:
            if ray is not None:
                ray.shutdown()
    ceiling = raw_pool_ratio(evaluator, jobs)
    print(f"ceiling: the same jobs in a bare 2-process pool run {ceiling:.2f}x one process (2.0 = ideal)")
    ratios: dict[str, float] = {}
    ok = True
    for name in names:
        one, two = (best_row(rows, name, w) for w in (1, 2))
        if one["valid_acc"] != two["valid_acc"]:
            print(f"WARNING {name}: results differ between 1 and 2 workers (not deterministic)")
        ratios[name] = two["evals_per_min"] / one["evals_per_min"]
        bar = BARS.get(name, 0.0)
        verdict = "PASS" if ratios[name] >= bar else "FAIL"
        ok = ok and ratios[name] >= bar
        print(f"ratio {name}: 2 workers / 1 worker = {ratios[name]:.2f}x  (bar {bar}x: {verdict}; "
              f"{ratios[name] / ceiling:.0%} of the bare-pool ceiling)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rows": rows, "ratios": ratios, "ceiling": ceiling}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":  # required: spawned workers re-import this file
    sys.exit(main())
