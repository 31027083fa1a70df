"""Studies for the report, plot and dashboard tests: synthetic ones (plain Trial records, no store) and
real stored ones (toy and NAS-Bench-Graph searches, instant)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import nasforge as nf
from nasforge.report.data import StudyData
from nasforge.space import Architecture
from nasforge.study import Study
from nasforge.trial import Trial, TrialState


def trial(
    number: int,
    valid: float | None,
    *,
    state: TrialState = TrialState.COMPLETE,
    seq: int | None = None,
    start: float = 0.0,
    **metrics: Any,
) -> Trial:
    """A finished trial of the toy space with ``valid_acc = valid`` (plus ``metrics``)."""
    m = dict(metrics)
    if valid is not None:
        m["valid_acc"] = valid
    return Trial(
        number=number,
        architecture=Architecture("toy", {"x": number % 10, "y": number // 10 % 10}),
        state=state,
        value=valid if state is TrialState.COMPLETE else None,
        metrics=m,
        started_at=1000.0 + start,
        completed_at=1001.0 + start,
        info={"seq": number if seq is None else seq},
    )


def synthetic(n: int = 12, *, seed: int = 0, name: str = "syn", epochs: int = 3, **config: Any) -> StudyData:
    """``n`` complete trials with costs and per-epoch curves, one failure, one pruned trial."""
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        valid = float(rng.uniform(0.5, 0.9))
        t = trial(
            i,
            valid,
            start=float(i),
            test_acc=valid - 0.02,
            params=int(rng.integers(1_000, 100_000)),
            flops=int(rng.integers(10_000, 10**7)),
            latency_ms=float(rng.uniform(0.1, 3.0)),
            train_seconds=1.5,
        )
        t.intermediate = [(float(e), {"valid_acc": valid * e / epochs}) for e in range(1, epochs + 1)]
        trials.append(t)
    failed = trial(n, None, state=TrialState.FAILED, start=float(n))
    failed.error, failed.traceback = "non_finite", "Traceback ...\nValueError: loss became nan"
    pruned = trial(n + 1, None, state=TrialState.PRUNED, start=float(n + 1))
    pruned.intermediate = [(1.0, {"valid_acc": 0.3})]
    trials += [failed, pruned]
    cfg = {
        "space": {"name": "toy"},
        "strategy": {"name": "random"},
        "objective": "valid_acc",
        "direction": "maximize",
        "seed": seed,
        "task": {"name": "toy-task"},
        **config,
    }
    return StudyData(name=name, config=cfg, trials=trials, created=999.0, space=None)


def toy_store(path: Path, name: str = "toy", n_trials: int = 8, **evaluator: Any) -> Path:
    """A store holding a finished toy study (random search)."""
    from fakes import ToyEvaluator, ToySpace

    study = Study.create(
        store=path,
        name=name,
        space=ToySpace(),
        strategy=nf.strategies.create("random"),
        evaluator=ToyEvaluator(**evaluator),
        seed=1,
    )
    study.optimize(n_trials=n_trials, show_progress=False)
    study.store.close()
    return path


def nbg_store(path: Path, name: str = "nbg", n_trials: int = 40, seed: int = 0) -> Path:
    """A store holding a NAS-Bench-Graph study (tabular lookups: instant)."""
    from nasforge.estimate.tabular import TabularEvaluator

    study = Study.create(
        store=path,
        name=name,
        space=nf.spaces.create("nasbench-graph", dataset="cora"),
        strategy=nf.strategies.create("random"),
        evaluator=TabularEvaluator(dataset="cora"),
        seed=seed,
    )
    study.optimize(n_trials=n_trials, show_progress=False)
    study.store.close()
    return path


def empty_store(path: Path, name: str = "empty") -> Path:
    """A store holding a study with no trial at all."""
    from fakes import ToyEvaluator, ToySpace

    study = Study.create(
        store=path,
        name=name,
        space=ToySpace(),
        strategy=nf.strategies.create("random"),
        evaluator=ToyEvaluator(),
        seed=0,
    )
    study.store.close()
    return path
