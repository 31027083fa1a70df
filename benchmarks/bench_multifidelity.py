"""Multi-fidelity against full budgets on MNIST-1D (chain space), same cores, one run.

    python benchmarks/bench_multifidelity.py [--seeds 5] [--epochs 15] [--trials 40] [--hb-trials 60]
        [--asha-seconds 300] [--out benchmarks/results/bench_multifidelity.txt]

Per seed: regularized evolution with every trial at ``--epochs`` (``--trials`` trials) is the baseline;
its final best-by-validation trial's *test* accuracy is the target (reported, never used to select).
Hyperband and BOHB (max budget ``--epochs``, eta 3, ``--hb-trials`` trials) are then measured by the
training epochs and the wall time they spent until their best-by-validation trial first reached that
test accuracy, as ratios to RE's total epochs and wall time (``inf``: never reached). Then ASHA with 2
process workers runs ``--asha-seconds`` and the fraction of wall time both workers were busy is
printed. The defaults are the issue's protocol (5 seeds, 15 epochs).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def parts(epochs: int) -> tuple[Any, Any]:
    from nasforge import defaults, spaces
    from nasforge.estimate import TrainEvaluator

    space = spaces.create("chain", input_kind="1d", **defaults.CHAIN_SPACE)
    ev = TrainEvaluator(defaults.SEARCH["task"], space=space, epochs=epochs, threads=1, latency_repeats=0,
                        **defaults.TRAINING)
    ev.prepare()
    return space, ev


def run(store: Path, name: str, strategy: Any, scheduler: Any, epochs: int, trials: int, seed: int,
        workers: int = 1, timeout: float | None = None) -> tuple[Any, float]:
    import nasforge as nf

    space, ev = parts(epochs)
    study = nf.Study.create(store=store, name=name, space=space, strategy=strategy, evaluator=ev, seed=seed,
                            scheduler=scheduler)
    started = time.perf_counter()
    study.optimize(n_trials=trials, timeout=timeout, workers=workers, show_progress=False)
    return study, time.perf_counter() - started


def trained_epochs(trial: Any) -> int:
    return len(trial.intermediate)


def time_to_target(study: Any, target: float) -> tuple[float, float]:
    """``(epochs, seconds)`` spent when the best-by-validation trial first had test acc >= target."""
    events = sorted((t.completed_at, t) for t in study.trials if t.completed_at and t.value is not None)
    start = min(t.started_at for t in study.trials if t.started_at)
    best, epochs = None, 0
    for _, t in events:
        epochs += trained_epochs(t)
        if best is None or t.value > best.value:
            best = t
        if best.metrics.get("test_acc", 0) >= target - 1e-12:
            return float(epochs), float(t.completed_at - start)
    return float("inf"), float("inf")


def busy_fraction(study: Any, wall: float, workers: int) -> float:
    """A lower bound: the training seconds of each trial's last segment, over ``wall * workers``."""
    busy = sum(float(t.metrics.get("train_seconds") or 0.0) for t in study.trials)
    return busy / (wall * workers)


def main() -> None:
    import nasforge as nf

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--hb-trials", type=int, default=60)
    p.add_argument("--asha-seconds", type=float, default=300.0)
    p.add_argument("--out", default="benchmarks/results/bench_multifidelity.txt")
    args = p.parse_args()
    lines = [f"bench_multifidelity: seeds {args.first_seed}..{args.first_seed + args.seeds - 1}, "
             f"epochs {args.epochs}, RE trials {args.trials}, HB/BOHB trials {args.hb_trials}"]
    ratios: dict[str, list[tuple[float, float]]] = {"hyperband": [], "bohb": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "b.db"
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            re, re_wall = run(store, f"re-{seed}", nf.strategies.create("regularized-evolution"), None,
                              args.epochs, args.trials, seed)
            best = re.best_trial
            target = best.metrics["test_acc"]
            re_epochs = sum(trained_epochs(t) for t in re.trials)
            lines.append(f"seed {seed}: RE best valid {best.metrics['valid_acc']:.4f} test {target:.4f}, "
                         f"{re_epochs} epochs, {re_wall:.0f} s")
            for name in ("hyperband", "bohb"):
                sched = nf.schedulers.create(name, min_budget=1, max_budget=args.epochs, eta=3)
                study, wall = run(store, f"{name}-{seed}", nf.strategies.create("random"), sched, args.epochs,
                                  args.hb_trials, seed)
                e, s = time_to_target(study, target)
                ratios[name].append((e / re_epochs, s / re_wall))
                lines.append(f"  {name}: epochs to RE's test acc {e:g} ({e / re_epochs:.2f} of RE), "
                             f"time {s:.0f} s ({s / re_wall:.2f} of RE); best test "
                             f"{study.best_trial.metrics['test_acc']:.4f}; total {wall:.0f} s")
            print("\n".join(lines[-3:]), flush=True)
        for name, rs in ratios.items():
            ep = [r[0] for r in rs]
            wt = [r[1] for r in rs]
            lines.append(f"{name}: epoch ratio median {statistics.median(ep):.2f} (min {min(ep):.2f}, max "
                         f"{max(ep):.2f}); wall ratio median {statistics.median(wt):.2f} (min {min(wt):.2f}, "
                         f"max {max(wt):.2f})")
        sched = nf.schedulers.create("asha", min_budget=1, max_budget=args.epochs, eta=3)
        study, wall = run(store, "asha", nf.strategies.create("random"), sched, args.epochs, 10_000,
                          args.first_seed, workers=2, timeout=args.asha_seconds)
        busy = busy_fraction(study, wall, 2)
        lines.append(f"asha, 2 process workers, {wall:.0f} s: both busy >= {busy:.1%} "
                     f"of the wall time ({len(study.trials)} trials)")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
