"""The shared base of the cell spaces (edge-cell, nasnet, multibranch) and their one-shot structure.

:class:`CellSpaceBase` caches the flat view and canonical hashes, offers every encoding and mutates
by changing one active decision. It also carries the seam one-shot methods (DARTS, SPOS, ENAS) build
on: :meth:`CellSpaceBase.decision_points` lists where a supernet holds a choice, as
:class:`DecisionPoint` records, and :meth:`CellSpaceBase.discretize` turns architecture weights over
those points back into a genotype of the same space. :meth:`CellSpaceBase.one_hot` is its inverse
(the weights that select a given genotype: alpha pinned to a genotype, or a sampled single path)::

    points = space.decision_points()               # e.g. edge-cell: one "op" point per edge
    alpha = {p.name: np.zeros(len(p.candidates)) for p in points}
    arch = space.discretize(alpha)                 # a valid genotype of ``space``
    space.discretize(space.one_hot(arch), exclude=()) == arch   # True (up to branch/skip order)

Weights are a mapping from every point's name to a 1-D vector of finite numbers, one per candidate
(NumPy arrays or lists; a torch tensor must be detached first). Ties go to the earlier candidate.
``exclude`` names ops that a point of kind ``"op"`` may never pick (default ``("none",)``, as DARTS
does: the zero op decides *whether* an edge exists, not what it computes); names a space does not
have are ignored. Bad weights raise :class:`~nasforge.errors.SpaceError` naming the point.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import ConfigError, SpaceError
from nasforge.ops import get_op
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, SearchSpace

#: every encoding of the cell spaces (flat view and graph view)
ENCODINGS: tuple[str, ...] = ("onehot", "tokens", "adjacency", "path")
#: the kinds of decision point (see :class:`DecisionPoint`)
POINT_KINDS: tuple[str, ...] = ("op", "depth", "width", "stride", "merge", "skip", "edge")


@dataclass(frozen=True)
class DecisionPoint:
    """One place where a supernet holds a choice, and where architecture weights live.

    Attributes:
        name: the key of this point's weight vector in :meth:`CellSpaceBase.discretize`'s mapping.
        kind: ``"op"``: a mixed op over ``candidates`` (op names from the op registry, built with the
            registry's one factory signature) that reads state ``input`` of its cell and feeds state
            ``node``. Multi-branch layers also have ``"depth"``, ``"width"``, ``"stride"``, ``"merge"``
            and ``"skip"`` (``candidates`` ``(False, True)``: whether ``node`` reads ``input``) points,
            plain categorical choices a supernet handles its own way (e.g. SPOS samples them). Fabric
            points are ``"edge"`` points (``candidates`` ``(False, True)``: whether the trellis edge
            ``input -> node`` is kept; the supernet scales the edge by the ``True`` weight).
        candidates: the choices, in the order of the weight vector.
        cell: which cell type the point belongs to, ``"normal"`` or ``"reduce"`` (NASNet, whose cells
            of one type share their points, as DARTS shares alpha), or ``None`` where the space has one
            searched cell (edge-cell: every cell of the network shares the points) or no cells.
        node: the state the point writes: edge-cell node ``j`` of edge ``i -> j``; NASNet state
            ``b + 2`` for block ``b`` (states 0 and 1 are the cell's two inputs, as in the genotype's
            ``inputs``); multi-branch node ``k`` for layer ``k``. ``None`` for ``"depth"``.
        input: the state an ``"op"`` (or ``"skip"``) point reads, in the same numbering; else ``None``.
        stride: the stride an ``"op"`` point's candidates run at (NASNet: 2 on a reduction cell's
            edges from its two inputs, else 1); ``None`` where another point decides it (multi-branch).
    """

    name: str
    kind: str
    candidates: tuple[Any, ...]
    cell: str | None = None
    node: int | None = None
    input: int | None = None
    stride: int | None = 1

    @property
    def n(self) -> int:
        """Number of candidates (the length of this point's weight vector)."""
        return len(self.candidates)


def mutate_flat(
    space: SearchSpace, arch: Architecture, rng: np.random.Generator, tries: int = 20
) -> Architecture:
    """Change one active decision of the flat view to another choice (a different canonical genotype).

    Cheaper than enumerating :meth:`SearchSpace.neighbours`; falls back to it after ``tries`` misses.
    """
    flat = list(space.to_flat(arch))
    decisions = space.decisions()
    own = space.canonical_hash(arch)
    for _ in range(tries):
        active = [i for i, on in enumerate(space.active(flat)) if on and decisions[i].n > 1]
        if not active:
            break
        i = active[int(rng.integers(len(active)))]
        j = int(rng.integers(decisions[i].n - 1))
        trial = flat.copy()
        trial[i] = j if j < flat[i] else j + 1
        child = space.from_flat(trial)
        if space.canonical_hash(child) != own:
            return child
    return SearchSpace.mutate(space, arch, rng)


class CellSpaceBase(SearchSpace):
    """Shared machinery of the cell and multi-branch spaces (their params are fixed once built).

    Caches the flat view's decisions, the decision points and canonical hashes (pure functions of the
    genotype; the caches are dropped when the space is pickled), offers every encoding without
    probing, and mutates by changing one active decision. Subclasses implement
    :meth:`_build_decisions`, :meth:`_build_decision_points`, :meth:`_discretize` and :meth:`_one_hot`.
    """

    _HASH_CACHE_SIZE = 100_000
    _CACHES = ("_decisions", "_points", "_hashes")

    def _build_decisions(self) -> list[Decision]:
        raise NotImplementedError

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        if "_decisions" not in self.__dict__:
            self._decisions = tuple(self._build_decisions())
        return list(self._decisions)

    def canonical_hash(self, arch: Architecture) -> str:
        cache: dict[Architecture, str] = self.__dict__.setdefault("_hashes", {})
        key = cache.get(arch)
        if key is None:
            if len(cache) >= self._HASH_CACHE_SIZE:
                cache.clear()
            key = cache[arch] = self.canonicalize(arch).content_hash
        return key

    def encodings(self) -> tuple[str, ...]:
        return ENCODINGS

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one active decision of the flat view (see :func:`mutate_flat`)."""
        return mutate_flat(self, arch, rng)

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The canonical form given by :meth:`_canonical_genes`; a foreign genotype is returned unchanged."""
        try:
            self.validate(arch)
        except SpaceError:
            return arch
        return Architecture(arch.space, self._canonical_genes(arch))

    def _canonical_genes(self, arch: Architecture) -> dict[str, Any]:
        """Genes of the canonical representative of a valid ``arch`` (default: unchanged)."""
        return arch.genes

    # -- one-shot structure -------------------------------------------------------------------
    def _build_decision_points(self) -> list[DecisionPoint]:
        raise NotImplementedError

    def decision_points(self) -> list[DecisionPoint]:
        """Where a supernet holds a choice, in a fixed order (see :class:`DecisionPoint`)."""
        if "_points" not in self.__dict__:
            self._points = tuple(self._build_decision_points())
        return list(self._points)

    def discretize(
        self, weights: Mapping[str, Any], *, exclude: Collection[str] = ("none",)
    ) -> Architecture:
        """The genotype of this space that architecture ``weights`` select (see the module docstring).

        ``weights`` maps every name of :meth:`decision_points` to a vector of ``len(candidates)``
        finite numbers; ``exclude`` names ops an ``"op"`` point never picks. Raises
        :class:`SpaceError` naming the point for a missing, unknown, mis-sized or non-finite entry.
        """
        return self._discretize(self.check_weights(weights), frozenset(exclude))

    def chosen_ops(self, arch: Architecture) -> list[str]:
        """The ops of the registry that ``arch`` runs (one entry per use; ``none`` left out), the
        basis of the parameter-free share one-shot methods report and cap."""
        raise NotImplementedError

    def one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        """The weights selecting ``arch``: 1.0 on each chosen candidate, 0.0 elsewhere, such that
        ``discretize(one_hot(arch), exclude=())`` gives ``arch`` back (with NASNet branches and
        multi-branch skips in sorted order; always the same canonical hash). Raises
        :class:`SpaceError` naming the field for a genotype the decision points cannot express."""
        return self._one_hot(self.check(arch))

    def check_weights(self, weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``weights`` as float vectors, one per decision point; :class:`SpaceError` naming the point."""
        points = self.decision_points()
        if not isinstance(weights, Mapping):
            raise SpaceError(
                "discretize: weights must be a mapping from decision-point name to a vector of weights "
                f"(e.g. {{{points[0].name!r}: [...]}}), got {type(weights).__name__}"
            )
        names = [p.name for p in points]
        known = set(names)
        unknown = [k for k in weights if k not in known]
        if unknown:
            raise SpaceError(
                f"discretize: unknown decision point {unknown[0]!r}; this space has {len(names)} points, "
                f"named like {names[:3]} (see decision_points())"
            )
        out: dict[str, np.ndarray] = {}
        for p in points:
            if p.name not in weights:
                raise SpaceError(f"discretize: weights for decision point {p.name!r} are missing")
            value = weights[p.name]
            try:
                w = np.asarray(value, dtype=float)
            except (TypeError, ValueError, RuntimeError):
                raise SpaceError(
                    f"discretize: {p.name} must be a vector of numbers, got {type(value).__name__}"
                ) from None
            if w.shape != (p.n,):
                raise SpaceError(
                    f"discretize: {p.name} needs {p.n} weights (one per candidate {list(p.candidates)}), "
                    f"got shape {w.shape}"
                )
            if not np.isfinite(w).all():
                raise SpaceError(f"discretize: {p.name} has non-finite weights {w.tolist()}")
            out[p.name] = w
        return out

    def _discretize(self, weights: dict[str, np.ndarray], exclude: frozenset[str]) -> Architecture:
        raise NotImplementedError

    def _one_hot(self, arch: Architecture) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._CACHES}


def check_ops(ops: Collection[str], *, reduces: bool = False, channel_change: bool = False) -> None:
    """Every name in ``ops`` is a registered op building for 1-D or 2-D inputs (read from the op
    catalog, no torch), and, where the space needs it, one that reduces / changes width."""
    for name in ops:
        spec = get_op(name)  # RegistryError (a ConfigError) listing the registered ops
        if not spec.dims & {1, 2}:
            raise ConfigError(f"op {name!r} builds for dims {sorted(spec.dims)}; cell spaces need 1 or 2")
        for needed, ok, what in ((reduces, spec.reduces, "reduce (stride 2)"),
                                 (channel_change, spec.channel_change, "change width")):
            if needed and not ok:
                raise ConfigError(f"op {name!r} cannot {what}, which this space needs of every op")


def best_allowed(point: DecisionPoint, w: np.ndarray, exclude: frozenset[str]) -> tuple[int, float]:
    """``(index, weight)`` of the strongest candidate of ``point`` not in ``exclude`` (``exclude`` only
    applies to ``"op"`` points); ties go to the earlier candidate."""
    allowed = [k for k, c in enumerate(point.candidates) if point.kind != "op" or c not in exclude]
    if not allowed:
        raise SpaceError(
            f"discretize: exclude={sorted(exclude)} leaves no candidate for {point.name} "
            f"(candidates {list(point.candidates)})"
        )
    best = max(allowed, key=lambda k: (w[k], -k))
    return best, float(w[best])


def one_hot_vector(point: DecisionPoint, choice: Any) -> np.ndarray:
    """The weight vector of ``point`` with 1.0 on candidate ``choice``."""
    w = np.zeros(point.n)
    w[point.candidates.index(choice)] = 1.0
    return w


__all__ = [
    "ENCODINGS",
    "POINT_KINDS",
    "CellSpaceBase",
    "DecisionPoint",
    "best_allowed",
    "check_ops",
    "mutate_flat",
    "one_hot_vector",
]
