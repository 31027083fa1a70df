"""Encodings derived from a space's flat view and graph view."""

from __future__ import annotations

import numpy as np

from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.space.base import SearchSpace


def onehot(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """Concatenated one-hot of every decision; inactive decisions are all-zero."""
    decisions = space.decisions()
    flat = space.to_flat(arch)
    active = space.active(flat)
    out = np.zeros(sum(d.n for d in decisions), dtype=np.float32)
    offset = 0
    for d, idx, on in zip(decisions, flat, active, strict=True):
        if on:
            out[offset + idx] = 1.0
        offset += d.n
    return out


def tokens(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """The index vector of the flat view (inactive decisions read 0)."""
    return np.asarray(space.to_flat(arch), dtype=np.int64)


def adjacency(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """Flattened upper-triangular adjacency followed by one-hot node labels."""
    graph = space.to_graph(arch)
    n = graph.adjacency.shape[0]
    vocab = op_vocabulary(space)
    upper = graph.adjacency[np.triu_indices(n, k=1)].astype(np.float32)
    labels = np.zeros((n, len(vocab)), dtype=np.float32)
    for i, label in enumerate(graph.labels):
        labels[i, vocab.index(label)] = 1.0
    return np.concatenate([upper, labels.ravel()])


def paths(space: SearchSpace, arch: Architecture, max_length: int | None = None) -> list[tuple[str, ...]]:
    """Every input-to-output path as the tuple of op labels along it (input/output excluded)."""
    graph = space.to_graph(arch)
    adj = graph.adjacency
    n = adj.shape[0]
    found: list[tuple[str, ...]] = []

    def walk(node: int, labels: tuple[str, ...]) -> None:
        if node == n - 1:
            found.append(labels)
            return
        for nxt in np.flatnonzero(adj[node]):
            inner = graph.labels[nxt] if nxt != n - 1 else None
            walk(int(nxt), labels + ((inner,) if inner is not None else ()))

    walk(0, ())
    if max_length is not None:
        found = [p for p in found if len(p) <= max_length]
    return found


def path_encoding(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """BANANAS path encoding: a binary indicator over every op sequence up to the longest path.

    The vocabulary is ``space.op_vocabulary()`` minus input/output labels; paths longer than the
    space's ``max_path_length()`` (default: number of inner nodes) are ignored.
    """
    vocab = [v for v in op_vocabulary(space) if v not in ("input", "output")]
    k = len(vocab)
    max_len = space.max_path_length() if hasattr(space, "max_path_length") else None
    graph = space.to_graph(arch)
    if max_len is None:
        max_len = graph.adjacency.shape[0] - 2
    size = sum(k**length for length in range(max_len + 1))
    out = np.zeros(size, dtype=np.float32)
    index_of = {op: i for i, op in enumerate(vocab)}
    for path in paths(space, arch, max_len):
        offset = sum(k**length for length in range(len(path)))
        code = 0
        for op in path:
            code = code * k + index_of[op]
        out[offset + code] = 1.0
    return out


def op_vocabulary(space: SearchSpace) -> list[str]:
    """All node labels the space's graphs can carry (space method ``op_vocabulary`` if defined)."""
    getter = getattr(space, "op_vocabulary", None)
    if getter is None:
        raise NotImplementedError(f"space {space.name!r} does not define op_vocabulary()")
    return list(getter())


_ENCODERS = {"onehot": onehot, "tokens": tokens, "adjacency": adjacency, "path": path_encoding}


def encode(space: SearchSpace, arch: Architecture, kind: str) -> np.ndarray:
    """Dispatch to the encoder ``kind``; raises :class:`ConfigError` for an unknown kind."""
    if kind not in _ENCODERS or kind not in space.encodings():
        raise ConfigError(
            f"encoding must be one of {list(space.encodings())} for space {space.name!r}, got {kind!r}"
        )
    return _ENCODERS[kind](space, arch)
