"""The :class:`Task`: train / valid / test splits of a classification problem, as NumPy arrays."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.data.preprocess import Preprocessing
from nasforge.errors import DataError

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised classification task.

    ``x_*`` arrays have shape ``(N, *input_shape)`` (float32, preprocessed: what the network reads);
    ``y_*`` are int64 labels in ``[0, num_classes)``. ``input_shape`` is ``(C, L)`` for signals,
    ``(C, H, W)`` for images and ``(F,)`` for tabular data. The test split is for reporting only: it
    never selects.

    ``preprocessing`` records how the raw data became ``x_*`` (the input contract of every model
    trained on the task); ``raw_x`` holds the raw inputs of each split as supplied, so
    :meth:`raw_split` gives a split back exactly as the user had it.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    meta: dict[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing | None = None
    raw_x: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def input_kind(self) -> str:
        """``"tabular"``, ``"1d"`` or ``"2d"`` from the rank of ``input_shape``."""
        return {1: "tabular", 2: "1d", 3: "2d"}[len(self.input_shape)]

    @property
    def labels(self) -> list[Any]:
        """The class names in logit order (``0..K-1`` when the task records none)."""
        if self.preprocessing is None:
            return list(range(self.num_classes))
        return list(self.preprocessing.labels)

    def raw_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, labels)`` of ``split`` (``"train"``, ``"valid"``, ``"test"``) as the user supplied
        them: raw inputs of shape ``(N, *raw_shape)`` in their own dtype and the user's labels (strings
        where the CSV had strings)."""
        if split not in SPLITS:
            raise DataError(f"split must be one of {list(SPLITS)}, got {split!r}")
        if self.raw_x is None or split not in self.raw_x:
            raise DataError(f"task {self.name!r} keeps no raw inputs (it was built without them)")
        y = getattr(self, f"y_{split}")
        return self.raw_x[split], np.asarray([self.labels[int(i)] for i in y])

    @functools.cached_property
    def data_hash(self) -> str:
        """sha256 (hex) over the train/valid/test arrays and labels: dtype, shape and bytes of each."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_valid, self.y_valid, self.x_test, self.y_test):
            a = np.ascontiguousarray(array)
            digest.update(f"{a.dtype.str}{a.shape};".encode())
            digest.update(a.tobytes())
        return digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        """Task descriptor recorded with a study: meta-learning uses it, resume checks ``data_hash``
        (file tasks add their absolute ``path``), and ``preprocessing`` is the input contract that
        ``nasforge predict`` / ``export`` read back from the store."""
        out: dict[str, Any] = {
            "name": self.name,
            "data_hash": self.data_hash,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "n_train": len(self.y_train),
            "n_valid": len(self.y_valid),
            "n_test": len(self.y_test),
            **{k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool))},
        }
        if self.preprocessing is not None:
            out["preprocessing"] = self.preprocessing.to_dict()
        return out
