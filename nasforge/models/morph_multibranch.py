"""Morphisms of the multi-branch space. Exact: ``widen``, ``deepen``, ``add-skip``, ``grow-kernel``;
approximate: ``narrow``, ``remove-layer``. The module layout they rewrite (stem, layers, adapters, head
and the cell ops' submodules) is described in ``docs/morphisms.md``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nasforge.models.morphisms import (
    Morphism,
    NarrowMixin,
    RemoveLayerMixin,
    State,
    copy_shifted,
    identity_conv,
    inherit_matching,
    insert_zero_in,
    pad_kernel,
    replicate,
    set_bn_identity,
    split_in,
    template_state,
    widen_mapping,
)
from nasforge.space.architecture import Architecture

POOLS = ("max_pool_3x3", "avg_pool_3x3")
#: ops that start with a ReLU (they absorb the ReLU of an identity layer inserted before them)
RELU_FIRST = ("conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
GROW = {"conv_1x1": "conv_3x3", "sep_conv_3x3": "sep_conv_5x5", "dil_conv_3x3": "dil_conv_5x5"}
IDENTITY_OPS = ("conv_3x3", "conv_1x1")


def _shapes(space: Any, layers: list[dict[str, Any]]) -> tuple[list[int], list[int], list[int]]:
    """Per node: width and downsampling factor; per layer: the width its op reads (after merging)."""
    widths, factors, merged = [int(space.params["stem_channels"])], [1], []
    for j, layer in enumerate(layers):
        concat = layer["merge"] == "concat" and bool(layer["skips"])
        merged.append(widths[j] + (sum(widths[i] for i in layer["skips"]) if concat else 0))
        widths.append(layer["width"])
        factors.append(factors[j] * layer["stride"])
    return widths, factors, merged


def _make(space: Any, layers: list[dict[str, Any]]) -> Architecture:
    return Architecture(space.name, space._normalise({"layers": layers}))


def _layers(arch: Architecture) -> list[dict[str, Any]]:
    return [{**layer, "skips": list(layer["skips"])} for layer in arch.genes["layers"]]


def _projects(op: str, c_in: int, width: int) -> bool:
    """Whether a pool op has its width projection (a 1x1 conv); convolutions always have weights."""
    return op not in POOLS or c_in != width


def _producer(op: str) -> tuple[str, str]:
    """``(output weight key, batch-norm prefix)`` of an op (pools: their projection)."""
    if op.startswith("conv_"):
        return "op.1.weight", "op.2."
    if op.startswith("dil_conv"):
        return "op.2.weight", "op.3."
    if op.startswith("sep_conv"):
        return "op.1.2.weight", "op.1.3."
    return "op.1.1.weight", "op.1.2."


def _widen_input(op: str, prefix: str, parent: State, state: State, mapping: torch.Tensor, noise: float,
                 generator: torch.Generator) -> None:
    """The op at ``prefix`` reads its input channels through ``mapping`` (the consumer side)."""
    if op.startswith("conv_"):
        state[f"{prefix}op.1.weight"] = split_in(parent[f"{prefix}op.1.weight"], mapping, 1, noise, generator)
    elif op.startswith("dil_conv"):
        state[f"{prefix}op.1.weight"] = replicate(parent[f"{prefix}op.1.weight"], mapping)
        state[f"{prefix}op.2.weight"] = split_in(parent[f"{prefix}op.2.weight"], mapping, 1, noise, generator)
    elif op.startswith("sep_conv"):  # the first block keeps its input width: widen it inside as well
        b = f"{prefix}op.0."
        state[f"{b}1.weight"] = replicate(parent[f"{b}1.weight"], mapping)
        state[f"{b}2.weight"] = split_in(replicate(parent[f"{b}2.weight"], mapping), mapping, 1, noise,
                                         generator)
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            state[f"{b}3.{suffix}"] = replicate(parent[f"{b}3.{suffix}"], mapping)
        state[f"{prefix}op.1.1.weight"] = replicate(parent[f"{prefix}op.1.1.weight"], mapping)
        state[f"{prefix}op.1.2.weight"] = split_in(parent[f"{prefix}op.1.2.weight"], mapping, 1, noise,
                                                   generator)
    else:  # a pool with its projection
        key = f"{prefix}op.1.1.weight"
        state[key] = split_in(parent[key], mapping, 1, noise, generator)


class _BranchOp(Morphism):
    space = "multibranch"

    def widenable(self, space: Any, arch: Architecture, width: int) -> list[int]:
        """Layers whose width can become ``width`` exactly: own op keeps its projection, no later skip
        reads the node, the next layer reads it alone (no skips) or by concat through weights."""
        layers = arch.genes["layers"]
        _, _, merged = _shapes(space, layers)
        out = []
        for j, layer in enumerate(layers):
            op = layer["op"]
            if not (_projects(op, merged[j], layer["width"]) and _projects(op, merged[j], width)):
                continue
            if any(j + 1 in later["skips"] for later in layers[j + 2:]):
                continue
            if j + 1 < len(layers):
                nxt = layers[j + 1]
                if nxt["skips"] and nxt["merge"] != "concat":
                    continue
                new_in = merged[j + 1] - layer["width"] + width
                if not (_projects(nxt["op"], merged[j + 1], nxt["width"])
                        and _projects(nxt["op"], new_in, nxt["width"])):
                    continue
            out.append(j)
        return out


class BranchWiden(_BranchOp):
    """Net2WiderNet on layer ``layer``: new units copy random old ones (weights and batch-norm
    statistics); the next layer (or the classifier) divides its weights from a unit among its copies."""

    name = "widen"
    fields = ("layer", "width")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        layers = arch.genes["layers"]
        return [{"layer": j, "width": w} for w in space.params["widths"]
                for j in self.widenable(space, arch, w) if w > layers[j]["width"]]

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        j = self.layer_index(arch, params)
        width, current = params.get("width"), arch.genes["layers"][j]["width"]
        if isinstance(width, int) and not isinstance(width, bool) and width <= current:
            raise self.error("width", f"widening must increase the units of layer {j} (it has {current}), "
                             f"got width={width}; use narrow to reduce them")
        if width not in space.params["widths"]:
            raise self.error("width", f"must be one of {space.params['widths']}, got {width!r}")
        if j not in self.widenable(space, arch, width):
            raise self.error("layer", f"layer {j} cannot be widened exactly (a later skip or an add "
                             "merge reads it, or a pool would gain a projection)")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layers[params["layer"]]["width"] = params["width"]
        return _make(space, layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        inherit_matching(parent_state, state)
        layers = parent.genes["layers"]
        _, _, merged = _shapes(space, layers)
        j = params["layer"]
        old = layers[j]["width"]
        mapping = widen_mapping(old, params["width"], generator)
        weight, bn = _producer(layers[j]["op"])
        p = f"layers.{j}."
        state[p + weight] = replicate(parent_state[p + weight], mapping)
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            state[f"{p}{bn}{suffix}"] = replicate(parent_state[f"{p}{bn}{suffix}"], mapping)
        if j + 1 < len(layers):  # the concatenated skips after the main input keep their channels
            full = torch.cat([mapping, torch.arange(old, merged[j + 1])])
            _widen_input(layers[j + 1]["op"], f"layers.{j + 1}.", parent_state, state, full, noise, generator)
        else:
            key = "head.classifier.weight"
            state[key] = split_in(parent_state[key], mapping, 1, noise, generator)
        return state


class BranchDeepen(_BranchOp):
    """An identity ``conv`` layer (ReLU, identity conv, identity BN) of the same width after layer
    ``layer``; exact because whatever reads it starts with a ReLU (the next op, concatenated, or the head)."""

    name = "deepen"
    fields = ("layer", "op")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        p = space.params
        layers = arch.genes["layers"]
        ops = [o for o in IDENTITY_OPS if o in p["ops"]]
        if len(layers) >= p["max_layers"] or 1 not in p["strides"] or not ops:
            return []
        out = []
        for j in range(len(layers)):
            nxt = layers[j + 1] if j + 1 < len(layers) else None
            if nxt is None or (nxt["op"] in RELU_FIRST and (not nxt["skips"] or nxt["merge"] == "concat")):
                out += [{"layer": j, "op": op} for op in ops]
        return out

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        self.layer_index(arch, params)
        if len(arch.genes["layers"]) >= space.params["max_layers"]:
            raise self.error("layer", f"the genotype already has max_layers={space.params['max_layers']}")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        j = params["layer"]
        new = {"op": params["op"], "width": layers[j]["width"], "stride": 1, "skips": [],
               "merge": space.params["merges"][0]}
        for later in layers[j + 1:]:
            later["skips"] = [i + 1 if i >= j + 2 else i for i in later["skips"]]
        layers.insert(j + 1, new)
        return _make(space, layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        j = params["layer"] + 1
        copy_shifted(parent_state, state, "layers.", j, 1)
        q = f"layers.{j}.op."
        state[f"{q}1.weight"] = identity_conv(state[f"{q}1.weight"])
        set_bn_identity(state, f"{q}2.", float(template.layers[j].op[2].eps))
        return state


class BranchAddSkip(_BranchOp):
    """Layer ``layer`` also reads node ``node`` (merge ``merge``), starting at zero: an ``add`` skip's
    adapter ends in a batch norm set to zero; a ``concat`` skip's channels get zero weights in the op."""

    name = "add-skip"
    fields = ("layer", "node", "merge")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        layers = arch.genes["layers"]
        widths, factors, _ = _shapes(space, layers)
        out = []
        for j, layer in enumerate(layers):
            merges = [layer["merge"]] if layer["skips"] else list(space.params["merges"])
            for i in range(j):
                if i in layer["skips"]:
                    continue
                for merge in merges:
                    adapter = widths[i] != widths[j] or factors[j] > factors[i]
                    if (merge == "add" and adapter) or (merge == "concat" and layer["op"] not in POOLS
                                                        and not layer["op"].startswith("sep_conv")):
                        out.append({"layer": j, "node": i, "merge": merge})
        return out

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        j = self.layer_index(arch, params)
        node = params.get("node")
        if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node < j:
            raise self.error("node", f"layer {j} can add a skip from nodes [0, {j - 1}] (node {j} is its "
                             f"main input), got {node!r}")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layer = layers[params["layer"]]
        layer["skips"] = sorted([*layer["skips"], params["node"]])
        layer["merge"] = params["merge"]
        return _make(space, layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        j, node = params["layer"], params["node"]
        old = sorted(parent.genes["layers"][j]["skips"])
        new = sorted([*old, node])
        prefix = f"layers.{j}.adapters."
        key_map = {}
        for key in parent_state:
            if key.startswith(prefix):
                a, _, rest = key[len(prefix):].partition(".")
                key_map[key] = f"{prefix}{new.index(old[int(a)])}.{rest}"
        inherit_matching(parent_state, state, key_map)
        a = new.index(node)
        if params["merge"] == "add":
            last = len(template.layers[j].adapters[a]) - 1
            tail = "bn." if hasattr(template.layers[j].adapters[a][last], "bn") else "2."
            state[f"{prefix}{a}.{last}.{tail}weight"].zero_()
            state[f"{prefix}{a}.{last}.{tail}bias"].zero_()
            return state
        widths, _, _ = _shapes(space, parent.genes["layers"])
        at = widths[j] + sum(widths[i] for i in new[:a])
        q = f"layers.{j}.op."
        op = parent.genes["layers"][j]["op"]
        if op.startswith("dil_conv"):
            fresh = state[f"{q}1.weight"].narrow(0, at, widths[node])
            w = parent_state[f"{q}1.weight"]
            state[f"{q}1.weight"] = torch.cat([w[:at], fresh, w[at:]])
            state[f"{q}2.weight"] = insert_zero_in(parent_state[f"{q}2.weight"], at, widths[node])
        else:
            state[f"{q}1.weight"] = insert_zero_in(parent_state[f"{q}1.weight"], at, widths[node])
        return state


class BranchGrowKernel(_BranchOp):
    """``conv_1x1 -> conv_3x3``, ``sep_conv_3x3 -> sep_conv_5x5``, ``dil_conv_3x3 -> dil_conv_5x5`` on layer
    ``layer`` by zero padding every depthwise / full kernel."""

    name = "grow-kernel"
    fields = ("layer", "op")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        return [{"layer": j, "op": GROW[layer["op"]]} for j, layer in enumerate(arch.genes["layers"])
                if GROW.get(layer["op"]) in space.params["ops"]]

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        j = self.layer_index(arch, params)
        op = arch.genes["layers"][j]["op"]
        if op not in GROW:
            raise self.error("layer", f"layer {j} is {op!r}; kernels grow only for {sorted(GROW)}")
        if params.get("op") != GROW[op]:
            raise self.error("op", f"{op!r} grows to {GROW[op]!r}, got {params.get('op')!r}")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layers[params["layer"]]["op"] = params["op"]
        return _make(space, layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        inherit_matching(parent_state, state)
        q = f"layers.{params['layer']}.op."
        kernel = int(params["op"][-1])
        sep = params["op"].startswith("sep_conv")
        keys = [f"{q}0.1.weight", f"{q}1.1.weight"] if sep else [f"{q}1.weight"]
        for key in keys:
            state[key] = pad_kernel(parent_state[key], kernel)
        return state


class BranchNarrow(NarrowMixin, BranchWiden):
    """Approximate: layer ``layer`` keeps its first ``width`` units."""

    name = "narrow"
    exact = False

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        return [{"layer": j, "width": w} for j, layer in enumerate(arch.genes["layers"])
                for w in space.params["widths"] if w < layer["width"]]


class BranchRemoveLayer(RemoveLayerMixin, _BranchOp):
    """Approximate: layer ``layer`` removed (skips from its node dropped, later nodes renumbered)."""

    name = "remove-layer"
    exact = False
    fields = ("layer",)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        j = params["layer"]
        gone = j + 1
        for later in layers[j + 1:]:
            later["skips"] = [i - 1 if i > gone else i for i in later["skips"] if i != gone]
        layers.pop(j)
        for k, layer in enumerate(layers):  # a skip may now name the main input
            layer["skips"] = [i for i in layer["skips"] if i < k]
        return _make(space, layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        j = params["layer"]
        kept = {key: v for key, v in parent_state.items() if not key.startswith(f"layers.{j}.")}
        copy_shifted(kept, state, "layers.", j + 1, -1)
        return state


__all__ = ["BranchAddSkip", "BranchDeepen", "BranchGrowKernel", "BranchNarrow", "BranchRemoveLayer",
           "BranchWiden"]
