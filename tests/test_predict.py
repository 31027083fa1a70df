"""Raw data in, the user's labels out, the same everywhere.

For every built-in task and for user CSV (numeric and text labels) and ``.npz`` data, a stored study's
best trial is exported; the exported ``model.py`` (run under ``python -I -S`` where nasforge cannot be
imported), ``model.onnx`` (onnxruntime), ``nasforge predict`` and ``Study.predict``, fed the raw test
split exactly as the user has it, give the same predictions, and their accuracy equals the test
accuracy the study stored. Bad prediction files fail with one line, exit 2, and leave the store as it was.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nasforge as nf  # noqa: E402
from nasforge.cli.main import main  # noqa: E402
from nasforge.errors import ConfigError, DataError  # noqa: E402
from nasforge.estimate import TrainEvaluator  # noqa: E402

HAS_ONNX = all(__import__("importlib").util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))
FORMAT = "all" if HAS_ONNX else "pytorch"


def table(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features far from standardised (mean 50, std 10) whose first column carries the class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4)) * 10 + 50
    x[:, 0] += y * 12
    return x, y


def write_csv(path: Path, header: list[str], x: np.ndarray, labels: Any = None) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, row in enumerate(x):
            w.writerow([repr(float(v)) for v in row] + ([] if labels is None else [labels[i]]))


def make_sources(root: Path) -> dict[str, tuple[str, str]]:
    """case -> (task source for --task, input kind)."""
    x, y = table()
    write_csv(root / "numeric.csv", ["a", "b", "c", "d", "label"], x, y)
    write_csv(root / "species.csv", ["a", "b", "c", "d", "species"], x, np.array(["cat", "dog", "owl"])[y])
    rng = np.random.default_rng(1)
    labels = np.arange(90) % 3
    images = rng.integers(0, 120, size=(90, 2, 6, 6)).astype(np.uint8)
    images[labels == 1, 0] += 100
    images[labels == 2, 1] += 100
    np.savez(root / "images.npz", x=images, y=labels)
    return {"mnist1d": ("mnist1d", "1d"), "digits": ("digits", "2d"),
            "numeric": (str(root / "numeric.csv"), "tabular"),
            "species": (str(root / "species.csv"), "tabular"),
            "images": (str(root / "images.npz"), "2d")}


def space_for(kind: str) -> Any:
    if kind == "tabular":
        return nf.spaces.create("chain", input_kind="tabular", min_layers=1, max_layers=1, widths=[16])
    return nf.spaces.create("chain", input_kind=kind, min_layers=1, max_layers=2, widths=[8],
                            ops=["conv"], strides=[2])


PREDICT_ALL = """
import importlib.util, json, sys
sys.path[:0] = [{site!r}]
assert importlib.util.find_spec("nasforge") is None, "nasforge must not be importable here"
import torch
out = {{}}
for case, folder in {folders!r}.items():
    spec = importlib.util.spec_from_file_location("model_" + case, folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_model()
    x = torch.load(folder + "/raw_test.pt", weights_only=True)
    out[case] = model.predict(x)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One single-trial study per case, exported with every format; model.py predictions computed in
    one isolated interpreter."""
    root = tmp_path_factory.mktemp("predict")
    store = root / "s.db"
    cases: dict[str, Any] = {}
    for case, (source, kind) in make_sources(root).items():
        space = space_for(kind)
        epochs = 1 if case in ("mnist1d", "digits") else 4
        ev = TrainEvaluator(source, space=space, epochs=epochs, batch_size=32, latency_repeats=0)
        study = nf.Study.create(store=store, name=case, space=space, strategy=nf.strategies.create("random"),
                                evaluator=ev, seed=0)
        study.optimize(n_trials=1, show_progress=False)
        out = root / f"export-{case}"
        assert main(["export", case, "--out", str(out), "--store", str(store), "--format", FORMAT]) == 0
        x, y = nf.data.load(source).raw_split("test")
        torch.save(torch.from_numpy(x), out / "raw_test.pt")
        cases[case] = {"study": study, "out": out, "x": x, "y": y, "source": source}
    site = str(Path(torch.__file__).parent.parent)
    script = PREDICT_ALL.format(site=site, folders={c: str(v["out"]) for c, v in cases.items()})
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    isolated = json.loads(proc.stdout.strip().splitlines()[-1])
    for case, info in cases.items():
        info["model_py"] = isolated[case]
    return {"root": root, "store": store, "cases": cases}


CASES = ["mnist1d", "digits", "numeric", "species", "images"]


def predict_cli(exported: dict[str, Any], case: str, data: Path,
                capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = exported["root"] / f"preds-{case}.csv"
    store = str(exported["store"])
    assert main(["predict", case, "--data", str(data), "--store", store, "--out", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().err
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return [r[0] for r in rows[1:]]


def test_raw_split_and_contract(exported: dict[str, Any]) -> None:
    raw_shapes = {"mnist1d": (40,), "digits": (8, 8), "numeric": (4,), "species": (4,), "images": (2, 6, 6)}
    for case, info in exported["cases"].items():
        contract = json.loads((info["out"] / "genotype.json").read_text())["input"]
        assert tuple(contract["shape"][1:]) == raw_shapes[case] == info["x"].shape[1:]
        assert contract["dtype"] == info["x"].dtype.name
    species = json.loads((exported["cases"]["species"]["out"] / "genotype.json").read_text())
    assert species["input"]["labels"] == ["cat", "dog", "owl"] and species["input"]["target"] == "species"
    assert exported["cases"]["images"]["x"].dtype == np.uint8


@pytest.mark.parametrize("case", CASES)
def test_every_path_gives_the_same_predictions_and_the_stored_accuracy(
        exported: dict[str, Any], case: str, capsys: pytest.CaptureFixture[str]) -> None:
    info = exported["cases"][case]
    study, x, y = info["study"], info["x"], info["y"]
    stored = study.best_trial.metrics["test_acc"]
    api = study.predict(x)
    model_py = info["model_py"]
    assert [str(v) for v in model_py] == [str(v) for v in api]
    if HAS_ONNX:
        from nasforge.report.onnx import run_onnx

        labels = json.loads((info["out"] / "genotype.json").read_text())["input"]["labels"]
        onnx = [labels[i] for i in run_onnx(info["out"] / "model.onnx", x).argmax(axis=1)]
        assert onnx == api
    # the raw test split as a file in the task's format (a CSV with its columns reordered, labels kept)
    if info["source"].endswith(".csv"):
        data = exported["root"] / f"test-{case}.csv"
        target = study.config["task"]["preprocessing"]["target"]
        with data.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["d", target, "c", "b", "a"])
            w.writerows([repr(float(r[3])), str(label), *(repr(float(v)) for v in r[2::-1])]
                        for r, label in zip(x, y, strict=True))
    else:
        data = exported["root"] / f"test-{case}.npz"
        np.savez(data, x=x, y=y)
    assert predict_cli(exported, case, data, capsys) == [str(v) for v in api]
    assert float(np.mean(np.asarray(api) == y)) == stored
    assert stored > 1.5 / study.config["task"]["num_classes"], "a trained model, better than chance"


def store_digest(store: Path) -> str:
    return hashlib.sha256(store.read_bytes()).hexdigest()


def test_bad_prediction_files_exit_2_and_change_nothing(exported: dict[str, Any],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root, store = exported["root"], exported["store"]
    x, _ = table(10, seed=5)
    write_csv(root / "three.csv", ["a", "b", "c"], x[:, :3])
    write_csv(root / "extra.csv", ["a", "b", "c", "d", "e"], np.column_stack([x, x[:, 0]]))
    write_csv(root / "text-label.csv", ["a", "b", "c", "d", "label"], x, ["cat"] * 10)
    write_csv(root / "unseen.csv", ["a", "b", "c", "d", "species"], x, ["emu"] * 10)
    np.savez(root / "wrong-shape.npz", x=np.zeros((3, 2, 5, 6), np.uint8))
    np.savez(root / "no-x.npz", images=np.zeros((3, 2, 6, 6)))
    (root / "data.txt").write_text("1,2\n")
    cases = [
        ("numeric", "three.csv", "missing \\['d'\\]"),
        ("numeric", "extra.csv", "unknown \\['e'\\]"),
        ("numeric", "text-label.csv", "'cat'.*not one of the task's integer labels"),
        ("species", "unseen.csv", "'emu'.*not one of the task's text labels"),
        ("images", "wrong-shape.npz", r"per-sample shape \(2, 5, 6\), the model expects \(2, 6, 6\)"),
        ("images", "no-x.npz", "must contain an array 'x'"),
        ("mnist1d", "three.csv", "has 3 columns, the model expects 40 features"),
        ("digits", "three.csv", "a CSV row cannot hold"),
        ("numeric", "data.txt", r"must end in \.npz or \.csv"),
        ("numeric", "missing.csv", "does not exist"),
    ]
    before = store_digest(store)
    import re

    for case, name, message in cases:
        out = root / "should-not-exist.csv"
        rc = main(["predict", case, "--data", str(root / name), "--store", str(store), "--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 2, (case, name, err)
        assert err.count("\n") == 1 and err.startswith("nasforge: error: "), err
        assert re.search(message, err), (message, err)
        assert not out.exists()
    for argv in (["predict", "numeric", "--data", str(root / "numeric.csv"), "--trial", "7"],
                 ["predict", "nope", "--data", str(root / "numeric.csv")],
                 ["export", "numeric", "--out", str(root / "no-export"), "--format", "tflite"]):
        assert main([*argv, "--store", str(store)]) == 2
        assert capsys.readouterr().err.startswith("nasforge: error: ")
    assert store_digest(store) == before and not (root / "no-export").exists()
    assert main(["export", "numeric", "--out", str(root / "again"), "--store", str(store)]) == 0
    assert store_digest(store) == before, "export only reads the store"


def test_predict_api_checks_the_contract(exported: dict[str, Any]) -> None:
    study = exported["cases"]["numeric"]["study"]
    with pytest.raises(DataError, match="3 features per sample, the model expects 4"):
        study.predict(np.zeros((2, 3)))
    with pytest.raises(DataError, match="NaN/inf"):
        study.predict(np.full((2, 4), np.nan))
    one = study.predict(np.full(4, 50.0))  # a single sample
    assert len(one) == 1 and one[0] in (0, 1, 2)
    with pytest.raises(ConfigError, match="no trial 9"):
        study.predict(np.zeros((2, 4)), trial=9)


def test_predict_to_stdout(exported: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    store = exported["store"]
    info = exported["cases"]["mnist1d"]
    data = exported["root"] / "few.npz"
    np.savez(data, x=info["x"][:5])
    assert main(["predict", "mnist1d", "--data", str(data), "--store", str(store)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 6
    assert lines[1:] == [str(v) for v in info["study"].predict(info["x"][:5])]
    assert "predicted 5 samples" in captured.err and "accuracy" not in captured.err


def test_a_study_stored_without_the_contract_gets_it_from_its_task(tmp_path: Path) -> None:
    from nasforge.report.predict import load_trained

    x, y = table(60, seed=3)
    path = tmp_path / "old.csv"
    write_csv(path, ["a", "b", "c", "d", "label"], x, y)
    space = space_for("tabular")
    ev = TrainEvaluator(str(path), space=space, epochs=1, batch_size=16, latency_repeats=0)
    study = nf.Study.create(store=tmp_path / "s.db", name="old", space=space,
                            strategy=nf.strategies.create("random"), evaluator=ev, seed=0)
    study.optimize(n_trials=1, show_progress=False)
    expected = load_trained(tmp_path / "s.db", "old").preprocessing
    config = dict(study.config)
    config["task"] = {k: v for k, v in config["task"].items() if k != "preprocessing"}  # as stored before
    study.store.update_study_config(study.record.id, config)
    assert load_trained(tmp_path / "s.db", "old").preprocessing == expected
    write_csv(path, ["a", "b", "c", "d", "label"], x[:45], y[:45])  # the file changed since
    with pytest.raises(ConfigError, match=r"stored without its input contract and its task .* has changed"):
        load_trained(tmp_path / "s.db", "old")
