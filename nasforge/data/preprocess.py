"""What a task did to the raw data, as plain data: the input contract of every trained model.

A :class:`Preprocessing` records the raw per-sample shape and dtype the user supplied, the shape the
network reads (e.g. MNIST-1D's raw ``(40,)`` signals become ``(1, 40)``: a channel axis), the
standardisation statistics of the training split (one mean / std per channel, or per feature for
tables) and the label names in class-index order (strings where a CSV had strings, ints otherwise).
It round-trips through JSON (:meth:`Preprocessing.to_dict`), so a study's stored task descriptor is
enough to predict with or export a model without the user's file.

The arithmetic is fixed and shared by every consumer: cast to float32, reshape, then
``(x - mean) / std`` in float32. Training data (:func:`nasforge.data.load`), :meth:`apply` (NumPy, used
by ``nasforge predict``), the exported ``model.py`` and ``model.onnx`` all compute exactly this, so
they see bit-identical network inputs. No torch is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import DataError

#: raw input dtypes a contract may name (anything else is refused when the task is built)
RAW_DTYPES = frozenset({"bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
                        "float16", "float32", "float64"})


def _shape(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value
    ):
        raise DataError(f"preprocessing {name} must be a non-empty list of positive integers, got {value!r}")
    return tuple(int(d) for d in value)


@dataclass(frozen=True)
class Preprocessing:
    """The raw-data -> network-input map of a task and its label names (plain, JSON-able data).

    Attributes:
        raw_shape: per-sample shape of the raw input, e.g. ``(40,)``, ``(F,)``, ``(C, H, W)``.
        raw_dtype: NumPy dtype name of the raw input as supplied (``"float64"`` for CSV values).
        input_shape: per-sample shape the network reads (same size as ``raw_shape``).
        mean, std: training-split statistics, one per channel (``input_shape[0]`` values; per feature
            for tables), as float32 values. ``(0, 1)`` when the task was not standardised.
        labels: the class names in logit order.
        columns: CSV feature column names in training order (``None`` for arrays).
        target: the CSV label column (``None`` for arrays).
    """

    raw_shape: tuple[int, ...]
    raw_dtype: str
    input_shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    labels: tuple[Any, ...]
    columns: tuple[str, ...] | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        raw, shape = _shape(list(self.raw_shape), "raw_shape"), _shape(list(self.input_shape), "input_shape")
        if int(np.prod(raw)) != int(np.prod(shape)):
            raise DataError(f"preprocessing raw_shape {raw} and input_shape {shape} differ in size")
        if self.raw_dtype not in RAW_DTYPES:
            raise DataError(f"raw inputs must have a numeric dtype (one of {sorted(RAW_DTYPES)}), "
                            f"got {self.raw_dtype!r}")
        if len(self.mean) != shape[0] or len(self.std) != shape[0]:
            raise DataError(f"preprocessing needs {shape[0]} means and stds (one per channel/feature), got "
                            f"{len(self.mean)} and {len(self.std)}")
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise DataError(f"preprocessing labels must be >= 2 distinct names, got {list(self.labels)!r}")
        if self.columns is not None and len(self.columns) != int(np.prod(raw)):
            raise DataError(f"{len(self.columns)} feature columns for raw shape {raw}")

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, x_train: np.ndarray, raw_shape: Sequence[int], raw_dtype: Any, labels: Sequence[Any],
            standardize: bool = True, columns: Sequence[str] | None = None,
            target: str | None = None) -> Preprocessing:
        """The preprocessing of network-shaped training inputs ``x_train`` (``(N, *input_shape)``):
        statistics per feature for ``(N, F)``, per channel otherwise (computed in float64, stored
        as float32; a constant channel gets std 1)."""
        shape = tuple(int(d) for d in x_train.shape[1:])
        if standardize:
            axes = (0, *range(2, x_train.ndim))
            mean = x_train.mean(axis=axes, dtype=np.float64)
            std = x_train.std(axis=axes, dtype=np.float64)
            std = np.where(std < 1e-8, 1.0, std)
        else:
            mean, std = np.zeros(shape[0]), np.ones(shape[0])
        return cls(
            raw_shape=tuple(int(d) for d in raw_shape), raw_dtype=np.dtype(raw_dtype).name,
            input_shape=shape,
            mean=tuple(float(v) for v in mean.astype(np.float32)),
            std=tuple(float(v) for v in std.astype(np.float32)),
            labels=tuple(_plain(v) for v in labels),
            columns=None if columns is None else tuple(str(c) for c in columns), target=target,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what the study's task descriptor stores)."""
        return {
            "raw_shape": list(self.raw_shape), "raw_dtype": self.raw_dtype,
            "input_shape": list(self.input_shape), "mean": list(self.mean), "std": list(self.std),
            "labels": list(self.labels), "columns": None if self.columns is None else list(self.columns),
            "target": self.target,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`; :class:`DataError` names what is missing or malformed."""
        if not isinstance(data, Mapping):
            raise DataError(f"a preprocessing record must be a mapping, got {type(data).__name__}")
        missing = [k for k in ("raw_shape", "raw_dtype", "input_shape", "mean", "std", "labels")
                   if k not in data]
        if missing:
            raise DataError(f"the preprocessing record lacks {missing}; found {sorted(data)}")
        try:
            return cls(
                raw_shape=_shape(data["raw_shape"], "raw_shape"), raw_dtype=str(data["raw_dtype"]),
                input_shape=_shape(data["input_shape"], "input_shape"),
                mean=tuple(float(v) for v in data["mean"]), std=tuple(float(v) for v in data["std"]),
                labels=tuple(data["labels"]),
                columns=None if data.get("columns") is None else tuple(data["columns"]),
                target=data.get("target"),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"malformed preprocessing record {dict(data)!r}: {exc}") from exc

    # -- the map ----------------------------------------------------------------------------------
    @property
    def stat_shape(self) -> tuple[int, ...]:
        """Shape the statistics broadcast with over a batch: ``(1, C, 1, ...)``."""
        return (1, self.input_shape[0], *([1] * (len(self.input_shape) - 1)))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` as float32 arrays of :attr:`stat_shape`."""
        return (np.asarray(self.mean, dtype=np.float32).reshape(self.stat_shape),
                np.asarray(self.std, dtype=np.float32).reshape(self.stat_shape))

    def check_raw(self, x: Any, where: str = "input") -> np.ndarray:
        """``x`` as a NumPy array of shape ``(N, *raw_shape)`` with finite numbers, or a DataError."""
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise DataError(f"{where} must be a numeric array, could not convert: {exc}") from exc
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise DataError(f"{where} must be numeric, got dtype {arr.dtype}")
        if arr.shape == self.raw_shape:
            arr = arr[None]  # one sample
        if tuple(arr.shape[1:]) != self.raw_shape:
            if len(self.raw_shape) == 1 and arr.ndim == 2:
                raise DataError(f"{where} has {arr.shape[1]} features per sample, the model expects "
                                f"{self.raw_shape[0]}; give the columns the model was trained on")
            raise DataError(f"{where} has per-sample shape {tuple(arr.shape[1:])}, the model expects "
                            f"{self.raw_shape} (inputs of shape (N, {', '.join(map(str, self.raw_shape))}))")
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
            raise DataError(f"{where} contains NaN/inf values (first in sample {int(bad[0])}); drop or "
                            "impute those samples")
        return arr

    def apply(self, x: Any, where: str = "input") -> np.ndarray:
        """Raw samples ``(N, *raw_shape)`` -> network inputs ``(N, *input_shape)`` (float32)."""
        arr = self.check_raw(x, where)
        return self.transform(arr)

    def transform(self, arr: np.ndarray) -> np.ndarray:
        """The map itself on an already checked array: float32 cast, reshape, ``(x - mean) / std``."""
        mean, std = self.arrays()
        out = arr.astype(np.float32).reshape(len(arr), *self.input_shape)
        return (out - mean) / std

    # -- labels -----------------------------------------------------------------------------------
    def decode(self, indices: Any) -> list[Any]:
        """Class indices -> the user's labels."""
        return [self.labels[int(i)] for i in np.asarray(indices).ravel()]

    def encode(self, labels: Any, where: str = "labels") -> np.ndarray:
        """The user's labels -> class indices (int64); a DataError names a label the task never had.

        Numeric labels match by value (``3.0`` is label ``3``); text labels match exactly.
        """
        values = list(np.asarray(labels).ravel())
        strings = all(isinstance(v, str) for v in self.labels)
        index = {v: k for k, v in enumerate(self.labels)}
        out = np.empty(len(values), dtype=np.int64)
        for n, raw in enumerate(values):
            key: Any = _plain(raw)
            if not strings and isinstance(key, str):
                try:
                    key = float(key)
                except ValueError:
                    key = raw
            if not strings and isinstance(key, float) and key.is_integer():
                key = int(key)
            if strings and not isinstance(key, str):
                key = str(key)
            if key not in index:
                kind = "text" if strings else "integer"
                raise DataError(
                    f"{where} holds {_plain(raw)!r} (sample {n}), which is not one of the task's {kind} "
                    f"labels {list(self.labels)!r}"
                )
            out[n] = index[key]
        return out


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (labels go to JSON)."""
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["RAW_DTYPES", "Preprocessing"]
