"""Export: for every space with a phenotype, the generated model.py runs where nasforge cannot be
imported (``python -I -S``) and reproduces the model on raw input; it is readable code (ruff-clean, no
getattr chains, no ``x = None``, named submodules); model.onnx matches PyTorch to 1e-4 with a dynamic
batch; the CLI exports a study's best trial, refuses an unknown ``--format`` and retrains a genotype."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny import tiny_task  # noqa: E402

import nasforge as nf  # noqa: E402
from nasforge.errors import ConfigError  # noqa: E402
from nasforge.estimate import EvalContext, TrainEvaluator  # noqa: E402
from nasforge.report.contract import raw_model  # noqa: E402
from nasforge.report.export import ExportError, export_model  # noqa: E402
from nasforge.space import Architecture  # noqa: E402

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))

LAYER = {"op": "conv", "width": 32, "kernel": 3, "stride": 2, "activation": "gelu", "norm": "batch",
         "dropout": 0.1}
ARCH = Architecture("chain", {"depth": 3, "layers": [LAYER, {**LAYER, "op": "sep_conv", "stride": 1},
                                                     {**LAYER, "op": "max_pool"}]})

# runs with -I -S: no site-packages processing, so the editable nasforge install is not on the path;
# only torch's directory is added by hand
CHECK = """
import importlib.util, json, sys
sys.path[:0] = [{site!r}]
assert importlib.util.find_spec("nasforge") is None, "nasforge must not be importable here"
import torch
diffs = {{}}
for name, folder in {folders!r}.items():
    spec = importlib.util.spec_from_file_location("exported_" + name.replace("-", "_"), folder + "/model.py")
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    m = exported.load_model()
    x = torch.load(folder + "/x.pt", weights_only=True)
    expected = torch.load(folder + "/y.pt", weights_only=True)
    with torch.inference_mode():
        diff = (m(x) - expected).abs().max().item()
    fresh = exported.build_model()
    assert sorted(fresh.state_dict()) == sorted(m.state_dict())
    assert m.predict(x) == [exported.LABELS[i] for i in expected.argmax(1).tolist()]
    try:
        m(x[..., :1])
        raise AssertionError("a wrongly shaped input must be refused")
    except ValueError as exc:
        assert "expected raw input of shape" in str(exc)
    diffs[name] = diff
print(json.dumps(diffs))
"""


def run_isolated(folders: dict[str, Path]) -> dict[str, float]:
    site = str(Path(torch.__file__).parent.parent)
    script = CHECK.format(site=site, folders={k: str(v) for k, v in folders.items()})
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def phenotype_cases() -> list[tuple[str, str]]:
    """(space, input kind) for every registered space with a PyTorch phenotype, every kind it takes."""
    cases = []
    for name in nf.spaces.SPACES.names():
        try:
            cls = nf.spaces.SPACES.get(name)
        except ImportError:
            continue
        cases += [(name, kind) for kind in sorted(cls.input_kinds)]
    return cases


#: smaller than the defaults where the defaults make slow ONNX exports (the code paths are the same)
SMALL = {"nasnet": {"blocks": 3, "channels": 8}, "edge-cell": {"channels": 8},
         "multibranch": {"max_layers": 4, "widths": [8, 16], "stem_channels": 8}}


def make_space(name: str, kind: str) -> Any:
    if name in ("chain", "joint"):  # a joint space's default architecture space is a chain
        return nf.spaces.create(name, input_kind=kind)
    return nf.spaces.create(name, **SMALL.get(name, {}))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every (space, kind) exported from a model behind a non-trivial preprocessing (the tiny task's
    raw data shifted and scaled), with raw inputs and the in-memory model's outputs saved."""
    root = tmp_path_factory.mktemp("export")
    found: dict[str, Any] = {}
    for name, kind in phenotype_cases():
        base = tiny_task(kind)
        x_raw, labels = base.raw_split("train")
        task = nf.data.load((x_raw * 3.0 + 7.0, labels), name=f"shifted-{kind}")
        space = make_space(name, kind)
        arch = ARCH if (name, kind) == ("chain", "1d") else space.sample(np.random.default_rng(0))
        model = nf.models.build(space, arch, task)
        out = root / f"{name}-{kind}"
        summary = export_model(model, out, task, arch)
        x = torch.from_numpy(task.raw_split("test")[0])
        with torch.inference_mode():
            expected = raw_model(task.preprocessing, model.eval())(x)
        torch.save(x, out / "x.pt")
        torch.save(expected, out / "y.pt")
        found[f"{name}-{kind}"] = {"out": out, "summary": summary, "task": task, "model": model, "arch": arch,
                                   "space": space}
    return {"root": root, "cases": found, "isolated": run_isolated({k: v["out"] for k, v in found.items()})}


