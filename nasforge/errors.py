"""Typed errors. Every user-facing failure is a :class:`NasforgeError` whose message states what was
expected, what was given and how to fix it; the CLI prints it as one line and exits with status 2."""

from __future__ import annotations


class NasforgeError(Exception):
    """Base class of every error nasforge raises on purpose."""


class ConfigError(NasforgeError, ValueError):
    """A parameter, flag or config value is out of its allowed range or of the wrong type."""


class RegistryError(ConfigError, KeyError):
    """An unknown name was asked of a registry (space, op, strategy, task, executor...)."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class SpaceError(NasforgeError, ValueError):
    """A genotype does not belong to its space; the message names the offending field."""


class MorphismError(ConfigError):
    """A network morphism cannot be applied as asked (a layer index that does not exist, widening to
    fewer units, inheritance without parent checkpoints); the message names the operator and field."""


class DataError(NasforgeError, ValueError):
    """Task data is malformed: shapes, non-finite values, labels, empty or tiny classes."""


class StoreError(NasforgeError):
    """The SQLite store cannot be read or written, or a study's config conflicts with the stored one."""


class LeaseLost(StoreError):
    """Another driver took over the study while this one ran; this driver stopped without writing."""


class EvaluationError(NasforgeError):
    """An evaluation failed for a reason recorded on the trial (e.g. ``non_finite``, ``timeout``)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


class StudyAborted(NasforgeError):
    """The study stopped on purpose: too many consecutive failures, or interrupted."""
