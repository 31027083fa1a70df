"""k-fold cross-validation as a trial's estimate, and the final model trained on all non-test data.

On small data a validation split of a few dozen samples scores many candidates at the same accuracy and
selection cannot tell them apart. With ``cv=K`` a :class:`~nasforge.estimate.train.TrainEvaluator`
pools its train and valid splits, cuts them into ``K`` stratified folds (seeded by :data:`FOLD_SEED`, so
every trial of a study sees the same folds) and trains one model per fold, all ``K`` in lockstep with
the ordinary :class:`~nasforge.estimate.loop.TrainingRun`. A trial reports

* ``valid_acc``: the mean held-out-fold accuracy (the objective), ``valid_loss``: the mean held-out
  cross-entropy (the first tie-break, :mod:`nasforge.selection`);
* ``valid_acc_std`` (population standard deviation over folds), ``valid_acc_fold1`` .. ``_foldK`` and
  ``cv_folds``;
* the cost metrics of one fold's model (``params``, ``macs``, ``latency_ms``).

Each epoch's report to the scheduler is the mean over the folds at that epoch. The test split is never
touched during a cross-validated trial (no ``test_acc``) and the fold models are not kept: after the
search :func:`fit_final` trains the best trial's architecture once more on train+valid (same recipe, seed
and epochs) and only that model gets a test accuracy and weights (``nasforge.study.final``).

``cv="auto"`` (``nasforge search``'s default) chooses ``K`` from the data:
:data:`nasforge.defaults.SMALL_DATA` ``["folds"]`` folds when train+valid holds fewer than
``SMALL_DATA["threshold"]`` samples, else the holdout split (``0``); ``K`` is lowered to the smallest
class count.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from nasforge.checks import check_folds
from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate import checkpoint as ckpt
from nasforge.estimate.loop import TrainingRun, accuracy, evaluate_split
from nasforge.estimate.metrics import count_macs, count_params, measure_latency_ms

if TYPE_CHECKING:
    from nasforge.data import Task
    from nasforge.estimate.base import Reporter
    from nasforge.estimate.train import TrainEvaluator
    from nasforge.space.architecture import Architecture
    from nasforge.trial import EvalContext

#: seeds the fold assignment (the same folds for every trial and every study seed)
FOLD_SEED = 0
#: layout version of a cross-validated trial's saved training state
CV_STATE_FORMAT = 1


def pooled_labels(task: Task) -> np.ndarray:
    """The labels of train+valid (what cross-validation folds; the test split is left out)."""
    return np.concatenate([np.asarray(task.y_train), np.asarray(task.y_valid)]).astype(np.int64)


def resolve_folds(requested: int | str, task: Task, name: str = "cv") -> int:
    """The number of folds for ``task`` (``0``: holdout). ``requested="auto"`` follows
    :data:`nasforge.defaults.SMALL_DATA`; an explicit ``K`` larger than the smallest class of train+valid
    raises :class:`ConfigError`."""
    from nasforge import defaults

    requested = check_folds(requested, name)
    y = pooled_labels(task)
    counts = np.bincount(y, minlength=task.num_classes)
    present = counts[counts > 0]
    smallest = int(present.min()) if len(present) else 0
    if requested == "auto":
        small = defaults.SMALL_DATA
        k = int(small["folds"]) if len(y) < int(small["threshold"]) else 0
        k = min(k, smallest)
        return k if k >= 2 else 0
    if requested and requested > smallest:
        label = task.labels[int(np.flatnonzero(counts == smallest)[0])]
        raise ConfigError(
            f"{name} {requested}: every fold needs a sample of every class, but class {label!r} has only "
            f"{smallest} samples in train+valid (the test split is left out); use {name} <= {smallest} "
            f"or {name} 0 for the holdout split (`--cv` on the command line)"
        )
    return int(requested)


def fold_indices(y: np.ndarray, k: int, seed: int = FOLD_SEED) -> list[np.ndarray]:
    """``k`` stratified folds of ``range(len(y))``: sorted index arrays of the held-out samples. Each
    class is shuffled (seeded) and dealt round-robin, continuing where the previous class stopped, so
    fold sizes differ by at most one and class proportions by at most one sample per class."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    at = 0
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        for i in idx[rng.permutation(len(idx))]:
            folds[at % k].append(int(i))
            at += 1
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


