"""User data: in-memory arrays, ``.npz`` files and ``.csv`` files, validated into a :class:`Task`."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.data import validate as v
from nasforge.data.task import Task
from nasforge.errors import DataError


def _split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, split: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified split of ``fraction`` of the samples (fixed ``seed``); each class keeps one."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"{split}_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(len(idx))]
        k = min(max(1, round(len(idx) * fraction)), len(idx) - 1)
        held.append(idx[:k])
    out = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(len(y)), out)
    return x[keep], y[keep], x[out], y[out]


def from_arrays(
    x: Any,
    y: Any,
    x_test: Any = None,
    y_test: Any = None,
    *,
    name: str = "arrays",
    num_classes: int | None = None,
    valid_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> Task:
    """Validate arrays and split them into a :class:`Task`.

    Without ``x_test``/``y_test`` a stratified ``test_fraction`` is held out; a validation set of
    ``valid_fraction`` is always carved from the training data (fixed ``seed``). Inputs are
    standardised with training statistics unless ``standardize=False``.
    """
    x_arr = v.as_inputs(x, "training")
    y_arr = v.as_labels(y, len(x_arr), "training")
    if (x_test is None) != (y_test is None):
        raise DataError("give both x_test and y_test, or neither (a test split is then held out)")
    if num_classes is None:
        num_classes = int(y_arr.max()) + 1 if len(y_arr) else 0
        if y_arr.min() < 0:
            v.check_labels(y_arr, num_classes, "training")
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise DataError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if num_classes < 2:
        raise DataError(f"classification needs at least 2 classes, got labels {np.unique(y_arr)}")
    v.check_labels(y_arr, num_classes, "training")
    if x_test is not None:
        xt = v.as_inputs(x_test, "test")
        yt = v.as_labels(y_test, len(xt), "test")
        v.check_same_shape(x_arr, xt, "test")
        v.check_labels(yt, num_classes, "test")
        v.check_classes(y_arr, num_classes, "training")
    else:
        v.check_classes(y_arr, num_classes, "training", minimum=v.MIN_PER_CLASS + 1)
        x_arr, y_arr, xt, yt = _split(x_arr, y_arr, test_fraction, seed, "test")
    v.check_classes(y_arr, num_classes, "training")
    x_tr, y_tr, x_va, y_va = _split(x_arr, y_arr, valid_fraction, seed + 1, "valid")
    if standardize:
        x_tr, x_va, xt = v.standardise(x_tr, x_va, xt)
    info = {"source": name, "standardized": bool(standardize), **dict(meta or {})}
    return Task(name, x_tr, y_tr, x_va, y_va, xt, yt, int(num_classes), info)


def load_npz(path: str | os.PathLike[str], **kwargs: Any) -> Task:
    """A task from an ``.npz`` with arrays ``x``, ``y`` and optionally ``x_test``, ``y_test``."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError as exc:
        raise DataError(f"data file {str(p)!r} does not exist") from exc
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read {str(p)!r} as .npz (object arrays are refused): {exc}") from exc
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise DataError(f"{str(p)!r} must contain arrays 'x' and 'y' (and optionally 'x_test', "
                        f"'y_test'); missing {missing}, found {sorted(arrays)}")
    kwargs.setdefault("name", p.stem)
    return from_arrays(arrays["x"], arrays["y"], arrays.get("x_test"), arrays.get("y_test"), **kwargs)


def load_csv(path: str | os.PathLike[str], target: str | None = None, **kwargs: Any) -> Task:
    """A tabular task from a ``.csv`` with a header row; ``target`` names the label column
    (default: a column named ``target``/``label``/``y``/``class``, else the last column).
    Non-numeric labels are mapped to 0..K-1 in sorted order; features must be numeric."""
    p = Path(path)
    try:
        with p.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError as exc:
        raise DataError(f"data file {str(p)!r} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {str(p)!r} as CSV text: {exc}") from exc
    if len(rows) < 2:
        raise DataError(f"{str(p)!r} needs a header row and at least one data row, got {len(rows)} rows")
    header = [h.strip() for h in rows[0]]
    if target is None:
        named = [h for h in header if h.lower() in ("target", "label", "y", "class")]
        target = named[0] if named else header[-1]
    if target not in header:
        raise DataError(f"target column {target!r} is not in {str(p)!r}; columns are {header}")
    t = header.index(target)
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataError(
                f"{str(p)!r} row {i + 2} has {len(r)} fields, the header has {len(header)}"
            )
    labels = [r[t].strip() for r in body]
    feats: list[list[float]] = []
    for i, r in enumerate(body):
        try:
            feats.append([float(c) if c.strip() else float("nan") for j, c in enumerate(r) if j != t])
        except ValueError as exc:
            raise DataError(
                f"{str(p)!r} row {i + 2}: features must be numeric ({exc}); encode text columns first"
            ) from exc
    try:
        y = np.asarray([float(s) for s in labels])
        classes = None
    except ValueError:
        classes = sorted(set(labels))
        index = {c: k for k, c in enumerate(classes)}
        y = np.asarray([index[s] for s in labels])
    kwargs.setdefault("name", p.stem)
    meta = dict(kwargs.pop("meta", None) or {})
    meta["target"] = target
    if classes is not None:
        meta["classes"] = ",".join(classes)
    return from_arrays(np.asarray(feats, dtype=np.float64), y, meta=meta, **kwargs)
