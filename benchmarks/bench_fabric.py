"""Convolutional neural fabrics on MNIST-1D: the whole fabric, its best path, and the chain default search.

Protocol (one run, same cores, every training with the default search's recipe ``nasforge.defaults.
TRAINING`` and one torch thread):

1. **Tuning** (validation only): the whole fabric (every band edge, ``--layers`` x ``--scales``) for each
   width in ``--tune-channels`` and epoch count in ``--tune-epochs`` on the tuning seeds
   ``--tune-seeds`` (0-4); the setting of best mean *validation* accuracy is kept. The test split is
   not looked at.
2. Per reporting seed (``--seeds``, 1000+):

   * ``fabric``: the whole fabric with the kept setting, trained from scratch; test accuracy (bar:
     >= 97%).
   * ``path``: every single path of the fabric scored with the trained fabric's weights (SPOS-style:
     batch norms re-estimated for the path on 4 training batches, then validation accuracy), the
     best-scoring path retrained from scratch for the same epochs; test accuracy.
   * ``chain``: the chain space's default search (``nasforge search`` defaults: regularized evolution,
     the default chain space, 15 epochs; ``--chain-time-limit`` seconds, ``--chain-workers``
     workers), the test accuracy of its best trial by validation accuracy.

   Ratios per seed: accuracy differences in points against ``chain`` and wall times over ``chain``'s.

Defaults are the full protocol (tuning 2 widths x 2 epoch counts x 5 seeds, 3 reporting seeds, the
default search's 270 s and 2 workers; about 40 minutes on 2 free cores). A reduced run (about 8
minutes; results in ``benchmarks/results/fabric/``)::

    python benchmarks/bench_fabric.py --tune-seeds 0 --tune-epochs 15,25 \\
        --seeds 1000 --chain-workers 1 --out-dir benchmarks/results/fabric/run1
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nasforge as nf
from nasforge import defaults
from nasforge.estimate.checkpoint import load_weights
from nasforge.estimate.train import TrainEvaluator
from nasforge.models.supernet import build_supernet
from nasforge.oneshot.sampling import score
from nasforge.trial import EvalContext


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def fabric(args: argparse.Namespace, channels: int) -> Any:
    return nf.spaces.create("fabric", layers=args.layers, scales=args.scales, channels=channels)


def train(task: Any, space: Any, arch: Any, epochs: int, seed: int,
          keep: str | None = None) -> dict[str, Any]:
    """Train ``arch`` from scratch; ``keep``: a directory to leave the trained weights in."""
    ev = TrainEvaluator(task, space=space, epochs=epochs, threads=1, latency_repeats=0, device="cpu",
                        **defaults.TRAINING)
    started = time.perf_counter()
    m = ev.evaluate(arch, EvalContext(seed=seed, checkpoint_dir=keep))
    return {"valid_acc": m["valid_acc"], "test_acc": m["test_acc"], "params": m.get("params"),
            "seconds": time.perf_counter() - started}


def score_paths(task: Any, space: Any, weights_dir: str) -> list[dict[str, Any]]:
    """Every path's validation accuracy with the trained whole fabric's weights, best first."""
    net = build_supernet(space, tuple(task.input_shape), int(task.num_classes))
    state, _ = load_weights(weights_dir)
    own = net.state_dict()
    net.load_state_dict({k: state[k] for k in own})  # the supernet keeps no BN running statistics
    x_train = torch.as_tensor(np.asarray(task.x_train), dtype=torch.float32)
    x_valid = torch.as_tensor(np.asarray(task.x_valid), dtype=torch.float32)
    y_valid = torch.as_tensor(np.asarray(task.y_valid), dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    x_calib = x_train[torch.randperm(len(x_train), generator=gen)]
    out = []
    for arch in space.paths():
        m = score(net, space, arch, x_calib, x_valid, y_valid, calib_batches=4, batch_size=128)
        out.append({"genes": arch.genes, "valid_acc": m["valid_acc"]})
    out.sort(key=lambda r: -r["valid_acc"])
    return out


def chain_default(task: Any, args: argparse.Namespace, seed: int, store: str) -> dict[str, Any]:
    """The default search (``nasforge.defaults.SEARCH``) with the given time limit and workers."""
    s = defaults.SEARCH
    space = nf.spaces.create("chain", **s["space_opt"])
    strategy = nf.strategies.create(s["strategy"], **s["strategy_opt"])
    ev = TrainEvaluator(task, space=space, epochs=int(s["epochs"]), threads=1, latency_repeats=0,
                        device="cpu", **s["evaluator_opt"])
    study = nf.Study.create(store=store, name=f"chain-{seed}", space=space, strategy=strategy, evaluator=ev,
                            seed=seed)
    started = time.perf_counter()
    study.optimize(n_trials=int(s["trials"]), timeout=args.chain_time_limit, workers=args.chain_workers,
                   show_progress=False)
    seconds = time.perf_counter() - started
    best = study.best_trial
    done = [t for t in study.trials if t.value is not None]
    return {"valid_acc": best.metrics["valid_acc"], "test_acc": best.metrics["test_acc"],
            "trials": len(done), "seconds": seconds, "genes": best.architecture.genes}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--scales", type=int, default=4)
    p.add_argument("--tune-channels", default="8,16")
    p.add_argument("--tune-epochs", default="15,30")
    p.add_argument("--tune-seeds", default="0,1,2,3,4")
    p.add_argument("--seeds", default="1000,1001,1002")
    p.add_argument("--setting", default=None, metavar="CHANNELS,EPOCHS",
                   help="skip the tuning and use this setting (one an earlier run's tuning kept)")
    p.add_argument("--chain-time-limit", type=float, default=float(defaults.SEARCH["time_limit"]))
    p.add_argument("--chain-workers", type=int, default=int(defaults.SEARCH["workers"]))
    p.add_argument("--out-dir", default=None, help="write summary.md and results.json here")
    args = p.parse_args()
    torch.set_num_threads(1)
    task = nf.data.load("mnist1d")
    began = time.perf_counter()
    records: dict[str, Any] = {"args": vars(args), "tuning": [], "seeds": {}}

    # 1. tuning on validation figures only
    settings = [(c, e) for c in ints(args.tune_channels) for e in ints(args.tune_epochs)]
    if args.setting:
        settings = [tuple(ints(args.setting))]  # type: ignore[list-item]
        args.tune_seeds = ""
    means = {}
    for channels, epochs in settings:
        space = fabric(args, channels)
        vals = []
        for seed in ints(args.tune_seeds):
            r = train(task, space, space.full(), epochs, seed)
            records["tuning"].append({"channels": channels, "epochs": epochs, "seed": seed,
                                      "valid_acc": r["valid_acc"], "seconds": r["seconds"]})
            vals.append(r["valid_acc"])
            print(json.dumps(records["tuning"][-1]), flush=True)
        means[(channels, epochs)] = statistics.fmean(vals) if vals else float("nan")
    channels, epochs = max(settings, key=lambda s: (means[s], -s[0], -s[1]))  # ties: the cheaper
    records["chosen"] = {"channels": channels, "epochs": epochs, "mean_valid_acc": means[(channels, epochs)]}
    space = fabric(args, channels)

    # 2. reporting seeds
    with tempfile.TemporaryDirectory() as tmp:
        for seed in ints(args.seeds):
            keep = str(Path(tmp) / f"fabric-{seed}")
            whole = train(task, space, space.full(), epochs, seed, keep=keep)
            t0 = time.perf_counter()
            ranked = score_paths(task, space, keep)
            scoring_s = time.perf_counter() - t0
            best_path = nf.space.Architecture("fabric", ranked[0]["genes"])
            path = train(task, space, best_path, epochs, seed)
            path.update(scoring_s=scoring_s, shared_valid_acc=ranked[0]["valid_acc"],
                        genes=ranked[0]["genes"], paths_scored=len(ranked),
                        worst_shared_valid_acc=ranked[-1]["valid_acc"])
            chain = chain_default(task, args, seed, str(Path(tmp) / "store"))
            records["seeds"][seed] = {"fabric": whole, "path": path, "chain": chain}
            print(json.dumps({"seed": seed, **records["seeds"][seed]}), flush=True)
    records["total_s"] = time.perf_counter() - began
    text = summary(records, task, space, epochs)
    print(text)
    if args.out_dir:
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.md").write_text(text + "\n")
        (out / "results.json").write_text(json.dumps(records, indent=1, default=str) + "\n")


def summary(records: dict[str, Any], task: Any, space: Any, epochs: int) -> str:
    a = records["args"]
    lines = [
        "# bench_fabric: convolutional neural fabric on MNIST-1D",
        "",
        f"MNIST-1D {len(task.y_train)} train / {len(task.y_valid)} valid / {len(task.y_test)} test; fabric "
        f"layers={a['layers']} scales={a['scales']}; recipe {defaults.TRAINING}; torch threads 1; chain "
        f"default search {a['chain_time_limit']:.0f} s, {a['chain_workers']} worker(s); total "
        f"{records['total_s']:.0f} s.",
        "",
        "## Tuning (validation accuracy of the whole fabric, seeds " + (a["tune_seeds"] or "none: --setting")
        + ")",
        "",
        "| channels | epochs | seed | valid acc | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['channels']} | {r['epochs']} | {r['seed']} | {r['valid_acc']:.4f} | {r['seconds']:.0f} |"
              for r in records["tuning"]]
    c = records["chosen"]
    lines += ["", f"Kept: channels={c['channels']}, epochs={c['epochs']} "
              f"(mean valid {c['mean_valid_acc']:.4f}); "
              f"{space.size():.0f} flat genotypes, {len(space.edges())} band edges, "
              f"{len(space.paths())} paths.", "",
              "## Reporting seeds (test accuracy; selection by validation only)", "",
              "| seed | method | test acc | valid acc | d acc vs chain (pp) | seconds | time / chain |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for seed, rec in records["seeds"].items():
        base = rec["chain"]
        for name in ("fabric", "path", "chain"):
            r = rec[name]
            secs = r["seconds"] + r.get("scoring_s", 0.0)
            lines.append(f"| {seed} | {name} | {r['test_acc']:.4f} | {r['valid_acc']:.4f} | "
                         f"{100 * (r['test_acc'] - base['test_acc']):+.2f} | {secs:.0f} | "
                         f"{secs / base['seconds']:.2f} |")
    fab = [rec["fabric"]["test_acc"] for rec in records["seeds"].values()]
    lines += ["", f"Bar (whole fabric >= 97% test): mean {statistics.fmean(fab):.4f} "
              f"[{min(fab):.4f} .. {max(fab):.4f}] -> {'met' if min(fab) >= 0.97 else 'missed'}.", ""]
    for seed, rec in records["seeds"].items():
        pth = rec["path"]
        lines.append(f"- seed {seed}: best path by shared weights {pth['genes']['edges']} "
                     f"(shared-weight valid {pth['shared_valid_acc']:.4f}, "
                     f"worst path {pth['worst_shared_valid_acc']:.4f}, "
                     f"{pth['paths_scored']} paths scored in {pth['scoring_s']:.0f} s); chain best of "
                     f"{rec['chain']['trials']} trials.")
    lines += ["", "`path` seconds include scoring every path with the fabric's weights but not the fabric's "
              "own training (listed in its row)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
