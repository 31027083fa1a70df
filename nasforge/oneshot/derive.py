"""From architecture weights to a genotype, and the guard against DARTS' collapse.

:func:`derive` discretises softmaxed weights with the space's own rule (:meth:`discretize`: per edge the
argmax op excluding ``none`` for edge-cell; per block the two strongest inputs for NASNet cells).

**Collapse.** DARTS is known to drift to parameter-free ops (NAS-Bench-201 reports all-``skip_connect``
cells and 54% test accuracy on CIFAR-10): skip connections ease the supernet's optimisation, so their
weights grow whether or not the derived cell is good. Two guards, both off by default:

* ``max_skip`` (a cap, as P-DARTS): the derived cell keeps at most ``max_skip`` ``skip_connect`` ops;
  the weakest chosen skips are replaced by each point's next strongest op.
* ``max_param_free``: the same cap on every parameter-free op (skip, pooling), for cells that
  collapse to pooling rather than to skips.
* ``freeze_share`` (early stop of the alpha updates, as DARTS+): :class:`~nasforge.oneshot.darts.Darts`
  stops updating alpha once the share of parameter-free ops in the currently derived cell exceeds it.

:func:`param_free_share` is the share of parameter-free ops (no learnable weights: ``skip_connect``,
pooling, ...) among the derived cell's ops, recorded with every DARTS result.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from nasforge.checks import check_int
from nasforge.space.architecture import Architecture

SKIP = "skip_connect"


def chosen_ops(space: Any, arch: Architecture) -> list[str]:
    """The ops a cell genotype uses: the space's own :meth:`chosen_ops` (edge-cell: its non-``none``
    edges; NASNet: every block's ops; fabric: one ``conv`` per kept edge)."""
    return space.chosen_ops(arch)


@cache
def is_param_free(op: str) -> bool:
    """Whether op ``op`` has no learnable parameters at stride 1 and constant width."""
    from nasforge.ops import create_op

    module = create_op(op, 4, 4, 1, 1)
    return sum(p.numel() for p in module.parameters()) == 0


def param_free_share(space: Any, arch: Architecture) -> float:
    """Share of parameter-free ops among the ops of ``arch`` (0.0 for a cell with none)."""
    ops = chosen_ops(space, arch)
    return sum(is_param_free(op) for op in ops) / len(ops) if ops else 0.0


def derive(space: Any, weights: Mapping[str, Any], *, max_skip: int | None = None,
           max_param_free: int | None = None) -> Architecture:
    """The genotype ``weights`` select (see the module docstring); ``max_skip`` caps ``skip_connect``,
    ``max_param_free`` caps every parameter-free op."""
    check_int("max_skip", max_skip, 0, allow_none=True)
    check_int("max_param_free", max_param_free, 0, allow_none=True)
    w = {k: np.array(v, dtype=float) for k, v in space.check_weights(weights).items()}
    arch = space.discretize(w)
    points = space.decision_points()
    for _ in range(sum(p.n for p in points)):
        ops = chosen_ops(space, arch)
        if max_skip is not None and ops.count(SKIP) > max_skip:
            capped = lambda op: op == SKIP  # noqa: E731
        elif max_param_free is not None and sum(map(is_param_free, ops)) > max_param_free:
            capped = is_param_free
        else:
            break
        picked = [(w[p.name][p.candidates.index(op)], p.name, op) for p in points
                  for op in _picked_ops(space, arch, p) if capped(op)]
        if not picked:
            break
        _, name, op = min(picked)
        k = next(p for p in points if p.name == name).candidates.index(op)
        w[name][k] = float(np.min(w[name])) - 1.0  # below every other candidate of the point
        arch = space.discretize(w)
    return arch


def _picked_ops(space: Any, arch: Architecture, point: Any) -> list[str]:
    """The ops ``arch`` runs on ``point``'s edge (edge-cell: its op unless ``none``)."""
    genes = arch.genes
    if "edges" in genes:
        op = genes["edges"][[p.name for p in space.decision_points()].index(point.name)]
        return [] if op == "none" else [op]
    block = genes[point.cell][point.node - 2]
    return [op for i, op in zip(block["inputs"], block["ops"], strict=True) if i == point.input]


__all__ = ["SKIP", "chosen_ops", "derive", "is_param_free", "param_free_share"]
