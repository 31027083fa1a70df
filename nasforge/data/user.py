"""User data: in-memory arrays, ``.npz`` files and ``.csv`` files, validated into a :class:`Task`."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.data import validate as v
from nasforge.data.preprocess import Preprocessing
from nasforge.data.task import Task
from nasforge.errors import DataError

#: label column names ``load_csv`` picks when no ``target`` is given (case-insensitive)
TARGET_NAMES = ("target", "label", "y", "class")


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


def _labels_of(y: Any, n: int, split: str, names: list[Any] | None) -> tuple[np.ndarray, list[Any] | None]:
    """``(class indices, label names)``: text labels map to indices by ``names`` (default: sorted)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    text = arr.dtype.kind in "US" or (arr.dtype == object and all(isinstance(s, str) for s in arr.ravel()))
    if not text:
        return v.as_labels(arr, n, split), names
    if arr.ndim != 1:
        raise DataError(f"{split} labels must be a 1-D array of labels, got shape {arr.shape}")
    if len(arr) != n:
        raise DataError(f"{split} has {n} inputs but {len(arr)} labels; they must have the same length")
    values = [str(s) for s in arr]
    if names is None:
        names = sorted(set(values))
    index = {c: k for k, c in enumerate(names)}
    unseen = [s for s in values if s not in index]
    if unseen:
        raise DataError(f"{split} labels hold {unseen[0]!r}, which is not one of the training labels {names}")
    return np.asarray([index[s] for s in values], dtype=np.int64), names


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
    labels: Sequence[Any] | None = None,
    input_shape: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
) -> Task:
    """Validate arrays and split them into a :class:`Task`.

    Without ``x_test``/``y_test`` a stratified ``test_fraction`` is held out; a validation set of
    ``valid_fraction`` is always carved from the training data (fixed ``seed``). ``y`` holds class
    indices ``0..K-1`` (named by ``labels`` if given) or text labels (mapped to indices in sorted
    order, or in the order of ``labels``). ``input_shape`` reshapes each raw sample for the network
    (e.g. ``(1, 40)`` adds a channel axis to ``(N, 40)`` signals). Inputs are standardised with
    training statistics unless ``standardize=False``. ``columns`` names the features of a table. The
    task records all of this in :attr:`Task.preprocessing` and keeps the raw splits.
    """
    raw = v.as_inputs(x, "training")
    names = None if labels is None else list(labels)
    y_arr, names = _labels_of(y, len(raw), "training", names)
    if (x_test is None) != (y_test is None):
        raise DataError("give both x_test and y_test, or neither (a test split is then held out)")
    if names is not None and num_classes is None:
        num_classes = len(names)
    if num_classes is None:
        num_classes = int(y_arr.max()) + 1 if len(y_arr) else 0
        if y_arr.min() < 0:
            v.check_labels(y_arr, num_classes, "training")
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise DataError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if num_classes < 2:
        raise DataError(f"classification needs at least 2 classes, got labels {np.unique(y_arr)}")
    if names is not None and len(names) != num_classes:
        raise DataError(f"labels names {len(names)} classes but the task has {num_classes}: {names!r}")
    v.check_labels(y_arr, num_classes, "training")
    raw_shape = raw.shape[1:]
    shape = raw_shape if input_shape is None else tuple(int(d) for d in input_shape)
    if int(np.prod(shape)) != int(np.prod(raw_shape)) or len(shape) not in (1, 2, 3):
        raise DataError(f"input_shape {shape} must hold the {int(np.prod(raw_shape))} values of a raw "
                        f"sample {raw_shape} as (F,), (C, L) or (C, H, W)")
    if x_test is not None:
        raw_test = v.as_inputs(x_test, "test")
        yt, _ = _labels_of(y_test, len(raw_test), "test", names)
        v.check_same_shape(raw, raw_test, "test")
        v.check_labels(yt, num_classes, "test")
        v.check_classes(y_arr, num_classes, "training")
    else:
        v.check_classes(y_arr, num_classes, "training", minimum=v.MIN_PER_CLASS + 1)
        raw, y_arr, raw_test, yt = _split(raw, y_arr, test_fraction, seed, "test")
    v.check_classes(y_arr, num_classes, "training")
    raw_tr, y_tr, raw_va, y_va = _split(raw, y_arr, valid_fraction, seed + 1, "valid")
    info = {"source": name, "standardized": bool(standardize), **dict(meta or {})}
    return make_task(name, {"train": (raw_tr, y_tr), "valid": (raw_va, y_va), "test": (raw_test, yt)},
                     int(num_classes), info, shape, names, standardize, columns)


