"""Retrain the best genotypes of a supernet-scored study from scratch, as ordinary trials.

A study searched with ``--evaluator supernet`` holds supernet scores, not trained networks. After it,
:func:`retrain_best` takes its ``retrain_top`` best distinct genotypes (by supernet validation score)
and trains each from scratch with :class:`~nasforge.estimate.train.TrainEvaluator` in the study
``<name>-retrain`` of the same store (strategy ``retrain`` holding those genotypes, so it replays and
resumes like any study). Its trials are ordinary: ``nasforge best NAME-retrain``, ``export`` and
``predict`` work on them.
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.trial import TrialState


def best_genotypes(study: Any, k: int) -> list[dict[str, Any]]:
    """The ``k`` best distinct (canonical) genotypes of ``study``'s COMPLETE trials."""
    done = [t for t in study.trials if t.state is TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: (-t.value, t.number))
    out, seen = [], set()
    for t in done:
        key = study.space.canonical_hash(t.architecture)
        if key not in seen:
            seen.add(key)
            out.append(t.architecture.to_dict())
        if len(out) == k:
            break
    return out


def retrain_study(study: Any, k: int | None = None) -> Any:
    """The ``<name>-retrain`` study of ``study`` (created, or loaded when it exists with the same config)."""
    from nasforge.estimate.train import TrainEvaluator
    from nasforge.oneshot.strategy import RetrainStrategy
    from nasforge.study import Study

    source = study.evaluator
    k = source.retrain_top if k is None else k
    genotypes = best_genotypes(study, k)
    if not genotypes:
        return None
    evaluator = TrainEvaluator(task=source.task_data if not isinstance(source.task, str) else source.task,
                               space=study.space, epochs=source.epochs, device=source.device)
    return Study.create(store=study.store, name=f"{study.name}-retrain", space=study.space,
                        strategy=RetrainStrategy(genotypes=genotypes, source=study.name), evaluator=evaluator,
                        seed=study.seed, load_if_exists=True)


def retrain_best(study: Any, settings: dict[str, Any], args: argparse.Namespace) -> int:
    """``nasforge search --evaluator supernet``'s last step: retrain the best into ``NAME-retrain``."""
    from nasforge.cli.running import run_study

    if study.interrupted or not study.evaluator.retrain_top:
        return 0
    retrain = retrain_study(study)
    if retrain is None:
        return 0
    n = len(retrain.strategy.derived)
    print(f"retraining the {n} best supernet-scored genotype(s) from scratch in study {retrain.name!r}")
    code = run_study(retrain, {**settings, "trials": n, "time_limit": None}, args)
    retrain.set_oneshot(ranking_record(study, retrain))
    return code


def ranking_record(scored: Any, retrained: Any) -> dict[str, Any]:
    """The retrain study's ``oneshot`` record: each retrained trial's supernet score next to its
    stand-alone validation accuracy (the report's ranking figure)."""
    by_hash = {}
    for t in scored.trials:
        if t.state is TrialState.COMPLETE and t.value is not None:
            by_hash.setdefault(scored.space.canonical_hash(t.architecture), t.metrics.get("supernet_score"))
    ranking = [{"trial": t.number, "standalone": t.metrics.get("valid_acc"),
                "supernet": by_hash.get(retrained.space.canonical_hash(t.architecture))}
               for t in retrained.trials if t.state is TrialState.COMPLETE]
    return {"method": "supernet-evaluator", "phase": "retrained", "source": scored.name,
            "supernet": scored.evaluator.supernet, "ranking": ranking}


__all__ = ["best_genotypes", "retrain_best", "retrain_study"]
