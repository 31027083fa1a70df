"""One-shot search vs black-box search with full training, MNIST-1D, edge-cell space, one run, same cores.

Methods (each on every seed):

* ``re``: regularized evolution, every candidate trained from scratch (``--re-trials`` x ``--epochs``);
  its result is the test accuracy of the trial with the best *validation* accuracy.
* ``darts1`` / ``darts2``: DARTS first / second order, ``--supernet-epochs`` epochs on the halved
  training split, discretised, then the derived cell retrained from scratch for ``--epochs`` epochs.
* ``darts1cap`` / ``darts2cap``: the same with the anti-collapse cap ``max_param_free`` (at most
  ``--max-param-free`` parameter-free ops in the derived cell; not in the default list).
* ``darts1guard`` / ``darts2guard``: the cap plus ``--darts-warmup`` warm-up epochs (weights only, no
  alpha updates) and alpha's Adam at ``--darts-guard-alpha-lr``: the anti-collapse setting chosen on
  tuning seeds 0-2 by the retrained cell's *validation* accuracy (``docs/oneshot.md``).
* ``spos``: SPOS supernet (``--supernet-epochs``), regularized evolution on the supernet
  (``--spos-queries`` queries scored by shared weights after BN recalibration), best retrained.
* ``smash``: SMASH hypernetwork (``--smash-epochs``, one random architecture per batch), then
  ``--smash-queries`` random architectures scored with generated weights and ``--smash-perturb``
  mutations of the best, best retrained.
* ``enas``: ENAS (``--supernet-epochs`` epochs on the halved training split, alternating shared-weight
  training on controller-sampled paths and ``--enas-controller-steps`` REINFORCE steps per epoch), then
  ``--enas-samples`` genotypes sampled from the controller scored by shared weights, best retrained;
  ``enascap``: the same, passing over picks with more than ``--max-param-free`` parameter-free ops
  (not in the default list).

Search wall time: RE's whole loop; a one-shot method's supernet training + derivation (+ RE on the
supernet for SPOS, random search + perturbation for SMASH, controller training and scoring its samples
for ENAS); the final retraining is printed apart (``retrain s``) as RE's best is not retrained.
Ratios per seed (``acc - RE acc`` in points, ``search time / RE search time``), then mean and spread
(min..max) over the seeds. Selection uses the validation split only; test accuracy is reported.

Defaults are the issue's protocol (3 seeds 1000-1002, RE 50 x 8 epochs, supernets 10 epochs, cell
of 4 nodes, 8 channels, 1 cell per stage; about 2 hours on 2 cores). A reduced run::

    python benchmarks/bench_oneshot.py --seeds 1000,1001 --re-trials 8 --epochs 3 \\
        --supernet-epochs 3 --spos-queries 40 --out benchmarks/results/bench_oneshot.txt
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch

import nasforge as nf
from nasforge import spaces, strategies
from nasforge.estimate.train import TrainEvaluator
from nasforge.oneshot.darts import Darts
from nasforge.oneshot.derive import param_free_share
from nasforge.oneshot.sampling import Spos, search_on_supernet
from nasforge.space.architecture import Architecture
from nasforge.study.driver import derive_seed
from nasforge.trial import EvalContext, Trial, TrialState


def train(ev: TrainEvaluator, arch: Architecture, seed: int) -> dict[str, Any]:
    return ev.evaluate(arch, EvalContext(seed=seed))


def run_re(space: Any, ev: TrainEvaluator, trials: int, seed: int) -> dict[str, Any]:
    population = max(2, min(20, trials // 2))
    strat = strategies.create("regularized-evolution", population=population,
                              sample=min(5, population)).setup(space, seed)
    started = time.perf_counter()
    best: tuple[float, float, Any] | None = None
    for n in range(trials):
        cand = strat.ask()
        m = train(ev, cand.architecture, derive_seed(seed, n))
        strat.tell(Trial(number=n, architecture=cand.architecture, state=TrialState.COMPLETE,
                         value=m["valid_acc"], metrics=m))
        if best is None or m["valid_acc"] > best[0]:
            best = (m["valid_acc"], m["test_acc"], cand.architecture)
    assert best is not None
    return {"search_s": time.perf_counter() - started, "valid_acc": best[0], "test_acc": best[1],
            "retrain_s": 0.0, "genes": best[2].genes}


def run_oneshot(method: str, space: Any, task: Any, ev: TrainEvaluator, args: argparse.Namespace,
                seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    common = {"epochs": args.supernet_epochs, "batch_size": args.batch_size, "seed": seed,
              "device": args.device}
    if method.startswith("darts"):
        common["epochs"] = args.darts_epochs or args.supernet_epochs
        guard = method.endswith("guard")
        cap = args.max_param_free if method.endswith(("cap", "guard")) else None
        extra = {"warmup_epochs": args.darts_warmup, "alpha_lr": args.darts_guard_alpha_lr} if guard else {}
        search = Darts(space, task, order=int(method[5]), max_param_free=cap, **extra, **common).run()
        arch = search.derived()
    else:
        search = Spos(space, task, **common).run()
        top = search_on_supernet(search, "regularized-evolution", args.spos_queries, 1, seed=seed)
        arch = Architecture(space.name, top[0]["genes"])
    return retrained(ev, space, arch, seed, started)


def retrained(ev: TrainEvaluator, space: Any, arch: Architecture, seed: int, started: float,
              **extra: Any) -> dict[str, Any]:
    """A method's result: its search time (since ``started``), then ``arch`` retrained from scratch."""
    search_s = time.perf_counter() - started
    t0 = time.perf_counter()
    m = train(ev, arch, derive_seed(seed, 0))
    return {"search_s": search_s, "valid_acc": m["valid_acc"], "test_acc": m["test_acc"],
            "retrain_s": time.perf_counter() - t0, "genes": arch.genes,
            "param_free_share": param_free_share(space, arch), **extra}


