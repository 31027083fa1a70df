"""Several objectives: Pareto utilities (against pymoo), objective/constraint parsing and their bad
input, multi-objective studies (config, infeasible trials never best, replay), the MO strategies,
``nasforge best --pareto``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import nasforge.strategies as strategies
from nasforge.cli.main import main
from nasforge.errors import ConfigError
from nasforge.estimate.tabular import TabularEvaluator
from nasforge.multiobjective import (
    crowding_distance,
    hypervolume,
    non_dominated,
    non_dominated_sort,
    parse_constraints,
    parse_objectives,
    reference_point,
)
from nasforge.study import Study
from nasforge.trial import TrialState

MO = "valid_acc:max,latency_ms:min"


# -- Pareto utilities ---------------------------------------------------------------------------
@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_pymoo(m: int) -> None:
    hv_indicator = pytest.importorskip("pymoo.indicators.hv")
    rng = np.random.default_rng(m)
    for n in (1, 5, 40):
        f = rng.random((n, m))
        f = np.vstack([f, f[:1], f[:1] + 2.0])  # a duplicate and a point beyond the reference
        ref = np.full(m, 1.2)
        expected = hv_indicator.HV(ref_point=ref)(f[np.all(f < ref, axis=1)])
        assert hypervolume(f, ref) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # a discrete grid with many ties
    f = rng.integers(0, 4, size=(60, m)).astype(float)
    ref = np.full(m, 4.0)
    assert hypervolume(f, ref) == pytest.approx(hv_indicator.HV(ref_point=ref)(f), rel=1e-12)


def test_hypervolume_known_values_and_bad_reference() -> None:
    assert hypervolume([[0.0, 0.0]], [1.0, 2.0]) == pytest.approx(2.0)
    assert hypervolume([[0.0, 1.0], [1.0, 0.0]], [2.0, 2.0]) == pytest.approx(3.0)
    assert hypervolume([[0.5, 0.5, 0.5]], [1.0, 1.0, 1.0]) == pytest.approx(0.125)
    assert hypervolume([[3.0, 3.0]], [1.0, 1.0]) == 0.0
    with pytest.raises(ConfigError, match="reference point"):
        hypervolume([[0.0, 0.0]], [1.0])
    assert np.all(reference_point([[0.0, 0.0], [1.0, 2.0]]) == [1.1, 2.2])


def test_non_dominated_sort_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    f = rng.integers(0, 5, size=(50, 3)).astype(float)
    fronts = non_dominated_sort(f)
    assert sorted(itertools.chain.from_iterable(fronts)) == list(range(50))
    remaining = set(range(50))
    for front in fronts:
        rows = sorted(remaining)
        mask = non_dominated(f[rows])
        assert sorted(np.array(rows)[mask].tolist()) == sorted(front.tolist())
        remaining -= set(front.tolist())
    d = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 0.5], [3.0, 0.0]]))
    assert np.isinf(d[0]) and np.isinf(d[3]) and np.all(np.isfinite(d[1:3]))
    assert d[1] == pytest.approx(2 / 3 + 2.5 / 3)


# -- parsing ----------------------------------------------------------------------------------
def test_parse_objectives_and_constraints() -> None:
    objs = parse_objectives("valid_acc:max, params:min,latency_ms:minimize")
    assert [(o.metric, o.direction) for o in objs] == [("valid_acc", "max"), ("params", "min"),
                                                       ("latency_ms", "min")]
    cons = parse_constraints("params<=100000,latency_ms<2.5")
    assert [(c.metric, c.op, c.bound) for c in cons] == [("params", "<=", 1e5), ("latency_ms", "<", 2.5)]
    assert cons[0].violation(100000) == 0 and cons[0].violation(150000) == pytest.approx(0.5)
    for bad, match in (("valid_acc:up", "'max' or 'min'"), ("valid_acc", "needs a direction"),
                       ("test_acc:max", "test split"), ("valid_acc:max,valid_acc:min", "distinct")):
        with pytest.raises(ConfigError, match=match):
            parse_objectives(bad)
    for bad in ("params=<5", "params<=x", "params"):
        with pytest.raises(ConfigError):
            parse_constraints(bad)


# -- studies ----------------------------------------------------------------------------------
def _study(path: Path, name: str = "mo", strategy: str = "nsga2", **kwargs: object) -> Study:
    ev = TabularEvaluator(dataset="proteins")
    return Study.create(store=path, name=name, space=ev.space, strategy=strategies.create(strategy),
                        evaluator=ev, **kwargs)


def test_single_objective_config_is_unchanged(tmp_path: Path) -> None:
    plain = _study(tmp_path / "a.db", strategy="random").config
    same = _study(tmp_path / "b.db", strategy="random", objectives="valid_acc:max").config
    assert plain == same and "objectives" not in plain and "constraints" not in plain
    lat = _study(tmp_path / "c.db", strategy="random", objectives="latency_ms:min").config
    assert (lat["objective"], lat["direction"]) == ("latency_ms", "minimize") and "objectives" not in lat


def test_constraint_makes_trials_infeasible_never_best(tmp_path: Path) -> None:
    table = TabularEvaluator(dataset="proteins").space.table
    bound = float(np.median(table.params))
    study = _study(tmp_path / "s.db", objectives=MO, constraints=f"params<={bound}")
    assert study.config["objectives"] == [["valid_acc", "max"], ["latency_ms", "min"]]
    assert study.config["constraints"] == [["params", "<=", bound]]
    study.optimize(n_trials=30, show_progress=False)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    bad = [t for t in done if t.metrics["params"] > bound]
    good = [t for t in done if t.metrics["params"] <= bound]
    assert bad and good
    assert all(t.value is None and t.metrics["constraint_violation"] > 0 for t in bad)
    assert all(t.value == t.metrics["valid_acc"] and t.metrics["constraint_violation"] == 0 for t in good)
    assert study.best_trial.metrics["params"] <= bound


def test_bad_objectives_fail_before_storing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with pytest.raises(ConfigError, match="not a metric this evaluator reports"):
        _study(path, objectives="valid_acc:max,macs:min")
    with pytest.raises(ConfigError, match="not a metric this evaluator reports"):
        _study(path, constraints="flops<=10")
    with pytest.raises(ConfigError, match="disagree"):
        _study(path, objective="latency_ms", objectives=MO)
    assert not path.exists()


@pytest.mark.parametrize("name", ["nsga2", "mo-evolution", "tpe", "random"])
def test_multiobjective_strategies_replay_and_find_a_front(name: str, tmp_path: Path) -> None:
    """A resumed study (replay from the store) asks what an uninterrupted one asks."""
    path = tmp_path / "s.db"
    whole = _study(path, "whole", name, objectives=MO).optimize(n_trials=36, show_progress=False)
    part = _study(path, "part", name, objectives=MO).optimize(n_trials=24, show_progress=False)
    part = Study.load(store=path, name="part").optimize(n_trials=36, show_progress=False)
    genes = lambda s: [t.architecture.genes for t in s.trials]  # noqa: E731
    assert genes(whole) == genes(part)


def test_nsga2_beats_random_on_hypervolume() -> None:
    """On NAS-Bench-Graph (cora, accuracy vs latency), 60 queries, 4 seeds: NSGA-II's mean
    hypervolume exceeds random search's."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    import bench_multiobjective as bench

    from nasforge.space.nasbench_graph import NasBenchGraphSpace

    table = NasBenchGraphSpace(dataset="cora").table
    hv = {n: np.mean([bench.normalised_hv(bench.run_ours(n, "cora", "latency_ms", s, 60, {}), table,
                                          "latency_ms") for s in range(4)]) for n in ("nsga2", "random")}
    assert hv["nsga2"] > hv["random"]


