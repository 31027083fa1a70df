"""Studies: the ask/tell driver, trial records, the SQLite store and the executors.

``Study.create(store=..., name=..., space=..., strategy=..., evaluator=...)`` then ``optimize(...)``;
``Study.load(store=..., name=...)`` to resume or inspect. See :mod:`nasforge.study.study`.

``Study``/``Store`` are imported lazily: strategies import :mod:`nasforge.study.trial`, and the driver
imports strategies, so this package must not import the driver eagerly.
"""

from __future__ import annotations

import importlib
from typing import Any

from nasforge.study.trial import Candidate, Trial, TrialState

_LAZY = {
    "Study": "nasforge.study.study",
    "derive_seed": "nasforge.study.study",
    "Store": "nasforge.study.store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nasforge.study' has no attribute {name!r}")


__all__ = ["Candidate", "Store", "Study", "Trial", "TrialState", "derive_seed"]