def make_task(name: str, splits: Mapping[str, tuple[np.ndarray, np.ndarray]], num_classes: int,
              meta: dict[str, Any], input_shape: Sequence[int], labels: Sequence[Any] | None,
              standardize: bool, columns: Sequence[str] | None = None) -> Task:
    """A :class:`Task` from checked raw splits: fit the preprocessing on the training split (after the
    reshape to ``input_shape``) and apply it to every split."""
    raw_tr = splits["train"][0]
    shaped = raw_tr.astype(np.float32).reshape(len(raw_tr), *input_shape)
    prep = Preprocessing.fit(shaped, raw_tr.shape[1:], raw_tr.dtype,
                             list(range(num_classes)) if labels is None else labels, standardize,
                             columns, meta.get("target") if isinstance(meta.get("target"), str) else None)
    xs = {k: prep.transform(a) for k, (a, _) in splits.items()}
    ys = {k: b for k, (_, b) in splits.items()}
    raw_x = {k: a for k, (a, _) in splits.items()}
    return Task(name, xs["train"], ys["train"], xs["valid"], ys["valid"], xs["test"], ys["test"],
                int(num_classes), meta, prep, raw_x)


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


def read_csv(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of a ``.csv`` with a header row (blank rows dropped, field counts checked)."""
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
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataError(
                f"{str(p)!r} row {i + 2} has {len(r)} fields, the header has {len(header)}"
            )
    return header, body


def csv_numbers(path: str | os.PathLike[str], body: list[list[str]], cols: Sequence[int]) -> np.ndarray:
    """Columns ``cols`` of the CSV rows as float64 ``(N, len(cols))`` (empty cells are NaN)."""
    feats: list[list[float]] = []
    for i, r in enumerate(body):
        try:
            feats.append([float(r[j]) if r[j].strip() else float("nan") for j in cols])
        except ValueError as exc:
            raise DataError(
                f"{str(path)!r} row {i + 2}: features must be numeric ({exc}); encode text columns first"
            ) from exc
    return np.asarray(feats, dtype=np.float64).reshape(len(body), len(cols))


def csv_labels(body: list[list[str]], col: int) -> np.ndarray:
    """The label column: float64 when every value is a number, else the text values."""
    labels = [r[col].strip() for r in body]
    try:
        return np.asarray([float(s) for s in labels])
    except ValueError:
        return np.asarray(labels, dtype=str)


def load_csv(path: str | os.PathLike[str], target: str | None = None, **kwargs: Any) -> Task:
    """A tabular task from a ``.csv`` with a header row; ``target`` names the label column
    (default: a column named ``target``/``label``/``y``/``class``, else the last column).
    Non-numeric labels are mapped to 0..K-1 in sorted order; features must be numeric."""
    p = Path(path)
    header, body = read_csv(p)
    if target is None:
        named = [h for h in header if h.lower() in TARGET_NAMES]
        target = named[0] if named else header[-1]
    if target not in header:
        raise DataError(f"target column {target!r} is not in {str(p)!r}; columns are {header}")
    t = header.index(target)
    cols = [j for j in range(len(header)) if j != t]
    feats = csv_numbers(p, body, cols)
    y = csv_labels(body, t)
    kwargs.setdefault("name", p.stem)
    meta = dict(kwargs.pop("meta", None) or {})
    meta["target"] = target
    if y.dtype.kind == "U":
        meta["classes"] = ",".join(sorted(set(y.tolist())))
    return from_arrays(feats, y, meta=meta, columns=[header[j] for j in cols], **kwargs)
