"""Parameter checks shared by every layer: one message shape for "an integer >= k", "a number in [a, b]".

Each check returns the value in its plain Python type and raises :class:`~nasforge.errors.ConfigError`
(or the error class passed as ``error``) whose message names the parameter, the allowed values and the
value given, e.g. ``workers must be an integer >= 1, got 0``. Booleans are never accepted as numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from nasforge.errors import ConfigError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounds_text(low: float | None, high: float | None, low_open: bool = False,
                 high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None, *,
              allow_none: bool = False, error: type[Exception] = ConfigError) -> int | None:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (either bound optional); ``None`` passes with
    ``allow_none``."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        bounds = _bounds_text(minimum, maximum)
        extra = " (or None for no limit)" if allow_none else ""
        raise error(f"{name} must be an integer{' ' + bounds if bounds else ''}{extra}, got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    error: type[Exception] = ConfigError,
) -> float | None:
    """``value`` as a finite ``float`` within the bounds (``low_open`` / ``high_open`` exclude them)."""
    if value is None and allow_none:
        return None
    ok = _is_number(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = _bounds_text(low, high, low_open, high_open)
        extra = " (or None)" if allow_none else ""
        raise error(f"{name} must be a finite number{' ' + bounds if bounds else ''}{extra}, got {value!r}")
    return float(value)


def check_seconds(name: str, value: Any, *, allow_none: bool = True,
                  error: type[Exception] = ConfigError) -> float | None:
    """A positive, finite number of seconds (``None``: no limit, unless ``allow_none=False``)."""
    if value is None and allow_none:
        return None
    if not _is_number(value) or not math.isfinite(float(value)) or value <= 0:
        extra = " (or None for no limit)" if allow_none else ""
        raise error(f"{name} must be a positive number of seconds{extra}, got {value!r}")
    return float(value)


def check_probability(name: str, value: Any, *, inclusive_high: bool = False,
                      error: type[Exception] = ConfigError) -> float:
    """A probability in ``[0, 1)`` (``[0, 1]`` with ``inclusive_high``)."""
    return check_number(name, value, 0.0, 1.0, high_open=not inclusive_high, error=error)  # type: ignore[return-value]


def check_choice(name: str, value: Any, choices: Iterable[Any], *,
                 error: type[Exception] = ConfigError) -> Any:
    """``value`` if it is one of ``choices``; otherwise an error listing them."""
    allowed = list(choices)
    try:
        ok = value in allowed
    except TypeError:
        ok = False
    if not ok:
        raise error(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_folds(value: Any, name: str = "cv") -> int | str:
    """``"auto"``, ``0`` (the holdout split) or an integer ``K >= 2``; :class:`ConfigError` otherwise."""
    if value == "auto" and isinstance(value, str):
        return "auto"
    if isinstance(value, bool) or not _is_int(value) or value < 0 or value == 1:
        raise ConfigError(
            f"{name} must be 0 (score on the holdout validation split) or an integer >= 2 (k-fold "
            f"cross-validation on train+valid){' or auto' if name == 'cv' else ''}, got {value!r}"
        )
    return int(value)


__all__ = ["check_choice", "check_folds", "check_int", "check_number", "check_probability", "check_seconds"]
