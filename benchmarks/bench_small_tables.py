"""The default ``nasforge search`` on small tables against scikit-learn, on the same splits.

    python benchmarks/bench_small_tables.py                       # report: split seeds 1000-1004, test
    python benchmarks/bench_small_tables.py --tune --set epochs=100 --seeds 0 1 2 3 4   # tuning figures

Three tables made from data scikit-learn ships, each written as a CSV so it goes through the user-CSV
path (``--task FILE.csv``): iris (the class column holds the species *names*), wine and breast_cancer.
A split seed shuffles the rows before they are written, so the loader's stratified test / valid split
differs per seed. On every split:

* **nasforge**: ``nasforge search --task FILE.csv`` with nothing else but a store and a name: the
  default for such data (small-table defaults, ``nasforge.defaults.SMALL_TABLE``; trials scored by
  5-fold cross-validation on train+valid; the best trial retrained on train+valid). Its figure is that
  final model's test accuracy.
* **scikit-learn** on the very same rows (``Task.raw_split``), fit on train+valid and scored on test:
  ``MLPClassifier`` (standardised features, ``max_iter=2000``), ``LogisticRegression`` (standardised,
  ``max_iter=5000``), ``SVC`` (standardised), ``RandomForestClassifier`` and
  ``HistGradientBoostingClassifier``, each with its default hyperparameters and ``random_state`` = seed.

``--tune`` prints only validation figures (nasforge: the best trial's mean CV accuracy; scikit-learn:
5-fold CV accuracy on train+valid) and never a test figure: the small-table defaults were chosen with
it on split seeds 0-4. ``--set KEY=VALUE`` overrides a small-table default for that run (``epochs``,
``trials``, ``batch_size`` / ``lr`` / ``weight_decay`` go to the recipe). The report (default) runs
split seeds 1000-1004 once and checks the bar: nasforge's mean test accuracy >= the MLP's and within
1 pp of the best classical model's. ``--out FILE`` writes the table there too.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("iris", "wine", "breast_cancer")
MODELS = ("nasforge", "MLP", "LogReg", "SVC", "RandomForest", "HistGB")
CLASSICAL = ("LogReg", "SVC", "RandomForest", "HistGB")
RECIPE_KEYS = ("batch_size", "lr", "weight_decay")


def write_table(name: str, seed: int, folder: Path) -> Path:
    """``folder/NAME-sSEED.csv``: the dataset's rows in an order shuffled by ``seed``; iris keeps the
    species names as its class column."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    labels = [str(bunch.target_names[t]) for t in bunch.target] if name == "iris" else list(bunch.target)
    path = folder / f"{name}-s{seed}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f.replace(" ", "_") for f in bunch.feature_names] + ["class"])
        for i in order:
            w.writerow([repr(float(v)) for v in bunch.data[i]] + [labels[i]])
    return path


def sklearn_models(seed: int) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    def scaled(model: Any) -> Any:
        return make_pipeline(StandardScaler(), model)

    return {
        "MLP": scaled(MLPClassifier(max_iter=2000, random_state=seed)),
        "LogReg": scaled(LogisticRegression(max_iter=5000)),
        "SVC": scaled(SVC()),
        "RandomForest": RandomForestClassifier(random_state=seed),
        "HistGB": HistGradientBoostingClassifier(random_state=seed),
    }


