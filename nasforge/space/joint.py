"""Joint spaces: an architecture space plus training hyperparameters (Auto-Net style, Mendoza et al. 2016).

``nf.spaces.joint(space, lr=LogFloat(1e-4, 1e-1), batch_size=[64, 128, 256], optimizer=["adamw", "sgd"],
momentum=UniformFloat(0.5, 0.99))`` searches which network *and* which recipe. A genotype stays pure data::

    {"arch": {...the inner space's genes...}, "hp": {"lr": 0.0031, "batch_size": 128, "optimizer": "sgd",
                                                    "momentum": 0.93}}

Conditional hyperparameters (``momentum`` only for ``sgd``) are absent from ``hp`` while inactive, as
layers past the depth are absent from a chain genotype. :class:`~nasforge.estimate.train.TrainEvaluator`
reads ``hp`` through its ``recipe_for`` hook.

Flat view: the inner decisions, then one decision per hyperparameter; a float's decision is a grid of
:data:`GRID` points (log-spaced where ``log``), so strategies that only know categoricals still work.
Continuous-aware strategies use :meth:`JointSpace.float_decisions` / ``from_flat(..., values=...)``
(TPE suggests them with ``suggest_float``), and the ``onehot`` encoding spreads a float over its two
nearest grid cells (weights summing to 1), so surrogates (SMAC's forest, the GP) see its exact value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from nasforge.checks import check_int
from nasforge.errors import ConfigError, SpaceError
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph, SearchSpace
from nasforge.space.hparams import HP, LogFloat, UniformFloat, make_hps
from nasforge.space.params import Float

#: grid points of a float hyperparameter in the flat categorical view
GRID = 8

DEFAULT_HP: dict[str, Any] = {
    "lr": {"low": 1e-4, "high": 1e-1, "log": True},
    "weight_decay": {"low": 1e-5, "high": 1e-1, "log": True},
    "batch_size": [64, 128, 256],
    "optimizer": ["adamw", "sgd"],
    "momentum": {"low": 0.5, "high": 0.99, "log": False},
}


class JointSpace(SearchSpace):
    """An architecture space ``space`` (object, config dict or name; default ``chain``) plus the
    training hyperparameters ``hp`` (name -> spec, see :mod:`nasforge.space.hparams`; default
    :data:`DEFAULT_HP`). ``input_kind`` is passed to an inner space created by name."""

    name: ClassVar[str] = "joint"
    input_kinds: ClassVar[frozenset[str]] = frozenset({"1d", "2d", "tabular"})

    def __init__(self, space: Any = None, hp: Mapping[str, Any] | None = None,
                 input_kind: str | None = None, default_first: int = 0) -> None:
        from nasforge.space import create

        if isinstance(space, SearchSpace):
            inner = space
        elif isinstance(space, Mapping):
            inner = SearchSpace.from_config(dict(space))
        else:
            kwargs = {"input_kind": input_kind} if input_kind is not None else {}
            inner = create(space or "chain", **kwargs)
        if isinstance(inner, JointSpace):
            raise ConfigError("joint: the architecture space must not itself be a joint space")
        specs = DEFAULT_HP if hp is None else hp
        if not isinstance(specs, Mapping) or not specs:
            raise ConfigError(f"joint: hp must be a non-empty table name -> spec, got {hp!r}")
        self.inner = inner
        self.hps: list[HP] = make_hps(specs)
        self.default_first: int = check_int("joint: default_first", default_first, 0)  # type: ignore[assignment]
        self.input_kinds = inner.input_kinds  # type: ignore[misc]
        # only when on, so the configs of studies made before the option existed stay equal
        extra = {"default_first": self.default_first} if self.default_first else {}
        super().__init__(space=inner.to_config(), hp={h.name: h.to_config() for h in self.hps}, **extra)

    # -- genotypes ----------------------------------------------------------------------------
    def split(self, arch: Architecture) -> tuple[Architecture, dict[str, Any]]:
        """``(architecture of the inner space, hyperparameters)`` of a joint genotype."""
        genes = arch.genes
        return Architecture(self.inner.name, genes.get("arch", {})), dict(genes.get("hp", {}))

    def join(self, inner: Architecture, hp: Mapping[str, Any]) -> Architecture:
        """The joint genotype of ``inner`` trained with ``hp``."""
        return Architecture(self.name, {"arch": inner.genes, "hp": dict(hp)})

    def _sample_hp(self, rng: np.random.Generator) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for hp in self.hps:
            if hp.active(values):
                values[hp.name] = hp.param.sample(rng)
        return values

    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.join(self.inner.sample(rng), self._sample_hp(rng))

    def default_hp(self) -> dict[str, Any]:
        """The default recipe in this space: each active hyperparameter at the
        :class:`~nasforge.recipe.Recipe` default where its range or choices hold it, else at the middle of
        its (log) range or its first choice (ConfigSpace's convention)."""
        from nasforge.recipe import Recipe

        recipe = Recipe().to_dict()
        values: dict[str, Any] = {}
        for h in self.hps:
            if not h.active(values):
                continue
            value = recipe.get(h.name)
            try:
                h.param.validate(value)
            except SpaceError:
                value = h.from_unit(0.5) if h.is_float else h.param.choices[0]  # type: ignore[union-attr]
            values[h.name] = float(value) if h.is_float else value
        return values

    def initial_candidate(self, rng: np.random.Generator, n_asked: int) -> Architecture | None:
        """With ``default_first = k``: the first ``k`` candidates of any strategy are random
        architectures trained with :meth:`default_hp` (the default configuration first, as in SMAC's
        initial design), so the search starts from the recipe an architecture-only search would use."""
        if n_asked >= self.default_first:
            return None
        return self.join(self.inner.sample(rng), self.default_hp())

    def validate(self, arch: Architecture) -> None:
        genes = arch.genes
        extra = sorted(set(genes) - {"arch", "hp"})
        if extra or "arch" not in genes or not isinstance(genes.get("hp"), dict):
            raise SpaceError(f"joint genotype must have exactly the genes 'arch' and 'hp' (an object), "
                             f"got {sorted(genes)}")
        inner, hp = self.split(arch)
        self.inner.validate(inner)
        active = self._active_names(hp)
        if sorted(hp) != sorted(active):
            raise SpaceError(f"joint genotype hp must hold exactly {sorted(active)} "
                             f"(conditional ones only while active), got {sorted(hp)}")
        for h in self.hps:
            if h.name in hp:
                h.param.validate(hp[h.name])

    def _active_names(self, hp: Mapping[str, Any]) -> list[str]:
        return [h.name for h in self.hps if h.active(hp)]

    def canonicalize(self, arch: Architecture) -> Architecture:
        inner, hp = self.split(arch)
        return self.join(self.inner.canonicalize(inner), hp)

    def size(self) -> float:
        if any(h.is_float for h in self.hps):
            return math.inf
        return self.inner.size() * float(np.prod([h.param.n for h in self.hps]))  # type: ignore[union-attr]

    # -- flat view ----------------------------------------------------------------------------
    def grid(self, hp: HP) -> tuple[Any, ...]:
        """The choices of ``hp``'s flat decision (a float's :data:`GRID` grid points)."""
        if hp.is_float:
            return tuple(hp.from_unit(i / (GRID - 1)) for i in range(GRID))
        return tuple(hp.param.choices)  # type: ignore[union-attr]

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        return [*self.inner.decisions(), *(Decision(f"hp.{h.name}", self.grid(h)) for h in self.hps)]

    def float_decisions(self) -> dict[int, Float]:
        """Flat position -> :class:`Float` of every float hyperparameter (for continuous samplers)."""
        offset = len(self.inner.decisions())
        return {offset + i: h.param for i, h in enumerate(self.hps) if isinstance(h.param, Float)}

    def float_values(self, arch: Architecture) -> dict[int, float]:
        """Flat position -> exact value of every active float hyperparameter of ``arch``."""
        _, hp = self.split(arch)
        offset = len(self.inner.decisions())
        return {offset + i: float(hp[h.name]) for i, h in enumerate(self.hps) if h.is_float and h.name in hp}

    def float_units(self, arch: Architecture) -> dict[int, float]:
        """Flat position -> value on the unit scale (log scale where ``log``) of every active float
        hyperparameter of ``arch`` (for kernels that compare values by distance)."""
        _, hp = self.split(arch)
        offset = len(self.inner.decisions())
        return {offset + i: h.unit(float(hp[h.name])) for i, h in enumerate(self.hps)
                if h.is_float and h.name in hp}

    def _index(self, h: HP, value: Any) -> int:
        if h.is_float:
            return round(h.unit(float(value)) * (GRID - 1))
        return h.param.index(value)  # type: ignore[union-attr]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        self.validate(arch)
        inner, hp = self.split(arch)
        tail = [self._index(h, hp[h.name]) if h.name in hp else 0 for h in self.hps]
        return (*self.inner.to_flat(inner), *tail)

    def from_flat(self, indices: Sequence[int], values: Mapping[int, float] | None = None) -> Architecture:
        """The genotype of ``indices``; ``values`` (flat position -> float) overrides a float's grid point."""
        n = len(self.inner.decisions())
        if len(indices) != n + len(self.hps):
            raise SpaceError(f"flat vector must have {n + len(self.hps)} entries, got {len(indices)}")
        hp: dict[str, Any] = {}
        for i, h in enumerate(self.hps):
            grid = self.grid(h)
            j = int(indices[n + i])
            if not 0 <= j < len(grid):
                raise SpaceError(f"hp.{h.name} index must be in [0, {len(grid)}), got {j}")
            if h.active(hp):
                value = (values or {}).get(n + i)
                hp[h.name] = float(value) if value is not None and h.is_float else grid[j]
        return self.join(self.inner.from_flat(list(indices[:n])), hp)

    def active(self, indices: Sequence[int]) -> list[bool]:
        n = len(self.inner.decisions())
        chosen: dict[str, Any] = {}
        flags = []
        for i, h in enumerate(self.hps):
            on = h.active(chosen)
            flags.append(on)
            if on and not h.is_float:
                grid = self.grid(h)
                chosen[h.name] = grid[min(int(indices[n + i]), len(grid) - 1)]
        return [*self.inner.active(list(indices[:n])), *flags]

    # -- moves ----------------------------------------------------------------------------------
    def _with_hp(self, hp: dict[str, Any], name: str, value: Any, rng: np.random.Generator | None) -> dict:
        """``hp`` with ``name`` set, children (de)activated: a newly active child is sampled (or takes
        its first grid point without ``rng``)."""
        new = {**hp, name: value}
        out: dict[str, Any] = {}
        for h in self.hps:
            if h.active(out):
                if h.name in new:
                    out[h.name] = new[h.name]
                else:
                    grid = self.grid(h)
                    out[h.name] = h.param.sample(rng) if rng is not None else grid[len(grid) // 2]
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Half the time an architecture move of the inner space, else one hyperparameter changes (a
        float moves by a Gaussian step of 0.15 on its unit scale)."""
        self.validate(arch)
        inner, hp = self.split(arch)
        movable = [h for h in self.hps if h.name in hp and (h.is_float or h.param.n > 1)]  # type: ignore
        if not movable or rng.random() < 0.5:
            child = self.inner.mutate(inner, rng)
            if child != inner or not movable:
                return self.join(child, hp)
        h = movable[int(rng.integers(len(movable)))]
        if h.is_float:
            u = h.unit(hp[h.name])
            step = float(rng.normal(0.0, 0.15))
            new_u = u + step if 0.0 <= u + step <= 1.0 else u - step
            value: Any = h.from_unit(new_u)
            if value == hp[h.name]:
                value = h.from_unit(1.0 - u if abs(1.0 - 2 * u) > 1e-9 else 0.0)
        else:
            others = [c for c in h.param.choices if c != hp[h.name]]  # type: ignore[union-attr]
            value = others[int(rng.integers(len(others)))]
        return self.join(inner, self._with_hp(hp, h.name, value, rng))

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """The inner space's neighbours (same hyperparameters), every other choice of each categorical
        hyperparameter, and each float moved by +-1/8 of its unit range."""
        self.validate(arch)
        inner, hp = self.split(arch)
        out = [self.join(nb, hp) for nb in self.inner.neighbours(inner)]
        for h in self.hps:
            if h.name not in hp:
                continue
            if h.is_float:
                u = h.unit(hp[h.name])
                moves = [h.from_unit(u + d) for d in (-0.125, 0.125) if 0.0 <= u + d <= 1.0]
            else:
                moves = [c for c in h.param.choices if c != hp[h.name]]  # type: ignore[union-attr]
            for value in moves:
                if value != hp[h.name]:
                    out.append(self.join(inner, self._with_hp(hp, h.name, value, None)))
        return out

    # -- encodings and graph view -------------------------------------------------------------
    def encodings(self) -> tuple[str, ...]:
        return tuple(k for k in self.inner.encodings() if k in ("onehot", "tokens", "adjacency", "path"))

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """``onehot``: the inner one-hot, then each hyperparameter's one-hot (a float spread over its two
        nearest grid cells, so the exact value is kept); other kinds encode the architecture part."""
        if kind not in self.encodings():
            raise ConfigError(f"encoding must be one of {list(self.encodings())} for space 'joint', "
                              f"got {kind!r}")
        if kind == "tokens":
            return np.asarray(self.to_flat(arch), dtype=np.int64)
        self.validate(arch)
        inner, hp = self.split(arch)
        head = self.inner.encode(inner, kind)
        if kind != "onehot":
            return head
        parts = [np.asarray(head, dtype=np.float32)]
        for h in self.hps:
            cells = np.zeros(len(self.grid(h)), dtype=np.float32)
            if h.name in hp:
                if h.is_float:
                    pos = h.unit(hp[h.name]) * (GRID - 1)
                    lo = min(math.floor(pos), GRID - 2)
                    cells[lo], cells[lo + 1] = 1.0 - (pos - lo), pos - lo
                else:
                    cells[h.param.index(hp[h.name])] = 1.0  # type: ignore[union-attr]
            parts.append(cells)
        return np.concatenate(parts)

    def to_graph(self, arch: Architecture) -> Graph:
        """The inner architecture's graph (hyperparameters are not part of it)."""
        return self.inner.to_graph(self.split(arch)[0])

    def __getattr__(self, attr: str) -> Any:
        # graph helpers of the inner space (op_vocabulary, max_path_length) where it has them
        if attr in ("op_vocabulary", "max_path_length") and "inner" in self.__dict__:
            return getattr(self.__dict__["inner"], attr)
        raise AttributeError(attr)


def joint(space: Any = None, /, *, default_first: int = 0, **hp: Any) -> JointSpace:
    """``space`` (object, config or name) searched together with the training hyperparameters ``hp``
    (``lr=LogFloat(1e-4, 1e-1)``, ``batch_size=[64, 128, 256]``, ...; none given: :data:`DEFAULT_HP`);
    ``default_first``: see :meth:`JointSpace.initial_candidate`."""
    return JointSpace(space, hp or None, default_first=default_first)


def recipe_of(arch: Architecture) -> dict[str, Any]:
    """The hyperparameters a joint genotype trains with (``{}`` for any other genotype)."""
    if arch.space != JointSpace.name:
        return {}
    return dict(arch.genes.get("hp", {}))


__all__ = ["DEFAULT_HP", "GRID", "JointSpace", "LogFloat", "UniformFloat", "joint", "recipe_of"]
