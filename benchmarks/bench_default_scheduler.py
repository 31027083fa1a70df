"""The built-in default with and without a scheduler: time until its pick reaches 99% test, same run.

    python benchmarks/bench_default_scheduler.py [--seeds 1000,1001] [--target 0.99] [--time-limit 270]

Per seed, two searches with everything else the built-in default's (MNIST-1D, chain space,
regularized evolution, 15 epochs, 2 workers, its time limit):

* ``default``: today's ``nasforge search`` (40 trials, every trial the full 15 epochs);
* ``hyperband``: the same with ``--scheduler hyperband`` (budgets 1..15, eta 3), allowed as many trials
  as fit in the time limit.

The figure is the time from the search's start until the best-by-validation *complete* (full-budget)
trial first has test accuracy >= ``--target``, and its ratio hyperband / default (``inf``: never within
the time limit). The test split only reports; nothing is selected on it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def time_to_target(study: Any, t0: float, target: float, max_budget: float) -> float:
    """Seconds after ``t0`` when the best-by-validation complete trial (the project's one selection
    rule, :func:`nasforge.selection.best_trial`) first had test acc >= target."""
    from nasforge.selection import best_trial
    from nasforge.trial import TrialState

    done = [t for t in study.trials if t.state is TrialState.COMPLETE and t.completed_at is not None
            and (t.budget is None or float(t.budget) >= max_budget - 1e-9)]
    done.sort(key=lambda t: t.completed_at)
    for i, t in enumerate(done):
        best = best_trial(done[: i + 1], value=lambda u: u.metrics["valid_acc"])
        if best is not None and best.metrics.get("test_acc", 0.0) >= target - 1e-12:
            return t.completed_at - t0
    return math.inf


def search(tmp: Path, name: str, seed: int, scheduler: str | None, time_limit: float) -> tuple[Any, float]:
    import nasforge as nf
    from nasforge import defaults
    from nasforge.estimate import TrainEvaluator

    d = defaults.SEARCH
    space = nf.spaces.create("chain", input_kind="1d", **defaults.CHAIN_SPACE)
    ev = TrainEvaluator(d["task"], space=space, epochs=d["epochs"], **defaults.TRAINING)
    sched = None if scheduler is None else nf.schedulers.create(scheduler, min_budget=1,
                                                                  max_budget=d["epochs"], eta=3)
    study = nf.Study.create(store=tmp / "b.db", name=name, space=space,
                            strategy=nf.strategies.create(d["strategy"], **d["strategy_opt"]),
                            evaluator=ev, seed=seed, scheduler=sched)
    t0 = time.time()
    study.optimize(n_trials=d["trials"] if scheduler is None else 10 * d["trials"], timeout=time_limit,
                   workers=d["workers"], show_progress=False)
    return study, t0


def main() -> None:
    from nasforge import defaults

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1000,1001")
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--time-limit", type=float, default=defaults.SEARCH["time_limit"])
    p.add_argument("--out", default="benchmarks/results/bench_default_scheduler.txt")
    args = p.parse_args()
    epochs = float(defaults.SEARCH["epochs"])
    lines = [f"bench_default_scheduler: seeds {args.seeds}, target test {args.target}, time limit "
             f"{args.time_limit:g} s, 2 workers"]
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            times = {}
            for name, sched in (("default", None), ("hyperband", "hyperband")):
                study, t0 = search(Path(tmp), f"{name}-{seed}", seed, sched, args.time_limit)
                times[name] = time_to_target(study, t0, args.target, epochs)
                best = study.best_trial
                lines.append(f"seed {seed} {name}: {len(study.trials)} trials, time to {args.target:g} test "
                             f"{times[name]:.0f} s; final pick valid {best.metrics['valid_acc']:.4f} test "
                             f"{best.metrics['test_acc']:.4f}")
                print(lines[-1], flush=True)
            base = times["default"]
            ratios.append(times["hyperband"] / base if math.isfinite(base) else math.nan)
            lines.append(f"seed {seed}: hyperband / default time to target {ratios[-1]:.2f}")
            print(lines[-1], flush=True)
    finite = [r for r in ratios if not math.isnan(r)]
    if finite:
        lines.append(f"ratio hyperband / default: median {statistics.median(finite):.2f} "
                     f"(per seed {', '.join(f'{r:.2f}' for r in ratios)})")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
