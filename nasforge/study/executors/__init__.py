"""Executors: where trials run (serial in-process, spawned worker processes, a Ray cluster)."""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.study.executors.base import Executor
from nasforge.trial import Job, JobResult

EXECUTORS: Registry[type[Executor]] = Registry(
    "executor",
    {
        "serial": "nasforge.study.executors.serial:SerialExecutor",
        "process": "nasforge.study.executors.process:ProcessExecutor",
        "ray": "nasforge.study.executors.ray:RayExecutor",
    },
    requires={"ray": ("ray",)},
)


def create(name: str, /, **params: Any) -> Executor:
    """Create the registered executor ``name``."""
    return EXECUTORS.create(name, **params)


__all__ = ["EXECUTORS", "Executor", "Job", "JobResult", "create"]
