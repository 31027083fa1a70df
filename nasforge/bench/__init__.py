"""Benchmark harness: strategies side by side on tabular benchmarks (``nasforge bench``).

:func:`run_bench` runs every (dataset, strategy, seed) in memory and writes ``results.csv``,
``summary.md`` and ``regret.png`` into an output folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from nasforge.errors import ConfigError

__all__ = ["run_bench"]


def run_bench(
    benchmark: str = "nasbench-graph",
    datasets: Sequence[str] | None = None,
    strategies: Sequence[str] = ("random", "regularized-evolution", "tpe"),
    queries: int = 100,
    seeds: int = 30,
    seed_offset: int = 0,
    out: str = "bench-results",
    workers: int = 1,
    strategy_options: dict[str, dict[str, Any]] | None = None,
    budgets: Sequence[int] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark and write the three files; returns their paths, the results and the time.

    ``datasets=None`` means all of the benchmark's datasets. Everything is validated before any run.
    """
    from nasforge.bench.plots import plot_regret
    from nasforge.bench.runner import plan, run_with_progress, write_results_csv
    from nasforge.bench.summary import budgets_for, write_summary
    from nasforge.space.nasbench_graph import DATASETS

    if budgets is not None:
        for b in budgets:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise ConfigError(f"budgets must be integers >= 1, got {list(budgets)}")
    specs = plan(
        benchmark,
        list(DATASETS if datasets is None else datasets),
        list(strategies),
        queries,
        seeds,
        seed_offset,
        strategy_options,
    )
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out must be a writable folder, got {out!r}: {exc}") from exc
    start = time.perf_counter()
    results = run_with_progress(specs, workers, show=progress)
    wall = time.perf_counter() - start
    paths = {
        "results": os.path.join(out, "results.csv"),
        "summary": os.path.join(out, "summary.md"),
        "plot": os.path.join(out, "regret.png"),
    }
    write_results_csv(results, paths["results"])
    write_summary(results, paths["summary"], budgets_for(queries, budgets), wall)
    plot_regret(results, paths["plot"])
    return {"paths": paths, "results": results, "seconds": wall}
