"""Shared pieces of the model-based strategies: candidate pools and architecture features.

* :func:`enumerate_space` lists every canonical genotype of a small finite space (e.g. the 26,206 of
  NAS-Bench-Graph) once per process, so a surrogate can score the whole space;
* :func:`candidate_pool` is what acquisition maximisation ranks: the whole space where it is small,
  else the neighbourhoods of the best points plus random samples, minus pending/evaluated ones;
* :class:`FeatureMap` turns genotypes into sparse, L2-normalised feature vectors: ``"wl"`` (Weisfeiler-
  Lehman subtree labels of ``to_graph``; their dot product is the WL kernel), ``"path"`` (input-to-output
  op paths, the BANANAS path encoding as a set) and ``"onehot"`` (the flat view), or ``"auto"``.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as ssp

from nasforge.checks import check_choice
from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.space.base import SearchSpace
from nasforge.space.encodings import paths

T = TypeVar("T")
FEATURE_KINDS = ("auto", "wl", "path", "onehot", "wl+onehot", "path+onehot")
_ENUM_CACHE: dict[str, tuple[list[Architecture], list[str]]] = {}
_INDEX_CACHE: dict[tuple[str, str], SpaceIndex] = {}
_CONTROLLER: list[Any] = []


def single_threaded(method: Callable[..., T]) -> Callable[..., T]:
    """Run ``method`` with BLAS limited to one thread.

    The surrogates do many small matrix operations; a multi-threaded BLAS on a busy machine makes
    each of them orders of magnitude slower (spinning threads), so they run on one thread.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if not _CONTROLLER:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        with _CONTROLLER[0].limit(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper


def _space_key(space: SearchSpace) -> str:
    config = json.dumps(space.to_config(), sort_keys=True)
    return f"{type(space).__module__}.{type(space).__qualname__}:{config}"


def enumerate_space(space: SearchSpace, limit: int = 100_000) -> tuple[list[Architecture], list[str]] | None:
    """Every canonical genotype of ``space`` with its canonical hash, or ``None`` if too large.

    Walks the product of the flat view's decisions (at most ``limit`` index vectors), keeps one
    genotype per canonical hash. Cached per process and space configuration.
    """
    key = _space_key(space)
    if key in _ENUM_CACHE:
        return _ENUM_CACHE[key]
    listing = getattr(space, "all_architectures", None)
    if callable(listing):  # tabular spaces list their entries directly
        archs = list(listing())
        _ENUM_CACHE[key] = (archs, [space.canonical_hash(a) for a in archs])
        return _ENUM_CACHE[key]
    decisions = space.decisions()
    if math.prod(d.n for d in decisions) > limit:
        return None
    archs = []
    hashes: list[str] = []
    seen: set[str] = set()
    for flat in itertools.product(*(range(d.n) for d in decisions)):
        arch = space.from_flat(flat)
        h = space.canonical_hash(arch)
        if h not in seen:
            seen.add(h)
            archs.append(arch)
            hashes.append(h)
    _ENUM_CACHE[key] = (archs, hashes)
    return archs, hashes


def candidate_pool(
    space: SearchSpace,
    rng: np.random.Generator,
    known: set[str] | dict[str, object],
    parents: Sequence[Architecture] = (),
    n_random: int = 500,
    max_pool: int | None = None,
    whole_space: bool = True,
) -> tuple[list[Architecture], list[str]]:
    """Unknown candidates to rank: the whole space (if enumerable and ``whole_space``), else the
    neighbours of ``parents`` plus ``n_random`` random samples. ``max_pool`` subsamples the whole
    space uniformly (neighbours of the parents are always kept)."""
    archs: list[Architecture] = []
    hashes: list[str] = []
    seen = set(known)

    def add(arch: Architecture, h: str | None = None) -> None:
        h = space.canonical_hash(arch) if h is None else h
        if h not in seen:
            seen.add(h)
            archs.append(arch)
            hashes.append(h)

    for parent in parents:
        for nb in space.neighbours(parent):
            add(nb)
    enumerated = enumerate_space(space) if whole_space else None
    if enumerated is not None:
        all_archs, all_hashes = enumerated
        idx: Iterable[int] = range(len(all_archs))
        if max_pool is not None and len(all_archs) > max_pool:
            idx = np.sort(rng.choice(len(all_archs), size=max_pool, replace=False))
        for i in idx:
            add(all_archs[i], all_hashes[i])
    else:
        for _ in range(n_random):
            add(space.sample(rng))
    return archs, hashes


def has_graph(space: SearchSpace) -> bool:
    """Whether ``space`` implements ``to_graph`` and ``op_vocabulary``."""
    return "adjacency" in space.encodings() and hasattr(space, "op_vocabulary")


#: bins per unit range of a float decision's features, one resolution each (see FeatureMap.float_tokens)
FLOAT_BINS = (2, 4, 8, 16)


class FeatureMap:
    """Sparse feature vectors of genotypes, cached by canonical hash.

    Args:
        space: the search space.
        kind: one of :data:`FEATURE_KINDS`; ``"auto"`` is ``"wl+onehot"`` where the space has a
            graph view, else ``"onehot"``.
        wl_iterations: WL relabelling rounds (``h``).
    """

    def __init__(self, space: SearchSpace, kind: str = "auto", wl_iterations: int = 1) -> None:
        check_choice("features", kind, FEATURE_KINDS)
        graph = has_graph(space)
        if kind == "auto":
            kind = "wl+onehot" if graph else "onehot"
        if ("wl" in kind or "path" in kind) and not graph:
            raise ConfigError(
                f"features={kind!r} needs a space with a graph view; space {space.name!r} has none: "
                "use features='onehot'"
            )
        self.space = space
        self.kind = kind
        self.wl_iterations = wl_iterations
        self.vocab: dict[str, int] = {}
        self._rows: dict[str, dict[int, float]] = {}

    def tokens(self, arch: Architecture) -> list[str]:
        """The feature tokens (with repeats) of ``arch``; a float decision's come from
        :meth:`float_tokens` instead."""
        out: list[str] = []
        if "onehot" in self.kind:
            space = self.space
            flat = space.to_flat(arch)
            active = space.active(flat)
            floats = self._floats(arch)
            out += [f"d{i}={v}" for i, (v, on) in enumerate(zip(flat, active, strict=True))
                    if on and i not in floats]
        if "wl" in self.kind:
            out += _wl_tokens(self.space, arch, self.wl_iterations)
        if "path" in self.kind:
            out += ["p:" + ">".join(p) for p in paths(self.space, arch)]
        return out

    def _floats(self, arch: Architecture) -> dict[int, float]:
        getter = getattr(self.space, "float_units", None)
        return {} if getter is None else getter(arch)

    def float_tokens(self, arch: Architecture) -> list[tuple[str, float]]:
        """Weighted tokens of the float decisions (one-hot features): each value in [0, 1] falls into a
        bin at each resolution of :data:`FLOAT_BINS`, plain and shifted by half a bin; the weights
        make a float decision's squared norm 1, as a categorical's, so two values share a fraction of
        it that shrinks with their distance (deterministic random-binning features, Rahimi & Recht
        2007), where an exact-value token would make 0.010 and 0.011 as unlike as 0.01 and 0.1."""
        if "onehot" not in self.kind:
            return []
        weight = 1.0 / math.sqrt(2 * len(FLOAT_BINS))
        out = []
        for i, u in self._floats(arch).items():
            for n in FLOAT_BINS:
                for shift in (0.0, 0.5):
                    out.append((f"d{i}/{n}{'s' if shift else ''}={math.floor(u * n + shift)}", weight))
        return out

    def row(self, arch: Architecture, key: str | None = None) -> dict[int, float]:
        """Normalised sparse row ``{column: value}`` of ``arch``."""
        key = self.space.canonical_hash(arch) if key is None else key
        cached = self._rows.get(key)
        if cached is not None:
            return cached
        counts: dict[int, float] = {}
        weighted = [(tok, 1.0) for tok in self.tokens(arch)] + self.float_tokens(arch)
        for tok, weight in weighted:
            j = self.vocab.setdefault(tok, len(self.vocab))
            counts[j] = counts.get(j, 0.0) + weight
        norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
        row = {j: v / norm for j, v in counts.items()}
        self._rows[key] = row
        return row

    def matrix(self, archs: Sequence[Architecture], keys: Sequence[str] | None = None) -> ssp.csr_matrix:
        """CSR matrix of the rows of ``archs`` (columns = the vocabulary seen so far)."""
        rows = [self.row(a, None if keys is None else keys[i]) for i, a in enumerate(archs)]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        indices = np.fromiter((j for r in rows for j in r), dtype=np.int64, count=int(indptr[-1]))
        data = np.fromiter((v for r in rows for v in r.values()), dtype=np.float64, count=int(indptr[-1]))
        return ssp.csr_matrix((data, indices, indptr), shape=(len(rows), max(len(self.vocab), 1)))

    def dense(self, archs: Sequence[Architecture], keys: Sequence[str] | None = None) -> np.ndarray:
        """Dense float32 version of :meth:`matrix`."""
        return self.matrix(archs, keys).toarray().astype(np.float32)


def _wl_tokens(space: SearchSpace, arch: Architecture, iterations: int) -> list[str]:
    """Weisfeiler-Lehman subtree labels of every node for rounds 0..iterations (in- and out-edges)."""
    graph = space.to_graph(arch)
    adj = np.asarray(graph.adjacency)
    labels = list(graph.labels)
    n = len(labels)
    preds = [list(np.flatnonzero(adj[:, i])) for i in range(n)]
    succs = [list(np.flatnonzero(adj[i, :])) for i in range(n)]
    out = list(labels)
    for _ in range(iterations):
        labels = [
            labels[i]
            + "<"
            + ",".join(sorted(labels[j] for j in preds[i]))
            + ">"
            + ",".join(sorted(labels[j] for j in succs[i]))
            for i in range(n)
        ]
        out += labels
    return out


class SpaceIndex:
    """The whole of a small space with a precomputed feature matrix, for vectorised scoring.

    ``archs[i]`` has canonical hash ``hashes[i]`` and feature row ``matrix[i]`` (CSR, L2-normalised).
    Built once per process, space configuration and feature kind (:meth:`get`).
    """

    def __init__(self, space: SearchSpace, kind: str, archs: list[Architecture], hashes: list[str],
                 wl_iterations: int = 1) -> None:
        self.fmap = FeatureMap(space, kind, wl_iterations)
        self.archs = archs
        self.hashes = hashes
        self.position = {h: i for i, h in enumerate(hashes)}
        self.matrix = self.fmap.matrix(archs, hashes)

    @classmethod
    def get(cls, space: SearchSpace, kind: str = "auto", wl_iterations: int = 1) -> SpaceIndex | None:
        """The cached index of ``space`` with features ``kind`` (``wl_iterations`` WL rounds), or
        ``None`` if not enumerable."""
        key = (_space_key(space), kind, wl_iterations)
        if key not in _INDEX_CACHE:
            enumerated = enumerate_space(space)
            if enumerated is None:
                return None
            _INDEX_CACHE[key] = cls(space, kind, *enumerated, wl_iterations=wl_iterations)
        return _INDEX_CACHE[key]

    def unknown(self, known: Iterable[str]) -> np.ndarray:
        """Indices of the architectures whose hash is not in ``known``."""
        mask = np.ones(len(self.archs), dtype=bool)
        idx = [self.position[h] for h in known if h in self.position]
        mask[idx] = False
        return np.flatnonzero(mask)