def run_sklearn(path: Path, seed: int, tune: bool) -> dict[str, float]:
    """Each model fit on train+valid: test accuracy, or (``tune``) 5-fold CV accuracy on train+valid."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from nasforge.data import load

    task = load(str(path))
    parts = [task.raw_split(s) for s in ("train", "valid", "test")]
    x = np.concatenate([parts[0][0], parts[1][0]]).astype(np.float64)
    y = np.concatenate([parts[0][1], parts[1][1]])
    out: dict[str, float] = {}
    for name, model in sklearn_models(seed).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if tune:
                folds = StratifiedKFold(5, shuffle=True, random_state=seed)
                out[name] = float(cross_val_score(model, x, y, cv=folds).mean())
            else:
                model.fit(x, y)
                out[name] = float((model.predict(parts[2][0].astype(np.float64)) == parts[2][1]).mean())
    return out


def run_nasforge(path: Path, store: Path, name: str) -> tuple[float, float, float]:
    """``nasforge search --task FILE`` (defaults): (best trial's mean CV accuracy, final model's test
    accuracy, seconds)."""
    from nasforge.cli.main import main
    from nasforge.study import Study

    started = time.perf_counter()
    sink = io.StringIO()
    with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
        rc = main(["search", "--task", str(path), "--store", str(store), "--name", name, "--no-progress"])
    if rc != 0:
        raise SystemExit(f"nasforge search failed ({rc}):\n{sink.getvalue()[-3000:]}")
    best = Study.load(store=store, name=name, read_only=True).best_trial
    return float(best.metrics["valid_acc"]), float(best.metrics["test_acc"]), time.perf_counter() - started


def apply_overrides(pairs: list[str]) -> dict[str, Any]:
    from nasforge import defaults

    changes: dict[str, Any] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        changes[key] = value
        if key in RECIPE_KEYS:
            defaults.SMALL_TABLE["evaluator_opt"][key] = value
        elif key in defaults.SMALL_TABLE:
            defaults.SMALL_TABLE[key] = value
        elif key in defaults.SMALL_TABLE["space_opt"]:
            defaults.SMALL_TABLE["space_opt"][key] = value
        else:
            raise SystemExit(f"--set {key}: not a small-table default")
    return changes


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):6.2f} ± {100 * sd:4.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002, 1003, 1004])
    ap.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    ap.add_argument("--tune", action="store_true", help="validation / CV figures only (tuning seeds)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a small-table default for this run (tuning)")
    ap.add_argument("--out", help="also write the output to this file")
    args = ap.parse_args()
    if not args.tune and args.set:
        raise SystemExit("--set is for --tune runs; the report runs the committed defaults")
    from nasforge import defaults

    changes = apply_overrides(args.set)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)
        if args.out:  # written as it goes: a cut-short run leaves its rows
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text("\n".join(lines) + "\n")

    figure = "mean CV accuracy on train+valid (validation only)" if args.tune else "test accuracy"
    say(f"bench_small_tables: {figure}, split seeds {args.seeds}, tables {args.tables}")
    say(f"small-table defaults: {defaults.SMALL_TABLE}" + (f" (overridden: {changes})" if changes else ""))
    say(f"cross-validation: {defaults.SMALL_DATA}")
    results: dict[str, dict[str, list[float]]] = {t: {m: [] for m in MODELS} for t in args.tables}
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for table in args.tables:
            for seed in args.seeds:
                path = write_table(table, seed, folder)
                cv_acc, test_acc, took = run_nasforge(path, folder / "s.db", f"{table}-{seed}")
                seconds.append(took)
                results[table]["nasforge"].append(cv_acc if args.tune else test_acc)
                for name, value in run_sklearn(path, seed, args.tune).items():
                    results[table][name].append(value)
                row = "  ".join(f"{m} {100 * results[table][m][-1]:.2f}" for m in MODELS)
                say(f"  {table} seed {seed}: {row}  (nasforge {took:.0f} s)")
    say()
    say(f"{'table':<15}" + "".join(f"{m:>17}" for m in MODELS))
    for table in args.tables:
        say(f"{table:<15}" + "".join(f"{mean_sd(results[table][m]):>17}" for m in MODELS))
    overall = {m: [statistics.mean(results[t][m]) for t in args.tables] for m in MODELS}
    mean_of = {m: statistics.mean(v) for m, v in overall.items()}
    say(f"{'mean':<15}" + "".join(f"{100 * mean_of[m]:>17.2f}" for m in MODELS))
    say(f"(mean ± sample std over {len(args.seeds)} split seeds, in %; 'mean' averages the tables; "
        f"nasforge {statistics.mean(seconds):.0f} s per search on average)")
    say()
    best_classical = max(CLASSICAL, key=lambda m: mean_of[m])
    gap_mlp = 100 * (mean_of["nasforge"] - mean_of["MLP"])
    gap_best = 100 * (mean_of["nasforge"] - mean_of[best_classical])
    ok_mlp, ok_best = gap_mlp >= 0, gap_best >= -1.0
    what = "CV figures (tuning, not the bar)" if args.tune else "bar"
    say(f"{what}: nasforge - MLP = {gap_mlp:+.2f} pp ({'met' if ok_mlp else 'MISSED'}: >= 0); "
        f"nasforge - best classical ({best_classical}) = {gap_best:+.2f} pp "
        f"({'met' if ok_best else 'MISSED'}: >= -1)")
    per_table = [t for t in args.tables
                 if statistics.mean(results[t]["nasforge"]) < statistics.mean(results[t]["MLP"])]
    if per_table:
        say(f"tables where nasforge's mean is below the MLP's: {', '.join(per_table)}")
    return 0 if args.tune or (ok_mlp and ok_best) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