def test_every_space_with_a_phenotype_is_covered(exports: dict[str, Any]) -> None:
    assert {"chain-1d", "chain-2d", "chain-tabular", "nasnet-2d", "edge-cell-2d", "multibranch-1d"} <= set(
        exports["cases"])


def test_exported_model_runs_without_nasforge_and_reproduces_the_model(exports: dict[str, Any]) -> None:
    for key, info in exports["cases"].items():
        assert info["summary"]["max_abs_diff"] <= 1e-5, key
        assert exports["isolated"][key] <= 1e-5, key
        out = info["out"]
        assert {p.name for p in out.iterdir()} >= {"genotype.json", "model.py", "weights.pt"}
        state = torch.load(out / "weights.pt", weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
        assert {"preprocess.mean", "preprocess.std"} <= set(state)
        assert torch.equal(state["preprocess.mean"].flatten(),
                           torch.tensor(info["task"].preprocessing.mean, dtype=torch.float32))


def test_genotype_json_holds_the_genotype_and_the_input_contract(exports: dict[str, Any]) -> None:
    info = exports["cases"]["chain-tabular"]
    data = json.loads((info["out"] / "genotype.json").read_text())
    assert Architecture.from_dict(data) == info["arch"]
    assert data["input"] == {"shape": ["N", 10], "dtype": "float32", "labels": [0, 1, 2], "columns": None,
                             "target": None}
    assert data["preprocessing"] == info["task"].preprocessing.to_dict()


def test_generated_model_py_is_readable(exports: dict[str, Any]) -> None:
    files = [info["out"] / "model.py" for info in exports["cases"].values()]
    for path in files:
        source = path.read_text()
        imports = [ln for ln in source.splitlines() if ln.startswith(("import ", "from "))]
        assert all(ln.split()[1].split(".")[0] in ("os", "torch") for ln in imports), imports
        assert "getattr(" not in source and "_place(" not in source, path
        assert not re.search(r"^\s*\w+ = None$", source, re.M), path
        assert "self.network = " in source and "class Model(nn.Module):" in source
        assert re.search(r"Input: x of shape \(N, [\d, ]+\), dtype float32", source), path
        assert "Example:" in source and "model.predict(x)" in source
        assert "register_buffer(\"mean\"" in source  # the statistics are buffers, not constants
    chain = (exports["cases"]["chain-1d"]["out"] / "model.py").read_text()
    assert "self.network = ChainNet(" in chain and "features=nn.Sequential(" in chain
    assert "nn.Conv1d(1, 32, 3, stride=2, padding=1, bias=False)" in chain
    assert "return self.head(self.features(x))" in chain
    nasnet = (exports["cases"]["nasnet-2d"]["out"] / "model.py").read_text()
    assert re.search(r"class NasNetCell\d?\(nn.Module\):", nasnet) and "self.cells[0](" in nasnet
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "--isolated", "--no-cache", "--select", "E,F,W,B",
                           "--line-length", "110", *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.skipif(not HAS_ONNX, reason="the onnx extra (onnx, onnxruntime, onnxscript) is not installed")
@pytest.mark.parametrize(("name", "kind"), [c for c in phenotype_cases() if c[1] in ("2d", "tabular")])
def test_onnx_matches_pytorch_with_a_dynamic_batch(exports: dict[str, Any], name: str, kind: str) -> None:
    from nasforge.report.onnx import ATOL, run_onnx, write_onnx

    info = exports["cases"][f"{name}-{kind}"]
    prep = info["task"].preprocessing
    full = raw_model(prep, info["model"].eval())
    path = info["out"] / "model.onnx"
    write_onnx(full, path, prep)
    x_raw = info["task"].raw_split("test")[0]
    for batch in (1, 5, len(x_raw)):
        x = x_raw[:batch]
        with torch.inference_mode():
            expected = full(torch.from_numpy(x)).numpy()
        assert np.abs(run_onnx(path, x) - expected).max() <= ATOL, batch
    assert ATOL == 1e-4


def test_onnx_needs_its_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nasforge.report.onnx as onnx_mod

    monkeypatch.setattr(onnx_mod, "REQUIRES", {"not_a_module_nasforge": "onnxruntime"})
    task = tiny_task("tabular")
    model = nf.models.build(nf.spaces.create("chain", input_kind="tabular"), nf.spaces.create(
        "chain", input_kind="tabular").sample(np.random.default_rng(0)), task)
    with pytest.raises(ConfigError, match=r"pip install 'nasforge\[onnx\]'"):
        export_model(model, tmp_path / "o", task, formats="onnx")


def test_untraceable_model_is_an_export_error(tmp_path: Path) -> None:
    class Branchy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(ExportError, match="cannot trace"):
        export_model(torch.nn.Sequential(torch.nn.Linear(3, 2), Branchy()), tmp_path, (3,))


def test_bare_input_shape_exports_without_preprocessing(tmp_path: Path) -> None:
    task = tiny_task("1d")
    space = nf.spaces.create("chain", input_kind="1d")
    ev = TrainEvaluator(task, space=space, epochs=1, batch_size=16, latency_repeats=0)
    metrics = ev.evaluate(ARCH, EvalContext(seed=0, checkpoint_dir=str(tmp_path / "ckpt")))
    model = ev.build_model(ARCH)
    model.load_state_dict(torch.load(metrics["checkpoint"], weights_only=True))
    summary = export_model(model.eval(), tmp_path / "bare", task.input_shape, ARCH)
    assert summary["max_abs_diff"] == 0.0
    info = json.loads((tmp_path / "bare" / "genotype.json").read_text())
    assert info["input"]["shape"] == ["N", 1, 16] and info["preprocessing"]["mean"] == [0.0]
    assert "standardised" not in (tmp_path / "bare" / "model.py").read_text()


def test_cli_export_best_trial_and_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasforge.cli.main import main

    task = tiny_task("1d")
    npz = tmp_path / "tiny.npz"
    xs = [task.raw_split(s) for s in ("train", "valid", "test")]
    np.savez(npz, x=np.concatenate([xs[0][0], xs[1][0]]), y=np.concatenate([xs[0][1], xs[1][1]]),
             x_test=xs[2][0], y_test=xs[2][1])
    space = nf.spaces.create("chain", min_layers=2, max_layers=2, widths=[8], ops=["conv"])
    ev = TrainEvaluator(str(npz), space=space, epochs=1, batch_size=16, latency_repeats=0)
    store = tmp_path / "s.db"
    study = nf.Study.create(store=store, name="t", space=space,
                            strategy=nf.strategies.create("random"), evaluator=ev, seed=0)
    study.optimize(n_trials=2, show_progress=False)
    best = study.best_trial
    out = tmp_path / "out"
    assert main(["export", "t", "--out", str(out), "--store", str(store)]) == 0
    printed = capsys.readouterr().out
    assert "exported trial" in printed and "model.py, weights.pt" in printed and "model.onnx" not in printed
    info = json.loads((out / "genotype.json").read_text())
    assert info["trial"] == best.number and info["genes"] == best.architecture.genes
    assert info["metrics"]["test_acc"] == best.metrics["test_acc"]
    assert "study 't', trial" in (out / "model.py").read_text()
    assert not (out / "model.onnx").exists()
    assert main(["export", "nope", "--out", str(out), "--store", str(store)]) == 2
    capsys.readouterr()
    for bad in ("tflite", "pytorch,onnx", ""):
        argv = ["export", "t", "--out", str(tmp_path / "bad"), "--store", str(store), "--format", bad]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "export format must be one of ['pytorch', 'onnx', 'all']" in err
    assert not (tmp_path / "bad").exists()

    assert main(["train", str(out / "genotype.json"), "--task", str(npz), "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["epochs"] == 1 and 0 <= result["test_acc"] <= 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["train", str(bad), "--task", str(npz)]) == 2
    assert main(["train", str(out / "genotype.json"), "--task", str(npz), "--epochs", "0"]) == 2
