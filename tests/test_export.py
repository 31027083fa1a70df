"""Export: the generated model.py runs where nasforge cannot be imported and reproduces the
model's outputs to 1e-5; the CLI exports a study's best trial and retrains a genotype."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny import tiny_task  # noqa: E402

import nasforge as nf  # noqa: E402
from nasforge.estimate import EvalContext, TrainEvaluator  # noqa: E402
from nasforge.report.export import ExportError, export_model  # noqa: E402
from nasforge.space import Architecture  # noqa: E402

LAYER = {"op": "conv", "width": 32, "kernel": 3, "stride": 2, "activation": "gelu", "norm": "batch",
         "dropout": 0.1}
ARCH = Architecture("chain", {"depth": 3, "layers": [LAYER, {**LAYER, "op": "sep_conv", "stride": 1},
                                                     {**LAYER, "op": "max_pool"}]})

# runs with -I -S: no site-packages processing, so the editable nasforge install is not on the path;
# only torch's directory is added by hand
CHECK = """
import importlib.util, sys
sys.path[:0] = [{site!r}, {out!r}]
assert importlib.util.find_spec("nasforge") is None, "nasforge must not be importable here"
import torch
import model as exported
m = exported.load_model(weights_path={weights!r})
x = torch.load({inputs!r}, weights_only=True)
expected = torch.load({outputs!r}, weights_only=True)
with torch.inference_mode():
    diff = (m(x) - expected).abs().max().item()
fresh = exported.build_model()
assert sorted(fresh.state_dict()) == sorted(m.state_dict())
print(diff)
"""


def run_isolated(out: Path, x: torch.Tensor, expected: torch.Tensor) -> float:
    torch.save(x, out / "x.pt")
    torch.save(expected, out / "y.pt")
    site = str(Path(torch.__file__).parent.parent)
    script = CHECK.format(site=site, out=str(out), weights=str(out / "weights.pt"),
                          inputs=str(out / "x.pt"), outputs=str(out / "y.pt"))
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          cwd=out, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["1d", "2d", "tabular"])
def test_exported_model_runs_without_nasforge(tmp_path: Path, kind: str) -> None:
    task = tiny_task(kind)
    space = nf.spaces.create("chain", input_kind=kind)
    arch = ARCH if kind != "tabular" else space.sample(np.random.default_rng(0))
    ev = TrainEvaluator(task, space=space, epochs=1, batch_size=16, latency_repeats=0)
    metrics = ev.evaluate(arch, EvalContext(seed=0, checkpoint_dir=str(tmp_path / "ckpt")))
    model = ev.build_model(arch)
    model.load_state_dict(torch.load(metrics["checkpoint"], weights_only=True))
    model.eval()
    out = tmp_path / "export"
    summary = export_model(model, out, task.input_shape, arch)
    assert summary["max_abs_diff"] <= 1e-5
    assert {p.name for p in out.iterdir()} >= {"genotype.json", "model.py", "weights.pt"}
    assert Architecture.from_dict(json.loads((out / "genotype.json").read_text())) == arch
    source = (out / "model.py").read_text()
    imports = [ln for ln in source.splitlines() if ln.startswith(("import ", "from "))]
    assert all(ln.split()[1].split(".")[0] in ("os", "torch") for ln in imports), imports
    state = torch.load(out / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    x = torch.randn(5, *task.input_shape)
    with torch.inference_mode():
        expected = model(x)
    assert run_isolated(out, x, expected) <= 1e-5


def test_untraceable_model_is_an_export_error(tmp_path: Path) -> None:
    class Branchy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(ExportError, match="cannot trace"):
        export_model(Branchy(), tmp_path, (3,))


def test_cli_export_best_trial_and_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasforge.cli.main import main

    task = tiny_task("1d")
    npz = tmp_path / "tiny.npz"
    np.savez(npz, x=np.concatenate([task.x_train, task.x_valid]),
             y=np.concatenate([task.y_train, task.y_valid]), x_test=task.x_test, y_test=task.y_test)
    space = nf.spaces.create("chain", min_layers=2, max_layers=2, widths=[8], ops=["conv"])
    ev = TrainEvaluator(str(npz), space=space, epochs=1, batch_size=16, latency_repeats=0)
    store = tmp_path / "s.db"
    study = nf.Study.create(store=store, name="t", space=space,
                            strategy=nf.strategies.create("random"), evaluator=ev, seed=0)
    study.optimize(n_trials=2, show_progress=False)
    best = study.best_trial
    out = tmp_path / "out"
    assert main(["export", "t", "--out", str(out), "--store", str(store)]) == 0
    assert "exported trial" in capsys.readouterr().out
    info = json.loads((out / "genotype.json").read_text())
    assert info["trial"] == best.number and info["genes"] == best.architecture.genes
    assert main(["export", "nope", "--out", str(out), "--store", str(store)]) == 2

    assert main(["train", str(out / "genotype.json"), "--task", str(npz), "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["epochs"] == 1 and 0 <= result["test_acc"] <= 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["train", str(bad), "--task", str(npz)]) == 2
    assert main(["train", str(out / "genotype.json"), "--task", str(npz), "--epochs", "0"]) == 2


@pytest.mark.parametrize("name", nf.spaces.SPACES.names())
def test_every_space_with_a_phenotype_exports(tmp_path: Path, name: str) -> None:
    try:
        cls = nf.spaces.SPACES.get(name)
    except ImportError as exc:
        pytest.skip(f"space {name!r} is not importable yet: {exc}")
    if "2d" not in cls.input_kinds:
        pytest.skip(f"space {name!r} has no 2-D phenotype")
    space = cls()
    task = tiny_task("2d")
    arch = space.sample(np.random.default_rng(0))
    model = nf.models.build(space, arch, task)
    summary = export_model(model, tmp_path / name, task.input_shape, arch)
    assert summary["max_abs_diff"] <= 1e-5