def _pooled(ev: TrainEvaluator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    data = ev._data(device)
    return torch.cat([data["x_train"], data["x_valid"]]), torch.cat([data["y_train"], data["y_valid"]])


def run_cv(ev: TrainEvaluator, architecture: Architecture, context: EvalContext, reporter: Reporter,
           epochs: int, span: int, device: torch.device) -> dict[str, Any]:
    """One cross-validated trial (called by ``TrainEvaluator`` inside its seeded RNG fork)."""
    k = ev.folds
    x, y = _pooled(ev, device)
    folds = [torch.as_tensor(f, device=device) for f in fold_indices(y.cpu().numpy(), k)]
    recipe = ev.recipe_for(architecture)
    runs, parts = [], []
    for i, held in enumerate(folds):
        keep = torch.ones(len(y), dtype=torch.bool, device=device)
        keep[held] = False
        train_idx = torch.nonzero(keep).flatten()
        model = ev.build_model(architecture).to(device)
        if context.parent_checkpoint and not context.resume_from:
            state, _ = ckpt.load_weights(context.parent_checkpoint, device)
            try:
                model.load_state_dict(state)
            except RuntimeError as exc:
                raise EvaluationError("bad_checkpoint", f"parent weights do not fit: {exc}") from exc
        runs.append(TrainingRun(model, recipe, len(train_idx), span, int(context.seed) + i, device))
        parts.append((x[train_idx], y[train_idx], x[held], y[held]))
    metrics: dict[str, Any] = {}
    if context.resume_from and not _resume(runs, context):
        metrics["restarted"] = 1
    started, begun = time.perf_counter(), runs[0].epoch
    train_losses: list[float] = [float("nan")] * k
    scores: list[tuple[float, float]] = []
    while runs[0].epoch < epochs:
        train_losses = [r.train_epoch(p[0], p[1]) for r, p in zip(runs, parts, strict=True)]
        scores = [evaluate_split(r.model, p[2], p[3]) for r, p in zip(runs, parts, strict=True)]
        report = {"valid_acc": float(np.mean([s[0] for s in scores])),
                  "valid_loss": float(np.mean([s[1] for s in scores])),
                  "train_loss": float(np.mean(train_losses))}
        if not reporter.report(runs[0].epoch, report):
            break
    if not scores:  # nothing left to train (a resumed run already at its budget)
        scores = [evaluate_split(r.model, p[2], p[3]) for r, p in zip(runs, parts, strict=True)]
    seconds = time.perf_counter() - started
    trained = runs[0].epoch - begun
    accs = [s[0] for s in scores]
    model = runs[0].model
    metrics.update({
        "valid_acc": float(np.mean(accs)),
        "valid_loss": float(np.mean([s[1] for s in scores])),
        "valid_acc_std": float(np.std(accs)),
        **{f"valid_acc_fold{i + 1}": float(a) for i, a in enumerate(accs)},
        "cv_folds": k,
        "params": count_params(model),
        "macs": count_macs(model, ev.task_data.input_shape, device),
        "train_seconds": seconds,
        "epoch_seconds": seconds / max(trained, 1),
        "epochs": runs[0].epoch,
    })
    if span != runs[0].epoch:
        metrics["schedule_epochs"] = span
    if trained:
        metrics["train_loss"] = float(np.mean(train_losses))
    if ev.latency_repeats:
        metrics["latency_ms"] = measure_latency_ms(model, ev.task_data.input_shape, device,
                                                   repeats=ev.latency_repeats)
    if context.checkpoint_dir and context.save_state:
        state = {"format": CV_STATE_FORMAT, "folds": [r.state_dict() for r in runs]}
        _, metrics["state_sha256"] = ckpt.save_state(state, context.checkpoint_dir)
    return metrics


def _resume(runs: list[TrainingRun], context: EvalContext) -> bool:
    import warnings

    path = ckpt.state_path(context.resume_from)  # type: ignore[arg-type]
    try:
        state = ckpt.load_state(path, runs[0].device, context.resume_sha256)
        if int(state.get("format", -1)) != CV_STATE_FORMAT or len(state.get("folds", [])) != len(runs):
            raise EvaluationError("bad_checkpoint", f"the saved state is not a {len(runs)}-fold state")
        for run, fold_state in zip(runs, state["folds"], strict=True):
            run.load_state_dict(fold_state)
    except EvaluationError as exc:
        warnings.warn(f"trial {context.trial_number}: {exc}; training it again from zero", stacklevel=2)
        return False
    return True


def fit_final(ev: TrainEvaluator, architecture: Architecture, *, seed: int, epochs: int,
              schedule_epochs: int | None = None, checkpoint_dir: str | None = None) -> dict[str, Any]:
    """Train ``architecture`` on train+valid (all non-test data) for ``epochs`` with the trial's recipe
    and ``seed``; returns ``test_acc`` (reporting only), ``final_train_seconds``, ``final_n_train`` and
    ``checkpoint`` (the weights, when ``checkpoint_dir`` is given)."""
    from nasforge.estimate.train import resolve_device

    if ev.threads is not None:
        torch.set_num_threads(ev.threads)
    device = resolve_device(ev.device)
    span = max(int(epochs), int(schedule_epochs or 0))
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        model = ev.build_model(architecture).to(device)
        x, y = _pooled(ev, device)
        run = TrainingRun(model, ev.recipe_for(architecture), len(y), span, int(seed), device)
        started = time.perf_counter()
        while run.epoch < epochs:
            run.train_epoch(x, y)
        data = ev._data(device)
        out: dict[str, Any] = {
            "test_acc": accuracy(model, data["x_test"], data["y_test"]),
            "final_train_seconds": time.perf_counter() - started,
            "final_n_train": len(y),
            "final_epochs": run.epoch,
        }
        if checkpoint_dir:
            out["checkpoint"] = ckpt.save_weights(model, checkpoint_dir, run.epoch)
    return out


__all__ = ["CV_STATE_FORMAT", "FOLD_SEED", "check_folds", "fit_final", "fold_indices", "pooled_labels",
           "resolve_folds", "run_cv"]
