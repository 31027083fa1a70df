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

    python benchmarks/bench_multiobjective.py --seeds 30 --seed-offset 1000

LEMONADE needs network morphisms, which a table has not; it is measured by the second suite,
``--suite mnist1d`` (issue 15, bar 3): real training on MNIST-1D in the chain space of
``bench_morphisms.py``, objectives (valid_acc max, params min), every strategy given the same
training-epoch budget ``E = --trials x --epochs``. ``lemonade`` trains ``n_initial`` random starts for
``--epochs`` and then children (weights inherited through the morphism) for ``--child-epochs`` each,
so it runs ``n_initial + (E - n_initial * epochs) // child_epochs`` trials; ``nsga2``,
``mo-evolution``, ``regularized-evolution`` (single-objective on valid_acc: RE's best-per-size),
``random`` and ``tpe`` (Optuna's multi-objective TPE through nasforge's adapter, the Optuna peer
here) train every trial from scratch for ``--epochs`` (``--trials`` trials). Normalisation fixed
before the runs: accuracy cost ``1 - acc``; size cost ``(log10 params - log10 p_min) / (log10 p_max
- log10 p_min)`` with ``p_min`` / ``p_max`` the parameter counts of the space's smallest and largest
uniform genotypes (every layer the same op, narrowest and shortest / widest and longest; clipped to
[0, 1]); reference point ``(1, 1)``. Printed per strategy: the hypervolume of (valid_acc, params)
over all its trials, and of (test_acc, params) over the trials on its *validation* front (the test
split only reports), mean over seeds, and each strategy's ratio to lemonade::

    python benchmarks/bench_multiobjective.py --suite mnist1d --seeds 3
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
#: the MNIST-1D suite's strategies (lemonade first: the ratios are to it)
MNIST1D = ("lemonade", "nsga2", "mo-evolution", "regularized-evolution", "random", "tpe")


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


# -- MNIST-1D suite (real training; LEMONADE needs morphisms) ---------------------------------------
def size_bounds(space: Any, input_shape: tuple[int, ...], classes: int) -> tuple[float, float]:
    """``(log10 p_min, log10 p_max)``: parameter counts of the space's smallest and largest uniform
    genotypes (every layer one op; narrowest, shortest kernel, fewest layers / the opposite)."""
    from nasforge.estimate.metrics import count_params
    from nasforge.models import BUILDERS
    from nasforge.space.architecture import Architecture

    p = space.params
    counts = []
    for op in p["ops"]:
        for depth, width, kernel in ((p["min_layers"], min(p["widths"]), min(p["kernel_sizes"])),
                                     (p["max_layers"], max(p["widths"]), max(p["kernel_sizes"]))):
            layer = {"op": op, "width": width, "kernel": kernel, "stride": p["strides"][0],
                     "activation": p["activations"][0], "norm": p["norms"][0], "dropout": p["dropouts"][0]}
            arch = Architecture("chain", {"depth": depth, "layers": [dict(layer) for _ in range(depth)]})
            model = BUILDERS.get("chain")(space, space.check(arch), input_shape, classes)
            counts.append(count_params(model))
    return float(np.log10(min(counts))), float(np.log10(max(counts)))


def size_hv(points: list[tuple[float, float]], bounds: tuple[float, float]) -> float:
    """Hypervolume of ``(acc, params)`` points normalised as the module docstring says."""
    from nasforge.multiobjective import hypervolume

    if not points:
        return 0.0
    acc = np.array([a for a, _ in points])
    size = (np.log10(np.array([p for _, p in points], dtype=float)) - bounds[0]) / (bounds[1] - bounds[0])
    return hypervolume(np.stack([1.0 - acc, np.clip(size, 0.0, 1.0)], axis=1), [1.0, 1.0])


def mnist1d_run(name: str, seed: int, args: argparse.Namespace, task: Any, store: Any) -> dict[str, Any]:
    """One search of strategy ``name`` at the shared epoch budget; its hypervolumes and spend."""
    from bench_morphisms import SPACE

    from nasforge import spaces, strategies
    from nasforge.estimate import TrainEvaluator
    from nasforge.multiobjective import non_dominated
    from nasforge.study import Study

    space = spaces.create("chain", input_kind="1d", **SPACE)
    evaluator = TrainEvaluator(task, space=space, epochs=args.epochs, threads=1, latency_repeats=0,
                               device="cpu", lr=args.lr)
    budget = args.trials * args.epochs
    options = {"lemonade": {"n_initial": args.n_initial, "n_pc": args.n_pc, "n_ac": args.n_ac,
                            "inherit_epochs": args.child_epochs},
               "nsga2": {"population": args.population},
               "mo-evolution": {"population": args.population, "sample": args.sample},
               "regularized-evolution": {"population": args.population, "sample": args.sample}}
    n_trials = args.trials
    if name == "lemonade":
        n_trials = args.n_initial + max(0, budget - args.n_initial * args.epochs) // args.child_epochs
    started = time.perf_counter()
    study = Study.create(store=store, name=f"{name}-{seed}", space=space, evaluator=evaluator, seed=seed,
                         strategy=strategies.create(name, **options.get(name, {})),
                         objectives="valid_acc:max,params:min")
    study.optimize(n_trials=n_trials, show_progress=False)
    done = [t for t in study.trials if t.state.value == "COMPLETE" and t.value is not None]
    bounds = size_bounds(space, tuple(task.input_shape), int(task.num_classes))
    valid = [(float(t.metrics["valid_acc"]), float(t.metrics["params"])) for t in done]
    front = non_dominated([(1 - a, p) for a, p in valid]) if valid else np.zeros(0, dtype=bool)
    test = [(float(t.metrics["test_acc"]), float(t.metrics["params"]))
            for t, on in zip(done, front, strict=True) if on]
    valid_front = [point for point, on in zip(valid, front, strict=True) if on]
    return {"hv_valid": size_hv(valid, bounds), "hv_test": size_hv(test, bounds), "trials": len(done),
            "test_front": test, "valid_front": valid_front,
            "epochs": int(sum(int(t.metrics.get("epochs", 0)) for t in done)), "front": len(test),
            "seconds": time.perf_counter() - started}


def mnist1d_suite(args: argparse.Namespace, names: list[str], seeds: range) -> list[str]:
    """The ``--suite mnist1d`` table (see the module docstring)."""
    import tempfile
    from pathlib import Path

    from nasforge.data import load

    task = load("mnist1d")
    lines = [f"bench_multiobjective --suite mnist1d: seeds {seeds.start}-{seeds.stop - 1}, budget "
             f"{args.trials * args.epochs} training epochs per search ({args.trials} trials x {args.epochs} "
             f"from scratch; lemonade {args.n_initial} x {args.epochs} then children x {args.child_epochs}, "
             f"n_pc {args.n_pc}, n_ac {args.n_ac}); hypervolume of normalised (1 - acc, log params) "
             "w.r.t. (1, 1), mean over seeds"]
    print(lines[0], flush=True)
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for n in names:
                r = mnist1d_run(n, seed, args, task, Path(tmp) / f"mo-{seed}.db")
                results[n].append(r)
                lines.append(f"seed {seed} {n:22} hv(valid) {r['hv_valid']:.4f}  hv(test, valid front) "
                             f"{r['hv_test']:.4f}  {r['trials']} trials, {r['epochs']} epochs, front "
                             f"{r['front']}, {r['seconds']:.0f} s")
                print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"{'strategy':22} {'hv(valid)':>10} {'hv(test)':>10} {'test/lemonade':>14} {'epochs':>7}")
    ref = np.mean([r["hv_test"] for r in results["lemonade"]]) if results.get("lemonade") else None
    for n in names:
        hv_v = np.mean([r["hv_valid"] for r in results[n]])
        hv_t = np.mean([r["hv_test"] for r in results[n]])
        ratio = f"{hv_t / ref:14.3f}" if ref else f"{'-':>14}"
        lines.append(f"{n:22} {hv_v:10.4f} {hv_t:10.4f} {ratio} "
                     f"{np.mean([r['epochs'] for r in results[n]]):7.0f}")
    if "lemonade" in results:
        for n in names:
            if n != "lemonade":
                for split in ("valid", "test"):  # valid: what a tuning run may look at; test: the report
                    covered = [covers(a[f"{split}_front"], b[f"{split}_front"])
                               for a, b in zip(results["lemonade"], results[n], strict=True)]
                    hit, total = sum(c for c, _ in covered), sum(t for _, t in covered)
                    lines.append(f"  {n}'s ({split}_acc, params) front points dominated or matched by "
                                 f"lemonade's front: {hit}/{total}")
                wins = sum(a["hv_test"] >= b["hv_test"] for a, b in zip(results["lemonade"], results[n],
                                                                          strict=True))
                lines.append(f"  lemonade hv(test) >= {n} on {wins}/{len(results[n])} seeds")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1) + "\n",
                                   encoding="utf-8")
    return lines


