"""How long the HTML report takes to generate and to render in a browser, 1,000 trials against 10.

Builds two NAS-Bench-Graph studies in one store (regularized evolution, tabular evaluator, seed 0):
one of ``--trials`` (1,000) and one of ``--small`` (10) trials. Then, for each:

* **generation**: seconds to load the study from the store and render the page (``--gen-repeats``
  times, median);
* **render**: headless Chromium loads the file ``--loads`` times, the two reports interleaved so both
  see the same machine load (one warm-up load each is dropped); the figure is navigation start to the
  end of the load event (the browser's Navigation Timing), and first contentful paint beside it.

Bars (issue 16): the 1,000-trial report renders in under 2 s, and under 10x the 10-trial one (ratio of
medians, same run). A full-page screenshot of each report goes to ``--out-dir``.

    python benchmarks/bench_report.py                          # 1,000 vs 10 trials, 15 loads each
    python benchmarks/bench_report.py --trials 200 --loads 5   # quicker
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def build_study(store: Path, name: str, trials: int, seed: int) -> None:
    import nasforge as nf
    from nasforge.estimate.tabular import TabularEvaluator

    study = nf.Study.create(
        store=store,
        name=name,
        space=nf.spaces.create("nasbench-graph", dataset="cora"),
        strategy=nf.strategies.create("regularized-evolution", population=20, sample=5),
        evaluator=TabularEvaluator(dataset="cora"),
        seed=seed,
    )
    study.optimize(n_trials=trials, show_progress=False)
    study.store.close()


def generate(store: Path, name: str, out: Path, repeats: int) -> dict[str, Any]:
    """Median seconds to load + render the page, and the file written."""
    from nasforge.report.build import render_studies, write_text

    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        html = render_studies(store, [name])
        seconds.append(time.perf_counter() - start)
    write_text(out, html)
    return {"generate_s": statistics.median(seconds), "generate_all_s": seconds, "bytes": out.stat().st_size}


def render(paths: dict[str, Path], loads: int, shots: Path) -> dict[str, dict[str, Any]]:
    """Interleaved loads of each page in one headless Chromium; milliseconds per load."""
    from nasforge.report.browser import Browser

    timings: dict[str, list[dict[str, Any]]] = {key: [] for key in paths}
    with Browser() as browser:
        for i in range(loads + 1):
            for key, path in paths.items():
                browser.open(path)
                if i:  # the first load of each page warms the browser up
                    timings[key].append(browser.timing())
                errors = browser.console()
                if errors:
                    raise SystemExit(f"console errors on {path}: {errors[:3]}")
        for key, path in paths.items():
            browser.open(path)
            browser.screenshot(shots / f"report-{key}.png")
    out = {}
    for key, rows in timings.items():
        load = sorted(r["load"] for r in rows)
        fcp = [r["first_contentful_paint"] for r in rows if r["first_contentful_paint"] is not None]
        out[key] = {
            "load_ms_median": statistics.median(load),
            "load_ms_p90": load[min(len(load) - 1, round(0.9 * (len(load) - 1)))],
            "load_ms_min": load[0],
            "fcp_ms_median": statistics.median(fcp) if fcp else None,
            "loads": len(load),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=1000, help="trials of the large study")
    parser.add_argument("--small", type=int, default=10, help="trials of the small study")
    parser.add_argument("--loads", type=int, default=15, help="browser loads of each page")
    parser.add_argument("--gen-repeats", type=int, default=3, help="page generations of each study")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="bench-out/report", help="reports and screenshots go here")
    args = parser.parse_args()

    from nasforge.report.browser import unavailable

    reason = unavailable()
    if reason:
        raise SystemExit(f"bench_report needs a headless browser: {reason}")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.db"
        start = time.perf_counter()
        build_study(store, "large", args.trials, args.seed)
        build_study(store, "small", args.small, args.seed)
        search_s = time.perf_counter() - start
        sizes = {"large": args.trials, "small": args.small}
        gen = {key: generate(store, key, out_dir / f"report-{key}.html", args.gen_repeats) for key in sizes}
    shown = render({key: out_dir / f"report-{key}.html" for key in sizes}, args.loads, out_dir)
    large, small = shown["large"]["load_ms_median"], shown["small"]["load_ms_median"]
    ratio = large / small
    result = {
        "trials": sizes,
        "search_seconds": search_s,
        "generation": gen,
        "render": shown,
        "render_ratio_large_over_small": ratio,
        "generation_ratio_large_over_small": gen["large"]["generate_s"] / gen["small"]["generate_s"],
        "bar_under_2s": large < 2000.0,
        "bar_ratio_under_10x": ratio < 10.0,
        "screenshots": [str(out_dir / f"report-{k}.png") for k in sizes],
    }
    print(json.dumps(result, indent=2))
    print(
        f"\n{args.trials}-trial report: generated in {gen['large']['generate_s']:.2f} s "
        f"({gen['large']['bytes'] / 1024:.0f} KiB), renders in {large:.0f} ms (median of {args.loads} loads; "
        f"p90 {shown['large']['load_ms_p90']:.0f} ms)\n"
        f"{args.small}-trial report: generated in {gen['small']['generate_s']:.2f} s "
        f"({gen['small']['bytes'] / 1024:.0f} KiB), renders in {small:.0f} ms\n"
        f"render ratio {ratio:.2f}x (bar < 10x: {'met' if ratio < 10 else 'MISSED'}); "
        f"under 2 s: {'met' if large < 2000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
