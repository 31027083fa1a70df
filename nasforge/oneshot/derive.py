"""From architecture weights to a genotype, and the guard against DARTS' collapse.

:func:`derive` discretises softmaxed weights with the space's own rule (:meth:`discretize`: per edge the
argmax op excluding ``none`` for edge-cell; per block the two strongest inputs for NASNet cells).

**Collapse.** DARTS is known to drift to parameter-free ops (NAS-Bench-201 reports all-``skip_connect``
cells and 54% test accuracy on CIFAR-10): skip connections ease the supernet's optimisation, so their
weights grow whether or not the derived cell is good. Two guards, both off by default:

* ``max_skip`` (a cap, as P-DARTS): the derived cell keeps at most ``max_skip`` ``skip_connect`` ops;
  the weakest chosen skips are replaced by each point's next strongest op.
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
    """The ops a cell genotype uses (edge-cell: its non-``none`` edges; NASNet: every block's ops)."""
    genes = arch.genes
    if "edges" in genes:
        return [op for op in genes["edges"] if op != "none"]
    return [op for cell in ("normal", "reduce") for block in genes.get(cell, []) for op in block["ops"]]


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


def derive(space: Any, weights: Mapping[str, Any], *, max_skip: int | None = None) -> Architecture:
    """The genotype ``weights`` select (see the module docstring); ``max_skip`` caps ``skip_connect``."""
    check_int("max_skip", max_skip, 0, allow_none=True)
    w = {k: np.array(v, dtype=float) for k, v in space.check_weights(weights).items()}
    arch = space.discretize(w)
    points = {p.name: p for p in space.decision_points()}
    for _ in range(sum(p.n for p in points.values())):
        if max_skip is None or chosen_ops(space, arch).count(SKIP) <= max_skip:
            break
        picked = [(w[name][p.candidates.index(SKIP)], name) for name, p in points.items()
                  if SKIP in p.candidates and _picks_skip(space, arch, p)]
        if not picked:
            break
        _, weakest = min(picked)
        k = points[weakest].candidates.index(SKIP)
        w[weakest][k] = float(np.min(w[weakest])) - 1.0  # below every other candidate of the point
        arch = space.discretize(w)
    return arch


def _picks_skip(space: Any, arch: Architecture, point: Any) -> bool:
    genes = arch.genes
    if "edges" in genes:
        return genes["edges"][[p.name for p in space.decision_points()].index(point.name)] == SKIP
    block = genes[point.cell][point.node - 2]
    return any(i == point.input and op == SKIP for i, op in zip(block["inputs"], block["ops"], strict=True))


__all__ = ["SKIP", "chosen_ops", "derive", "is_param_free", "param_free_share"]