def covers(ours: list[tuple[float, float]], theirs: list[tuple[float, float]]) -> tuple[int, int]:
    """How many of ``theirs`` (acc, params) points some point of ``ours`` weakly dominates (accuracy
    at least as high with at most as many parameters), and ``len(theirs)``."""
    hit = sum(any(a >= b and p <= q for a, p in ours) for b, q in theirs)
    return hit, len(theirs)


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
    p.add_argument("--suite", choices=("nasbench-graph", "mnist1d"), default="nasbench-graph")
    m = p.add_argument_group("--suite mnist1d (defaults: the issue's protocol, bar 3)")
    m.add_argument("--trials", type=int, default=24, help="trials of a from-scratch search")
    m.add_argument("--epochs", type=int, default=10, help="epochs of a trial trained from scratch")
    m.add_argument("--child-epochs", type=int, default=3, help="epochs of a LEMONADE child")
    m.add_argument("--n-initial", type=int, default=4)
    m.add_argument("--n-pc", type=int, default=16)
    m.add_argument("--n-ac", type=int, default=4)
    m.add_argument("--population", type=int, default=8)
    m.add_argument("--sample", type=int, default=3)
    m.add_argument("--lr", type=float, default=0.01)
    m.add_argument("--note", default="", help="a line recorded at the top (e.g. the reduction)")
    m.add_argument("--json", default=None, help="also write every run's figures to this JSON file")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.suite == "mnist1d":
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_morphisms' SPACE
        names = [n for n in args.strategies.split(",") if n not in PEERS] if args.strategies != ",".join(
            (*OURS, *PEERS)) else list(MNIST1D)
        seeds = range(args.seed_offset, args.seed_offset + args.seeds)
        lines = ([f"note: {args.note}"] if args.note else []) + mnist1d_suite(args, names, seeds)
        text = "\n".join(lines)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        return
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
