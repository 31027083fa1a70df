"""Warm starts on NAS-Bench-Graph, leave one dataset out (issue 15, bar 2).

For every dataset and strategy (``gp``, ``regularized-evolution``): a source study of ``--queries``
queries on each of the nine datasets (seed ``--source-seed``), then on each target dataset a cold
search and a warm one whose warm-start data are the *eight other* datasets' source studies (the same
data ``nasforge search --warm-start auto`` records: each source's completed trials, genes and
validation accuracy; :mod:`nasforge.warmstart`). Printed: mean validation regret (percentage points,
table best valid minus best valid found) at 25, 50 and 100 queries, warm vs cold, over held-out seeds
(default 1000-1029; tune on 0-9), and on how many datasets warm@25 <= half of cold@25::

    python benchmarks/bench_warmstart.py --strategies regularized-evolution
    python benchmarks/bench_warmstart.py --strategies gp --seeds 10

``--complete-sources N`` replaces the source studies by the ``N`` best architectures of each source's
*complete* table (every architecture evaluated), the best data a source study could ever record (the
store keeps at most :data:`nasforge.warmstart.MAX_TRIALS` per source): an upper bound for this warm
start, the search itself unchanged::

    python benchmarks/bench_warmstart.py --complete-sources 200 --queries 25
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
MARKS = (25, 50, 100)


def search(name: str, dataset: str, seed: int, queries: int, warm: dict[str, Any] | None,
           options: dict[str, Any]) -> tuple[np.ndarray, list[list[Any]]]:
    """(best-valid trace, completed trials as [genes, valid_acc]) of one in-memory search."""
    from nasforge import strategies
    from nasforge.errors import EvaluationError
    from nasforge.estimate.tabular import TabularEvaluator
    from nasforge.trial import Trial, TrialState

    evaluator = TabularEvaluator(dataset=dataset)
    space = evaluator.space
    strategy = strategies.create(name, **options).bind(warm_start=warm).setup(space, seed)
    trace, done, best = np.full(queries, np.nan), [], -np.inf
    for q in range(queries):
        cand = strategy.ask()
        try:
            m = evaluator.evaluate(cand.architecture)
        except EvaluationError as exc:
            trial = Trial(q, cand.architecture, TrialState.FAILED, error=exc.reason)
        else:
            trial = Trial(q, cand.architecture, TrialState.COMPLETE, m["valid_acc"], m, parent=cand.parent)
            done.append([cand.architecture.genes, m["valid_acc"]])
            best = max(best, m["valid_acc"])
        strategy.tell(trial)
        trace[q] = best
    return trace, done


def complete_source(dataset: str, n: int) -> list[list[Any]]:
    """The ``n`` best architectures of ``dataset``'s complete table as source trials [genes, valid_acc]."""
    from nasforge.space.nasbench_graph import NasBenchGraphSpace

    space = NasBenchGraphSpace(dataset=dataset)
    archs, valid = space.all_architectures(), space.table.valid  # both in the table's row order
    return [[archs[r].genes, float(valid[r])] for r in np.argsort(-valid, kind="stable")[:n]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--strategies", default="gp,regularized-evolution")
    p.add_argument("--datasets", default=",".join(DATASETS), help="target datasets (sources: all nine)")
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--seed-offset", type=int, default=1000)
    p.add_argument("--source-seed", type=int, default=500)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--top-k", type=int, default=10, help="warm-start portfolio size")
    p.add_argument("--complete-sources", type=int, default=0, metavar="N",
                   help="sources: the N best rows of each complete table instead of source studies")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    from nasforge.space.nasbench_graph import NasBenchGraphSpace

    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    marks = [m for m in MARKS if m <= args.queries]
    lines = [f"bench_warmstart: leave-one-dataset-out, {args.queries} queries, held-out seeds "
             f"{seeds.start}-{seeds.stop - 1}, sources: "
             + (f"the {args.complete_sources} best rows of each other dataset's complete table"
                if args.complete_sources else
                f"one {args.queries}-query study per other dataset (seed {args.source_seed})")
             + f", portfolio top-k {args.top_k}; mean validation regret (pp)"]
    started = time.perf_counter()
    for name in args.strategies.split(","):
        sources = ({d: complete_source(d, args.complete_sources) for d in DATASETS} if args.complete_sources
                   else {d: search(name, d, args.source_seed, args.queries, None, {})[1] for d in DATASETS})
        lines += ["", f"strategy {name}:",
                  f"{'dataset':10} " + " ".join(f"{f'cold@{m}':>8} {f'warm@{m}':>8}" for m in marks)
                  + f" {'warm/cold@25':>12}"]
        halves = 0
        for target in args.datasets.split(","):
            best = float(NasBenchGraphSpace(dataset=target).best_valid())
            warm = {"top_k": args.top_k, "sources": [
                {"study": f"{d}-{name}", "task": f"nasbench-graph/{d}", "trials": sources[d]}
                for d in DATASETS if d != target]}
            regrets: dict[str, list[np.ndarray]] = {"cold": [], "warm": []}
            for s in seeds:
                for kind, data in (("cold", None), ("warm", warm)):
                    trace = search(name, target, s, args.queries, data, {})[0]
                    regrets[kind].append((best - trace) * 100)
            mean = {k: np.mean(np.stack(v), axis=0) for k, v in regrets.items()}
            ratio = mean["warm"][24] / max(mean["cold"][24], 1e-9) if args.queries >= 25 else np.nan
            halves += bool(ratio <= 0.5)
            lines.append(f"{target:10} " + " ".join(f"{mean['cold'][m - 1]:8.3f} {mean['warm'][m - 1]:8.3f}"
                                                   for m in marks) + f" {ratio:12.2f}")
            print(lines[-1], flush=True)
        lines.append(f"  warm@25 <= 0.5 x cold@25 on {halves}/{len(args.datasets.split(','))} datasets")
    lines.append(f"elapsed {time.perf_counter() - started:.0f} s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
