"""The :class:`SearchSpace` contract. A space is the single authority on its genotypes.

Every space exposes a *flat categorical view*: an ordered list of :class:`Decision` s (each a
finite tuple of choices). ``to_flat(arch)`` gives one choice index per decision (inactive decisions
read 0) and ``from_flat(indices)`` builds a valid genotype from any index vector. That one view gives,
for free, the ``"onehot"`` and ``"tokens"`` encodings (controllers, TPE, surrogates).
Spaces with a graph structure also implement :meth:`to_graph`, from which ``"adjacency"`` and
``"path"`` encodings are derived (see :mod:`nasforge.space.encodings`). Cell spaces also list their
:meth:`~SearchSpace.decision_points` and :meth:`~SearchSpace.discretize` architecture weights, the
seam one-shot methods build on (:mod:`nasforge.space.cell_base`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasforge.errors import ConfigError, SpaceError
from nasforge.space.architecture import Architecture

if TYPE_CHECKING:
    from nasforge.space.cell_base import DecisionPoint


@dataclass(frozen=True)
class Decision:
    """One categorical decision of the flat view: ``name`` and its ``choices``."""

    name: str
    choices: tuple[Any, ...]

    @property
    def n(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class Graph:
    """A labelled DAG view of a genotype: ``adjacency[i, j] = 1`` for an edge i -> j.

    Node 0 is the input, the last node the output; ``labels[i]`` is node i's op name.
    """

    adjacency: np.ndarray
    labels: tuple[str, ...]


class SearchSpace(ABC):
    """Base class of every search space.

    Constructors only store keyword parameters (scikit-learn style): ``to_config()`` returns
    ``{"name": ..., **params}`` and ``from_config`` inverts it.
    """

    name: ClassVar[str] = ""
    #: which input kinds the built models accept: subset of {"1d", "2d", "tabular"}; empty = none
    #: (tabular-benchmark spaces only have table entries, no PyTorch phenotype).
    input_kinds: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    # -- genotypes ----------------------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A random valid genotype (uniform over the space's natural parameterisation)."""

    @abstractmethod
    def validate(self, arch: Architecture) -> None:
        """Raise :class:`SpaceError` naming the offending field if ``arch`` is not in this space."""

    def initial_candidate(self, rng: np.random.Generator, n_asked: int) -> Architecture | None:
        """The space's own initial design: a genotype every strategy evaluates as its ``n_asked``-th
        candidate before its own proposals, or ``None`` (the default: no initial design). A joint
        space with ``default_first`` pairs its first architectures with the default recipe."""
        return None

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A random neighbour different from ``arch`` (default: a random element of neighbours)."""
        options = self.neighbours(arch)
        if not options:
            return self.sample(rng)
        return options[int(rng.integers(len(options)))]

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All genotypes one move away (default: change one decision of the flat view)."""
        flat = list(self.to_flat(arch))
        own = self.canonical_hash(arch)
        seen = {own}
        result: list[Architecture] = []
        for i, decision in enumerate(self.decisions(arch)):
            for j in range(decision.n):
                if j == flat[i]:
                    continue
                trial = flat.copy()
                trial[i] = j
                candidate = self.from_flat(trial)
                key = self.canonical_hash(candidate)
                if key not in seen:
                    seen.add(key)
                    result.append(candidate)
        return result

    def size(self) -> float:
        """Number of distinct genotypes (``math.inf`` if continuous; may over-count isomorphs)."""
        return float(math.prod(d.n for d in self.decisions()))

    def canonicalize(self, arch: Architecture) -> Architecture:
        """A canonical representative of ``arch``'s isomorphism class (default: itself)."""
        return arch

    def canonical_hash(self, arch: Architecture) -> str:
        """Hash equal for isomorphic genotypes where the space can tell."""
        return self.canonicalize(arch).content_hash

    # -- flat categorical view ----------------------------------------------------------------
    @abstractmethod
    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        """The ordered decisions of the flat view (fixed length; ``arch`` is ignored by default)."""

    @abstractmethod
    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        """One choice index per decision; decisions inactive in ``arch`` read 0."""

    @abstractmethod
    def from_flat(self, indices: Sequence[int]) -> Architecture:
        """A valid genotype from any index vector (inactive entries ignored)."""

    def active(self, indices: Sequence[int]) -> list[bool]:
        """Which decisions matter for the genotype ``indices`` describes (default: all)."""
        return [True] * len(self.decisions())

    # -- graph view (optional) ----------------------------------------------------------------
    def to_graph(self, arch: Architecture) -> Graph:
        """A labelled DAG of ``arch``; spaces without one raise ``NotImplementedError``."""
        raise NotImplementedError(f"space {self.name!r} has no graph view")

    # -- one-shot structure (optional) --------------------------------------------------------
    def decision_points(self) -> list[DecisionPoint]:
        """Where a one-shot supernet holds a choice (see :mod:`nasforge.space.cell_base`); empty for
        spaces without that structure (chain, tabular benchmarks), which one-shot methods refuse."""
        return []

    def discretize(self, weights: Mapping[str, Any], *, exclude: Collection[str] = ("none",)) -> Architecture:
        """The genotype architecture ``weights`` (decision-point name -> vector) select; spaces without
        :meth:`decision_points` raise :class:`ConfigError`."""
        raise self._no_decision_points()

    def one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        """The architecture weights selecting ``arch`` (inverse of :meth:`discretize`)."""
        raise self._no_decision_points()

    def _no_decision_points(self) -> ConfigError:
        return ConfigError(
            f"space {self.name!r} has no decision points (no architecture weights to discretize); "
            "one-shot methods need a cell space: edge-cell, nasnet or multibranch"
        )

    # -- encodings ----------------------------------------------------------------------------
    def encodings(self) -> tuple[str, ...]:
        """Names accepted by :meth:`encode` (probed once per space instance, then cached)."""
        cached = self.__dict__.get("_encodings")
        if cached is None:
            cached = ("onehot", "tokens")
            try:
                self.to_graph(self.sample(np.random.default_rng(0)))
                cached = (*cached, "adjacency", "path")
            except NotImplementedError:
                pass
            self.__dict__["_encodings"] = cached
        return cached

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """A numeric encoding of ``arch``: ``onehot``, ``tokens``, ``adjacency``, ``path``."""
        from nasforge.space import encodings

        return encodings.encode(self, arch, kind)

    # -- config -------------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., **params}``; JSON-serialisable."""
        return {"name": self.name, **self.params}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SearchSpace:
        """Rebuild a space from :meth:`to_config` output."""
        from nasforge.space import create

        params = dict(config)
        name = params.pop("name", cls.name)
        return create(name, **params)

    def check(self, arch: Architecture) -> Architecture:
        """Validate and return ``arch`` (raises :class:`SpaceError` for a foreign space)."""
        if not isinstance(arch, Architecture):
            raise SpaceError(f"expected an Architecture, got {type(arch).__name__}")
        if arch.space != self.name:
            raise SpaceError(
                f"genotype belongs to space {arch.space!r}, but this space is {self.name!r}"
            )
        self.validate(arch)
        return arch

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)
