"""ENAS: efficient neural architecture search via parameter sharing (Pham et al., ICML 2018).

An LSTM controller (:class:`~nasforge.strategies.policy.TokenPolicy`, the same policy the
``reinforce`` strategy uses) emits a genotype of the space token by token (its flat decisions:
edge-cell, one op per edge; NASNet, per block two inputs, two ops and the combiner, which the
supernet scores as ``add``). Every sampled genotype is a path of the space's one supernet
(:mod:`nasforge.models.supernet`), so all sampled children share weights. By default (as the paper)
the shared weights train on the training split and the controller's reward is measured on the
validation split; ``reward_split="half"`` halves the training split instead (as DARTS: weights on
one half, rewards on the other). Each epoch alternates two phases:

(a) **shared weights**: one pass over the weight data; every batch trains the path of one genotype
    sampled from the current controller (SGD, the cosine schedule of
    :class:`~nasforge.oneshot.base.SupernetSearch`);
(b) **controller**: ``controller_steps`` REINFORCE steps; each samples a genotype, takes as reward
    ``R`` the accuracy of its path with the shared weights on ``reward_batch`` samples of the reward
    half, and steps Adam (``controller_lr``) on ``-(R - b) * log p(genotype) - entropy_weight * H``,
    with ``H`` the entropy of the sampled decisions and ``b`` the moving-average baseline
    (``b <- decay * b + (1 - decay) * R`` after each step, started at the first reward).

**Derivation**: ``samples`` genotypes drawn from the trained controller (``final="sample"``), its
greedy argmax decode (``final="argmax"``) or both (``"both"``) are scored by their path's validation
accuracy with the shared weights after batch-norm recalibration
(:func:`~nasforge.oneshot.sampling.score`); the ``top_k`` best distinct ones are retrained from
scratch by the study as ordinary trials. The whole state (supernet, both optimizers, the controller,
its baseline, the generator) is checkpointed after every epoch, so a killed run resumes at its last
epoch; all randomness comes from the search's one torch generator.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from nasforge.checks import check_choice, check_int, check_number
from nasforge.errors import ConfigError
from nasforge.oneshot.base import SupernetSearch
from nasforge.oneshot.derive import chosen_ops, is_param_free
from nasforge.oneshot.sampling import genotype_weights, score
from nasforge.oneshot.strategy import TRAIN_KEYS, OneShotStrategy, _check_keys
from nasforge.space.architecture import Architecture
from nasforge.strategies.policy import TokenPolicy, greedy

#: the controller's options and their defaults
#: (``controller_steps``, ``reward_batch``, ``reward_split``, ``samples`` and ``max_param_free`` were
#: chosen on MNIST-1D edge-cell by the retrained pick's validation accuracy, seeds 0-2:
#: benchmarks/results/bench_oneshot_enas_tune_split_*.txt)
CONTROLLER_DEFAULTS: dict[str, Any] = {"hidden": 64, "controller_lr": 0.005, "controller_steps": 24,
                                       "baseline_decay": 0.95, "entropy_weight": 1e-3, "temperature": 5.0,
                                       "tanh_constant": 1.1, "reward_batch": 64, "reward_split": "valid"}
#: the derivation's options and their defaults
DERIVE_DEFAULTS: dict[str, Any] = {"samples": 30, "top_k": 1, "final": "sample", "calib_batches": 4,
                                   "max_param_free": 2}
FINALS = ("sample", "argmax", "both")


def check_controller(options: dict[str, Any]) -> dict[str, Any]:
    """The controller's options with defaults filled in, each checked (:class:`ConfigError`)."""
    o = {**CONTROLLER_DEFAULTS, **options}
    lr = o["controller_lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not lr > 0:
        raise ConfigError(f"controller_lr (the ENAS controller's Adam learning rate) must be > 0, got {lr!r}")
    return {"hidden": check_int("hidden", o["hidden"], 1), "controller_lr": float(lr),
            "controller_steps": check_int("controller_steps", o["controller_steps"], 0),
            "baseline_decay": check_number("baseline_decay", o["baseline_decay"], 0.0, 1.0, high_open=True),
            "entropy_weight": check_number("entropy_weight", o["entropy_weight"], 0.0),
            "temperature": check_number("temperature", o["temperature"], 0.0, low_open=True),
            "tanh_constant": check_number("tanh_constant", o["tanh_constant"], 0.0, low_open=True,
                                          allow_none=True),
            "reward_batch": check_int("reward_batch", o["reward_batch"], 2),
            "reward_split": check_choice("reward_split", o["reward_split"], ("half", "valid"))}


def check_derive(options: dict[str, Any]) -> dict[str, Any]:
    """The derivation's options with defaults filled in, each checked (:class:`ConfigError`)."""
    o = {**DERIVE_DEFAULTS, **options}
    return {"samples": check_int("samples", o["samples"], 1), "top_k": check_int("top_k", o["top_k"], 1),
            "final": check_choice("final", o["final"], FINALS),
            "calib_batches": check_int("calib_batches", o["calib_batches"], 1),
            "max_param_free": check_int("max_param_free", o["max_param_free"], 0, allow_none=True)}


class Enas(SupernetSearch):
    """ENAS on a cell space's supernet (see the module docstring).

    Args:
        hidden: the controller's LSTM width (64).
        controller_lr: the controller's Adam learning rate (0.005; must be > 0).
        controller_steps: REINFORCE steps per epoch (50).
        baseline_decay: decay of the moving-average baseline (0.95).
        entropy_weight: weight of the entropy bonus (1e-3).
        temperature, tanh_constant: the controller's logits are ``tanh_constant * tanh(l / temperature)``
            (5.0 and 1.1, as the ENAS code; ``tanh_constant=None``: plain ``l / temperature``), which
            bounds how peaked the policy gets.
        reward_batch: samples of the reward data each reward is measured on (64).
        reward_split: ``"valid"`` (the default: the weights train on the whole training split,
            rewards come from the validation split, as the paper) or ``"half"`` (the training split
            halved: weights / rewards).
        **kwargs: :class:`~nasforge.oneshot.base.SupernetSearch` (epochs, lr, seed, device, ...).
    """

    method = "enas"
    split_halves = True

    def __init__(self, space: Any, task: Any, **kwargs: Any) -> None:
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in CONTROLLER_DEFAULTS}
        self.options = check_controller(options)
        super().__init__(space, task, **kwargs)
        self.policy = TokenPolicy([d.n for d in space.decisions()], self.options["hidden"], self.seed + 1)
        self.controller_optimizer = torch.optim.Adam(self.policy.parameters(),
                                                     lr=self.options["controller_lr"])
        self.baseline: float | None = None

    def _load_data(self) -> None:
        super()._load_data()
        if self.options["reward_split"] == "valid":  # the weights get both halves, rewards the valid split
            self.x_w, self.y_w = torch.cat([self.x_w, self.x_a]), torch.cat([self.y_w, self.y_a])
            self.x_a, self.y_a = self.x_valid, self.y_valid

    # -- the controller -----------------------------------------------------------------------
    def _logit_options(self) -> dict[str, Any]:
        return {"temperature": self.options["temperature"], "tanh_constant": self.options["tanh_constant"]}

    def _draw(self, probs: Any) -> int:
        return int(torch.multinomial(torch.from_numpy(probs), 1, generator=self.generator))

    def sample(self, *, with_grad: bool = False) -> tuple[Architecture, torch.Tensor, torch.Tensor]:
        """A genotype drawn from the controller, with its log-probability and entropy."""
        with torch.set_grad_enabled(with_grad):
            tokens, logp, entropy = self.policy.run(self.space.active, draw=self._draw,
                                                    **self._logit_options())
        return self.space.from_flat(tokens), logp, entropy

    def greedy(self) -> Architecture:
        """The controller's argmax decode."""
        with torch.no_grad():
            tokens, _, _ = self.policy.run(self.space.active, draw=greedy, **self._logit_options())
        return self.space.from_flat(tokens)

    def path(self, arch: Architecture) -> list[torch.Tensor]:
        """The supernet's 0/1 weights of ``arch``'s path."""
        return self.net.path_weights(genotype_weights(self.space, arch), self.device, self.dtype)

    def reward(self, arch: Architecture, x: torch.Tensor, y: torch.Tensor) -> float:
        """Accuracy of ``arch``'s path with the shared weights on ``(x, y)`` (batch statistics)."""
        self.net.eval()
        with torch.no_grad():
            correct = int((self.net(x, self.path(arch)).argmax(1) == y).sum())
        return correct / max(len(y), 1)

    def controller_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        """One REINFORCE step of the controller with a reward measured on ``(x, y)``."""
        arch, logp, entropy = self.sample(with_grad=True)
        reward = float(self.reward(arch, x, y))
        baseline = reward if self.baseline is None else self.baseline
        loss = -(reward - baseline) * logp - self.options["entropy_weight"] * entropy
        self.controller_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.controller_optimizer.step()
        decay = self.options["baseline_decay"]
        self.baseline = decay * baseline + (1 - decay) * reward
        return {"arch": arch, "reward": reward, "baseline": baseline, "entropy": float(entropy.detach())}

    def reward_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``reward_batch`` random samples of the reward data (drawn with the search's generator)."""
        idx = torch.randperm(len(self.y_a), generator=self.generator)[: self.options["reward_batch"]]
        idx = idx.to(self.x_a.device)
        return self.x_a[idx], self.y_a[idx]

    # -- the two phases -----------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        arch, _, _ = self.sample()
        return self.weight_step(x, y, self.path(arch))

    def end_epoch(self) -> dict[str, Any]:
        rewards, entropies = [], []
        for _ in range(self.options["controller_steps"]):
            out = self.controller_step(*self.reward_batch())
            rewards.append(out["reward"])
            entropies.append(out["entropy"])
        mean = lambda v: sum(v) / len(v) if v else None  # noqa: E731  (None: JSON has no NaN)
        return {"reward": mean(rewards), "entropy": mean(entropies), "baseline": self.baseline,
                "greedy": self.greedy().to_dict()}

    # -- derivation ---------------------------------------------------------------------------
    def candidates(self, samples: int = 100, top_k: int = 1, final: str = "sample", calib_batches: int = 4,
                   max_param_free: int | None = None) -> list[dict[str, Any]]:
        """The ``top_k`` best distinct genotypes among the controller's ``samples`` draws and/or its
        argmax (``final``), by shared-weight validation accuracy: ``[{"genes", "valid_acc"}]``. With
        ``max_param_free`` (the guard of :mod:`~nasforge.oneshot.derive`), genotypes with more
        parameter-free ops are passed over unless no candidate has that few."""
        o = check_derive({"samples": samples, "top_k": top_k, "final": final, "calib_batches": calib_batches,
                          "max_param_free": max_param_free})
        pool = [self.greedy()] if o["final"] in ("argmax", "both") else []
        if o["final"] in ("sample", "both"):
            pool += [self.sample()[0] for _ in range(o["samples"])]
        if o["max_param_free"] is not None:
            kept = [a for a in pool
                    if sum(map(is_param_free, chosen_ops(self.space, a))) <= o["max_param_free"]]
            pool = kept or pool
        seen, scored = set(), []
        for n, arch in enumerate(pool):
            key = self.space.canonical_hash(arch)
            if key in seen:
                continue
            seen.add(key)
            acc = score(self.net, self.space, arch, self.x_w, self.x_valid, self.y_valid,
                        calib_batches=o["calib_batches"], batch_size=self.batch_size)["valid_acc"]
            scored.append((acc, -n, arch))
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [{"genes": a.genes, "valid_acc": acc} for acc, _, a in scored[: o["top_k"]]]

    # -- state --------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"policy": {k: v.detach().cpu() for k, v in self.policy.state_dict().items()},
                "controller_optimizer": self.controller_optimizer.state_dict(),
                "baseline": float("nan") if self.baseline is None else float(self.baseline)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.controller_optimizer.load_state_dict(state["controller_optimizer"])
        baseline = float(state["baseline"])
        self.baseline = None if math.isnan(baseline) else baseline

    def record(self) -> dict[str, Any]:
        out = super().record()
        out.update(controller=dict(self.options), greedy=self.greedy().to_dict(),
                   controller_history=[{k: h[k] for k in ("epoch", "reward", "entropy", "baseline")}
                                       for h in self.history if "reward" in h])
        return out


class EnasStrategy(OneShotStrategy):
    """ENAS as a study's one-shot method (``--strategy enas``).

    Options (``--strategy-opt KEY=VALUE``): the controller's ``hidden`` (64), ``controller_lr``
    (0.005, > 0), ``controller_steps`` (24 per epoch), ``baseline_decay`` (0.95), ``entropy_weight``
    (1e-3), ``temperature`` (5.0), ``tanh_constant`` (1.1), ``reward_batch`` (64), ``reward_split``
    (``valid`` | ``half``); the derivation's ``samples`` (30), ``top_k`` (1), ``final`` (``sample``
    | ``argmax`` | ``both``), ``calib_batches`` (4), ``max_param_free`` (2; None: no cap); and the supernet's
    ``epochs``, ``batch_size``, ``lr``, ``lr_min``, ``momentum``, ``weight_decay``, ``grad_clip``.
    The ``top_k`` derived genotypes are retrained from scratch as ordinary trials.
    """

    name = "enas"

    def __init__(self, **params: Any) -> None:
        _check_keys(self.name, params, (*CONTROLLER_DEFAULTS, *DERIVE_DEFAULTS, *TRAIN_KEYS))
        check_controller({k: v for k, v in params.items() if k in CONTROLLER_DEFAULTS})
        check_derive({k: v for k, v in params.items() if k in DERIVE_DEFAULTS})
        super().__init__(**params)

    def search_class(self) -> Any:
        return Enas

    def search_options(self) -> dict[str, Any]:
        return {**super().search_options(),
                **{k: v for k, v in self.params.items() if k in CONTROLLER_DEFAULTS}}

    def derive(self, search: Any) -> tuple[list[Architecture], dict[str, Any]]:
        o = check_derive({k: v for k, v in self.params.items() if k in DERIVE_DEFAULTS})
        top = search.candidates(**o)
        archs = [Architecture(search.space.name, t["genes"]) for t in top]
        return archs, {**o, "candidates": [{"genotype": a.to_dict(), "supernet": t["valid_acc"]}
                                           for a, t in zip(archs, top, strict=True)]}


__all__ = ["CONTROLLER_DEFAULTS", "DERIVE_DEFAULTS", "Enas", "EnasStrategy", "check_controller",
           "check_derive"]
