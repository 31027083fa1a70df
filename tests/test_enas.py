"""ENAS: the controller's update is the REINFORCE estimate, a tiny search derives valid genotypes,
a killed search resumes at its last epoch, bad options fail early (typed error; CLI one line, exit 2)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nasforge import spaces, strategies
from nasforge.cli.main import main
from nasforge.errors import ConfigError
from nasforge.oneshot import ONESHOT
from nasforge.oneshot.base import STATE_FILE
from nasforge.oneshot.enas import Enas, EnasStrategy
from nasforge.strategies.policy import TokenPolicy
from nasforge.study import Study
from nasforge.trial import TrialState
from tests.oneshot_kill import kill_search_at_epoch
from tests.tiny import tiny_task

EDGE = {"channels": 4, "nodes": 3}
NASNET = {"channels": 4, "blocks": 2}
FAST = {"controller_steps": 3, "reward_batch": 8, "batch_size": 16}


@pytest.fixture(scope="module")
def task():
    return tiny_task("1d", n=48)


def _independent_logp_entropy(policy: TokenPolicy, tokens: list[int], temperature: float,
                              tanh_constant: float) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(tokens) and the summed entropy, unrolled by hand with torch.distributions."""
    h = c = torch.zeros(1, policy.hidden)
    inp = policy.embed.weight[0:1]
    logp, entropy, offset = torch.zeros(()), torch.zeros(()), 1
    for i, n in enumerate(policy.sizes):
        h, c = policy.cell(inp, (h, c))
        head = policy.heads[i]
        logits = tanh_constant * torch.tanh((h[0] @ head.weight.T + head.bias) / temperature)
        dist = torch.distributions.Categorical(logits=logits)
        logp = logp + dist.log_prob(torch.tensor(tokens[i]))
        entropy = entropy + dist.entropy()
        inp = policy.embed.weight[offset + tokens[i]: offset + tokens[i] + 1]
        offset += n
    return logp, entropy


def test_controller_gradient_is_the_reinforce_estimate(task):
    space = spaces.create("edge-cell", **EDGE)
    weight, reward, baseline = 0.5, 0.7, 0.25
    search = Enas(space, task, epochs=1, entropy_weight=weight, baseline_decay=0.9, **FAST)
    search.reward = lambda arch, x, y: reward  # a known reward
    search.baseline = baseline
    before = copy.deepcopy(search.policy)
    out = search.controller_step(search.x_a[:8], search.y_a[:8])
    tokens = list(space.to_flat(out["arch"]))
    logp, entropy = _independent_logp_entropy(before, tokens, 5.0, 1.1)
    params = list(before.parameters())
    g_logp = torch.autograd.grad(logp, params, retain_graph=True)
    g_entropy = torch.autograd.grad(entropy, params)
    expected = [-(reward - baseline) * a - weight * b for a, b in zip(g_logp, g_entropy, strict=True)]
    got = [p.grad for p in search.policy.parameters()]
    assert len(got) == len(expected) and all(g is not None for g in got)
    for g, e in zip(got, expected, strict=True):
        assert torch.allclose(g, e, atol=1e-7, rtol=1e-5)
    # the check can tell: without the entropy term, or with another baseline, it would not match
    gap = lambda est: max(float((g - e).abs().max()) for g, e in zip(got, est, strict=True))  # noqa: E731
    assert gap([-(reward - baseline) * a for a in g_logp]) > 1e-4
    assert gap([-(reward - 0.3) * a - weight * b for a, b in zip(g_logp, g_entropy, strict=True)]) > 1e-3
    moved = zip(search.policy.parameters(), before.parameters(), strict=True)
    assert any(not torch.equal(p, q) for p, q in moved)  # and Adam stepped
    assert out["reward"] == reward and search.baseline == pytest.approx(0.9 * baseline + 0.1 * reward)


def test_controller_learns_a_known_reward(task):
    space = spaces.create("edge-cell", **EDGE)
    search = Enas(space, task, epochs=1, controller_lr=0.02, **FAST)
    search.reward = lambda arch, x, y: arch.genes["edges"].count("conv_3x3") / 3
    rewards = [search.controller_step(search.x_a, search.y_a)["reward"] for _ in range(150)]
    assert np.mean(rewards[-20:]) > np.mean(rewards[:20]) + 0.3
    assert search.greedy().genes["edges"] == ["conv_3x3"] * 3


def test_reinforce_and_enas_share_one_policy(task):
    space = spaces.create("edge-cell", **EDGE)
    assert isinstance(strategies.create("reinforce").setup(space, seed=0).policy, TokenPolicy)
    assert isinstance(Enas(space, task, epochs=1, **FAST).policy, TokenPolicy)


