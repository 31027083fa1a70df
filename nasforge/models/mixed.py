"""The mixed op of a supernet and the batch-norm handling of weight-sharing search.

:class:`MixedOp` holds one op per candidate of a decision point, all built from the op registry with
its one factory signature ``(c_in, c_out, stride, dims, affine=False)`` (batch norms without learnable
scale and shift, as in DARTS), and computes ``sum(w_i * op_i(x))`` (the DARTS one-liner). Weights that
carry no gradient (a sampled path, a one-hot genotype, a path-dropout mask) run *only* the ops whose
weight is non-zero, so a sub-network costs the memory and time of one network, not of all.

Batch norm: during a search the supernet's batch norms keep **no running statistics**
(:func:`disable_running_stats`; every forward normalises with the batch's own statistics), because
statistics averaged over many different paths fit none of them. Before a sub-network is scored,
:func:`recalibrate_bn` re-estimates them on a few training batches with that sub-network's path;
the context manager restores the statistics-free state afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from nasforge.ops import create_op


class MixedOp(nn.Module):
    """``sum(w_i * op_i(x))`` over the candidate ops of one decision point.

    Args:
        candidates: op names (op registry).
        channels: input and output width.
        stride: the stride every candidate runs at.
        dims: 1 (signals) or 2 (images).
    """

    def __init__(self, candidates: Sequence[str], channels: int, stride: int, dims: int) -> None:
        super().__init__()
        self.candidates = tuple(candidates)
        self.ops = nn.ModuleList(create_op(name, channels, channels, stride, dims, affine=False)
                                 for name in self.candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted sum; with weights that need no gradient only the non-zero ones run."""
        if weights.requires_grad:
            return sum(w * op(x) for w, op in zip(weights, self.ops, strict=True))  # type: ignore[return-value]
        active = [k for k in range(len(self.ops)) if float(weights[k]) != 0.0]
        if not active:
            raise ValueError("a mixed op needs at least one non-zero weight (an all-zero point is skipped)")
        out = None
        for k in active:
            h = self.ops[k](x)
            h = h if float(weights[k]) == 1.0 else weights[k] * h
            out = h if out is None else out + h
        return out  # type: ignore[return-value]


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every batch-norm module of ``model``."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def disable_running_stats(model: nn.Module) -> None:
    """Make every batch norm of ``model`` normalise with batch statistics, in train and eval mode."""
    for bn in batch_norms(model):
        bn.track_running_stats = False
        bn.running_mean = None
        bn.running_var = None
        bn.num_batches_tracked = None


@contextmanager
def recalibrate_bn(model: nn.Module, forward: Iterable[torch.Tensor], run: object) -> Iterator[nn.Module]:
    """Estimate fresh running statistics (a cumulative average) from the batches ``forward``, by calling
    ``run(x)`` in train mode without gradients; yield ``model`` in eval mode using them; then restore
    the statistics-free search state (:func:`disable_running_stats`) and the previous mode.

    ``run`` is the callable that pushes one batch through the chosen sub-network (e.g.
    ``lambda x: supernet(x, weights)``).
    """
    batches = list(forward)
    device = batches[0].device if batches else torch.device("cpu")
    dtype = batches[0].dtype if batches else torch.float32
    was_training = model.training
    saved = []
    for bn in batch_norms(model):
        saved.append((bn, bn.momentum))
        bn.track_running_stats = True
        bn.running_mean = torch.zeros(bn.num_features, device=device, dtype=dtype)
        bn.running_var = torch.ones(bn.num_features, device=device, dtype=dtype)
        bn.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)
        bn.momentum = None  # cumulative moving average over the calibration batches
    try:
        model.train()
        with torch.no_grad():
            for x in batches:
                run(x)  # type: ignore[operator]
        model.eval()
        yield model
    finally:
        for bn, momentum in saved:
            bn.momentum = momentum
        disable_running_stats(model)
        model.train(was_training)


__all__ = ["MixedOp", "batch_norms", "disable_running_stats", "recalibrate_bn"]
