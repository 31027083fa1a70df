"""Multi-fidelity against full budgets on MNIST-1D (chain space), same cores, one run.

    python benchmarks/bench_multifidelity.py [--seeds 5] [--first-seed 1000] [--epochs 15] [--trials 40]
        [--hb-trials 60] [--cap 1.0] [--asha-seconds 300] [--skip-asha] [--skip-search]
        [--out benchmarks/results/bench_multifidelity.txt]

Per seed: regularized evolution with every trial at ``--epochs`` (``--trials`` trials) is the baseline;
its final best-by-validation trial's *test* accuracy is the target (reported, never used to select).
Hyperband and BOHB (max budget ``--epochs``, eta 3, random proposals for Hyperband, at most
``--hb-trials`` trials) are then measured by the training epochs and the wall time they had spent when
their best-by-validation complete trial first reached that test accuracy, as ratios to RE's total epochs
and wall time (``inf``: never reached). A search stops once it reached the target, or ``--cap`` times
RE's wall time after it started (no new trials after that), so a miss costs at most that.

Every evaluation segment (a new trial, or a promotion continuing one) is logged by the evaluator itself
(worker pid, start and end time, epochs trained, validation / test metrics at its end), so epochs and
times are counted when they were spent, not when a promoted trial finished.

Then ASHA (promotion variant) with 2 process workers runs ``--asha-seconds``; from the logged segments
it prints each worker's busy fraction of (a) the whole wall time of ``optimize`` (worker start-up and the
drain after the deadline included) and (b) the steady window from the first segment's start to the
deadline. The defaults are the issue's protocol (5 seeds, 15 epochs, 40 RE trials).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nasforge.estimate import TrainEvaluator
from nasforge.study.progress import Progress


class LoggedTrain(TrainEvaluator):
    """The training evaluator, appending one JSON line per evaluation segment to ``log_path``."""

    log_path: str = ""

    def evaluate(self, architecture: Any, context: Any = None, reporter: Any = None) -> dict[str, Any]:
        start = time.time()
        counted = {"epochs": 0}
        inner = reporter

        class Counting:
            def report(self, step: float, metrics: dict[str, float]) -> bool:
                counted["epochs"] += 1
                return True if inner is None else bool(inner.report(step, metrics))

        metrics = super().evaluate(architecture, context, Counting())
        row = {"pid": os.getpid(), "number": getattr(context, "trial_number", None), "start": start,
               "end": time.time(), "trained": counted["epochs"], "epochs": metrics.get("epochs"),
               **{k: metrics.get(k) for k in ("valid_acc", "valid_loss", "test_acc", "params")}}
        with open(self.log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        return metrics


class StopAtTarget(Progress):
    """A progress sink that ends the search (as Ctrl-C would) once the best complete trial by validation
    has reached ``target`` test accuracy; the log is complete by then, so nothing is lost."""

    def __init__(self, log: Path, target: float | None, max_budget: float) -> None:
        self.log, self.target, self.max_budget = log, target, max_budget

    def trial_finished(self, number: int) -> None:
        if self.target is not None and math.isfinite(
                time_to_target(read(self.log), 0.0, self.target, self.max_budget)[0]):
            raise KeyboardInterrupt


def read(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return sorted((json.loads(line) for line in log.read_text().splitlines() if line), key=lambda r: r["end"])


def parts(epochs: int, log: Path) -> tuple[Any, Any]:
    from nasforge import defaults, spaces

    space = spaces.create("chain", input_kind="1d", **defaults.CHAIN_SPACE)
    ev = LoggedTrain(defaults.SEARCH["task"], space=space, epochs=epochs, threads=1, latency_repeats=0,
                     **defaults.TRAINING)
    ev.log_path = str(log)
    ev.prepare()
    return space, ev


def run(tmp: Path, name: str, strategy: Any, scheduler: Any, epochs: int, trials: int, seed: int,
        workers: int = 1, timeout: float | None = None, target: float | None = None
        ) -> tuple[Any, float, float, list[dict[str, Any]]]:
    """``(study, wall seconds, start time, logged segments)`` of one search."""
    import nasforge as nf

    log = tmp / f"{name}.jsonl"
    space, ev = parts(epochs, log)
    study = nf.Study.create(store=tmp / "b.db", name=name, space=space, strategy=strategy, evaluator=ev,
                            seed=seed, scheduler=scheduler)
    t0, started = time.time(), time.perf_counter()
    study.optimize(n_trials=trials, timeout=timeout, workers=workers, show_progress=False,
                   progress=StopAtTarget(log, target, epochs))
    return study, time.perf_counter() - started, t0, read(log)


def better(a: dict[str, Any], b: dict[str, Any] | None) -> bool:
    """Whether segment ``a`` beats ``b`` by the selection rule (valid acc, then valid loss, params)."""
    if b is None:
        return True
    return (-a["valid_acc"], a["valid_loss"], a["params"]) < (-b["valid_acc"], b["valid_loss"], b["params"])


def time_to_target(events: list[dict[str, Any]], t0: float, target: float, max_budget: float
                   ) -> tuple[float, float]:
    """``(epochs, seconds)`` spent when the best complete (max-budget) segment by validation first had
    test acc >= ``target``; epochs of every segment that ended by then count. ``inf`` if never."""
    best, epochs = None, 0
    for e in events:
        epochs += e["trained"]
        if e["epochs"] is not None and e["epochs"] >= max_budget - 1e-9 and better(e, best):
            best = e
        if best is not None and best["test_acc"] >= target - 1e-12:
            return float(epochs), float(e["end"] - t0)
    return math.inf, math.inf


def busy(events: list[dict[str, Any]], t0: float, t1: float) -> dict[int, float]:
    """Per worker pid: the fraction of ``[t0, t1]`` spent inside ``evaluate``."""
    out: dict[int, float] = {}
    for e in events:
        s, f = max(e["start"], t0), min(e["end"], t1)
        out[e["pid"]] = out.get(e["pid"], 0.0) + max(0.0, f - s)
    return {pid: v / (t1 - t0) for pid, v in out.items()}


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}; "
            f"per seed {', '.join(f'{v:.2f}' for v in values)})")


def search_part(args: argparse.Namespace, tmp: Path, lines: list[str], out: dict[str, Any]) -> None:
    import nasforge as nf

    ratios: dict[str, list[tuple[float, float]]] = {"hyperband": [], "bohb": []}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        re, re_wall, _, re_events = run(tmp, f"re-{seed}", nf.strategies.create("regularized-evolution"),
                                        None, args.epochs, args.trials, seed)
        best = re.best_trial
        target = float(best.metrics["test_acc"])
        re_epochs = sum(e["trained"] for e in re_events)
        row: dict[str, Any] = {"seed": seed, "re": {"valid": best.metrics["valid_acc"], "test": target,
                                                    "epochs": re_epochs, "wall": re_wall}}
        lines.append(f"seed {seed}: RE best valid {best.metrics['valid_acc']:.4f} test {target:.4f}, "
                     f"{re_epochs} epochs, {re_wall:.0f} s")
        for name in ("hyperband", "bohb"):
            sched = nf.schedulers.create(name, min_budget=1, max_budget=args.epochs, eta=3)
            study, wall, t0, events = run(tmp, f"{name}-{seed}", nf.strategies.create("random"), sched,
                                          args.epochs, args.hb_trials, seed, timeout=args.cap * re_wall,
                                          target=target)
            e, s = time_to_target(events, t0, target, args.epochs)
            ratios[name].append((e / re_epochs, s / re_wall))
            spent = sum(ev["trained"] for ev in events)
            final = study.best_trial
            row[name] = {"epochs_to_target": e, "seconds_to_target": s, "epoch_ratio": e / re_epochs,
                         "wall_ratio": s / re_wall, "epochs_spent": spent, "wall": wall,
                         "trials": len(study.trials),
                         "best_test": None if final is None else final.metrics.get("test_acc")}
            lines.append(f"  {name}: epochs to RE's test acc {e:g} ({e / re_epochs:.2f} of RE), time "
                         f"{s:.0f} s ({s / re_wall:.2f} of RE); spent {spent} epochs, {wall:.0f} s, "
                         f"{len(study.trials)} trials; best test "
                         f"{'-' if final is None else format(final.metrics['test_acc'], '.4f')}")
        out["seeds"].append(row)
        print("\n".join(lines[-3:]), flush=True)
    summarise(ratios, lines, out)


def summarise(ratios: dict[str, list[tuple[float, float]]], lines: list[str], out: dict[str, Any]) -> None:
    """Per scheduler: the (epoch, wall) ratios' median and spread over seeds, and the seeds meeting
    the bar (both <= 1/3)."""
    for name, rs in ratios.items():
        ep, wt = [r[0] for r in rs], [r[1] for r in rs]
        met = sum(1 for a, b in rs if a <= 1 / 3 and b <= 1 / 3)
        out[name] = {"epoch_ratios": ep, "wall_ratios": wt, "seeds_meeting_bar": met}
        lines.append(f"{name}: epoch ratio {spread(ep)}")
        lines.append(f"{name}: wall ratio  {spread(wt)}; bar (<= 1/3 both) met on {met}/{len(rs)} seeds")


def merge(files: list[str], out_path: str) -> None:
    """The summary of several runs' ``.json`` files (disjoint seeds, e.g. one run per core) together."""
    rows = [row for f in files for row in json.loads(Path(f).read_text())["seeds"]]
    rows.sort(key=lambda r: r["seed"])
    ratios = {name: [(_ratio(r[name]["epoch_ratio"]), _ratio(r[name]["wall_ratio"])) for r in rows]
              for name in ("hyperband", "bohb")}
    lines = [f"bench_multifidelity: merged from {', '.join(files)}; seeds "
             f"{', '.join(str(r['seed']) for r in rows)}"]
    out: dict[str, Any] = {"merged": files, "seeds": rows}
    summarise(ratios, lines, out)
    text = "\n".join(lines) + "\n"
    print(text)
    Path(out_path).write_text(text)
    Path(out_path).with_suffix(".json").write_text(json.dumps(finite(out), indent=1, default=str))