def run_smash(space: Any, task: Any, ev: TrainEvaluator, args: argparse.Namespace,
              seed: int) -> dict[str, Any]:
    """SMASH: hypernetwork training, random search + perturbation with generated weights, best retrained."""
    from nasforge.oneshot.smash import Smash, smash_search

    started = time.perf_counter()
    search = Smash(space, task, epochs=args.smash_epochs, batch_size=args.batch_size, seed=seed,
                   device=args.device).run()
    top = smash_search(search, args.smash_queries, args.smash_perturb, 1, seed=seed)
    arch = Architecture(space.name, top[0]["genes"])
    return retrained(ev, space, arch, seed, started, smash_score=top[0]["valid_acc"])


def run_enas(space: Any, task: Any, ev: TrainEvaluator, args: argparse.Namespace, seed: int,
             cap: bool = False) -> dict[str, Any]:
    """ENAS: controller + shared weights, ``--enas-samples`` controller samples scored, best retrained
    (``cap``: at most ``--max-param-free`` parameter-free ops in the pick)."""
    from nasforge.oneshot.enas import Enas

    started = time.perf_counter()
    search = Enas(space, task, epochs=args.supernet_epochs, batch_size=args.batch_size, seed=seed,
                  device=args.device, controller_steps=args.enas_controller_steps,
                  reward_batch=args.enas_reward_batch, reward_split=args.enas_reward_split).run()
    top = search.candidates(samples=args.enas_samples, top_k=1,
                            max_param_free=args.max_param_free if cap else None)
    arch = Architecture(space.name, top[0]["genes"])
    return retrained(ev, space, arch, seed, started, supernet_valid_acc=top[0]["valid_acc"],
                     controller=search.record()["controller_history"])


#: methods with their own runner ``(space, task, ev, args, seed) -> result``
RUNNERS: dict[str, Any] = {"smash": run_smash, "enas": run_enas,
                           "enascap": lambda *a: run_enas(*a, cap=True)}
#: accuracy bars (pp below RE's best) other than issue 12's 1 pp: issue 13's 1.5 pp for SMASH and ENAS
ACC_BARS: dict[str, float] = {"smash": 1.5, "enas": 1.5, "enascap": 1.5}


