"""Run strategies side by side on a tabular benchmark, in memory (no SQLite store).

One run is one (dataset, strategy, seed). A query is one ``strategy.ask()``, one table lookup and one
``strategy.tell()``: asking an architecture already asked (same benchmark hash) or one absent from the
table spends a query, as a real search would spend a training run. The run records, after every query,
the best validation accuracy found so far and the test accuracy of that architecture (reporting only;
the first architecture reaching the best validation accuracy is kept on ties).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.checks import check_choice, check_int
from nasforge.errors import ConfigError, EvaluationError
from nasforge.trial import Trial, TrialState

BENCHMARKS = ("nasbench-graph",)
DEFAULT_STRATEGIES = ("random", "regularized-evolution", "tpe")


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run: ``queries`` queries of ``strategy`` (with ``options``) on ``dataset``."""

    benchmark: str
    dataset: str
    strategy: str
    seed: int
    queries: int
    options: str = "{}"  # JSON of the strategy's keyword parameters (hashable, picklable)


@dataclass
class RunResult:
    """Per-query traces of one run (accuracies in [0, 1]; ``nan`` before the first success)."""

    spec: RunSpec
    best_valid: np.ndarray
    test_of_best_valid: np.ndarray
    table_best_valid: float
    seconds: float
    duplicates: int = 0
    failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def regret_pp(self) -> np.ndarray:
        """Validation regret in percentage points after each query."""
        return (self.table_best_valid - self.best_valid) * 100.0


def make_strategy(name: str, options: dict[str, Any]) -> Any:
    """Create a registered strategy; a bad option becomes a :class:`ConfigError` naming it."""
    from nasforge.strategies import create

    try:
        return create(name, **options)
    except TypeError as exc:
        raise ConfigError(
            f"strategy {name!r} does not accept the options {sorted(options)}: {exc}; "
            "pass --strategy-opt NAME.KEY=VALUE with a parameter of that strategy"
        ) from exc


def run_one(spec: RunSpec) -> RunResult:
    """Execute one run in this process (tables load once per process)."""
    from nasforge.estimate.tabular import TabularEvaluator

    start = time.perf_counter()
    evaluator = TabularEvaluator(benchmark=spec.benchmark, dataset=spec.dataset)
    space = evaluator.space
    strategy = make_strategy(spec.strategy, json.loads(spec.options)).setup(space, spec.seed)
    best_valid = np.full(spec.queries, np.nan)
    test_of_best = np.full(spec.queries, np.nan)
    best, best_test = -np.inf, np.nan
    seen: set[str] = set()
    duplicates = failures = 0
    for q in range(spec.queries):
        candidate = strategy.ask()
        arch = candidate.architecture
        key = space.canonical_hash(arch)
        if key in seen:
            duplicates += 1
        seen.add(key)
        try:
            metrics = evaluator.evaluate(arch)
        except EvaluationError as exc:
            failures += 1
            trial = Trial(q, arch, TrialState.FAILED, parent=candidate.parent, error=exc.reason)
        else:
            value = metrics["valid_acc"]
            trial = Trial(q, arch, TrialState.COMPLETE, value, metrics, parent=candidate.parent)
            if value > best:
                best, best_test = value, metrics["test_acc"]
        strategy.tell(trial)
        if best > -np.inf:
            best_valid[q] = best
            test_of_best[q] = best_test
    return RunResult(
        spec=spec,
        best_valid=best_valid,
        test_of_best_valid=test_of_best,
        table_best_valid=space.best_valid(),
        seconds=time.perf_counter() - start,
        duplicates=duplicates,
        failures=failures,
    )


def plan(
    benchmark: str,
    datasets: Sequence[str],
    strategies: Sequence[str],
    queries: int,
    seeds: int,
    seed_offset: int = 0,
    strategy_options: dict[str, dict[str, Any]] | None = None,
) -> list[RunSpec]:
    """Validate everything up front and list the runs (dataset-major, then strategy, then seed)."""
    check_choice("benchmark", benchmark, BENCHMARKS)
    from nasforge.space.nasbench_graph import check_dataset
    from nasforge.strategies import STRATEGIES

    check_int("queries", queries, 1)
    check_int("seeds", seeds, 1)
    check_int("seed_offset", seed_offset, 0)
    if not datasets or not strategies:
        raise ConfigError("give at least one dataset and one strategy")
    for group, items in (("datasets", datasets), ("strategies", strategies)):
        if len(set(items)) != len(items):
            raise ConfigError(f"{group} must be distinct, got {list(items)}")
    for dataset in datasets:
        check_dataset(dataset)
    options = dict(strategy_options or {})
    for name in options:
        if name not in strategies:
            raise ConfigError(
                f"--strategy-opt names strategy {name!r}, which is not among the strategies run "
                f"({', '.join(strategies)})"
            )
    specs = []
    for name in strategies:
        STRATEGIES.get(name)  # unknown name -> RegistryError (a ConfigError) with a suggestion
        try:
            make_strategy(name, options.get(name, {}))
        except ImportError as exc:
            raise ConfigError(f"strategy {name!r} is not available: {exc}") from exc
    for dataset in datasets:
        for name in strategies:
            text = json.dumps(options.get(name, {}), sort_keys=True)
            for seed in range(seed_offset, seed_offset + seeds):
                specs.append(RunSpec(benchmark, dataset, name, seed, queries, text))
    return specs


def execute(
    specs: Sequence[RunSpec],
    workers: int = 1,
    on_done: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Run every spec, in this process (``workers=1``) or in a process pool; results in spec order."""
    check_int("workers", workers, 1)
    results: dict[int, RunResult] = {}
    if workers == 1:
        for i, spec in enumerate(specs):
            results[i] = run_one(spec)
            if on_done is not None:
                on_done(results[i])
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(run_one, spec): i for i, spec in enumerate(specs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_done is not None:
                    on_done(results[futures[future]])
    return [results[i] for i in range(len(specs))]


def run_with_progress(specs: Sequence[RunSpec], workers: int = 1, show: bool = True) -> list[RunResult]:
    """:func:`execute` with a rich progress bar over runs."""
    if not show:
        return execute(specs, workers)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]bench[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("", total=len(specs))

        def done(result: RunResult) -> None:
            s = result.spec
            progress.update(task, advance=1, description=f"{s.dataset} {s.strategy} seed {s.seed}")

        return execute(specs, workers, done)


CSV_COLUMNS = ("benchmark", "dataset", "strategy", "seed", "query", "best_valid", "test_of_best_valid")


def write_results_csv(results: Iterable[RunResult], path: str) -> None:
    """One row per (run, query), queries numbered from 1; accuracies in [0, 1], empty if none yet."""

    def fmt(x: float) -> str:
        return "" if np.isnan(x) else f"{x:.6f}"

    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(",".join(CSV_COLUMNS) + "\n")
        for result in results:
            s = result.spec
            prefix = f"{s.benchmark},{s.dataset},{s.strategy},{s.seed},"
            lines = [
                f"{prefix}{q + 1},{fmt(v)},{fmt(t)}\n"
                for q, (v, t) in enumerate(zip(result.best_valid, result.test_of_best_valid, strict=True))
            ]
            handle.writelines(lines)