@pytest.mark.parametrize("name,params", [("edge-cell", EDGE), ("nasnet", NASNET)])
def test_tiny_enas_search_derives_valid_genotypes(name, params, task):
    space = spaces.create(name, **params)
    search = Enas(space, task, epochs=2, **FAST).run()
    assert [h["epoch"] for h in search.history] == [1, 2]
    assert all(0.0 <= h["reward"] <= 1.0 and h["entropy"] > 0 for h in search.history)
    top = search.candidates(samples=6, top_k=3, final="both")
    assert 1 <= len(top) <= 3
    assert [t["valid_acc"] for t in top] == sorted((t["valid_acc"] for t in top), reverse=True)
    from nasforge.space.architecture import Architecture

    archs = [Architecture(name, t["genes"]) for t in top]
    for arch in archs:
        space.validate(arch)
    assert len({space.canonical_hash(a) for a in archs}) == len(archs)
    record = search.record()
    assert record["method"] == "enas" and len(record["controller_history"]) == 2
    space.validate(Architecture.from_dict(record["greedy"]))


def test_param_free_cap_and_reward_split(task):
    from nasforge.oneshot.derive import chosen_ops, is_param_free
    from nasforge.space.architecture import Architecture

    space = spaces.create("edge-cell", **EDGE)
    search = Enas(space, task, epochs=1, **FAST).run()
    capped = search.candidates(samples=20, top_k=5, max_param_free=0)
    for t in capped:
        assert not any(map(is_param_free, chosen_ops(space, Architecture(space.name, t["genes"]))))
    halves = Enas(space, task, epochs=1, reward_split="half", **FAST)
    assert len(halves.y_w) + len(halves.y_a) == len(task.y_train) and len(halves.y_a) > 0
    valid = Enas(space, task, epochs=1, reward_split="valid", **FAST)
    assert len(valid.y_w) == len(task.y_train) and torch.equal(valid.y_a, valid.y_valid)
    default = Enas(space, task, epochs=1, **FAST)  # the paper's split is the default
    assert torch.equal(default.y_a, default.y_valid)


def test_enas_killed_mid_search_resumes_at_its_last_epoch(tmp_path, task):
    checkpoint_dir = kill_search_at_epoch(tmp_path, Enas, 2, **FAST)
    assert torch.load(checkpoint_dir / STATE_FILE, weights_only=True)["epoch"] == 2
    space = spaces.create("edge-cell", **EDGE)
    resumed = Enas(space, task, epochs=3, checkpoint_dir=checkpoint_dir, **FAST).run()
    assert resumed.resumed_from == 2 and resumed.epoch == 3
    straight = Enas(space, task, epochs=3, **FAST).run()
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    for key, value in straight.policy.state_dict().items():
        assert torch.equal(value, resumed.policy.state_dict()[key]), key
    assert resumed.baseline == straight.baseline
    assert resumed.candidates(samples=4) == straight.candidates(samples=4)


@pytest.mark.parametrize("options,needle", [
    ({"controller_lr": 0.0}, "controller_lr"), ({"controller_lr": -1e-3}, "controller_lr"),
    ({"baseline_decay": 1.0}, "baseline_decay"), ({"entropy_weight": -1}, "entropy_weight"),
    ({"final": "best"}, "final"), ({"samples": 0}, "samples"), ({"warmup": 1}, "does not take"),
    ({"reward_split": "test"}, "reward_split"), ({"max_param_free": -1}, "max_param_free"),
])
def test_bad_options_raise_a_config_error(options, needle, task):
    with pytest.raises(ConfigError, match=needle):
        EnasStrategy(**options)
    if set(options) & {"controller_lr", "baseline_decay", "entropy_weight", "reward_split"}:
        with pytest.raises(ConfigError, match=needle):
            Enas(spaces.create("edge-cell", **EDGE), task, epochs=1, **options)


TINY = ["--space", "edge-cell", "--space-opt", "channels=4", "--space-opt", "nodes=3", "--epochs", "1",
        "--no-progress", "--workers", "1", "--executor", "serial"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, task) -> str:
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x=np.concatenate([task.x_train, task.x_valid, task.x_test]),
             y=np.concatenate([task.y_train, task.y_valid, task.y_test]))
    return str(path)


def test_enas_study_from_the_cli_retrains_its_derived_genotypes(tmp_path, data, capsys):
    assert "enas" in ONESHOT.names()
    store = str(tmp_path / "s.db")
    argv = ["search", "--task", data, *TINY, "--strategy", "enas", "--strategy-opt", "epochs=2",
            "--strategy-opt", "controller_steps=3", "--strategy-opt", "samples=6",
            "--strategy-opt", "top_k=2", "--trials", "2", "--store", store, "--name", "e"]
    assert main(argv) == 0
    study = Study.load(store=store, name="e", read_only=True)
    record = study.config["oneshot"]
    assert record["method"] == "enas" and record["epochs"] == 2 and record["phase"] == "retraining"
    assert len(record["controller_history"]) == 2 and record["final"] == "sample"
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert [t.architecture.to_dict() for t in study.trials] == record["genotypes"]
    assert [c["genotype"] for c in record["candidates"]] == record["genotypes"]


@pytest.mark.parametrize("opt,needle", [("controller_lr=0", "controller_lr"), ("final=best", "final"),
                                        ("warmup=2", "does not take")])
def test_bad_enas_options_are_one_line_exit_2(tmp_path, data, capsys, opt, needle):
    store = tmp_path / "bad.db"
    argv = ["search", "--task", data, *TINY, "--strategy", "enas", "--strategy-opt", opt,
            "--store", str(store)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not store.exists()
