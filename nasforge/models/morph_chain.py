"""Morphisms of the chain space (:class:`~nasforge.models.chain.ChainNet`: ``features.<k>`` per layer, then
``head``). Layer modules (see :mod:`nasforge.ops.layers`): ``conv`` / ``dil_conv`` / ``dense`` are
``[weight, norm?, activation?, dropout?]``; ``sep_conv`` is ``[depthwise, pointwise, norm?, ...]``.

Exact: ``widen`` (Net2WiderNet), ``deepen`` (Net2DeeperNet), ``grow-kernel`` (zero padding).
Approximate (``exact=False``): ``narrow`` (keep the first units), ``remove-layer``.
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
    pad_kernel,
    replicate,
    set_bn_identity,
    split_in,
    template_state,
    widen_mapping,
)
from nasforge.space.architecture import Architecture

#: ops whose output units are weights (widen / narrow / grow-kernel apply to them)
WEIGHTED = ("conv", "sep_conv", "dil_conv", "dense")
CONVS = ("conv", "sep_conv", "dil_conv")
#: activations equal to the identity on non-negative inputs (a deepened layer after a ReLU)
RELU_FAMILY = ("relu", "leaky_relu", "elu")


def _producer(op: str) -> int:
    """Index of the module producing a layer's output units."""
    return 1 if op == "sep_conv" else 0


def _norm_index(layer: dict[str, Any]) -> int | None:
    return _producer(layer["op"]) + 1 if layer["norm"] == "batch" else None


def _head_key(state: State) -> str:
    """The prefix of the head's linear layer (the last ``head.<i>.`` with a weight)."""
    indices = [int(k.split(".")[1]) for k in state if k.startswith("head.") and k.endswith(".weight")]
    return f"head.{max(indices)}."


def _layers(arch: Architecture) -> list[dict[str, Any]]:
    return [dict(layer) for layer in arch.genes["layers"]]


class _ChainOp(Morphism):
    space = "chain"

    def width_option_layers(self, space: Any, arch: Architecture) -> list[int]:
        """Layers whose width can change with an exact transform: a weighted producer with batch or no
        norm whose consumer (next layer or head) reads its units through weights."""
        layers = arch.genes["layers"]
        out = []
        for k, layer in enumerate(layers):
            nxt = layers[k + 1] if k + 1 < len(layers) else None
            if layer["op"] in WEIGHTED and layer["norm"] in ("batch", "none") and (
                    nxt is None or nxt["op"] in WEIGHTED):
                out.append(k)
        return out