# -- CLI --------------------------------------------------------------------------------------
def _search(store: Path, *extra: str) -> int:
    return main(["search", "--space", "nasbench-graph", "--space-opt", "dataset=proteins", "--trials", "20",
                 "--store", str(store), "--no-progress", *extra])


def test_best_pareto_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    assert _search(store, "--strategy", "nsga2", "--objective", MO, "--name", "mo") == 0
    capsys.readouterr()
    assert main(["best", "mo", "--store", str(store), "--pareto", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    front = record["front"]
    assert front and record["objectives"] == [["valid_acc", "max"], ["latency_ms", "min"]]
    study = Study.load(store=store, name="mo", read_only=True)
    pts = [(t.metrics["valid_acc"], t.metrics["latency_ms"]) for t in study.trials
           if t.state is TrialState.COMPLETE]
    for row in front:  # no stored trial dominates a front member
        a, c = row["valid_acc"], row["latency_ms"]
        assert not any(x >= a and y <= c and (x > a or y < c) for x, y in pts)
    assert record["hypervolume"] > 0
    assert main(["best", "mo", "--store", str(store), "--pareto"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out and str(front[0]["number"]) in out


@pytest.mark.parametrize("flags, message", [
    (["--objective", "valid_acc:up"], "direction must be 'max' or 'min'"),
    (["--objective", "nope:max"], "not a metric this evaluator reports"),
    (["--constraint", "macs<=5"], "not a metric this evaluator reports"),
    (["--constraint", "params=5"], "METRIC<=BOUND"),
])
def test_bad_objective_input_is_one_line_exit_2(flags: list[str], message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    assert _search(store, "--strategy", "nsga2", *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not store.exists()


def test_report_front_leaves_infeasible_trials_out(tmp_path: Path) -> None:
    from nasforge.report.data import StudyData
    from nasforge.report.multiobjective import PARETO

    table = TabularEvaluator(dataset="proteins").space.table
    bound = float(np.median(table.params))
    study = _study(tmp_path / "s.db", objectives="valid_acc:max,params:min", constraints=f"params>={bound}")
    study.optimize(n_trials=25, show_progress=False)
    data = StudyData(study.name, study.config, study.trials)
    assert data.pareto and all(t.metrics["params"] >= bound for t in data.pareto)
    html = PARETO.render(data, None)
    assert "Hypervolume" in html and "Pareto-optimal" in html
