"""Warm starts: sources resolved and recorded in the new study's config, the portfolio asked first,
replay from the stored data (not the sources), auto picks the other datasets, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nasforge.strategies as strategies
from nasforge.cli.main import main
from nasforge.errors import ConfigError
from nasforge.estimate.tabular import TabularEvaluator
from nasforge.study import Study
from nasforge.warmstart import portfolio, task_distance


def _study(path: Path, dataset: str, name: str, strategy: str = "regularized-evolution",
           **kwargs: object) -> Study:
    ev = TabularEvaluator(dataset=dataset)
    params = {"population": 6, "sample": 2} if strategy == "regularized-evolution" else {}
    if strategy == "gp":
        params = {"n_initial": 4, "max_candidates": 500}
    return Study.create(store=path, name=name, space=ev.space,
                        strategy=strategies.create(strategy, **params), evaluator=ev, **kwargs)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    for d in ("cora", "citeseer"):
        _study(path, d, f"src-{d}").optimize(n_trials=25, show_progress=False)
    return path


def test_portfolio_first_and_recorded(sources: Path) -> None:
    study = _study(sources, "pubmed", "target", warm_start="src-cora,src-citeseer")
    ws = study.config["warm_start"]
    assert ws["spec"] == "src-cora,src-citeseer"
    assert [s["study"] for s in ws["data"]["sources"]] == ["src-cora", "src-citeseer"]
    assert all(len(s["trials"]) == 25 for s in ws["data"]["sources"])
    expected = portfolio(ws["data"], study.space)
    assert len(expected) == 10
    study.optimize(n_trials=14, show_progress=False)
    trials = study.trials
    assert [t.architecture for t in trials[:10]] == expected
    assert all(t.info.get("warm_start") for t in trials[:10]) and not trials[10].info.get("warm_start")
    # the portfolio ranks by quantile in the sources: each entry is in the top half of a source
    halves = set()
    for s in ws["data"]["sources"]:
        for genes, _ in s["trials"][: len(s["trials"]) // 2]:
            halves.add(json.dumps(genes, sort_keys=True))
    assert all(json.dumps(a.genes, sort_keys=True) in halves for a in expected)


@pytest.mark.parametrize("strategy", ["regularized-evolution", "gp"])
def test_replay_reads_the_recorded_data_not_the_sources(tmp_path: Path, strategy: str) -> None:
    sources = tmp_path / "p.db"  # proteins: its small table keeps GP's whole-space index cheap
    for seed, name in ((1, "src-cora"), (2, "src-b")):
        _study(sources, "proteins", name, seed=seed).optimize(n_trials=20, show_progress=False)
    spec = "src-cora,src-b"
    whole = _study(sources, "proteins", "whole", strategy, warm_start=spec).optimize(
        n_trials=18, show_progress=False)
    part = _study(sources, "proteins", "part", strategy, warm_start=spec).optimize(
        n_trials=11, show_progress=False)
    # the sources change after the study started: the resumed study still uses what it recorded
    Study.load(store=sources, name="src-cora").optimize(n_trials=40, show_progress=False)
    part = Study.load(store=sources, name="part").optimize(n_trials=18, show_progress=False)
    assert [t.architecture for t in part.trials] == [t.architecture for t in whole.trials]


def test_auto_picks_the_closest_compatible_studies(sources: Path) -> None:
    _study(sources, "pubmed", "src-pubmed-params", objective="params", direction="minimize").optimize(
        n_trials=3, show_progress=False)
    study = _study(sources, "arxiv", "target", warm_start="auto")
    assert [s["study"] for s in study.config["warm_start"]["data"]["sources"]] == ["src-citeseer",
                                                                                  "src-cora"]
    # a study on the same dataset is closer than the other datasets
    _study(sources, "arxiv", "src-arxiv").optimize(n_trials=3, show_progress=False)
    again = _study(sources, "arxiv", "target2", warm_start="auto")
    assert [s["study"] for s in again.config["warm_start"]["data"]["sources"]] == ["src-arxiv"]
    assert task_distance({"kind": "tabular-benchmark", "name": "nasbench-graph/cora"},
                         {"kind": "tabular-benchmark", "name": "nasbench-graph/arxiv"}) == 1.0


def test_bad_sources(sources: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no study 'nope'"):
        _study(sources, "pubmed", "t", warm_start="src-cora,nope")
    _study(sources, "pubmed", "lat", objective="latency_ms", direction="minimize")
    with pytest.raises(ConfigError, match="optimised 'latency_ms'"):
        _study(sources, "pubmed", "t", warm_start="lat")
    with pytest.raises(ConfigError, match="no other study"):
        _study(tmp_path / "empty.db", "pubmed", "t", warm_start="auto")


def test_cli_warm_start_bad_input_is_one_line_exit_2(sources: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from fakes import toy_parts  # noqa: F401 - registers the toy space

    base = ["search", "--trials", "3", "--store", str(sources), "--no-progress"]
    assert main([*base, "--space", "nasbench-graph", "--space-opt", "dataset=pubmed", "--strategy", "random",
                 "--warm-start", "missing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no study 'missing'" in err[0]
    assert main([*base, "--space", "nasbench-graph", "--space-opt", "dataset=pubmed", "--strategy", "random",
                 "--warm-start", "auto", "--store", str(tmp_path / "none.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([*base, "--space", "nasbench-graph", "--space-opt", "dataset=pubmed", "--strategy", "random",
                 "--warm-start", "src-cora", "--name", "ok"]) == 0
    study = Study.load(store=sources, name="ok", read_only=True)
    assert study.config["warm_start"]["spec"] == "src-cora"
