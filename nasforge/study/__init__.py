"""Studies: the ask/tell driver, trial records, the SQLite store and the executors.

``Study.create(store=..., name=..., space=..., strategy=..., evaluator=...)`` then ``optimize(...)``;
``Study.load(store=..., name=...)`` to resume or inspect. See :mod:`nasforge.study.study`.
"""

from __future__ import annotations

from nasforge.study.store import Store, StoreError
from nasforge.study.study import Study, derive_seed
from nasforge.study.trial import Candidate, Trial, TrialState

__all__ = ["Candidate", "Store", "StoreError", "Study", "Trial", "TrialState", "derive_seed"]