def _ratio(value: Any) -> float:
    """A ratio read back from JSON (``inf`` was written as a string or null)."""
    return math.inf if value is None or isinstance(value, str) else float(value)


def asha_part(args: argparse.Namespace, tmp: Path, lines: list[str], out: dict[str, Any]) -> None:
    import nasforge as nf

    sched = nf.schedulers.create("asha", min_budget=1, max_budget=args.epochs, eta=3)
    study, wall, t0, events = run(tmp, "asha", nf.strategies.create("random"), sched, args.epochs, 10_000,
                                  args.first_seed, workers=2, timeout=args.asha_seconds)
    t1 = t0 + wall
    whole = busy(events, t0, t1)
    first = min(e["start"] for e in events)
    steady = busy(events, first, min(t1, t0 + args.asha_seconds))
    out["asha"] = {"wall": wall, "segments": len(events), "trials": len(study.trials),
                   "busy_whole": list(whole.values()), "busy_steady": list(steady.values()),
                   "startup_s": first - t0}
    fmt = ", ".join
    lines.append(f"asha, 2 process workers, {wall:.0f} s wall, {len(study.trials)} trials, {len(events)} "
                 f"segments: busy fraction per worker over the whole wall time "
                 f"{fmt(f'{v:.1%}' for v in whole.values())}; over the steady window (first segment start "
                 f"{first - t0:.1f} s after start .. deadline) {fmt(f'{v:.1%}' for v in steady.values())}")


