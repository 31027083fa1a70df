"""The chain-structured space: ``depth`` layers in sequence, each with its own hyperparameters.

Genotype genes::

    {"depth": L, "layers": [{"op": "conv", "width": 64, "kernel": 5, "stride": 1,
                             "activation": "relu", "norm": "batch", "dropout": 0.0}, ...]}

Only layers ``k <= L`` are in the genotype (conditional hyperparameters, not padding). Tabular
spaces (``input_kind="tabular"``) have no ``kernel``/``stride`` genes. Mutations are the
neuro-evolution moves: add a layer, remove a layer, change one choice. The flat view is the depth
decision followed by ``max_layers`` blocks of per-layer decisions; blocks past the depth are
inactive. No torch is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasforge.checks import check_choice, check_int, check_probability
from nasforge.errors import ConfigError, SpaceError
from nasforge.ops import get_op, list_ops
from nasforge.ops.catalog import ACTIVATIONS, KIND_DIMS, NORMS
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph, SearchSpace, require
from nasforge.space.params import as_choices

DEFAULTS: dict[str, Any] = {
    "input_kind": "1d",
    "min_layers": 2,
    "max_layers": 6,
    "ops": None,  # per input kind, see _default_ops
    "widths": [32, 64, 128],
    "kernel_sizes": [3, 5, 7],
    "strides": [1, 2],
    "activations": ["relu", "gelu", "silu"],
    "norms": ["batch", "none"],
    "dropouts": [0.0, 0.1],
    "head": "gap",
}


def _default_ops(kind: str) -> list[str]:
    if kind == "tabular":
        return ["dense", "identity"]
    return ["conv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "identity"]


class ChainSpace(SearchSpace):
    """Chain-structured space with conditional per-layer hyperparameters.

    Args:
        input_kind: ``"1d"`` (signals), ``"2d"`` (images) or ``"tabular"`` (``dense`` layers).
            1-D and 2-D genotypes are the same: a convolutional genotype builds for either.
        min_layers, max_layers: range of the depth L.
        ops: op names per layer (registered ops supporting the input kind).
        widths: output channels / units per layer.
        kernel_sizes: odd kernel sizes (not for tabular).
        strides: strides per layer, 1 or 2 (not for tabular).
        activations, norms, dropouts: per-layer choices.
        head: ``"flatten"`` (flatten + linear) or ``"gap"`` (global average pooling + linear);
            a model-building option, not a gene.
    """

    name: ClassVar[str] = "chain"
    input_kinds: ClassVar[frozenset[str]] = frozenset({"1d", "2d", "tabular"})

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"chain space got unknown parameters {unknown}; expected {sorted(DEFAULTS)}")
        merged = {**DEFAULTS, **params}
        kind = merged["input_kind"]
        check_choice("input_kind", kind, KIND_DIMS)
        if merged["ops"] is None:
            merged["ops"] = _default_ops(kind)
        for key in ("min_layers", "max_layers"):
            merged[key] = check_int(key, merged[key], 1)
        require(merged["min_layers"] <= merged["max_layers"],
                "`min_layers <= max_layers` must hold, but got "
                f"(min_layers={merged['min_layers']}, max_layers={merged['max_layers']})")
        require(merged["max_layers"] <= 32, f"max_layers must be <= 32, got {merged['max_layers']}")
        for key in ("ops", "widths", "kernel_sizes", "strides", "activations", "norms", "dropouts"):
            merged[key] = list(as_choices(merged[key], key))
        for op in merged["ops"]:
            _check_op(op, kind)
        for w in merged["widths"]:
            require(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 4096,
                    f"widths must be integers in [1, 4096], got {w!r}")
        for k in merged["kernel_sizes"]:
            require(isinstance(k, int) and not isinstance(k, bool) and k >= 1 and k % 2 == 1,
                    f"kernel_sizes must be odd positive integers, got {k!r}")
        for s in merged["strides"]:
            require(s in (1, 2) and not isinstance(s, bool), f"strides must be 1 or 2, got {s!r}")
        for a in merged["activations"]:
            check_choice("activations", a, ACTIVATIONS)
        for n in merged["norms"]:
            check_choice("norms", n, NORMS)
        merged["dropouts"] = [check_probability("dropouts", d) for d in merged["dropouts"]]
        require(merged["head"] in ("flatten", "gap"), f"head must be 'flatten' or 'gap', got "
                f"{merged['head']!r}")
        super().__init__(**merged)

    # -- structure ----------------------------------------------------------------------------
    @property
    def tabular(self) -> bool:
        return self.params["input_kind"] == "tabular"

    def layer_fields(self) -> list[tuple[str, tuple[Any, ...]]]:
        """``(gene name, choices)`` of one layer, in flat-view order."""
        p = self.params
        fields: list[tuple[str, tuple[Any, ...]]] = [("op", tuple(p["ops"])), ("width", tuple(p["widths"]))]
        if not self.tabular:
            fields += [("kernel", tuple(p["kernel_sizes"])), ("stride", tuple(p["strides"]))]
        fields += [("activation", tuple(p["activations"])), ("norm", tuple(p["norms"])),
                   ("dropout", tuple(p["dropouts"]))]
        return fields

    def depths(self) -> tuple[int, ...]:
        return tuple(range(self.params["min_layers"], self.params["max_layers"] + 1))

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        out = [Decision("depth", self.depths())]
        for k in range(1, self.params["max_layers"] + 1):
            out += [Decision(f"layer{k}.{name}", choices) for name, choices in self.layer_fields()]
        return out

    def size(self) -> float:
        per_layer = float(np.prod([len(c) for _, c in self.layer_fields()]))
        return float(sum(per_layer**depth for depth in self.depths()))

    # -- genotypes ----------------------------------------------------------------------------
    def _make(self, layers: list[dict[str, Any]]) -> Architecture:
        return Architecture(self.name, {"depth": len(layers), "layers": layers})

    def _sample_layer(self, rng: np.random.Generator) -> dict[str, Any]:
        return {name: choices[int(rng.integers(len(choices)))] for name, choices in self.layer_fields()}

    def sample(self, rng: np.random.Generator) -> Architecture:
        depths = self.depths()
        depth = depths[int(rng.integers(len(depths)))]
        return self._make([self._sample_layer(rng) for _ in range(depth)])

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        extra = sorted(set(genes) - {"depth", "layers"})
        if extra:
            raise SpaceError(f"chain genotype has unknown genes {extra}; expected 'depth' and 'layers'")
        depth = genes.get("depth")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth not in self.depths():
            raise SpaceError(f"depth must be in {list(self.depths())}, got {depth!r}")
        layers = genes.get("layers")
        if not isinstance(layers, list) or len(layers) != depth:
            got = len(layers) if isinstance(layers, list) else type(layers).__name__
            raise SpaceError(f"layers must be a list of depth={depth} layers, got {got}")
        names = [name for name, _ in self.layer_fields()]
        for k, layer in enumerate(layers, start=1):
            if not isinstance(layer, dict) or sorted(layer) != sorted(names):
                keys = sorted(layer) if isinstance(layer, dict) else type(layer).__name__
                raise SpaceError(f"layer{k} must have exactly the genes {names}, got {keys}")
            for name, choices in self.layer_fields():
                if not _member(layer[name], choices):
                    raise SpaceError(f"layer{k}.{name} must be one of {list(choices)}, got {layer[name]!r}")

    # -- flat view ----------------------------------------------------------------------------
    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        genes = arch.genes
        flat = [self.depths().index(genes["depth"])]
        fields = self.layer_fields()
        for k in range(self.params["max_layers"]):
            if k < genes["depth"]:
                layer = genes["layers"][k]
                flat += [_index(layer[name], choices) for name, choices in fields]
            else:
                flat += [0] * len(fields)
        return tuple(flat)

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise SpaceError(f"flat vector must have {len(decisions)} entries, got {len(indices)}")
        for d, i in zip(decisions, indices, strict=True):
            if not 0 <= int(i) < d.n:
                raise SpaceError(f"{d.name} index must be in [0, {d.n}), got {i}")
        depth = self.depths()[int(indices[0])]
        fields = self.layer_fields()
        layers = []
        for k in range(depth):
            block = indices[1 + k * len(fields): 1 + (k + 1) * len(fields)]
            layers.append({name: choices[int(i)] for (name, choices), i in zip(fields, block, strict=True)})
        return self._make(layers)

    def active(self, indices: Sequence[int]) -> list[bool]:
        depth = self.depths()[int(indices[0])]
        per = len(self.layer_fields())
        return [True] + [k < depth for k in range(self.params["max_layers"]) for _ in range(per)]

    # -- neuro-evolution moves ----------------------------------------------------------------
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Add a layer, remove a layer or change one choice (uniform over the possible moves)."""
        self.validate(arch)
        layers = arch.genes["layers"]
        changeable = [(k, name, choices) for k in range(len(layers))
                      for name, choices in self.layer_fields() if len(choices) > 1]
        moves = []
        if len(layers) < self.params["max_layers"]:
            moves.append("add")
        if len(layers) > self.params["min_layers"]:
            moves.append("remove")
        if changeable:
            moves.append("change")
        if not moves:
            return arch
        move = moves[int(rng.integers(len(moves)))]
        if move == "add":
            layers.insert(int(rng.integers(len(layers) + 1)), self._sample_layer(rng))
        elif move == "remove":
            layers.pop(int(rng.integers(len(layers))))
        else:
            k, name, choices = changeable[int(rng.integers(len(changeable)))]
            others = [c for c in choices if not _same(c, layers[k][name])]
            layers[k][name] = others[int(rng.integers(len(others)))]
        return self._make(layers)

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """Every single-choice change, every layer removal and every duplication of one layer
        (a deterministic "add a layer" move)."""
        self.validate(arch)
        layers = arch.genes["layers"]
        out: list[Architecture] = []
        seen = {arch}
        candidates: list[list[dict[str, Any]]] = []
        for k in range(len(layers)):
            for name, choices in self.layer_fields():
                for c in choices:
                    if not _same(c, layers[k][name]):
                        changed = [dict(layer) for layer in layers]
                        changed[k][name] = c
                        candidates.append(changed)
        if len(layers) > self.params["min_layers"]:
            candidates += [layers[:k] + layers[k + 1:] for k in range(len(layers))]
        if len(layers) < self.params["max_layers"]:
            candidates += [[*layers[:k + 1], dict(layers[k]), *layers[k + 1:]] for k in range(len(layers))]
        for cand in candidates:
            new = self._make(cand)
            if new not in seen:
                seen.add(new)
                out.append(new)
        return out

    # -- graph view ---------------------------------------------------------------------------
    def to_graph(self, arch: Architecture) -> Graph:
        """A path graph of fixed size ``max_layers + 2``: input -> layer ops in order -> output.

        Node ``max_layers + 1`` is always the output; layers past the depth are isolated ``pad``
        nodes (never on a path), so adjacency encodings have one shape for every depth.
        """
        self.validate(arch)
        ops = [layer["op"] for layer in arch.genes["layers"]]
        size = self.params["max_layers"] + 2
        labels = ("input", *ops, *(["pad"] * (size - 2 - len(ops))), "output")
        adjacency = np.zeros((size, size), dtype=np.int8)
        chain = [*range(len(ops) + 1), size - 1]
        adjacency[chain[:-1], chain[1:]] = 1
        return Graph(adjacency, labels)

    def op_vocabulary(self) -> list[str]:
        """Node labels of :meth:`to_graph` (``pad`` marks unused layer slots)."""
        return ["input", *self.params["ops"], "pad", "output"]

    def max_path_length(self) -> int:
        """The longest input-to-output path has ``max_layers`` inner nodes."""
        return int(self.params["max_layers"])


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _member(value: Any, choices: tuple[Any, ...]) -> bool:
    return any(_same(value, c) or (isinstance(c, float) and isinstance(value, int)
                                   and not isinstance(value, bool) and c == value) for c in choices)


def _index(value: Any, choices: tuple[Any, ...]) -> int:
    for i, c in enumerate(choices):
        if _member(value, (c,)):
            return i
    raise SpaceError(f"{value!r} is not one of {list(choices)}")


def _check_op(op: Any, kind: str) -> None:
    """``op`` is a registered op (built-in or user) that builds for ``kind``: read from the op catalog,
    without importing torch."""
    spec = get_op(op)
    if not spec.supports_kind(kind):
        ok = list_ops(dims=KIND_DIMS[kind], tag="chain")
        raise ConfigError(
            f"op {op!r} does not support input_kind={kind!r} (it takes dims {sorted(spec.dims)}); "
            f"use one of {ok} or an op registered for dims {KIND_DIMS[kind]}"
        )
