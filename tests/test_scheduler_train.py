"""Real training through a scheduler: a trial promoted 3 -> 9 epochs ends bit-for-bit where a trial
trained 9 epochs straight ends; a serial Hyperband search SIGKILLed and resumed ends like one run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from sched_fakes import make_study  # noqa: E402
from test_continue import ARCH, evaluator  # noqa: E402

import nasforge as nf  # noqa: E402
from nasforge.trial import EvalContext, TrialState  # noqa: E402


class Fixed(nf.strategies.Strategy):
    """Proposes ARCH with different dropouts (so the three trials differ)."""

    name = "fixed-test"

    def propose(self) -> nf.trial.Candidate:
        n = len(self.history) + len(self.pending)
        layers = [{**layer, "dropout": [0.1, 0.0, 0.2][n % 3]} for layer in ARCH["layers"]]
        return nf.trial.Candidate(nf.Architecture("chain", {"depth": 2, "layers": layers}))


def test_promoted_trial_ends_like_a_straight_one(tmp_path: Path) -> None:
    ev = evaluator()
    study = nf.Study.create(store=tmp_path / "t.db", name="t", space=ev.space, strategy=Fixed(),
                            evaluator=ev, seed=2,
                            scheduler=nf.schedulers.create("successive-halving", min_budget=3, max_budget=9,
                                                           n_configs=3))
    study.optimize(n_trials=3, show_progress=False)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(done) == 1 and len(study.trials) == 3
    t = done[0]
    assert t.budget == 9 and [s for s, _ in t.intermediate] == list(range(1, 10))
    assert "restarted" not in t.metrics
    straight = ev.evaluate(t.architecture, EvalContext(seed=int(t.info["seed"]), budget=9, max_budget=9,
                                                       checkpoint_dir=str(tmp_path / "straight")))
    a = torch.load(t.checkpoint, weights_only=True)
    b = torch.load(straight["checkpoint"], weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "bit-for-bit weights"
    assert t.metrics["valid_acc"] == straight["valid_acc"] and t.metrics["test_acc"] == straight["test_acc"]


FAKES = Path(__file__).parent / "sched_fakes.py"


def _run(store: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parent.parent))
    return subprocess.Popen([sys.executable, str(FAKES), str(store), "hb", "20", "0.01", "hyperband"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _summary(study: nf.Study) -> tuple[object, ...]:
    kept = [t for t in study.trials if not t.info.get("requeued")]
    rows = sorted((t.architecture.to_json(), t.state.value, t.budget, t.value) for t in kept)
    best = study.best_trial
    return len(kept), rows, None if best is None else (best.architecture.to_json(), best.budget)


def test_sigkill_and_resume_ends_like_one_run(tmp_path: Path) -> None:
    straight = make_study(str(tmp_path / "a.db"), "hb", "hyperband", sleep=0.01)
    straight.optimize(n_trials=20, show_progress=False)
    store = tmp_path / "k.db"
    rng = __import__("random").Random(0)
    for _ in range(4):
        proc = _run(store)
        time.sleep(1.2 + rng.random() * 0.8)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = _run(store)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    resumed = nf.Study.load(store=store, name="hb", read_only=True)
    assert _summary(resumed) == _summary(straight)
    for t in resumed.trials:  # promotions continued: every curve is 1..budget without repeats
        if t.state is not TrialState.FAILED:
            assert [s for s, _ in t.intermediate] == list(range(1, int(t.budget) + 1))
            assert "restarted" not in t.metrics, f"trial {t.number} was retrained from zero"
