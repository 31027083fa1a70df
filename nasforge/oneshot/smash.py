"""SMASH (Brock et al., ICLR 2018): one-shot model architecture search through hypernetworks.

:class:`Smash` trains a :class:`~nasforge.models.hypernet.HyperNet` together with the supernet it
generates weights for: every batch draws one architecture uniformly (per decision point a uniform
candidate, as :func:`~nasforge.oneshot.sampling.random_path`), encodes it (``space.encode(arch,
"onehot")`` of its canonical form), generates the weights of its path's ops from that encoding and
takes one SGD step on the cross-entropy through the generated weights (so the hypernetwork's MLP,
bases and biases all train; the stem and classifier are shared weights). The supernet's usual
schedule, clipping, per-epoch checkpoint (the hypernetwork is part of the state) and resume apply.

:func:`smash_search` is the paper's search: ``queries`` random architectures (distinct canonical
cells) are scored by their validation accuracy with generated weights (after batch-norm
recalibration on ``calib_batches`` training batches), then the best is perturbed ``perturb`` times
(one mutation of the current best; kept if its score is higher), and the ``top_k`` best by score are
handed to the study, which retrains them from scratch as ordinary trials.

:class:`SmashStrategy` is the ``smash`` one-shot method (``nasforge search --strategy smash``);
options: ``queries`` (100), ``perturb`` (20), ``top_k`` (1), ``calib_batches`` (4), the
hypernetwork's ``rank`` (4) and ``hidden`` (64), and the supernet training options (``epochs``,
``batch_size``, ``lr``, ...). Spaces: edge-cell and nasnet.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.checks import check_int
from nasforge.models.hypernet import GeneratedNet, HyperNet
from nasforge.oneshot.base import SupernetSearch
from nasforge.oneshot.sampling import genotype_weights, random_path, score
from nasforge.oneshot.strategy import TRAIN_KEYS, OneShotStrategy, _check_keys
from nasforge.space.architecture import Architecture


class Smash(SupernetSearch):
    """A supernet whose op weights a hypernetwork generates from the encoding (module docstring).

    Args:
        rank, hidden: the hypernetwork's code width and hidden width
            (:class:`~nasforge.models.hypernet.HyperNet`).
        **kwargs: as :class:`~nasforge.oneshot.base.SupernetSearch`.
    """

    method = "smash"

    def __init__(self, space: Any, task: Any, *, rank: int = 4, hidden: int = 64, **kwargs: Any) -> None:
        self.rank = check_int("rank", rank, 1)
        self.hidden = check_int("hidden", hidden, 1)
        super().__init__(space, task, **kwargs)
        dim = len(space.encode(space.sample(np.random.default_rng(0)), "onehot"))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            self.hyper = HyperNet(self.net, dim, rank=self.rank, hidden=self.hidden)
        self.hyper.to(device=self.device, dtype=self.dtype)
        self.params = [*self.net.parameters(), *self.hyper.parameters()]
        self.optimizer = torch.optim.SGD(self.params, lr=self.lr, momentum=self.momentum,
                                         weight_decay=self.weight_decay)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, self.epochs, self.lr_min)

    def inputs(self, arch: Architecture) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(encoding, path weights)`` of ``arch`` (both of its canonical form)."""
        arch = self.space.canonicalize(self.space.check(arch))
        encoding = torch.as_tensor(self.space.encode(arch, "onehot"), dtype=self.dtype, device=self.device)
        weights = self.net.path_weights(genotype_weights(self.space, arch), self.device, self.dtype)
        return encoding, weights

    def loss_of(self, arch: Architecture, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of ``arch`` on ``(x, y)`` with generated weights."""
        encoding, weights = self.inputs(arch)
        return F.cross_entropy(self.hyper.run(self.net, x, encoding, weights), y)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        """One SGD step of the hypernetwork and shared weights on a uniformly drawn architecture."""
        arch = random_path(self.space, self.generator)
        self.net.train()
        self.hyper.train()
        loss = self.loss_of(arch, x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        return float(loss.detach())

    def generated(self, arch: Architecture) -> GeneratedNet:
        """The network of ``arch``'s encoding (for :func:`~nasforge.oneshot.sampling.score`)."""
        return GeneratedNet(self.net, self.hyper, self.inputs(arch)[0])

    def score(self, arch: Architecture, calib_batches: int = 4) -> dict[str, float]:
        """``valid_acc`` / ``valid_loss`` of ``arch`` with generated weights (after BN recalibration)."""
        return score(self.generated(arch), self.space, arch, self.x_w, self.x_valid, self.y_valid,
                     calib_batches=calib_batches, batch_size=self.batch_size)

    def extra_state(self) -> dict[str, Any]:
        return {"hyper": {k: v.detach().cpu() for k, v in self.hyper.state_dict().items()}}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.hyper.load_state_dict(state["hyper"])

    def supernet_record(self) -> dict[str, Any]:
        """The shared weights (the slot biases) with the hypernetwork under ``"hyper"``; the ``supernet``
        evaluator reads only the shared weights, i.e. scores paths as if the basis were zero."""
        return {**super().supernet_record(), **self.extra_state()}


def smash_search(search: Smash, queries: int = 100, perturb: int = 20, top_k: int = 1, seed: int = 0,
                 calib_batches: int = 4) -> list[dict[str, Any]]:
    """The paper's search with generated weights (module docstring); the ``top_k`` best
    ``{"genes", "valid_acc"}``, best first (ties: the earlier scored)."""
    check_int("queries", queries, 1)
    check_int("perturb", perturb, 0)
    check_int("top_k", top_k, 1)
    space = search.space
    rng = np.random.default_rng(seed)
    seen: dict[str, tuple[float, int, Architecture]] = {}

    def evaluate(arch: Architecture) -> float:
        arch = space.canonicalize(arch)
        key = space.canonical_hash(arch)
        if key not in seen:
            seen[key] = (search.score(arch, calib_batches)["valid_acc"], -len(seen), arch)
        return seen[key][0]

    for _ in range(queries):
        evaluate(space.sample(rng))
    best = max(seen.values(), key=lambda t: (t[0], t[1]))
    value, arch = best[0], best[2]
    for _ in range(perturb):
        child = space.mutate(arch, rng)
        child_value = evaluate(child)
        if child_value > value:
            value, arch = child_value, space.canonicalize(child)
    ranked = sorted(seen.values(), key=lambda t: (t[0], t[1]), reverse=True)
    return [{"genes": a.genes, "valid_acc": v} for v, _, a in ranked[:top_k]]


class SmashStrategy(OneShotStrategy):
    """SMASH: a hypernetwork-generated supernet, random search + perturbation on it, the best ``top_k``
    retrained (see :mod:`nasforge.oneshot.smash`)."""

    name = "smash"
    KEYS = ("queries", "perturb", "top_k", "calib_batches", "rank", "hidden")
    DEFAULTS: ClassVar[dict[str, int]] = {"queries": 100, "perturb": 20, "top_k": 1, "calib_batches": 4,
                                          "rank": 4, "hidden": 64}

    def __init__(self, **params: Any) -> None:
        _check_keys(self.name, params, (*self.KEYS, *TRAIN_KEYS))
        low = {"queries": 1, "perturb": 0, "top_k": 1, "calib_batches": 1, "rank": 1, "hidden": 1}
        for key, minimum in low.items():
            check_int(key, params.get(key, self.DEFAULTS[key]), minimum)
        super().__init__(**params)

    def option(self, key: str) -> int:
        return int(self.params.get(key, self.DEFAULTS[key]))

    def search_class(self) -> Any:
        return Smash

    def search_options(self) -> dict[str, Any]:
        return {**super().search_options(), "rank": self.option("rank"), "hidden": self.option("hidden")}

    def derive(self, search: Any) -> tuple[list[Architecture], dict[str, Any]]:
        top = smash_search(search, self.option("queries"), self.option("perturb"), self.option("top_k"),
                           seed=self.seed, calib_batches=self.option("calib_batches"))
        archs = [Architecture(search.space.name, t["genes"]) for t in top]
        return archs, {"queries": self.option("queries"), "perturb": self.option("perturb"),
                       "candidates": [{"genotype": a.to_dict(), "supernet": t["valid_acc"]}
                                      for a, t in zip(archs, top, strict=True)]}


__all__ = ["Smash", "SmashStrategy", "smash_search"]