def spread(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    return f"{format(mean, fmt)} [{format(min(values), fmt)} .. {format(max(values), fmt)}]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1000,1001,1002")
    p.add_argument("--methods", default="re,darts1,darts2,spos,smash,enas")
    p.add_argument("--re-trials", type=int, default=50)
    p.add_argument("--epochs", type=int, default=8,
                   help="stand-alone training epochs (RE trials, retraining)")
    p.add_argument("--supernet-epochs", type=int, default=10)
    p.add_argument("--spos-queries", type=int, default=100)
    p.add_argument("--smash-epochs", type=int, default=40,
                   help="SMASH hypernetwork epochs (40 beat 20 on seeds 0-1, validation accuracy)")
    p.add_argument("--smash-queries", type=int, default=100)
    p.add_argument("--smash-perturb", type=int, default=20)
    p.add_argument("--enas-controller-steps", type=int, default=24, help="ENAS controller steps per epoch")
    p.add_argument("--enas-samples", type=int, default=30, help="controller samples ENAS scores at the end")
    p.add_argument("--enas-reward-batch", type=int, default=64, help="samples per ENAS reward")
    p.add_argument("--enas-reward-split", default="valid", choices=("half", "valid"),
                   help="ENAS rewards from the other half of the training split or the validation split")
    p.add_argument("--max-param-free", type=int, default=2,
                   help="cap on parameter-free ops in the cells of the darts*cap methods")
    p.add_argument("--darts-epochs", type=int, default=None,
                   help="DARTS supernet epochs (default: --supernet-epochs)")
    p.add_argument("--darts-warmup", type=int, default=5,
                   help="warm-up epochs (no alpha updates) of the darts*guard methods")
    p.add_argument("--darts-guard-alpha-lr", type=float, default=3e-3,
                   help="alpha's Adam learning rate in the darts*guard methods (the paper: 3e-4)")
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells-per-stage", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="also write the report to this file")
    args = p.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    task = nf.data.load("mnist1d")
    space = spaces.create("edge-cell", nodes=args.nodes, channels=args.channels,
                          cells_per_stage=args.cells_per_stage)
    ev = TrainEvaluator(task, space=space, epochs=args.epochs, batch_size=args.batch_size, latency_repeats=0,
                        device=args.device)
    lines = [f"bench_oneshot: MNIST-1D ({len(task.y_train)} train / {len(task.y_valid)} valid / "
             f"{len(task.y_test)} test), edge-cell nodes={args.nodes} channels={args.channels} "
             f"cells_per_stage={args.cells_per_stage}; RE {args.re_trials} x {args.epochs} epochs; supernets "
             f"{args.supernet_epochs} epochs (DARTS {args.darts_epochs or args.supernet_epochs}, guard: cap "
             f"{args.max_param_free} param-free, warm-up {args.darts_warmup}, alpha lr "
             f"{args.darts_guard_alpha_lr:g}); SPOS + RE {args.spos_queries} queries; "
             f"SMASH {args.smash_epochs} epochs, {args.smash_queries} queries + {args.smash_perturb} "
             f"perturbations; ENAS "
             f"{args.enas_controller_steps} controller steps/epoch of {args.enas_reward_batch} "
             f"({args.enas_reward_split}), {args.enas_samples} samples; "
             f"retrain {args.epochs} epochs; seeds {seeds}; torch threads 1"]
    results: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in methods}
    for seed in seeds:
        for method in methods:
            if method in RUNNERS:
                r = RUNNERS[method](space, task, ev, args, seed)
            else:
                r = (run_re(space, ev, args.re_trials, seed) if method == "re"
                     else run_oneshot(method, space, task, ev, args, seed))
            results[method][seed] = r
            print(json.dumps({"seed": seed, "method": method, **r}), flush=True)
    lines.append("")
    lines.append(f"{'method':11} {'seed':>5} {'test acc':>9} {'valid acc':>9} {'search s':>9} "
                 f"{'retrain s':>9} {'d acc (pp)':>10} {'time ratio':>10}  param-free")
    for method in methods:
        for seed in seeds:
            r = results[method][seed]
            base = results.get("re", {}).get(seed)
            dacc = 100 * (r["test_acc"] - base["test_acc"]) if base else float("nan")
            ratio = r["search_s"] / base["search_s"] if base else float("nan")
            lines.append(f"{method:11} {seed:>5} {r['test_acc']:9.4f} {r['valid_acc']:9.4f} "
                         f"{r['search_s']:9.1f} {r['retrain_s']:9.1f} {dacc:10.2f} {ratio:10.3f}  "
                         f"{r.get('param_free_share', float('nan')):.2f}")
    if "re" in results:
        lines.append("")
        lines.append("over seeds: mean [min .. max]; bar: d acc >= -1 pp (SMASH, ENAS: -1.5 pp) at time "
                     "ratio <= 0.2 (goal 0.1)")
        for method in methods:
            if method == "re":
                continue
            dacc = [100 * (results[method][s]["test_acc"] - results["re"][s]["test_acc"]) for s in seeds]
            ratio = [results[method][s]["search_s"] / results["re"][s]["search_s"] for s in seeds]
            ok = statistics.fmean(dacc) >= -ACC_BARS.get(method, 1.0) and statistics.fmean(ratio) <= 0.2
            lines.append(f"{method:11} d acc (pp) {spread(dacc, '+.2f')}   "
                         f"search time / RE {spread(ratio, '.3f')}   bar {'met' if ok else 'missed'}")
        lines.append(f"re       test acc {spread([results['re'][s]['test_acc'] for s in seeds], '.4f')}   "
                     f"search s {spread([results['re'][s]['search_s'] for s in seeds], '.1f')}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
