"""The multi-branch space: a DAG of layers with skip connections and merges.

Node 0 is the stem's output; layer ``k`` (1-based) reads node ``k - 1`` (its main input) plus any
subset of earlier nodes ``0 .. k - 2`` (its skip inputs), merges them (``add`` or ``concat``), applies
its op with its own width and stride and produces node ``k``. The network's output is the last layer.
The depth is itself a choice, and a layer's choices exist only if the layer does (conditional
hyperparameters)::

    {"layers": [{"op": "conv_3x3", "width": 16, "stride": 1, "skips": [], "merge": "add"},
                {"op": "sep_conv_3x3", "width": 32, "stride": 2, "skips": [0], "merge": "concat"}]}

Every genotype is shape-consistent by construction: the builder
(:func:`nasforge.models.multibranch.build_multibranch`) knows each node's width and downsampling
factor statically and reduces a skip input with strided factorized reductions (and, for ``add``,
projects its width) to match the main input.

Canonical form: ``skips`` sorted, and ``merge`` is ``"add"`` for a layer without skips (it is unused).

One-shot structure: the decision points are the flat view's decisions (same names): per layer a
mixed-op point (``"layer{k}.op"``) and categorical width / stride / merge / skip points, plus the
depth. A DARTS-style relaxation fits only the op points (the others change shapes), so this space
suits single-path methods (SPOS, random paths) best; :meth:`MultiBranchSpace.discretize` takes every
point's argmax.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.checks import check_int
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import register
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph
from nasforge.space.cell_base import CellSpaceBase, DecisionPoint, best_allowed, check_ops
from nasforge.space.params import as_choices

MULTIBRANCH_OPS: tuple[str, ...] = (
    "conv_3x3",
    "conv_1x1",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "max_pool_3x3",
    "avg_pool_3x3",
)
MERGES: tuple[str, ...] = ("add", "concat")
_LAYER_KEYS = {"op", "width", "stride", "skips", "merge"}


def _int_list(name: str, values: Any, allowed: tuple[int, ...] | None = None) -> list[int]:
    choices = list(as_choices(list(values) if not isinstance(values, str) else values, name))
    for v in choices:
        check_int(name, v, 1)
        if allowed is not None and v not in allowed:
            raise ConfigError(f"{name} must be chosen from {list(allowed)}, got {v!r}")
    return [int(v) for v in choices]


@register("multibranch")
class MultiBranchSpace(CellSpaceBase):
    """A DAG of ``min_layers``..``max_layers`` layers with skips and add/concat merges.

    Args:
        max_layers, min_layers: range of the depth.
        ops: candidate op names per layer (op registry, tag ``cell``).
        widths: candidate output channels per layer.
        strides: candidate strides per layer (from 1 and 2).
        merges: merge choices for layers with skip inputs (``add``, ``concat``).
        stem_channels: channels of the stem convolution (node 0).
    """

    name = "multibranch"
    input_kinds = frozenset({"1d", "2d"})

    def __init__(
        self,
        max_layers: int = 6,
        min_layers: int = 1,
        ops: Sequence[str] = MULTIBRANCH_OPS,
        widths: Sequence[int] = (16, 32, 64),
        strides: Sequence[int] = (1, 2),
        merges: Sequence[str] = MERGES,
        stem_channels: int = 16,
    ) -> None:
        max_layers = check_int("max_layers", max_layers, 1, 16)
        min_layers = check_int("min_layers", min_layers, 1, max_layers)
        ops = list(as_choices(list(ops) if not isinstance(ops, str) else ops, "ops"))
        if not all(isinstance(o, str) and o for o in ops):
            raise ConfigError(f"ops must be a list of op names (strings), got {ops!r}")
        check_ops(ops, reduces=2 in list(strides), channel_change=True)
        merges = list(as_choices(list(merges) if not isinstance(merges, str) else merges, "merges"))
        if any(m not in MERGES for m in merges):
            raise ConfigError(f"merges must be chosen from {list(MERGES)}, got {merges!r}")
        super().__init__(
            max_layers=max_layers,
            min_layers=min_layers,
            ops=ops,
            widths=_int_list("widths", widths),
            strides=_int_list("strides", strides, (1, 2)),
            merges=merges,
            stem_channels=check_int("stem_channels", stem_channels, 2),
        )

    # -- helpers ------------------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(self.params["ops"])

    def _layer_decisions(self, k: int) -> list[Decision]:
        p = self.params
        out = [
            Decision(f"layer{k}.op", self.ops),
            Decision(f"layer{k}.width", tuple(p["widths"])),
            Decision(f"layer{k}.stride", tuple(p["strides"])),
            Decision(f"layer{k}.merge", tuple(p["merges"])),
        ]
        out += [Decision(f"layer{k}.skip{i}", (False, True)) for i in range(k - 1)]
        return out

    # -- genotypes ----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.from_flat([int(rng.integers(d.n)) for d in self.decisions()])

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        if set(genes) != {"layers"}:
            raise SpaceError(f"multibranch genotype needs exactly the gene 'layers', got {sorted(genes)}")
        layers = genes["layers"]
        p = self.params
        if not isinstance(layers, list) or not p["min_layers"] <= len(layers) <= p["max_layers"]:
            got = len(layers) if isinstance(layers, list) else type(layers).__name__
            raise SpaceError(
                f"layers: expected a list of {p['min_layers']}..{p['max_layers']} layers, got {got}"
            )
        for k, layer in enumerate(layers, start=1):
            where = f"layers[{k - 1}]"
            if not isinstance(layer, dict) or set(layer) != _LAYER_KEYS:
                raise SpaceError(
                    f"{where}: a layer has exactly the keys {sorted(_LAYER_KEYS)}, got {layer!r}"
                )
            for key, allowed in (
                ("op", p["ops"]),
                ("width", p["widths"]),
                ("stride", p["strides"]),
                ("merge", p["merges"]),
            ):
                value = layer[key]
                if isinstance(value, bool) or value not in allowed or type(value) is not type(allowed[0]):
                    raise SpaceError(f"{where}.{key} must be one of {list(allowed)}, got {value!r}")
            skips = layer["skips"]
            if (
                not isinstance(skips, list)
                or len(set(skips)) != len(skips)
                or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= k - 2 for i in skips)
            ):
                raise SpaceError(
                    f"{where}.skips must be distinct earlier nodes in [0, {k - 2}] (node {k - 1} is the "
                    f"main input), got {skips!r}"
                )

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        """Sort skips; an unused merge (no skips) reads as the first merge choice."""
        return self._normalise(arch.genes)

    def _normalise(self, genes: dict[str, Any]) -> dict[str, Any]:
        for layer in genes["layers"]:
            layer["skips"] = sorted(layer["skips"])
            if not layer["skips"]:
                layer["merge"] = self.params["merges"][0]
        return genes

    def size(self) -> float:
        """Exact number of canonical genotypes (conditional choices counted only when active)."""
        p = self.params
        per = len(p["ops"]) * len(p["widths"]) * len(p["strides"])
        total = 0
        for depth in range(p["min_layers"], p["max_layers"] + 1):
            total += math.prod(per * (1 + len(p["merges"]) * (2 ** (k - 1) - 1)) for k in range(1, depth + 1))
        return float(total)

    # -- flat view ----------------------------------------------------------------------------
    def _build_decisions(self) -> list[Decision]:
        p = self.params
        out = [Decision("depth", tuple(range(p["min_layers"], p["max_layers"] + 1)))]
        for k in range(1, p["max_layers"] + 1):
            out += self._layer_decisions(k)
        return out

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        arch = self.canonicalize(arch)
        layers = arch.genes["layers"]
        p = self.params
        flat = [len(layers) - p["min_layers"]]
        for k in range(1, p["max_layers"] + 1):
            if k > len(layers):
                flat += [0] * len(self._layer_decisions(k))
                continue
            layer = layers[k - 1]
            skips = set(layer["skips"])
            flat += [
                p["ops"].index(layer["op"]),
                p["widths"].index(layer["width"]),
                p["strides"].index(layer["stride"]),
                p["merges"].index(layer["merge"]) if skips else 0,
            ]
            flat += [int(i in skips) for i in range(k - 1)]
        return tuple(flat)

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise SpaceError(f"expected {len(decisions)} flat indices, got {len(indices)}")
        values = []
        for d, i in zip(decisions, indices, strict=True):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < d.n:
                raise SpaceError(f"{d.name}: index must be in [0, {d.n - 1}], got {i!r}")
            values.append(d.choices[int(i)])
        depth = values[0]
        layers = []
        pos = 1
        for k in range(1, depth + 1):
            op, width, stride, merge, *skip_flags = values[pos : pos + 4 + (k - 1)]
            pos += 4 + (k - 1)
            skips = [i for i, on in enumerate(skip_flags) if on]
            layers.append({"op": op, "width": width, "stride": stride, "skips": skips, "merge": merge})
        return Architecture(self.name, self._normalise({"layers": layers}))

    def active(self, indices: Sequence[int]) -> list[bool]:
        p = self.params
        depth = p["min_layers"] + int(indices[0])
        out = [True]
        pos = 1
        for k in range(1, p["max_layers"] + 1):
            on = k <= depth
            flags = [bool(indices[pos + 4 + i]) for i in range(k - 1)]
            out += [on, on, on, on and any(flags)] + [on] * (k - 1)
            pos += 4 + (k - 1)
        return out

    # -- one-shot structure -------------------------------------------------------------------
    def _build_decision_points(self) -> list[DecisionPoint]:
        """One point per flat decision, same names: ``depth``; per layer ``k`` an ``"op"`` point (a mixed
        op reading node ``k - 1``, at the stride ``layer{k}.stride`` decides) and ``width``,
        ``stride``, ``merge`` and ``skip{i}`` points. Points of layers past the depth, and the merge of
        a layer without skips, are inactive: their weights are required but do not matter."""
        p = self.params
        depths = tuple(range(p["min_layers"], p["max_layers"] + 1))
        out = [DecisionPoint("depth", "depth", depths, stride=None)]
        for k in range(1, p["max_layers"] + 1):
            out += [
                DecisionPoint(f"layer{k}.op", "op", self.ops, node=k, input=k - 1, stride=None),
                DecisionPoint(f"layer{k}.width", "width", tuple(p["widths"]), node=k, stride=None),
                DecisionPoint(f"layer{k}.stride", "stride", tuple(p["strides"]), node=k, stride=None),
                DecisionPoint(f"layer{k}.merge", "merge", tuple(p["merges"]), node=k, stride=None),
            ]
            out += [DecisionPoint(f"layer{k}.skip{i}", "skip", (False, True), node=k, input=i, stride=None)
                    for i in range(k - 1)]
        return out

    def _discretize(self, weights: dict[str, np.ndarray], exclude: frozenset[str]) -> Architecture:
        """Per point, its strongest candidate (``exclude`` applies to the op points), read as a flat
        index vector."""
        return self.from_flat([best_allowed(p, weights[p.name], exclude)[0] for p in self.decision_points()])

    def chosen_ops(self, arch: Architecture) -> list[str]:
        """Every layer's op (``none`` left out)."""
        return [layer["op"] for layer in arch.genes["layers"] if layer["op"] != "none"]

    def _one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        """1.0 on each decision's choice in the canonical flat view (inactive decisions: the first)."""
        out = {}
        for p, index in zip(self.decision_points(), self.to_flat(arch), strict=True):
            out[p.name] = np.zeros(p.n)
            out[p.name][index] = 1.0
        return out

    # -- graph view ---------------------------------------------------------------------------
    def op_vocabulary(self) -> list[str]:
        """Node labels of :meth:`to_graph`: ops, ``none`` for absent layers."""
        inner = [*self.ops] + ([] if "none" in self.ops else ["none"])
        return ["input", *inner, "output"]

    def max_path_length(self) -> int:
        """Path encoding covers paths of up to 4 layers (longer ones are left out, as in BANANAS)."""
        return min(int(self.params["max_layers"]), 4)

    def to_graph(self, arch: Architecture) -> Graph:
        """Nodes: input (stem), one per possible layer (``none`` if absent), output."""
        layers = self.check(arch).genes["layers"]
        n = int(self.params["max_layers"]) + 2
        adj = np.zeros((n, n), dtype=np.int8)
        labels = ["input"] + ["none"] * (n - 2) + ["output"]
        for k, layer in enumerate(layers, start=1):
            labels[k] = layer["op"]
            adj[k - 1, k] = 1
            for i in layer["skips"]:
                adj[i, k] = 1
        adj[len(layers), n - 1] = 1
        return Graph(adj, tuple(labels))


__all__ = ["MERGES", "MULTIBRANCH_OPS", "MultiBranchSpace"]
