"""GP kernels on NAS-Bench-Graph: mean final validation regret (pp) of GP with each kernel and of TPE.

Protocol of issue 17 (the defaults): 30 held-out seeds (1000-1029), the 9 datasets, 100 queries; GP
with ``kernel=wl`` (the default kernel), ``onehot``, ``arc``, ``otmann``, and TPE. Every figure is a
mean over seeds and datasets with its standard error; regrets are relative to the table's best
validation accuracy. A reduced run (fewer seeds / datasets) says so in its header::

    python benchmarks/bench_kernels.py                                   # the full protocol (hours)
    python benchmarks/bench_kernels.py --seeds 2 --datasets cora,proteins,photo \\
        --out benchmarks/results/bench_kernels.txt

Runs on disjoint seed ranges (e.g. one per core) are combined by ``--merge a.json,b.json --out all.txt``.

Variants for tuning the WL kernel: ``gp:wl0`` .. ``gp:wl3`` fix the WL rounds ``h`` (``gp:wl`` is the
default, h=2 since it was chosen on tuning seeds 0-29 with ``--seed-offset 0``; before, h=1) and
``gp:wl-only`` drops the one-hot features from the WL kernel, ``gp:wl-init5`` starts the GP after 5
random samples instead of 10, ``gp:wl-auto`` chooses h in 0..3 by marginal likelihood (NASBOWL) and
``gp:wl-pool`` scores the whole space on every ask (``score_budget`` 3e6 instead of 5e5); ``gp:wl-ml``
fits the signal variance (``amplitude=ml``), ``gp:wl-xi`` sets ``xi=0.1``, ``gp:wl-init20`` starts after
20 random samples, ``gp:wl-raw`` drops the output warping, ``gp:path`` uses path + one-hot features,
``gp:wl-local`` scores at most 3000 random candidates per ask (default 30000) and ``gp:wl-par10`` adds
the neighbours of the 10 best instead of the 5 best::

    python benchmarks/bench_kernels.py --seed-offset 0 --methods gp:wl1,gp:wl2,gp:wl3 \
        --out benchmarks/results/kernels_tune/wl_h_seeds0-29.txt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")


def methods(otmann_candidates: int) -> dict[str, tuple[str, dict[str, object]]]:
    return {
        "gp:wl": ("gp", {"kernel": "wl"}),
        "gp:wl0": ("gp", {"kernel": "wl", "wl_iterations": 0}),
        "gp:wl1": ("gp", {"kernel": "wl", "wl_iterations": 1}),
        "gp:wl2": ("gp", {"kernel": "wl", "wl_iterations": 2}),
        "gp:wl3": ("gp", {"kernel": "wl", "wl_iterations": 3}),
        "gp:wl-only": ("gp", {"kernel": "wl", "features": "wl"}),
        "gp:wl-init5": ("gp", {"kernel": "wl", "n_initial": 5}),
        "gp:wl-auto": ("gp", {"kernel": "wl", "wl_iterations": "auto"}),
        "gp:wl-pool": ("gp", {"kernel": "wl", "score_budget": 3_000_000}),
        "gp:wl-ml": ("gp", {"kernel": "wl", "amplitude": "ml"}),
        "gp:wl-xi": ("gp", {"kernel": "wl", "xi": 0.1}),
        "gp:wl-init20": ("gp", {"kernel": "wl", "n_initial": 20}),
        "gp:wl-raw": ("gp", {"kernel": "wl", "transform": "none"}),
        "gp:wl-local": ("gp", {"kernel": "wl", "max_candidates": 3000}),
        "gp:wl-par10": ("gp", {"kernel": "wl", "n_parents": 10}),
        "gp:path": ("gp", {"kernel": "wl", "features": "path+onehot"}),
        "gp:onehot": ("gp", {"kernel": "onehot"}),
        "gp:arc": ("gp", {"kernel": "arc"}),
        "gp:otmann": ("gp", {"kernel": "otmann", "max_candidates": otmann_candidates}),
        "tpe": ("tpe", {}),
    }


def main() -> None:
    from nasforge.bench.runner import RunSpec, run_one

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--seed-offset", type=int, default=1000, help="held-out seeds start here")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--methods", default="gp:wl,gp:onehot,gp:arc,gp:otmann,tpe")
    p.add_argument("--otmann-candidates", type=int, default=300, help="candidates scored per ask")
    p.add_argument("--out", default=None, help="also write the table to this file (and the per-seed "
                   "regrets to the same name with .json)")
    p.add_argument("--merge", default=None, help="comma-separated .json files of earlier runs (disjoint "
                   "seeds or methods): print and write their combined table instead of running")
    args = p.parse_args()
    if args.merge:
        merge(args.merge.split(","), args.out)
        return
    table = methods(args.otmann_candidates)
    names = args.methods.split(",")
    datasets = args.datasets.split(",")
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    full = args.seeds >= 30 and len(datasets) == len(DATASETS) and args.queries == 100
    lines = [
        "# bench_kernels: NAS-Bench-Graph, GP per kernel + TPE, final validation regret (pp), mean +- s.e.",
        f"# seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), datasets {','.join(datasets)}, "
        f"{args.queries} queries, otmann candidates/ask {args.otmann_candidates}",
        "# " + ("full protocol" if full else
                "REDUCED run (issue protocol: 30 seeds x 9 datasets x 100 queries)"),
    ]
    print("\n".join(lines), flush=True)
    regrets: dict[str, list[float]] = {n: [] for n in names}
    per_seed: dict[str, dict[str, dict[int, float]]] = {n: {d: {} for d in datasets} for n in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    header = f"{'dataset':10} " + " ".join(f"{n:>16}" for n in names)
    print(header, flush=True)
    rows = [header]
    for d in datasets:
        cells = []
        for n in names:
            strategy, options = table[n]
            per = []
            for seed in seeds:
                t0 = time.perf_counter()
                res = run_one(RunSpec("nasbench-graph", d, strategy, seed, args.queries, json.dumps(options)))
                seconds[n] += time.perf_counter() - t0
                per.append(float(res.regret_pp[-1]))
                per_seed[n][d][seed] = per[-1]
            regrets[n] += per
            cells.append(f"{np.mean(per):16.3f}")
        rows.append(f"{d:10} " + " ".join(cells))
        print(rows[-1], flush=True)

    rows.append(f"{'mean':10} " + " ".join(f"{mean_se(regrets[n]):>16}" for n in names))
    rows.append(f"{'seconds':10} " + " ".join(f"{seconds[n]:16.0f}" for n in names))
    print("\n".join(rows[-2:]), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join([*lines, *rows]) + "\n")
        Path(args.out).with_suffix(".json").write_text(json.dumps(
            {"queries": args.queries, "regret_pp": per_seed, "seconds": seconds}, indent=1))


def mean_se(values: list[float]) -> str:
    """``"mean +- standard error"`` of ``values``."""
    r = np.array(values)
    return f"{r.mean():.3f} +- {r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else 0.0:.3f}"


def merge(files: list[str], out: str | None) -> None:
    """The table of several runs' per-seed regrets together: each method's mean over every (dataset,
    seed) it was run on, with its seed range, so methods run on fewer seeds say so."""
    regret: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for f in files:
        data = json.loads(Path(f).read_text())
        for n, by_d in data["regret_pp"].items():
            for d, by_s in by_d.items():
                regret.setdefault(n, {}).setdefault(d, {}).update(by_s)
        for n, s in data["seconds"].items():
            seconds[n] = seconds.get(n, 0.0) + s
    names = [n for n in methods(300) if n in regret]
    datasets = [d for d in DATASETS if any(d in regret[n] for n in names)]
    lines = [f"# bench_kernels: merged from {', '.join(files)}",
             "# NAS-Bench-Graph, final validation regret (pp), mean +- s.e. over every (dataset, seed)"]
    for n in names:
        seeds = sorted({int(s) for by_s in regret[n].values() for s in by_s})
        lines.append(f"# {n}: seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), {len(regret[n])} datasets")
    rows = [f"{'dataset':10} " + " ".join(f"{n:>16}" for n in names)]
    for d in datasets:
        cells = [f"{np.mean(list(regret[n][d].values())):16.3f}" if d in regret[n] else f"{'-':>16}"
                 for n in names]
        rows.append(f"{d:10} " + " ".join(cells))
    means = [mean_se([v for by_s in regret[n].values() for v in by_s.values()]) for n in names]
    rows.append(f"{'mean':10} " + " ".join(f"{m:>16}" for m in means))
    rows.append(f"{'seconds':10} " + " ".join(f"{seconds[n]:16.0f}" for n in names))
    text = "\n".join([*lines, *rows]) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)


if __name__ == "__main__":
    main()