def finite(value: Any) -> Any:
    """``value`` with non-finite floats as the strings ``"inf"`` / ``"nan"`` (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--hb-trials", type=int, default=60)
    p.add_argument("--cap", type=float, default=1.0, help="stop HB/BOHB at this multiple of RE's wall time")
    p.add_argument("--asha-seconds", type=float, default=300.0)
    p.add_argument("--skip-asha", action="store_true")
    p.add_argument("--skip-search", action="store_true")
    p.add_argument("--out", default="benchmarks/results/bench_multifidelity.txt")
    p.add_argument("--merge", default=None, help="comma-separated .json files of earlier runs (disjoint "
                   "seeds): write their combined summary to --out instead of running")
    args = p.parse_args()
    if args.merge:
        merge(args.merge.split(","), args.out)
        return
    lines = [f"bench_multifidelity: seeds {args.first_seed}..{args.first_seed + args.seeds - 1}, "
             f"epochs {args.epochs}, RE trials {args.trials}, HB/BOHB at most {args.hb_trials} trials, "
             f"cap {args.cap:g} x RE wall, "
             + ("ASHA skipped" if args.skip_asha else f"ASHA {args.asha_seconds:g} s")]
    out: dict[str, Any] = {"args": vars(args), "seeds": []}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_search:
            search_part(args, Path(tmp), lines, out)
        if not args.skip_asha:
            asha_part(args, Path(tmp), lines, out)
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(finite(out), indent=1, default=str))


if __name__ == "__main__":
    main()
