"""The final model of a cross-validated search: the best trial's architecture trained on all non-test data.

A trial scored by k-fold cross-validation (:mod:`nasforge.estimate.cv`) keeps no weights: its fold
models each saw only part of the data. When a search ends (not interrupted), :func:`train_final` takes
the best trial (:mod:`nasforge.selection`, validation figures only), trains its architecture once on
train+valid with the trial's recipe, seed and epochs, and records the result **on that trial**: the
weights become ``trial.checkpoint`` (what ``nasforge export`` / ``predict`` and ``Study.predict`` load)
and ``test_acc`` (the only test figure of the search, reported never used), ``final_n_train``,
``final_epochs`` and ``final_train_seconds`` join its metrics. The write happens under the driver lease,
in one transaction; a resumed search whose best trial changed trains the new best the same way.
"""

from __future__ import annotations

import json
from typing import Any

from nasforge.study.driver import derive_seed
from nasforge.study.lease import DriverLease
from nasforge.study.store import dumps
from nasforge.trial import Trial, TrialState

#: the subdirectory of a trial's artifacts that holds its final model
FINAL_DIR = "final"


def needs_final(trial: Trial | None) -> bool:
    """Whether ``trial`` was cross-validated and has no final model yet."""
    return (trial is not None and trial.state is TrialState.COMPLETE and bool(trial.metrics.get("cv_folds"))
            and "final_n_train" not in trial.metrics)


def train_final(study: Any) -> Trial | None:
    """Train and record the final model of ``study``'s best trial if it needs one (see the module
    docstring); returns the updated trial, or ``None`` when there was nothing to do."""
    best = study.best_trial
    fit = getattr(study.evaluator, "fit_final", None)
    if not needs_final(best) or not callable(fit):
        return None
    sid = study.record.id
    lease = DriverLease(study.store, sid, study.name)
    lease.acquire()
    try:
        seed = best.info.get("seed")
        out = fit(
            best.architecture,
            seed=int(derive_seed(study.seed, best.number) if seed is None else seed),
            epochs=int(best.metrics["epochs"]),
            schedule_epochs=best.metrics.get("schedule_epochs"),
            checkpoint_dir=str(study.artifacts_dir / str(best.number) / FINAL_DIR),
        )
        checkpoint = out.pop("checkpoint", None)
        with study.store.transaction(sid) as conn:
            row = conn.execute("SELECT metrics FROM trials WHERE study_id = ? AND number = ? AND state = ?",
                               (sid, best.number, TrialState.COMPLETE.value)).fetchone()
            if row is None:
                return None
            metrics = {**json.loads(row[0]), **out}
            conn.execute("UPDATE trials SET metrics = ?, checkpoint = ? WHERE study_id = ? AND number = ?",
                         (dumps(metrics), checkpoint, sid, best.number))
    finally:
        lease.release()
    return study.store.get_trial(sid, best.number)


__all__ = ["FINAL_DIR", "needs_final", "train_final"]
