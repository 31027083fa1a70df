"""The benchmark harness: search quality that can fail, the three output files, CLI errors."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nas_bench_graph")

from nasforge.bench import run_bench
from nasforge.bench.runner import CSV_COLUMNS, execute, plan, run_one
from nasforge.cli import bench as bench_cli
from nasforge.errors import ConfigError, NasforgeError
from nasforge.space import Architecture
from nasforge.strategies import STRATEGIES
from nasforge.strategies.random_search import RandomSearch
from nasforge.trial import Candidate


def cli(argv: list[str]) -> int:
    """``nasforge`` through the real entry point when it exists, else the bench module alone."""
    try:
        from nasforge.cli.main import main
    except ImportError:
        main = None
    try:
        if main is not None:
            return int(main(argv))
        parser = argparse.ArgumentParser(prog="nasforge")
        bench_cli.register(parser.add_subparsers())
        args = parser.parse_args(argv)
        try:
            return args.func(args)
        except NasforgeError:
            return 2
    except SystemExit as exc:
        return int(exc.code or 0)


def test_regularized_evolution_beats_random_search_on_cora() -> None:
    specs = plan("nasbench-graph", ["cora"], ["random", "regularized-evolution"], 100, 10)
    results = execute(specs)
    regret = {
        name: np.mean([r.regret_pp[-1] for r in results if r.spec.strategy == name])
        for name in ("random", "regularized-evolution")
    }
    assert all(r.duplicates == 0 and r.failures == 0 for r in results)
    assert regret["regularized-evolution"] < regret["random"]


def test_bench_writes_the_three_files(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    outcome = run_bench(
        datasets=["cora", "proteins"],
        strategies=["random", "regularized-evolution", "tpe"],
        queries=12,
        seeds=2,
        seed_offset=5,
        out=str(out),
        budgets=[5, 10],
        progress=False,
    )
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(out / "results.csv") as handle:
        assert handle.readline().strip() == ",".join(CSV_COLUMNS)
    assert CSV_COLUMNS == (
        "benchmark",
        "dataset",
        "strategy",
        "seed",
        "query",
        "best_valid",
        "test_of_best_valid",
    )
    assert len(rows) == 2 * 3 * 2 * 12
    assert {r["seed"] for r in rows} == {"5", "6"}
    run = [r for r in rows if r["dataset"] == "proteins" and r["strategy"] == "tpe" and r["seed"] == "6"]
    assert [int(r["query"]) for r in run] == list(range(1, 13))
    best = [float(r["best_valid"]) for r in run]
    assert best == sorted(best) and 0.5 < best[-1] <= 0.8534
    summary = (out / "summary.md").read_text()
    for needle in (
        "Mean over datasets",
        "## cora",
        "## proteins",
        "regret@5 (pp)",
        "test@10 (%)",
        "tpe",
        " ± ",
    ):
        assert needle in summary
    assert (out / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(outcome["paths"]) == {"results", "summary", "plot"}


def test_process_pool_gives_the_same_results_as_serial() -> None:
    specs = plan("nasbench-graph", ["citeseer"], ["regularized-evolution", "random"], 30, 2)
    serial = execute(specs, workers=1)
    pooled = execute(specs, workers=2)
    for a, b in zip(serial, pooled, strict=True):
        assert a.spec == b.spec
        np.testing.assert_array_equal(a.best_valid, b.best_valid)


class AllSkipFirst(RandomSearch):
    """Proposes the all-skip genotype (valid, absent from the table) first, then random samples."""

    name = "all-skip-first"

    def propose(self) -> Candidate:
        if not self.history:
            return Candidate(Architecture("nasbench-graph", {"link": [0, 1, 2, 3], "ops": ["skip"] * 4}))
        return super().propose()


def test_absent_genotype_spends_a_query() -> None:
    STRATEGIES.register("all-skip-first", AllSkipFirst, overwrite=True)
    result = run_one(plan("nasbench-graph", ["cora"], ["all-skip-first"], 5, 1)[0])
    assert result.failures == 1
    assert np.isnan(result.best_valid[0]) and not np.isnan(result.best_valid[1:]).any()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--datasets", "cora,imagenet"], "dataset must be one of"),
        (["--strategies", "random,randomm"], "unknown strategy"),
        (["--strategy-opt", "regularized-evolution.population=1"], "population"),
        (["--strategy-opt", "tpe.unknown=1", "--strategies", "tpe"], "does not accept"),
        (["--strategy-opt", "tpe-n=1"], "NAME.KEY=VALUE"),
        (["--queries", "0"], "queries"),
    ],
)
def test_bad_input_is_a_config_error(argv: list[str], message: str, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "nasbench-graph", "--out", str(tmp_path / "x"), *argv])
    with pytest.raises(ConfigError, match=message):
        args.func(args)
    assert not (tmp_path / "x").exists()  # nothing written before validation passed


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["bench", "nasbench-graph", "--datasets", "atlantis", "--out", str(tmp_path / "a")]) == 2
    assert cli(["bench", "nasbench-101", "--out", str(tmp_path / "b")]) == 2
    out = tmp_path / "ok"
    argv = [
        "bench",
        "nasbench-graph",
        "--datasets",
        "proteins",
        "--strategies",
        "random",
        "--queries",
        "3",
    ]
    assert cli([*argv, "--seeds", "1", "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["regret.png", "results.csv", "summary.md"]
