"""The genotype: a frozen, hashable, JSON-only value that never holds torch objects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from nasforge.errors import SpaceError


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class Architecture:
    """An architecture genotype of a named space.

    ``genes`` is any JSON-compatible mapping (str keys; values of str, int, float, bool, None,
    lists and dicts). The value is immutable: ``genes`` returns a fresh copy each time.
    Equality and :attr:`content_hash` use the canonical JSON form (sorted keys), so two genotypes
    written in different key orders are the same value. Isomorphism is the space's business:
    see :meth:`nasforge.space.SearchSpace.canonical_hash`.
    """

    __slots__ = ("_hash", "_json", "_space")

    def __init__(self, space: str, genes: Mapping[str, Any]) -> None:
        if not isinstance(space, str) or not space:
            raise SpaceError(f"Architecture.space must be a non-empty string, got {space!r}")
        if not isinstance(genes, Mapping):
            raise SpaceError(f"Architecture.genes must be a mapping, got {type(genes).__name__}")
        try:
            text = _canonical_json(dict(genes))
        except (TypeError, ValueError) as exc:
            raise SpaceError(f"Architecture.genes must be JSON-serialisable and finite: {exc}") from exc
        object.__setattr__(self, "_space", space)
        object.__setattr__(self, "_json", text)
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Architecture is immutable")

    @property
    def space(self) -> str:
        """Name of the space this genotype belongs to."""
        return self._space

    @property
    def genes(self) -> dict[str, Any]:
        """A fresh (mutable) copy of the genes."""
        return json.loads(self._json)

    def __getitem__(self, key: str) -> Any:
        return self.genes[key]

    @property
    def content_hash(self) -> str:
        """Stable 16-hex-digit SHA-256 of the space name and canonical genes."""
        if self._hash is None:
            digest = hashlib.sha256(f"{self._space}\n{self._json}".encode()).hexdigest()[:16]
            object.__setattr__(self, "_hash", digest)
        return self._hash  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """``{"space": name, "genes": {...}}``."""
        return {"space": self._space, "genes": self.genes}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`to_dict`; raises :class:`SpaceError` on a malformed mapping."""
        if not isinstance(data, Mapping) or "space" not in data or "genes" not in data:
            raise SpaceError(
                'a genotype must be a JSON object {"space": NAME, "genes": {...}}, '
                f"got {str(data)[:120]!r}"
            )
        return cls(data["space"], data["genes"])

    def to_json(self, indent: int | None = None) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        """Parse :meth:`to_json` output; raises :class:`SpaceError` on malformed JSON."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"genotype JSON is malformed: {exc}") from exc
        return cls.from_dict(data)

    def replace(self, **genes: Any) -> Architecture:
        """A copy with some top-level genes replaced."""
        updated = self.genes
        updated.update(genes)
        return Architecture(self._space, updated)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Architecture)
            and self._space == other._space
            and self._json == other._json
        )

    def __hash__(self) -> int:
        return hash((self._space, self._json))

    def __repr__(self) -> str:
        text = self._json if len(self._json) < 160 else self._json[:157] + "..."
        return f"Architecture({self._space!r}, {text})"

    def __reduce__(self) -> tuple[Any, ...]:  # plain data: safe to send to workers
        return (Architecture, (self._space, json.loads(self._json)))
