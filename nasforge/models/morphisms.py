"""Network morphisms: structure changes that keep (or, flagged ``exact=False``, approximately keep) the
function a trained network computes (Chen et al. 2016 Net2Net; Wei et al. 2016; Cai et al. 2018).

A :class:`Morphism` is a pair:

* a **genotype move** (:meth:`Morphism.options`, :meth:`Morphism.move`): pure data in, a valid genotype
  of the *same* space out (the space validates the child, so it stays the single authority);
* a **weight transform** (:meth:`Morphism.transform`): the parent's trained ``state_dict`` -> the child's,
  given a freshly built child network as the template for the tensors the move creates.

Operators are registered per space as ``"<space>.<operator>"`` (``chain.widen``, ``multibranch.add-skip``,
...) in :data:`MORPHISMS`, so tests are generated over operators x spaces. A :class:`Move` (operator name,
parameters, exactness) is JSON-able: it travels in a candidate's ``info`` and is stored with the trial.

Functions: :func:`operators` (the operators of a space), :func:`random_moves` (a random sequence for
hill climbing), :func:`detect` (is a space mutation a morphism?), :func:`apply_moves` (genotypes and
weights through a sequence of moves). The tensor helpers :func:`replicate` / :func:`split_in` implement
Net2WiderNet's "copy the units, divide their outgoing weights".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nasforge.errors import MorphismError
from nasforge.registry import Registry
from nasforge.space.architecture import Architecture

State = dict[str, torch.Tensor]

#: ``"<space>.<operator>"`` -> the operator class
MORPHISMS: Registry[Any] = Registry(
    "morphism",
    {
        "chain.widen": "nasforge.models.morph_chain:ChainWiden",
        "chain.deepen": "nasforge.models.morph_chain:ChainDeepen",
        "chain.grow-kernel": "nasforge.models.morph_chain:ChainGrowKernel",
        "chain.narrow": "nasforge.models.morph_chain:ChainNarrow",
        "chain.remove-layer": "nasforge.models.morph_chain:ChainRemoveLayer",
        "multibranch.widen": "nasforge.models.morph_multibranch:BranchWiden",
        "multibranch.deepen": "nasforge.models.morph_multibranch:BranchDeepen",
        "multibranch.add-skip": "nasforge.models.morph_multibranch:BranchAddSkip",
        "multibranch.grow-kernel": "nasforge.models.morph_multibranch:BranchGrowKernel",
        "multibranch.narrow": "nasforge.models.morph_multibranch:BranchNarrow",
        "multibranch.remove-layer": "nasforge.models.morph_multibranch:BranchRemoveLayer",
    },
)


@dataclass(frozen=True)
class Move:
    """One applied morphism: ``operator`` (registry name without the space), ``params``, ``exact``."""

    operator: str
    params: dict[str, Any] = field(default_factory=dict)
    exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "params": dict(self.params), "exact": bool(self.exact)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Move:
        if not isinstance(data, dict) or "operator" not in data:
            raise MorphismError(f"a morphism move is a dict with 'operator' and 'params', got {data!r}")
        return cls(str(data["operator"]), dict(data.get("params") or {}), bool(data.get("exact", True)))


class Morphism(ABC):
    """Base class of every morphism operator of one space.

    Subclasses set ``name``, ``space`` and ``exact`` and implement :meth:`options`, :meth:`_move` and
    :meth:`transform`; :meth:`check` validates the parameters against the parent genotype.
    """

    name: ClassVar[str] = ""
    space: ClassVar[str] = ""
    exact: ClassVar[bool] = True
    #: parameter names this operator takes
    fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        """Every parameter set this operator can apply to ``arch`` (empty: not applicable)."""

    @abstractmethod
    def _move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        """The child genotype (parameters already checked)."""

    @abstractmethod
    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        """The child's ``state_dict`` from the parent's; ``template`` is a fresh child network whose
        tensors fill what the move creates (and is left unchanged)."""

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        """Raise :class:`MorphismError` naming the operator and field when ``params`` do not apply."""
        names = self.param_fields(space)
        missing = sorted(set(names) - set(params))
        extra = sorted(set(params) - set(names))
        if missing or extra:
            raise self.error("params", f"expected exactly {list(names)}, got {sorted(params)}")
        if params not in self.options(space, arch):
            raise self.error("params", f"{params!r} is not applicable here; applicable: "
                             f"{self.options(space, arch)[:6]}")

    def param_fields(self, space: Any) -> tuple[str, ...]:
        """The parameter names this operator takes in ``space`` (default: :attr:`fields`)."""
        return self.fields

    def move(self, space: Any, arch: Architecture, params: dict[str, Any]) -> Architecture:
        """Check ``params`` and return the child genotype, validated by the space."""
        space.check(arch)
        self.check(space, arch, params)
        child = self._move(space, arch, dict(params))
        return space.canonicalize(space.check(child))

    def error(self, field_name: str, message: str) -> MorphismError:
        """A :class:`MorphismError` naming this operator and ``field_name``."""
        return MorphismError(f"morphism {self.space}.{self.name}: {field_name}: {message}")

    def layer_index(self, arch: Architecture, params: dict[str, Any], key: str = "layer") -> int:
        """``params[key]`` checked to be an existing layer index of ``arch``."""
        depth = len(arch.genes["layers"])
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < depth:
            raise self.error(key, f"layer index must be an integer in [0, {depth - 1}] (the genotype has "
                             f"{depth} layers), got {value!r}")
        return value


# ------------------------------------------------------------------------------------ registry
def operator(space_name: str, name: str) -> Morphism:
    """The operator ``name`` of space ``space_name`` (an instance)."""
    return MORPHISMS.get(f"{space_name}.{name}")()


def operators(space_name: str, exact: bool | None = None) -> list[Morphism]:
    """The operators registered for ``space_name`` (only exact / inexact ones if ``exact`` is given)."""
    out = [MORPHISMS.get(n)() for n in MORPHISMS.names() if n.split(".", 1)[0] == space_name]
    return [op for op in out if exact is None or op.exact is exact]


def supports(space: Any) -> bool:
    """Whether any morphism operator is registered for ``space``."""
    return bool(operators(space.name))


def random_moves(space: Any, arch: Architecture, rng: np.random.Generator, n: int = 1,
                 exact: bool = True) -> tuple[Architecture, list[Move]]:
    """Up to ``n`` random moves in sequence from ``arch`` (a uniformly drawn applicable operator, then
    uniformly drawn parameters); returns the final genotype and the moves (fewer if none applies)."""
    ops = operators(space.name, exact=True if exact else None)
    moves: list[Move] = []
    for _ in range(n):
        usable = [(op, opts) for op in ops if (opts := op.options(space, arch))]
        if not usable:
            break
        op, opts = usable[int(rng.integers(len(usable)))]
        params = opts[int(rng.integers(len(opts)))]
        arch = op.move(space, arch, params)
        moves.append(Move(op.name, params, op.exact))
    return arch, moves


def detect(space: Any, parent: Architecture, child: Architecture) -> Move | None:
    """The single morphism turning ``parent`` into ``child`` if there is one (exact operators first)."""
    key = space.canonical_hash(child)
    for op in sorted(operators(space.name), key=lambda o: not o.exact):
        for params in op.options(space, parent):
            if space.canonical_hash(op.move(space, parent, params)) == key:
                return Move(op.name, params, op.exact)
    return None


def apply_moves(space: Any, parent: Architecture, moves: list[Move], parent_state: State,
                input_shape: tuple[int, ...], num_classes: int, seed: int = 0,
                noise: float = 0.0) -> tuple[Architecture, State]:
    """The genotype and weights after ``moves`` in order, starting from ``parent`` and its state dict.

    ``noise`` (a fraction of each tensor's standard deviation) breaks the symmetry of replicated units
    in widening moves while keeping the function: the noise of the copies of one unit sums to zero.
    """
    from nasforge.models import BUILDERS

    builder = BUILDERS.get(space.name)
    generator = torch.Generator().manual_seed(int(seed))
    arch = parent
    state = {k: v.detach().clone() for k, v in parent_state.items()}
    for move in moves:
        op = operator(space.name, move.operator)
        child = op.move(space, arch, move.params)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            template = builder(space, child, tuple(input_shape), int(num_classes))
        state = op.transform(space, arch, child, dict(move.params), state, template, generator, noise)
        arch = child
    return arch, state


# -------------------------------------------------------------------------------- tensor helpers
def template_state(template: nn.Module) -> State:
    """A detached copy of ``template``'s state dict."""
    return {k: v.detach().clone() for k, v in template.state_dict().items()}


def widen_mapping(old: int, new: int, generator: torch.Generator) -> torch.Tensor:
    """Net2WiderNet's unit map: ``j -> j`` for old units, a random old unit for each new one."""
    extra = torch.randint(0, old, (new - old,), generator=generator)
    return torch.cat([torch.arange(old), extra])


def replicate(t: torch.Tensor, mapping: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Units of ``t`` along ``dim`` copied per ``mapping`` (the producer side of widening)."""
    return t.index_select(dim, mapping).clone()


def split_in(t: torch.Tensor, mapping: torch.Tensor, dim: int = 1, noise: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Consumer side of widening: copy the input slices per ``mapping`` and divide each by the number
    of copies of its source, so the sum over copies is unchanged; optional zero-sum noise per source."""
    counts = torch.bincount(mapping, minlength=int(mapping.max()) + 1).to(t.dtype)
    shape = [1] * t.dim()
    shape[dim] = -1
    out = t.index_select(dim, mapping) / counts[mapping].view(shape)
    if noise > 0 and out.numel() > 1:
        eps = torch.randn(out.shape, generator=generator, dtype=out.dtype) * noise * float(t.std())
        sums = torch.zeros_like(t).index_add_(dim, mapping, eps)
        eps = eps - sums.index_select(dim, mapping) / counts[mapping].view(shape)
        out = out + eps
    return out


def insert_zero_in(t: torch.Tensor, at: int, count: int, dim: int = 1) -> torch.Tensor:
    """``count`` zero slices inserted along ``dim`` at position ``at`` (a new input that starts at zero)."""
    shape = list(t.shape)
    shape[dim] = count
    zeros = torch.zeros(shape, dtype=t.dtype)
    return torch.cat([t.narrow(dim, 0, at), zeros, t.narrow(dim, at, t.shape[dim] - at)], dim=dim)


def pad_kernel(t: torch.Tensor, kernel: int) -> torch.Tensor:
    """Zero-pad the spatial axes (all axes after the first two) of a conv weight to ``kernel``."""
    pads: list[int] = []
    for size in reversed(t.shape[2:]):
        extra = (kernel - size) // 2
        pads += [extra, extra]
    return torch.nn.functional.pad(t, pads)


def identity_conv(t: torch.Tensor, depthwise: bool = False) -> torch.Tensor:
    """An identity-initialised weight shaped like ``t`` (conv ``(C, C|1, k...)`` or linear ``(C, C)``)."""
    out = torch.zeros_like(t)
    centre = tuple(s // 2 for s in t.shape[2:])
    for i in range(t.shape[0]):
        out[(i, 0 if depthwise else i, *centre)] = 1.0
    return out


def set_bn_identity(state: State, prefix: str, eps: float = 1e-5) -> None:
    """Batch norm at ``prefix`` made the identity in eval mode: mean 0, variance 1, scale sqrt(1+eps)."""
    state[f"{prefix}running_mean"].zero_()
    state[f"{prefix}running_var"].fill_(1.0)
    state[f"{prefix}weight"].fill_(float(np.sqrt(1.0 + eps)))
    state[f"{prefix}bias"].zero_()


def copy_shifted(parent_state: State, state: State, prefix: str, start: int, shift: int) -> None:
    """Copy ``prefix{j}.*`` of the parent to ``prefix{j + shift}.*`` for ``j >= start``, and every other
    key unchanged, wherever the key exists in ``state`` with the same shape."""
    for key, value in parent_state.items():
        target = key
        if key.startswith(prefix):
            head, _, rest = key[len(prefix):].partition(".")
            if head.isdigit() and int(head) >= start:
                target = f"{prefix}{int(head) + shift}.{rest}"
        if target in state and state[target].shape == value.shape:
            state[target] = value.clone()


def inherit_matching(parent_state: State, state: State, key_map: dict[str, str] | None = None) -> int:
    """Copy every parent tensor whose (mapped) key exists in ``state`` with the same shape (Real et al.
    2017); the others keep their fresh initialisation. Returns the number of tensors inherited."""
    n = 0
    for key, value in parent_state.items():
        target = (key_map or {}).get(key, key)
        if target in state and state[target].shape == value.shape:
            state[target] = value.detach().clone()
            n += 1
    return n


def slice_matching(parent_state: State, state: State) -> None:
    """Copy the leading block of every parent tensor that is at least as large as the child's on every
    axis (narrowing keeps the first units); approximate."""
    for key, value in parent_state.items():
        if key not in state or state[key].dim() != value.dim():
            continue
        target = state[key]
        if all(p >= c for p, c in zip(value.shape, target.shape, strict=True)):
            index = tuple(slice(0, c) for c in target.shape)
            state[key] = value[index].clone() if value.dim() else value.clone()


__all__ = ["MORPHISMS", "Morphism", "Move", "apply_moves", "detect", "inherit_matching", "operator",
           "operators", "random_moves", "replicate", "split_in", "supports"]


class NarrowMixin:
    """The approximate narrow move of a space (mixed in before that space's widen): the width must shrink,
    and the child keeps the leading slice of every parent tensor that still fits."""

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        k = self.layer_index(arch, params)  # type: ignore[attr-defined]
        width, current = params.get("width"), arch.genes["layers"][k]["width"]
        if isinstance(width, int) and width >= current:
            raise self.error("width", f"narrowing must reduce the units of layer {k} (it has {current}), "  # type: ignore[attr-defined]
                             f"got width={width}")
        Morphism.check(self, space, arch, params)  # type: ignore[arg-type]

    def transform(self, space: Any, parent: Architecture, child: Architecture, params: dict[str, Any],
                  parent_state: State, template: nn.Module, generator: torch.Generator,
                  noise: float = 0.0) -> State:
        state = template_state(template)
        slice_matching(parent_state, state)
        return state


class RemoveLayerMixin:
    """The approximate remove-layer move's candidates and check, shared by the spaces (each space keeps
    its own genotype move and renumbering)."""

    def options(self, space: Any, arch: Architecture) -> list[dict[str, Any]]:
        layers = arch.genes["layers"]
        return [{"layer": k} for k in range(len(layers))] if len(layers) > space.params["min_layers"] else []

    def check(self, space: Any, arch: Architecture, params: dict[str, Any]) -> None:
        self.layer_index(arch, params)  # type: ignore[attr-defined]
        Morphism.check(self, space, arch, params)  # type: ignore[arg-type]
