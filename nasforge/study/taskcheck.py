"""Checks of a study's task: the space can model it, and a resumed study trains on the same data.

A study records its task descriptor (:meth:`nasforge.data.Task.describe`), which holds a content hash
of the arrays (``data_hash``) and, for file tasks, the file's absolute ``path``. Resuming with data
whose hash differs, or whose file is gone, is refused with an error naming the file and the
difference; a moved file may be given again (``nasforge resume NAME --task FILE``, or
``Study.load(..., task=FILE)``) and is accepted when its content hash matches.
"""

from __future__ import annotations

from typing import Any

from nasforge.errors import ConfigError, DataError

#: descriptor fields compared to explain a changed data hash
_SHAPE_KEYS = ("input_shape", "num_classes", "n_train", "n_valid", "n_test")


def _short(digest: Any) -> str:
    return str(digest)[:12] + "..." if isinstance(digest, str) else repr(digest)


def check_task_data(name: str, stored: Any, current: Any, *, source: str | None = None) -> None:
    """Raise :class:`DataError` if ``current``'s data hash differs from the one ``stored`` with the study.

    Studies stored before data hashes were recorded (no ``data_hash``) pass unchecked.
    """
    if not isinstance(stored, dict) or not isinstance(current, dict) or "data_hash" not in stored:
        return
    if current.get("data_hash") == stored["data_hash"]:
        return
    where = source or current.get("path") or stored.get("path") or current.get("name") or "?"
    diffs = [f"{k} stored {stored.get(k)!r}, now {current.get(k)!r}" for k in _SHAPE_KEYS
             if stored.get(k) != current.get(k)]
    diffs.append(f"data_hash stored {_short(stored['data_hash'])}, now {_short(current.get('data_hash'))}")
    raise DataError(
        f"study {name!r}: the data of task {where!r} differs from the data the study was run on "
        f"({'; '.join(diffs)}); resume with the original data (or pass --task FILE with a copy of it), "
        "or start a new study with --name"
    )


def describe_current(name: str, stored: Any, evaluator: Any) -> dict[str, Any]:
    """The evaluator's task descriptor now; a data file that cannot be loaded any more is reported with
    the path the study recorded and how to point resume at a moved copy."""
    try:
        return dict(evaluator.describe_task())
    except DataError as exc:
        path = stored.get("path") if isinstance(stored, dict) else None
        if not path:
            raise
        raise DataError(
            f"study {name!r} was run on data file {path!r}, which cannot be loaded now ({exc}); put it back, "
            f"or pass `nasforge resume {name} --task FILE` with the moved file (its content must match)"
        ) from exc


def replace_task_file(name: str, config: dict[str, Any], task_file: str) -> dict[str, Any]:
    """The study config with its data file replaced by ``task_file`` (a moved copy): the file is loaded
    and accepted only when its content hash equals the stored one. Returns the updated config."""
    from nasforge import data

    stored = config.get("task") or {}
    evaluator = dict(config.get("evaluator") or {})
    if "task" not in evaluator:
        raise ConfigError(f"study {name!r} has no task file to replace (its evaluator takes no task)")
    if "data_hash" not in stored:
        raise ConfigError(
            f"study {name!r} was stored without a data hash, so a replacement task file cannot be checked; "
            "resume it with its original file"
        )
    task = data.load(task_file)
    current = task.describe()
    check_task_data(name, stored, current, source=task_file)
    evaluator["task"] = str(current.get("path") or task_file)
    return {**config, "evaluator": evaluator, "task": {**stored, "path": current.get("path")}}


def evaluator_config_for_resume(config: dict[str, Any]) -> dict[str, Any]:
    """The config whose evaluator reads the recorded absolute data path when its own (relative) task path
    does not resolve from here (a resume from another directory)."""
    import os

    path = (config.get("task") or {}).get("path")
    evaluator = config.get("evaluator")
    task = evaluator.get("task") if isinstance(evaluator, dict) else None
    if not isinstance(path, str) or not isinstance(task, str):
        return config
    if os.path.exists(task) or not os.path.exists(path):
        return config
    return {**config, "evaluator": {**evaluator, "task": path}}  # type: ignore[dict-item]


def check_compatible(space: Any, evaluator: Any) -> None:
    """Fail early when the evaluator's task cannot be modelled by the space (or vice versa)."""
    if getattr(evaluator, "name", "") != "train":
        return
    shape = evaluator.describe_task().get("input_shape")
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 2, 3):
        return
    kind = {1: "tabular", 2: "1d", 3: "2d"}[len(shape)]
    task = evaluator.describe_task().get("name", "?")
    kinds = type(space).input_kinds
    if not kinds:
        raise ConfigError(
            f"space {space.name!r} is a tabular benchmark with no PyTorch models; it cannot train on "
            f"task {task!r}. Use its tabular evaluator, or a space such as 'chain'"
        )
    if kind not in kinds:
        raise ConfigError(
            f"space {space.name!r} builds models for {sorted(kinds)} inputs, but task {task!r} is "
            f"{kind!r}; pick a space that supports {kind!r} inputs"
        )
    space_kind = space.params.get("input_kind")
    if isinstance(space_kind, str) and space_kind != kind:
        raise ConfigError(
            f"space {space.name!r} was built with input_kind={space_kind!r}, but task {task!r} is "
            f"{kind!r}; pass input_kind={kind!r} (--space-opt input_kind={kind})"
        )
