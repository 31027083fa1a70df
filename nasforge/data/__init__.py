"""Tasks: built-in data sets, user files and in-memory arrays, validated into a :class:`Task`.

``load("mnist1d")``, ``load("digits")``, ``load("data.npz")``, ``load("table.csv", target="label")``,
``load((x, y))`` or ``load({"x": ..., "y": ..., "x_test": ..., "y_test": ...})``. Bad data raises
:class:`nasforge.errors.DataError` saying what to fix. Every task records its input contract
(:class:`Preprocessing`: raw shape and dtype, reshape, training-split statistics, label names) and
keeps its raw splits (:meth:`Task.raw_split`). No torch is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasforge.data.preprocess import Preprocessing
from nasforge.data.task import Task
from nasforge.errors import DataError
from nasforge.registry import Registry

#: built-in task loaders: name -> ``loader(**options) -> Task``
TASKS: Registry[Any] = Registry(
    "task",
    {
        "mnist1d": "nasforge.data.builtin:mnist1d",
        "digits": "nasforge.data.builtin:digits",
    },
)


def list_tasks() -> list[str]:
    """Names of the built-in tasks."""
    return TASKS.names()


def load(source: Any, /, **options: Any) -> Task:
    """Load a task from a built-in name, a ``.npz``/``.csv`` path, a ``(x, y[, x_test, y_test])``
    tuple or a mapping with those keys, or return a :class:`Task` unchanged."""
    if isinstance(source, Task):
        return source
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        suffix = Path(text).suffix.lower()
        if suffix in (".npz", ".csv"):
            from nasforge.data import user

            task = user.load_npz(text, **options) if suffix == ".npz" else user.load_csv(text, **options)
            task.meta.setdefault("path", str(Path(text).resolve()))  # recorded with a study (resume)
            return task
        if text in TASKS:
            return TASKS.create(text, **options)
        if Path(text).exists():
            raise DataError(f"data file {text!r} must end in .npz or .csv")
        TASKS.get(text)  # raises RegistryError listing the built-in names
    if isinstance(source, Mapping):
        from nasforge.data.user import from_arrays

        missing = [k for k in ("x", "y") if k not in source]
        if missing:
            raise DataError(f"a data mapping needs keys 'x' and 'y', missing {missing}")
        return from_arrays(source["x"], source["y"], source.get("x_test"), source.get("y_test"),
                           **options)
    if isinstance(source, (tuple, list)) and len(source) in (2, 4):
        from nasforge.data.user import from_arrays

        return from_arrays(*source, **options)
    raise DataError(
        "task must be a built-in name "
        f"({', '.join(list_tasks())}), a .npz/.csv path, (x, y[, x_test, y_test]) or a mapping; "
        f"got {type(source).__name__}"
    )


__all__ = ["TASKS", "Preprocessing", "Task", "list_tasks", "load"]
