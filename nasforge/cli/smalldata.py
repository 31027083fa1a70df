"""``nasforge search`` on a small table: the settings the user did not give come from
:data:`nasforge.defaults.SMALL_TABLE` instead of the MNIST-1D demo.

A task is a *small table* when it is tabular (``(N, F)``) and its train+valid splits hold fewer than
``SMALL_DATA["threshold"]`` samples, the size below which trials are cross-validated by default
(:mod:`nasforge.estimate.cv`). For such a task every setting whose source is still the built-in default
is replaced: the epochs, the training recipe (``evaluator_opt``), the chain space's options
(``space_opt``, when the space is the default ``chain``; ``--space-opt`` flags go over them) and, when
no budget was given at all, the demo budget (trials, time limit, workers). What the user gave (flag
or config file) is kept; the first line of ``search`` names each replaced setting's source
``default: small table``.
"""

from __future__ import annotations

from typing import Any

SOURCE = "default: small table"


def is_small_table(task: Any) -> bool:
    """Whether ``task`` is a small table (see the module docstring)."""
    from nasforge import defaults

    n = len(task.y_train) + len(task.y_valid)
    return task.input_kind == "tabular" and n < int(defaults.SMALL_DATA["threshold"])


def apply(s: dict[str, Any], task: Any) -> bool:
    """Replace the still-default settings of ``s`` (in place) by the small-table defaults when ``task``
    is a small table; returns whether anything changed."""
    from nasforge import defaults

    if not is_small_table(task):
        return False
    small, sources, demo = defaults.SMALL_TABLE, s["_sources"], defaults.SEARCH
    changed = False
    if sources.get("epochs") == "default":
        s["epochs"], sources["epochs"] = small["epochs"], SOURCE
        changed = True
    for opt in ("evaluator_opt", "space_opt"):
        if opt == "space_opt" and s.get("space") != demo["space"]:
            continue  # the small-table space options are the chain space's
        if sources.get(opt) not in ("default", "flag"):
            continue  # set in a config file: kept as it is
        # flags were merged over the demo's options: put them over the small-table ones instead
        given = {k: v for k, v in s[opt].items() if demo[opt].get(k, object()) != v}
        if sources[opt] == "default":
            sources[opt], given = SOURCE, {}
        s[opt] = {**small[opt], **given}
        s[f"_{opt}_is_default"] = False
        changed = True
    if str(sources.get("trials", "")).startswith("default: demo"):
        for key in ("trials", "time_limit", "workers", "executor"):
            s[key], sources[key] = small[key], SOURCE
        changed = True
    return changed


__all__ = ["SOURCE", "apply", "is_small_table"]
