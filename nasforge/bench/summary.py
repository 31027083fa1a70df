"""``summary.md``: validation regret and test accuracy of the best-valid architecture at given budgets.

Regret is the table's best validation accuracy minus the best validation accuracy found, in percentage
points; test accuracy (%) is that of the architecture with the best validation accuracy found (reporting
only: it never selects). Cells are mean ± std over seeds (sample std, ``ddof=1``; 0 for one seed). The
"mean over datasets" table averages the per-dataset means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasforge.bench.runner import RunResult

DEFAULT_BUDGETS = (25, 50, 100)


def budgets_for(queries: int, budgets: Sequence[int] | None = None) -> list[int]:
    """The budgets to report: the given (or default) ones up to ``queries``, plus ``queries`` itself."""
    chosen = sorted({int(b) for b in (budgets or DEFAULT_BUDGETS) if 1 <= int(b) <= queries})
    if budgets is None and queries not in chosen:
        chosen.append(queries)
    return chosen or [queries]


def _stat(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), std


def _cell(mean: float, std: float) -> str:
    return "–" if np.isnan(mean) else f"{mean:.2f} ± {std:.2f}"


def aggregate(
    results: Sequence[RunResult], budgets: Sequence[int]
) -> dict[tuple[str, str], dict[str, list[tuple[float, float]]]]:
    """``(dataset, strategy) -> {"regret": [(mean, std) per budget], "test": [...]}``."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.spec.dataset, r.spec.strategy), []).append(r)
    table: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    for key, runs in groups.items():
        regret = np.stack([r.regret_pp for r in runs])
        test = np.stack([r.test_of_best_valid for r in runs]) * 100.0
        table[key] = {
            "regret": [_stat(regret[:, b - 1]) for b in budgets],
            "test": [_stat(test[:, b - 1]) for b in budgets],
        }
    return table


def render(results: Sequence[RunResult], budgets: Sequence[int], wall_seconds: float | None = None) -> str:
    """The Markdown text of ``summary.md``."""
    if not results:
        return "# Benchmark summary\n\nNo runs.\n"
    datasets = list(dict.fromkeys(r.spec.dataset for r in results))
    strategies = list(dict.fromkeys(r.spec.strategy for r in results))
    seeds = sorted({r.spec.seed for r in results})
    queries = results[0].spec.queries
    stats = aggregate(results, budgets)
    header = (
        "| strategy | "
        + " | ".join(f"regret@{b} (pp)" for b in budgets)
        + " | "
        + " | ".join(f"test@{b} (%)" for b in budgets)
        + " |"
    )
    rule = "|---" * (1 + 2 * len(budgets)) + "|"
    lines = [
        f"# Benchmark summary: {results[0].spec.benchmark}",
        "",
        f"{len(datasets)} datasets x {len(strategies)} strategies x {len(seeds)} seeds "
        f"(seeds {seeds[0]}..{seeds[-1]}), {queries} queries per run. Validation regret = table's best "
        "validation accuracy - best found (percentage points); test = test accuracy of the best-valid "
        "architecture found (reporting only). Cells: mean ± std over seeds.",
        "",
        "## Mean over datasets",
        "",
        header,
        rule,
    ]
    for strategy in strategies:
        cells = []
        for metric in ("regret", "test"):
            for i in range(len(budgets)):
                means = [stats[(d, strategy)][metric][i][0] for d in datasets if (d, strategy) in stats]
                cells.append("–" if not means else f"{np.nanmean(means):.2f}")
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    for dataset in datasets:
        best = results[[r.spec.dataset for r in results].index(dataset)].table_best_valid
        lines += ["", f"## {dataset} (table best validation accuracy {best * 100:.2f}%)", "", header, rule]
        for strategy in strategies:
            if (dataset, strategy) not in stats:
                continue
            entry = stats[(dataset, strategy)]
            cells = [_cell(*entry["regret"][i]) for i in range(len(budgets))]
            cells += [_cell(*entry["test"][i]) for i in range(len(budgets))]
            lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Time and wasted queries",
        "",
        "| strategy | runs | seconds (sum over runs) | ms per query | duplicate queries | failed queries |",
        "|---|---|---|---|---|---|",
    ]
    for strategy in strategies:
        runs = [r for r in results if r.spec.strategy == strategy]
        total = sum(r.seconds for r in runs)
        n_queries = sum(r.spec.queries for r in runs)
        dup = sum(r.duplicates for r in runs)
        failed = sum(r.failures for r in runs)
        lines.append(
            f"| {strategy} | {len(runs)} | {total:.2f} | {1000 * total / max(n_queries, 1):.3f} "
            f"| {dup} | {failed} |"
        )
    if wall_seconds is not None:
        lines += ["", f"Wall-clock time of the whole benchmark: {wall_seconds:.1f} s."]
    return "\n".join(lines) + "\n"


def write_summary(
    results: Sequence[RunResult], path: str, budgets: Sequence[int], wall_seconds: float | None = None
) -> None:
    """Write :func:`render` to ``path``."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render(results, budgets, wall_seconds))