class ChainWiden(_ChainOp):
    """Net2WiderNet: layer ``layer`` gets ``width`` units; the new units copy random old ones (weights,
    bias, batch-norm statistics) and the consumer's weights from each copied unit are divided among its
    copies. Exact in eval mode (with zero-sum ``noise`` too)."""

    name = "widen"
    fields = ("layer", "width")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        layers = arch.genes["layers"]
        return [{"layer": k, "width": w} for k in self.width_option_layers(space, arch)
                for w in space.params["widths"] if w > layers[k]["width"]]

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        k = self.layer_index(arch, params)
        width, current = params.get("width"), arch.genes["layers"][k]["width"]
        if isinstance(width, int) and not isinstance(width, bool) and width <= current:
            raise self.error("width", f"widening must increase the units of layer {k} (it has {current}), "
                             f"got width={width}; use narrow to reduce them")
        if width not in space.params["widths"]:
            raise self.error("width", f"must be one of the space's widths {space.params['widths']}, "
                             f"got {width!r}")
        if k not in self.width_option_layers(space, arch):
            raise self.error("layer", f"layer {k} ({arch.genes['layers'][k]['op']}) cannot be widened "
                             f"exactly (needs op in {list(WEIGHTED)} with norm batch/none, read by a "
                             "weighted layer or the head)")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layers[params["layer"]]["width"] = params["width"]
        return space._make(layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        inherit_matching(parent_state, state)
        layers = parent.genes["layers"]
        k = params["layer"]
        layer = layers[k]
        mapping = widen_mapping(layer["width"], params["width"], generator)
        p = f"features.{k}."
        prod = _producer(layer["op"])
        for suffix in ("weight", "bias"):
            if f"{p}{prod}.{suffix}" in parent_state:
                state[f"{p}{prod}.{suffix}"] = replicate(parent_state[f"{p}{prod}.{suffix}"], mapping)
        norm = _norm_index(layer)
        if norm is not None:
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                state[f"{p}{norm}.{suffix}"] = replicate(parent_state[f"{p}{norm}.{suffix}"], mapping)
        if k + 1 < len(layers):
            q = f"features.{k + 1}."
            if layers[k + 1]["op"] == "sep_conv":
                state[f"{q}0.weight"] = replicate(parent_state[f"{q}0.weight"], mapping)
                state[f"{q}1.weight"] = split_in(parent_state[f"{q}1.weight"], mapping, 1, noise, generator)
            else:
                state[f"{q}0.weight"] = split_in(parent_state[f"{q}0.weight"], mapping, 1, noise, generator)
        else:
            h = _head_key(parent_state)
            w = parent_state[f"{h}weight"]
            old = layer["width"]
            per = w.shape[1] // old  # positions per channel of a flatten head (1 for gap / tabular)
            wide = split_in(w.view(w.shape[0], old, per), mapping, 1, noise, generator)
            state[f"{h}weight"] = wide.reshape(w.shape[0], -1)
        return state


class ChainDeepen(_ChainOp):
    """Net2DeeperNet: an identity-initialised layer (``op``, ``kernel``, ``norm``, ``activation``) of the
    same width, stride 1, inserted after layer ``layer``. Its activation is ``none``, or from the ReLU
    family when layer ``layer`` ends in a ReLU (non-negative inputs); batch norm is set to the identity."""

    name = "deepen"

    def param_fields(self, space: Any) -> tuple[str, ...]:
        return ("layer", "op", "norm", "activation") + (() if space.tabular else ("kernel",))

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        p = space.params
        layers = arch.genes["layers"]
        if len(layers) >= p["max_layers"] or (not space.tabular and 1 not in p["strides"]):
            return []
        ops = [o for o in (("dense",) if space.tabular else CONVS) if o in p["ops"]]
        norms = [n for n in ("batch", "none") if n in p["norms"]]
        kernels = [None] if space.tabular else list(p["kernel_sizes"])
        out = []
        for k, layer in enumerate(layers):
            nonneg = layer["op"] in WEIGHTED and layer["activation"] == "relu"
            acts = [a for a in (*(RELU_FAMILY if nonneg else ()), "none") if a in p["activations"]]
            for op in ops:
                for norm in norms:
                    for act in acts:
                        for kernel in kernels:
                            params = {"layer": k, "op": op, "norm": norm, "activation": act}
                            if kernel is not None:
                                params["kernel"] = kernel
                            out.append(params)
        return out

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        self.layer_index(arch, params)
        if len(arch.genes["layers"]) >= space.params["max_layers"]:
            raise self.error("layer", f"the genotype already has max_layers={space.params['max_layers']}")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        k = params["layer"]
        new = {"op": params["op"], "width": layers[k]["width"], "activation": params["activation"],
               "norm": params["norm"], "dropout": min(space.params["dropouts"])}
        if not space.tabular:
            new.update(kernel=params["kernel"], stride=1)
        layers.insert(k + 1, new)
        return space._make(layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        k = params["layer"] + 1
        copy_shifted(parent_state, state, "features.", k, 1)
        q = f"features.{k}."
        if params["op"] == "sep_conv":
            state[f"{q}0.weight"] = identity_conv(state[f"{q}0.weight"], depthwise=True)
            state[f"{q}1.weight"] = identity_conv(state[f"{q}1.weight"])
        else:
            state[f"{q}0.weight"] = identity_conv(state[f"{q}0.weight"])
        prod = _producer(params["op"])
        if f"{q}{prod}.bias" in state:
            state[f"{q}{prod}.bias"].zero_()
        if params["norm"] == "batch":
            bn = template.features[k][prod + 1]
            set_bn_identity(state, f"{q}{prod + 1}.", float(bn.eps))
        return state


class ChainGrowKernel(_ChainOp):
    """A convolution's kernel grown to ``kernel`` by zero padding (the centre, hence the function, kept)."""

    name = "grow-kernel"
    fields = ("layer", "kernel")

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        if space.tabular:
            return []
        return [{"layer": k, "kernel": s} for k, layer in enumerate(arch.genes["layers"])
                if layer["op"] in CONVS for s in space.params["kernel_sizes"] if s > layer["kernel"]]

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        k = self.layer_index(arch, params)
        layer = arch.genes["layers"][k]
        if layer["op"] not in CONVS:
            raise self.error("layer", f"layer {k} is {layer['op']!r}, not a convolution {list(CONVS)}")
        kernel = params.get("kernel")
        if isinstance(kernel, int) and kernel <= layer["kernel"]:
            raise self.error("kernel", f"must be larger than layer {k}'s kernel {layer['kernel']}, "
                             f"got {kernel}")
        super().check(space, arch, params)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layers[params["layer"]]["kernel"] = params["kernel"]
        return space._make(layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        inherit_matching(parent_state, state)
        key = f"features.{params['layer']}.0.weight"
        state[key] = pad_kernel(parent_state[key], params["kernel"])
        return state


class ChainNarrow(NarrowMixin, ChainWiden):
    """Approximate: layer ``layer`` keeps its first ``width`` units (and the consumer their inputs)."""

    name = "narrow"
    exact = False

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        layers = arch.genes["layers"]
        return [{"layer": k, "width": w} for k, layer in enumerate(layers) if layer["op"] in WEIGHTED
                for w in space.params["widths"] if w < layer["width"]]


class ChainRemoveLayer(RemoveLayerMixin, _ChainOp):
    """Approximate: layer ``layer`` removed; the other layers keep every tensor whose shape still fits."""

    name = "remove-layer"
    exact = False
    fields = ("layer",)

    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        layers = _layers(arch)
        layers.pop(params["layer"])
        return space._make(layers)

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        k = params["layer"]
        kept = {key: v for key, v in parent_state.items() if not key.startswith(f"features.{k}.")}
        copy_shifted(kept, state, "features.", k + 1, -1)
        return state


__all__ = ["ChainDeepen", "ChainGrowKernel", "ChainNarrow", "ChainRemoveLayer", "ChainWiden"]
