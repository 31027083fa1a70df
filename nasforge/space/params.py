"""Typed hyperparameters that validate their own arguments (Optuna-style distributions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.errors import ConfigError, SpaceError


@dataclass(frozen=True)
class Categorical:
    """One of a finite tuple of JSON scalars."""

    name: str
    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.choices) == 0:
            raise ConfigError(f"{self.name}: choices must be non-empty, got ()")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ConfigError(f"{self.name}: choices must be distinct, got {self.choices}")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if (choice == value and type(choice) is type(value)) or (
                isinstance(choice, float) and isinstance(value, int) and choice == value
            ):
                return i
        raise SpaceError(f"{self.name} must be one of {list(self.choices)}, got {value!r}")

    def validate(self, value: Any) -> None:
        self.index(value)

    @property
    def n(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class Integer:
    """An integer in ``[low, high]`` (inclusive), optionally on a ``step`` grid."""

    name: str
    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ConfigError(
                f"{self.name}: `low <= high` must hold, but got (low={self.low}, high={self.high})"
            )
        if self.step < 1:
            raise ConfigError(f"{self.name}: step must be >= 1, got {self.step}")

    @property
    def choices(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.choice(self.choices))

    def index(self, value: Any) -> int:
        self.validate(value)
        return (int(value) - self.low) // self.step

    def validate(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpaceError(f"{self.name} must be an integer, got {value!r}")
        if not self.low <= value <= self.high or (value - self.low) % self.step:
            raise SpaceError(
                f"{self.name} must be in [{self.low}, {self.high}] step {self.step}, got {value}"
            )

    @property
    def n(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class Float:
    """A float in ``[low, high]``, uniform or log-uniform. Not enumerable."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ConfigError(
                f"{self.name}: `low <= high` must hold with finite values, got "
                f"(low={self.low}, high={self.high})"
            )
        if self.log and self.low <= 0:
            raise ConfigError(f"{self.name}: log scale needs low > 0, got low={self.low}")

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def validate(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpaceError(f"{self.name} must be a number, got {value!r}")
        if not self.low <= value <= self.high:
            raise SpaceError(f"{self.name} must be in [{self.low}, {self.high}], got {value}")


Param = Categorical | Integer | Float


@dataclass(frozen=True)
class Conditional:
    """A parameter that is active only when ``depth >= min_depth`` (NAS as conditional HPO)."""

    param: Param
    min_depth: int = field(default=1)

    def active(self, depth: int) -> bool:
        return depth >= self.min_depth


def as_choices(values: Sequence[Any], name: str) -> tuple[Any, ...]:
    """Validate a user-supplied list of choices (non-empty, distinct)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigError(f"{name} must be a list of choices, got {values!r}")
    return Categorical(name, tuple(values)).choices
