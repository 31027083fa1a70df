"""Exact continuation: a trial paused at epoch k and continued ends bit-for-bit where a straight run ends."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tiny import tiny_task  # noqa: E402

from nasforge.errors import ConfigError  # noqa: E402
from nasforge.estimate import EvalContext, Reporter, TrainEvaluator  # noqa: E402
from nasforge.estimate.checkpoint import STATE_FILE, file_sha256  # noqa: E402
from nasforge.recipe import Recipe  # noqa: E402
from nasforge.space import Architecture  # noqa: E402
from nasforge.space.chain import ChainSpace  # noqa: E402

LAYER = {"op": "conv", "width": 8, "kernel": 3, "stride": 1, "activation": "relu", "norm": "batch",
         "dropout": 0.1}
ARCH = Architecture("chain", {"depth": 2, "layers": [LAYER, {**LAYER, "stride": 2}]})


class Steps(Reporter):
    def __init__(self) -> None:
        self.steps: list[float] = []
        self.losses: list[float] = []

    def report(self, step: float, metrics: dict[str, float]) -> bool:
        self.steps.append(step)
        self.losses.append(metrics["train_loss"])
        return True


def evaluator(**kw: object) -> TrainEvaluator:
    params = {"task": tiny_task("1d", n=90), "space": ChainSpace(widths=[8]), "epochs": 9, "batch_size": 16,
              "latency_repeats": 0, **kw}
    return TrainEvaluator(**params)


def weights(path: str) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("recipe", [{}, {"optimizer": "sgd", "schedule": "sgdr"}, {"schedule": "cosine"}])
def test_paused_then_continued_equals_straight(tmp_path: Path, recipe: dict[str, object]) -> None:
    ev = evaluator(**recipe)
    straight_rec = Steps()
    context = EvalContext(seed=5, budget=9, max_budget=9, checkpoint_dir=str(tmp_path / "s"))
    straight = ev.evaluate(ARCH, context, straight_rec)
    paused_dir = tmp_path / "p"
    first_rec, second_rec = Steps(), Steps()
    first = ev.evaluate(ARCH, EvalContext(seed=5, budget=3, max_budget=9, checkpoint_dir=str(paused_dir),
                                          save_state=True), first_rec)
    assert first["epochs"] == 3 and (paused_dir / STATE_FILE).exists()
    assert first["state_sha256"] == file_sha256(paused_dir / STATE_FILE)
    second = ev.evaluate(ARCH, EvalContext(seed=5, budget=9, max_budget=9, checkpoint_dir=str(paused_dir),
                                           resume_from=str(paused_dir), resume_sha256=first["state_sha256"],
                                           save_state=True), second_rec)
    assert "restarted" not in second
    assert first_rec.steps + second_rec.steps == straight_rec.steps == list(range(1, 10))
    assert first_rec.losses + second_rec.losses == straight_rec.losses, "bit-for-bit per-epoch losses"
    ws, wc = weights(straight["checkpoint"]), weights(second["checkpoint"])
    assert ws.keys() == wc.keys() and all(torch.equal(ws[k], wc[k]) for k in ws)
    assert second["valid_acc"] == straight["valid_acc"] and second["test_acc"] == straight["test_acc"]


def test_schedule_span_matters(tmp_path: Path) -> None:
    """Without the common span the 3-epoch run anneals its schedule and continuing cannot match."""
    ev = evaluator()
    short = ev.evaluate(ARCH, EvalContext(seed=5, budget=3, checkpoint_dir=str(tmp_path / "a")))
    spanned = ev.evaluate(ARCH, EvalContext(seed=5, budget=3, max_budget=9,
                                            checkpoint_dir=str(tmp_path / "b")))
    wa, wb = weights(short["checkpoint"]), weights(spanned["checkpoint"])
    assert any(not torch.equal(wa[k], wb[k]) for k in wa if wa[k].is_floating_point())


def test_corrupt_or_foreign_state_restarts_from_zero(tmp_path: Path) -> None:
    ev = evaluator()
    d = tmp_path / "t"
    first = ev.evaluate(ARCH, EvalContext(seed=1, budget=2, max_budget=4, checkpoint_dir=str(d),
                                          save_state=True))
    fresh = ev.evaluate(ARCH, EvalContext(seed=1, budget=4, max_budget=4, checkpoint_dir=str(tmp_path / "f"),
                                          save_state=True))
    state = d / STATE_FILE
    state.write_bytes(state.read_bytes()[: len(state.read_bytes()) // 2])  # truncated by a crash
    rec = Steps()
    with pytest.warns(UserWarning, match="from zero"):
        again = ev.evaluate(ARCH, EvalContext(seed=1, budget=4, max_budget=4, checkpoint_dir=str(d),
                                              resume_from=str(d), resume_sha256=first["state_sha256"]), rec)
    assert again["restarted"] == 1 and rec.steps == [1, 2, 3, 4]
    assert again["valid_acc"] == fresh["valid_acc"], "a restart is the trial trained from zero"
    with pytest.warns(UserWarning, match="hash"):  # intact file, but not the one the study recorded
        ev.evaluate(ARCH, EvalContext(seed=1, budget=4, max_budget=4, resume_from=str(tmp_path / "f"),
                                      resume_sha256="0" * 64))


def test_recipe_validation_and_replace() -> None:
    assert Recipe().replace(lr=0.1).lr == 0.1
    for bad in ({"optimizer": "lbfgs"}, {"schedule": "step"}, {"lr": 0.0}, {"momentum": 1.0},
                {"batch_size": 1}):
        with pytest.raises(ConfigError):
            Recipe(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown training hyperparameter"):
        Recipe().replace(learning_rate=0.1)
    assert TrainEvaluator("digits").to_config().keys().isdisjoint({"optimizer", "schedule", "momentum"})
    assert TrainEvaluator("digits", optimizer="sgd").to_config()["optimizer"] == "sgd"
