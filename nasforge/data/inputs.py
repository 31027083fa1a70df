"""Data to predict on, read with the same file rules as a task (``--task``) and checked against a
model's input contract (:class:`~nasforge.data.preprocess.Preprocessing`).

* ``.csv``: a header row; the model's feature columns (by name when the task came from a CSV, else
  the first ``F`` columns) with or without the label column. Unknown columns, missing ones or a wrong
  count are refused.
* ``.npz``: an array ``x`` of shape ``(N, *raw_shape)``, optionally ``y``.
* arrays: ``(N, *raw_shape)`` (a single sample of ``raw_shape`` is accepted too).

Labels found in the file are checked against the task's labels (an unseen label or label type is a
:class:`~nasforge.errors.DataError`) and returned as class indices, so a caller can score predictions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.data.preprocess import Preprocessing
from nasforge.data.user import TARGET_NAMES, csv_labels, csv_numbers, read_csv
from nasforge.errors import DataError


def read_inputs(source: Any, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray | None]:
    """``(raw x, class indices of the file's labels or None)`` from a path or an array."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        suffix = p.suffix.lower()
        if suffix == ".csv":
            return _read_csv(p, prep)
        if suffix == ".npz":
            return _read_npz(p, prep)
        raise DataError(f"data file {str(p)!r} must end in .npz or .csv")
    return prep.check_raw(source, "input"), None


def _read_npz(p: Path, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError as exc:
        raise DataError(f"data file {str(p)!r} does not exist") from exc
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read {str(p)!r} as .npz (object arrays are refused): {exc}") from exc
    if "x" not in arrays:
        shape = ", ".join(map(str, prep.raw_shape))
        raise DataError(f"{str(p)!r} must contain an array 'x' of shape (N, {shape}) (and optionally 'y'); "
                        f"found {sorted(arrays)}")
    x = prep.check_raw(arrays["x"], f"{str(p)!r} array 'x'")
    y = arrays.get("y")
    if y is None:
        return x, None
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise DataError(f"{str(p)!r} has {len(x)} inputs but {len(y)} labels in 'y'")
    return x, prep.encode(y, f"{str(p)!r} array 'y'")


def _read_csv(p: Path, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray | None]:
    if len(prep.raw_shape) != 1:
        raise DataError(
            f"this model takes samples of shape {prep.raw_shape}, which a CSV row cannot hold; give an "
            f".npz with an array 'x' of shape (N, {', '.join(map(str, prep.raw_shape))})"
        )
    header, body = read_csv(p)
    n_features = prep.raw_shape[0]
    if prep.columns is not None:
        missing = [c for c in prep.columns if c not in header]
        extra = [h for h in header if h not in prep.columns and h != prep.target]
        if missing or extra:
            raise DataError(
                f"{str(p)!r} has columns {header}, the model expects the {n_features} feature columns "
                f"{list(prep.columns)} (the label column {prep.target!r} may be included); "
                + (f"missing {missing}" if missing else f"unknown {extra}")
            )
        cols = [header.index(c) for c in prep.columns]
        target = header.index(prep.target) if prep.target in header else None
    else:
        named = [j for j, h in enumerate(header) if h.lower() in TARGET_NAMES]
        if len(header) == n_features:
            target = None
        elif len(header) == n_features + 1:
            target = named[0] if named else len(header) - 1
        else:
            raise DataError(f"{str(p)!r} has {len(header)} columns, the model expects {n_features} "
                            "features (plus an optional label column)")
        cols = [j for j in range(len(header)) if j != target]
    x = prep.check_raw(csv_numbers(p, body, cols), f"{str(p)!r}")
    if target is None:
        return x, None
    return x, prep.encode(csv_labels(body, target), f"{str(p)!r} column {header[target]!r}")


__all__ = ["read_inputs"]
