"""One-shot supernets trained on sampled paths: SPOS and path dropout; scoring genotypes with them.

* :class:`Spos` (single-path one-shot, Guo et al. 2020): every batch trains one path drawn uniformly
  (per decision point a uniform candidate, per NASNet block two distinct uniform inputs, as a random
  genotype of the space's decision points), so only that path's ops run.
* :class:`PathDropout` (Bender et al., ICML 2018): every batch trains the whole supernet with each op
  of each mixed op zeroed independently; the drop rate grows linearly from 0 to ``drop_rate`` over
  the epochs (their schedule), and an op of a point with ``k`` candidates is dropped with probability
  ``rate ** (1 / k)`` (their rule, so that the chance a point keeps some op does not depend on ``k``);
  a point that would lose every op keeps one at random.

Neither keeps batch-norm statistics during training; :func:`score` recalibrates them on a few
training batches for the genotype's path before measuring its validation accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nasforge.checks import check_int, check_number
from nasforge.oneshot.base import SupernetSearch
from nasforge.space.architecture import Architecture


def random_path(space: Any, generator: torch.Generator) -> Architecture:
    """A uniformly drawn genotype expressible by the supernet (random weights, discretised)."""
    weights = {p.name: torch.rand(p.n, generator=generator, dtype=torch.float64).numpy()
               for p in space.decision_points()}
    return space.discretize(weights, exclude=())


class Spos(SupernetSearch):
    """Uniform single-path supernet training (see the module docstring)."""

    method = "spos"

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        arch = random_path(self.space, self.generator)
        weights = self.net.path_weights(self.space.one_hot(arch), self.device, self.dtype)
        return self.weight_step(x, y, weights)


class PathDropout(SupernetSearch):
    """One-shot training with scheduled path dropout (see the module docstring).

    Args:
        drop_rate: the final drop rate ``r`` (reached at the last epoch; 0 at the first batch).
    """

    method = "path-dropout"

    def __init__(self, space: Any, task: Any, *, drop_rate: float = 0.5, **kwargs: Any) -> None:
        self.drop_rate = float(check_number("drop_rate", drop_rate, 0.0, 1.0, high_open=True))  # type: ignore[arg-type]
        super().__init__(space, task, **kwargs)

    def rate(self, step: int, steps: int) -> float:
        """The linear schedule: 0 at the first batch, ``drop_rate`` at the last."""
        total = max(self.epochs * steps - 1, 1)
        return self.drop_rate * (self.epoch * steps + step) / total

    def mask(self, rate: float) -> list[torch.Tensor]:
        out = []
        for p in self.net.points:
            drop = rate ** (1.0 / p.n) if rate > 0 else 0.0
            keep = (torch.rand(p.n, generator=self.generator) >= drop).to(self.dtype)
            if not bool(keep.any()):
                keep[int(torch.randint(p.n, (1,), generator=self.generator))] = 1.0
            out.append(keep.to(self.device))
        return out

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        return self.weight_step(x, y, self.mask(self.rate(step, steps)))


def genotype_weights(space: Any, arch: Architecture) -> dict[str, np.ndarray]:
    """The 0/1 path weights of ``arch`` in the supernet. Edge-cell and fabric: :meth:`one_hot`. NASNet:
    1.0 on each block's ``(input, op)`` pairs, so a block reading one input twice runs both ops on that
    edge; a ``concat`` block is scored as ``add`` (the supernet sums a block's branches)."""
    arch = space.canonicalize(space.check(arch))
    if "edges" in arch.genes:
        return space.one_hot(arch)
    weights = {p.name: np.zeros(p.n) for p in space.decision_points()}
    for cell in ("normal", "reduce"):
        for b, block in enumerate(arch.genes[cell]):
            for i, op in zip(block["inputs"], block["ops"], strict=True):
                weights[f"{cell}.{b}.from{i}"][space.ops.index(op)] += 1.0
    return weights


def score(net: Any, space: Any, arch: Architecture, x_train: torch.Tensor, x_valid: torch.Tensor,
          y_valid: torch.Tensor, *, calib_batches: int = 4, batch_size: int = 64) -> dict[str, float]:
    """``valid_acc`` / ``valid_loss`` of ``arch``'s path in the trained supernet ``net`` after batch-norm
    recalibration on the first ``calib_batches`` batches of ``x_train``."""
    check_int("calib_batches", calib_batches, 1)
    p = next(net.parameters())
    weights = net.path_weights(genotype_weights(space, arch), p.device, p.dtype)
    calib = [x_train[s: s + batch_size] for s in range(0, len(x_train), batch_size)][:calib_batches]
    calib = [c for c in calib if len(c) >= 2]
    correct, loss = 0, 0.0
    with net.calibrated(weights, calib), torch.no_grad():
        for s in range(0, len(y_valid), 256):
            logits = net(x_valid[s: s + 256], weights)
            target = y_valid[s: s + 256]
            correct += int((logits.argmax(1) == target).sum())
            loss += float(torch.nn.functional.cross_entropy(logits.float(), target, reduction="sum"))
    n = max(len(y_valid), 1)
    return {"valid_acc": correct / n, "valid_loss": loss / n}


def search_on_supernet(search: SupernetSearch, strategy: str = "regularized-evolution", queries: int = 100,
                       top_k: int = 1, seed: int = 0, strategy_opt: dict[str, Any] | None = None,
                       calib_batches: int = 4) -> list[dict[str, Any]]:
    """Run a black-box strategy with the supernet as its estimator (ask/tell in memory, ``queries``
    genotypes); returns the ``top_k`` best ``{"genes", "valid_acc"}`` by supernet score."""
    from nasforge import strategies
    from nasforge.trial import Trial, TrialState

    check_int("queries", queries, 1)
    check_int("top_k", top_k, 1)
    strat = strategies.create(strategy, **(strategy_opt or {})).setup(search.space, seed)
    seen: list[tuple[float, int, Architecture]] = []
    for n in range(queries):
        cand = strat.ask()
        metrics = score(search.net, search.space, cand.architecture, search.x_w, search.x_valid,
                        search.y_valid, calib_batches=calib_batches, batch_size=search.batch_size)
        trial = Trial(number=n, architecture=cand.architecture, state=TrialState.COMPLETE,
                      value=metrics["valid_acc"], metrics=metrics)
        strat.tell(trial)
        seen.append((metrics["valid_acc"], -n, cand.architecture))
    seen.sort(key=lambda t: (t[0], t[1]), reverse=True)
    out, hashes = [], set()
    for value, _, arch in seen:
        key = search.space.canonical_hash(arch)
        if key not in hashes:
            hashes.add(key)
            out.append({"genes": arch.genes, "valid_acc": value})
        if len(out) == top_k:
            break
    return out


__all__ = ["PathDropout", "Spos", "genotype_weights", "random_path", "score", "search_on_supernet"]
