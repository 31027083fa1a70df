"""Checks on task data. Every problem raises :class:`DataError` saying what to fix."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.errors import DataError

#: the fewest samples of each class a training set may hold
MIN_PER_CLASS = 2


def as_inputs(x: Any, split: str) -> np.ndarray:
    """``x`` as a numeric array of shape ``(N, F)``, ``(N, C, L)`` or ``(N, C, H, W)`` with finite
    values, in its own dtype (the raw input; :class:`~nasforge.data.preprocess.Preprocessing` casts)."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{split} inputs must be a numeric array, could not convert: {exc}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(
            f"{split} inputs must be numeric, got dtype {arr.dtype}; encode text columns as numbers"
        )
    if arr.ndim not in (2, 3, 4):
        hint = " (reshape a single feature to (N, 1))" if arr.ndim == 1 else ""
        raise DataError(
            f"{split} inputs must have shape (N, F), (N, C, L) or (N, C, H, W), got {arr.shape}{hint}"
        )
    if arr.shape[0] == 0:
        raise DataError(f"{split} set is empty: got inputs of shape {arr.shape}; provide samples")
    if any(d == 0 for d in arr.shape[1:]):
        raise DataError(f"{split} inputs have an empty dimension: shape {arr.shape}")
    bad = ~np.isfinite(arr.astype(np.float32))
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))
        raise DataError(
            f"{split} inputs contain {int(bad.sum())} NaN/inf values (first in sample {int(rows[0])}); "
            "drop or impute those samples"
        )
    return arr


def as_labels(y: Any, n: int, split: str) -> np.ndarray:
    """``y`` as int64 class indices of length ``n`` (integral floats accepted)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{split} labels must be a 1-D array of class indices, got shape {arr.shape}")
    if len(arr) != n:
        raise DataError(
            f"{split} has {n} inputs but {len(arr)} labels; they must have the same length"
        )
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{split} labels must be integer class indices, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise DataError(f"{split} labels must be whole numbers (class indices), got e.g. {arr[:3]}")
    return arr.astype(np.int64)


def check_labels(y: np.ndarray, num_classes: int, split: str) -> None:
    """Labels must lie in ``[0, num_classes)``."""
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)]
        raise DataError(
            f"{split} labels must be in [0, {num_classes}), got {int(bad[0])}; "
            f"map classes to 0..{num_classes - 1} (or pass num_classes)"
        )


def check_classes(y: np.ndarray, num_classes: int, split: str, minimum: int = MIN_PER_CLASS) -> None:
    """Every class in ``[0, num_classes)`` needs at least ``minimum`` samples in ``y``."""
    counts = np.bincount(y, minlength=num_classes)
    few = np.flatnonzero(counts < minimum)
    if len(few):
        raise DataError(
            f"{split} set needs at least {minimum} samples of every class; class {int(few[0])} has "
            f"{int(counts[few[0]])} ({len(few)} classes too small). Add samples or relabel classes "
            "to 0..K-1 without gaps"
        )


def check_same_shape(a: np.ndarray, b: np.ndarray, split: str) -> None:
    """Test/valid inputs must have the training inputs' per-sample shape."""
    if a.shape[1:] != b.shape[1:]:
        raise DataError(
            f"{split} inputs have per-sample shape {b.shape[1:]}, but training inputs have {a.shape[1:]}"
        )
