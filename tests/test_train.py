"""TrainEvaluator: determinism, metrics, non-finite failure, reporter stop, checkpoint + continue."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny import tiny_task  # noqa: E402

from nasforge.data import load  # noqa: E402
from nasforge.errors import ConfigError, EvaluationError  # noqa: E402
from nasforge.estimate import EvalContext, Reporter, TrainEvaluator  # noqa: E402
from nasforge.space import Architecture  # noqa: E402
from nasforge.space.chain import ChainSpace  # noqa: E402

LAYER = {"op": "conv", "width": 8, "kernel": 3, "stride": 1, "activation": "relu", "norm": "batch",
         "dropout": 0.1}
ARCH = Architecture("chain", {"depth": 2, "layers": [LAYER, {**LAYER, "stride": 2}]})


def evaluator(**kw: object) -> TrainEvaluator:
    params = {"task": tiny_task("1d"), "space": ChainSpace(widths=[8]), "epochs": 2, "batch_size": 16,
              "latency_repeats": 2, **kw}
    return TrainEvaluator(**params)


class Recorder(Reporter):
    def __init__(self, stop_at: float | None = None) -> None:
        self.steps: list[float] = []
        self.stop_at = stop_at

    def report(self, step: float, metrics: dict[str, float]) -> bool:
        assert 0.0 <= metrics["valid_acc"] <= 1.0
        self.steps.append(step)
        return self.stop_at is None or step < self.stop_at


def test_metrics_and_reports() -> None:
    rec = Recorder()
    m = evaluator().evaluate(ARCH, EvalContext(seed=1), rec)
    for key in ("valid_acc", "test_acc", "params", "macs", "latency_ms", "train_seconds", "epoch_seconds"):
        assert key in m
    assert m["epochs"] == 2 and rec.steps == [1, 2]
    assert m["params"] > 0 and m["macs"] > 0 and m["latency_ms"] > 0
    # conv1: 16 * 8 * 1 * 3 MACs, conv2: 8 * 8 * 8 * 3, head: 8 * 3
    assert m["macs"] == 16 * 8 * 3 + 8 * 8 * 8 * 3 + 8 * 3


def test_deterministic_under_seed_and_leaves_global_rng(tmp_path: Path) -> None:
    ev = evaluator()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = ev.evaluate(ARCH, EvalContext(seed=7, checkpoint_dir=str(tmp_path / "a")))
    assert torch.equal(torch.rand(1), before), "the caller's global torch RNG must be untouched"
    b = ev.evaluate(ARCH, EvalContext(seed=7, checkpoint_dir=str(tmp_path / "b")))
    c = ev.evaluate(ARCH, EvalContext(seed=8, checkpoint_dir=str(tmp_path / "c")))
    wa, wb, wc = (torch.load(m["checkpoint"], weights_only=True) for m in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["train_loss"] == b["train_loss"] and a["valid_acc"] == b["valid_acc"]
    assert any(not torch.equal(wa[k], wc[k]) for k in wa if wa[k].is_floating_point())


def test_budget_overrides_epochs() -> None:
    rec = Recorder()
    m = evaluator(epochs=5).evaluate(ARCH, EvalContext(budget=1), rec)
    assert m["epochs"] == 1 and rec.steps == [1]
    with pytest.raises(ConfigError, match="budget"):
        evaluator().evaluate(ARCH, EvalContext(budget=0))


def test_reporter_stop_ends_training_early() -> None:
    rec = Recorder(stop_at=1)
    m = evaluator(epochs=4).evaluate(ARCH, EvalContext(), rec)
    assert rec.steps == [1] and m["epochs"] == 1 and "valid_acc" in m


def test_non_finite_loss_fails_with_reason() -> None:
    x = np.full((30, 1, 16), 3e38, dtype=np.float32)
    x[::2] *= -1
    task = load((x, np.arange(30) % 3), standardize=False)
    layer = {**LAYER, "norm": "none", "dropout": 0.0}
    arch = Architecture("chain", {"depth": 2, "layers": [layer, layer]})
    with pytest.raises(EvaluationError) as info:
        evaluator(task=task).evaluate(arch, EvalContext())
    assert info.value.reason == "non_finite"


def test_checkpoint_and_continue(tmp_path: Path) -> None:
    ev = evaluator(epochs=1)
    first = ev.evaluate(ARCH, EvalContext(seed=0, checkpoint_dir=str(tmp_path / "p")))
    path = Path(first["checkpoint"])
    assert path == tmp_path / "p" / "model.pt" and path.exists()
    state = torch.load(path, weights_only=True)
    model = ev.build_model(ARCH)
    model.load_state_dict(state)
    rec = Recorder()
    child = ev.evaluate(ARCH, EvalContext(seed=0, budget=2, parent_checkpoint=str(path),
                                          checkpoint_dir=str(tmp_path / "c")), rec)
    assert child["epochs"] == 2 and rec.steps == [1, 2], "a child trains its own budget from the weights"
    untrained = ev.evaluate(ARCH, EvalContext(seed=0, budget=1, parent_checkpoint=str(path)))
    assert untrained["valid_acc"] != child["valid_acc"] or untrained["train_loss"] != child["train_loss"]
    with pytest.warns(UserWarning, match="from scratch"):  # a missing parent: train from scratch
        scratch = ev.evaluate(ARCH, EvalContext(parent_checkpoint=str(tmp_path / "nope.pt")))
    assert scratch["inherited"] == 0


def test_picklable_config_and_bad_params() -> None:
    ev = evaluator()
    ev.evaluate(ARCH, EvalContext())
    clone = pickle.loads(pickle.dumps(ev))
    assert clone.to_config() == ev.to_config()
    assert clone.evaluate(ARCH, EvalContext(seed=3))["epochs"] == 2
    assert TrainEvaluator("digits").to_config()["task"] == "digits"
    for bad in ({"epochs": 0}, {"batch_size": 1}, {"lr": -1.0}, {"threads": 0}, {"label_smoothing": 1.0}):
        with pytest.raises(ConfigError):
            TrainEvaluator("mnist1d", **bad)
    with pytest.raises(ConfigError, match="CUDA"):
        if torch.cuda.is_available():
            raise ConfigError("CUDA present; skip")
        evaluator(device="cuda").evaluate(ARCH, EvalContext())


def test_space_inferred_from_genotype_and_task() -> None:
    ev = TrainEvaluator(tiny_task("2d"), epochs=1, batch_size=16, latency_repeats=0)
    assert ev.describe_task()["input_shape"] == [1, 8, 8]
    wide = Architecture("chain", {"depth": 2, "layers": [{**LAYER, "width": 32}] * 2})
    assert ev.evaluate(wide, EvalContext())["epochs"] == 1
    assert ev.get_space().params["input_kind"] == "2d"
