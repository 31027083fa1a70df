"""Studies: the ask/tell driver, the SQLite store and the executors.

``Study.create(store=..., name=..., space=..., strategy=..., evaluator=...)`` then ``optimize(...)``;
``Study.load(store=..., name=...)`` to resume or inspect. See :mod:`nasforge.study.study`. The trial
records (:class:`~nasforge.trial.Trial`, ...) live in :mod:`nasforge.trial`, which every layer imports.
"""

from __future__ import annotations

from nasforge.study.store import Store
from nasforge.study.study import Study, derive_seed
from nasforge.trial import Candidate, Trial, TrialState

__all__ = ["Candidate", "Store", "Study", "Trial", "TrialState", "derive_seed"]
