"""Tuning run for the one-shot ranking study: how should a path be scored with shared weights?

For each *tuning* seed (default 0, 1, 2; the ranking study reports on 1000 and up), the ranking
study's set-up (:mod:`bench_oneshot_ranking`): ``--archs`` random edge-cell architectures trained
stand-alone for 10 epochs (ground truth: validation accuracy; cached in ``<workdir>/ground_truth.db``),
the one-epoch wall time as the budget, then one SPOS and one path-dropout supernet trained within that
budget. Each supernet scores every architecture several ways: batch-norm recalibration on
``--calib`` training batches (comma list) and the score taken as validation accuracy or minus
validation loss. Kendall tau against the ground truth per variant (95% bootstrap interval) and each
variant's scoring seconds (one pass per batch count gives both scores; scoring is part of the budget
in the ranking study) go to ``--out``.

Nothing here reads the test split; the pick (highest mean tau over the tuning seeds among variants
whose scoring fits the budget) is then run once on held-out seeds by ``bench_oneshot_ranking.py``::

    python benchmarks/tune_oneshot_scoring.py --seeds 0,1,2 --out benchmarks/results/tune_oneshot_scoring.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import nasforge as nf
from nasforge import spaces
from nasforge.bench.ranking import rank_metrics
from nasforge.oneshot.sampling import PathDropout, Spos

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_oneshot_ranking as ranking


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--archs", type=int, default=100)
    p.add_argument("--calib", default="4,16,47")
    p.add_argument("--workdir", default="benchmarks/results/oneshot_ranking/tuning")
    p.add_argument("--out", default="benchmarks/results/tune_oneshot_scoring.txt")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    calibs = [int(c) for c in args.calib.split(",")]
    torch.set_num_threads(1)
    task = nf.data.load("mnist1d")
    space = spaces.create("edge-cell", nodes=4, channels=8, cells_per_stage=1)
    table: dict[str, list[float]] = {}
    secs: dict[str, list[float]] = {}
    lines = [f"tune_oneshot_scoring: MNIST-1D edge-cell nodes=4 channels=8; {args.archs} architectures per "
             f"seed, ground truth valid acc after 10 epochs; budget = one-epoch wall time; tuning seeds "
             f"{seeds}; torch threads 1", "",
             f"{'seed':>5} {'supernet':13} {'calib':>5} {'score':5} {'tau':>7} {'95% interval':>17} "
             f"{'score s':>8} {'budget s':>8}"]
    print(lines[0], flush=True)
    for seed in seeds:
        gargs = argparse.Namespace(archs=args.archs, epochs=10, seed=seed, nodes=4, channels=8,
                                   batch_size=64, workdir=args.workdir)
        trials, truth, _, _ = ranking.ground_truth(space, task, gargs)
        archs = [t.architecture for t in trials]
        _, budget, _ = ranking.trained_scores(1)(space, task, archs, 0.0, gargs)
        for name, cls, kw in (("spos", Spos, {}), ("path-dropout", PathDropout, {"drop_rate": 0.5})):
            # the budget leaves room for the ranking study's default scoring (4 batches)
            search, epochs = ranking.train_within_budget(
                cls, space, task, archs, budget, gargs,
                lambda s, a: ranking.shared_metrics(s, a, 4), **kw)
            for calib in calibs:
                t0 = time.perf_counter()
                metrics = [ranking.shared_metrics(search, a, calib) for a in archs]
                took = time.perf_counter() - t0  # one pass gives both scores
                for by in ("acc", "loss"):
                    scores = [m[by] for m in metrics]
                    tau = rank_metrics(scores, truth, boot=1000, seed=seed)["tau"]
                    key = f"{name} calib={calib} {by}"
                    table.setdefault(key, []).append(tau[0])
                    secs.setdefault(key, []).append(took / budget)
                    row = (f"{seed:>5} {name:13} {calib:>5} {by:5} {tau[0]:7.3f} "
                           f"[{tau[1]:6.3f}, {tau[2]:6.3f}] {took:8.1f} {budget:8.1f}  ({epochs} epochs)")
                    lines.append(row)
                    print(row, flush=True)
    lines += ["", "mean over tuning seeds: tau, scoring time / budget"]
    for key, taus in table.items():
        lines.append(f"  {key:28} tau {np.mean(taus):.3f} [{min(taus):.3f} .. {max(taus):.3f}]   "
                     f"score time / budget {np.mean(secs[key]):.2f}")
    lines += ["", "command: python benchmarks/tune_oneshot_scoring.py " + " ".join(sys.argv[1:])]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(table) - 3:]))


if __name__ == "__main__":
    main()
