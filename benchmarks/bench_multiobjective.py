"""Hypervolume of multi-objective searches on NAS-Bench-Graph (issue 15, bar 1).

For each dataset, seed and objective pair -- (valid_acc max, latency_ms min) and (valid_acc max, params
min) -- every strategy gets ``--queries`` table queries (a duplicate or an architecture absent from the
table spends one, as a real search would), and the hypervolume of the feasible points it found is
computed with :func:`nasforge.multiobjective.hypervolume`.

Normalisation and reference point (fixed before the runs): each objective is mapped to [0, 1] over the
dataset's whole table -- accuracy cost ``(max_acc - acc) / (max_acc - min_acc)``, cost metric
``(x - min) / (max - min)`` -- and the reference point is ``(1, 1)`` (the table's worst accuracy and
largest cost). A hypervolume of 1 would be a single architecture with the best accuracy and the
smallest cost of the table.

Strategies: nasforge's ``nsga2``, ``mo-evolution``, ``random`` and ``tpe`` (Optuna's multi-objective TPE
through nasforge's adapter) driven by ask/tell in memory; the peers ``optuna-nsga2`` and
``optuna-motpe`` are Optuna run as a user would: ``optuna.create_study(directions=[...],
sampler=NSGAIISampler(seed=s) | TPESampler(seed=s))`` and ``study.optimize(objective, n_trials)`` with
an objective that suggests the link pattern and the 4 ops as 5 categorical parameters and looks the
entry up (a genotype absent from the table raises ``TrialPruned``: a query spent). Tune on seeds 0-9;
the default protocol reports seeds 1000-1029::

    /work/bin/benchlock python benchmarks/bench_multiobjective.py --seeds 30 --seed-offset 1000
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
PAIRS = ("latency_ms", "params")
OURS = ("nsga2", "mo-evolution", "random", "tpe")
PEERS = ("optuna-nsga2", "optuna-motpe")


def normalised_hv(points: list[tuple[float, float]], table: Any, cost: str) -> float:
    from nasforge.multiobjective import hypervolume

    if not points:
        return 0.0
    acc = np.array([p[0] for p in points])
    c = np.array([p[1] for p in points])
    column = table.latency_ms if cost == "latency_ms" else table.params
    a_lo, a_hi = float(table.valid.min()), float(table.valid.max())
    c_lo, c_hi = float(column.min()), float(column.max())
    f = np.stack([(a_hi - acc) / (a_hi - a_lo), (c - c_lo) / (c_hi - c_lo)], axis=1)
    return hypervolume(f, [1.0, 1.0])


def run_ours(name: str, dataset: str, cost: str, seed: int, queries: int, options: dict[str, Any]) -> list:
    from nasforge import strategies
    from nasforge.errors import EvaluationError
    from nasforge.estimate.tabular import TabularEvaluator
    from nasforge.multiobjective import parse_objectives
    from nasforge.trial import Trial, TrialState

    evaluator = TabularEvaluator(dataset=dataset)
    space = evaluator.space
    strategy = strategies.create(name, **options).bind(parse_objectives(f"valid_acc:max,{cost}:min"))
    strategy.setup(space, seed)
    points = []
    for q in range(queries):
        cand = strategy.ask()
        try:
            m = evaluator.evaluate(cand.architecture)
        except EvaluationError as exc:
            trial = Trial(q, cand.architecture, TrialState.FAILED, error=exc.reason)
        else:
            trial = Trial(q, cand.architecture, TrialState.COMPLETE, m["valid_acc"], m, parent=cand.parent)
            points.append((m["valid_acc"], m[cost]))
        strategy.tell(trial)
    return points


def run_optuna(name: str, dataset: str, cost: str, seed: int, queries: int) -> list:
    import optuna

    from nasforge.errors import EvaluationError
    from nasforge.estimate.tabular import TabularEvaluator
    from nasforge.space.nasbench_graph import LINKS

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    evaluator = TabularEvaluator(dataset=dataset)
    space = evaluator.space
    ops = [d.choices for d in space.decisions()][1]
    points: list[tuple[float, float]] = []

    def objective(trial: Any) -> tuple[float, float]:
        link = trial.suggest_categorical("link", list(range(len(LINKS))))
        chosen = [trial.suggest_categorical(f"op{i}", list(ops)) for i in range(4)]
        arch = space.from_flat([link, *[list(ops).index(o) for o in chosen]])
        try:
            m = evaluator.evaluate(arch)
        except EvaluationError:
            raise optuna.TrialPruned() from None
        points.append((m["valid_acc"], m[cost]))
        return m["valid_acc"], m[cost]

    sampler = (optuna.samplers.NSGAIISampler(seed=seed) if name == "optuna-nsga2"
               else optuna.samplers.TPESampler(seed=seed))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=queries)
    return points


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--strategies", default=",".join((*OURS, *PEERS)))
    p.add_argument("--pairs", default=",".join(PAIRS))
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--seed-offset", type=int, default=1000)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--options", default="{}", help='JSON {"strategy": {options}} for nasforge strategies')
    p.add_argument("--out", default=None, help="also write the table to this file")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    from nasforge.space.nasbench_graph import NasBenchGraphSpace

    names = args.strategies.split(",")
    options = json.loads(args.options)
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    lines = [f"bench_multiobjective: {args.queries} queries, seeds {seeds.start}-{seeds.stop - 1}, "
             f"hypervolume of normalised (1 - valid_acc, cost) w.r.t. (1, 1), mean over seeds"]
    ours_mo = [n for n in names if n in ("nsga2", "mo-evolution", "tpe")]
    peers = [n for n in names if n in PEERS]
    started = time.perf_counter()
    for cost in args.pairs.split(","):
        lines.append("")
        lines.append(f"(valid_acc, {cost}):")
        lines.append(f"{'dataset':10} " + " ".join(f"{n:>13}" for n in names))
        table_means: dict[str, list[float]] = {n: [] for n in names}
        for d in args.datasets.split(","):
            table = NasBenchGraphSpace(dataset=d).table
            row = []
            for n in names:
                hv = []
                for s in seeds:
                    pts = (run_optuna(n, d, cost, s, args.queries) if n in PEERS
                           else run_ours(n, d, cost, s, args.queries, options.get(n, {})))
                    hv.append(normalised_hv(pts, table, cost))
                table_means[n].append(float(np.mean(hv)))
                row.append(f"{np.mean(hv):13.4f}")
            lines.append(f"{d:10} " + " ".join(row))
            print(lines[-1], flush=True)
        lines.append(f"{'mean':10} " + " ".join(f"{np.mean(table_means[n]):13.4f}" for n in names))
        for ours in ours_mo:
            for peer in peers:
                wins = sum(a >= b for a, b in zip(table_means[ours], table_means[peer], strict=True))
                lines.append(f"  {ours} >= {peer} on {wins}/{len(table_means[ours])} datasets")
    lines.append(f"elapsed {time.perf_counter() - started:.0f} s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
