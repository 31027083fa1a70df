"""The one-shot phase of a study: train the supernet, derive genotypes, record it all in the store.

:func:`run_phase` runs before a one-shot study's trials (``nasforge search --strategy darts``, and
``nasforge resume`` of such a study). It trains the method's supernet with per-epoch checkpoints in
``<store>_artifacts/<study>/supernet/`` (a run killed by SIGKILL continues from its last epoch),
writes the study's ``oneshot`` record after every epoch (method, phase, epochs, seconds, alpha history,
parameter-free share, derived genotype; what ``nasforge status`` and the report show), then derives the
genotypes and hands them to the strategy. The trials that follow are those genotypes retrained from
scratch by the study's evaluator: ordinary trials, so ``best``, ``export`` and ``predict`` work.

The record is study metadata (``config["oneshot"]``, never compared on resume); a finished phase is
not run again: its genotypes are read back from the record.
"""

from __future__ import annotations

from typing import Any

from nasforge.oneshot.base import SUPERNET_FILE


def supernet_dir(study: Any) -> Any:
    """Where a study's supernet state and shared weights live."""
    return study.artifacts_dir / "supernet"


def _device(study: Any) -> str:
    from nasforge.estimate.train import resolve_device

    return str(resolve_device(getattr(study.evaluator, "device", "cpu") or "cpu"))


def run_phase(study: Any, say: Any = print) -> int | None:
    """Run (or finish, or read back) the one-shot phase of ``study``; returns the number of derived
    genotypes (the trials to run), or ``None`` when the study's strategy is not a one-shot method."""
    from nasforge.oneshot.strategy import OneShotStrategy

    strategy = study.strategy
    if not isinstance(strategy, OneShotStrategy):
        return None
    if not strategy.trains_supernet:
        return strategy.n_derived()
    record = dict(study.config.get("oneshot") or {})
    if record.get("phase") == "retraining" and record.get("genotypes"):
        strategy.set_derived(record["genotypes"])
        return strategy.n_derived()
    task = study.evaluator.task_data
    path = supernet_dir(study)
    search = strategy.make_search(study.space, task, seed=study.seed, device=_device(study),
                                  checkpoint_dir=path)
    if search.resume():
        say(f"one-shot phase: {search.method} resumes its supernet at epoch {search.epoch}/{search.epochs}")
    else:
        say(f"one-shot phase: {search.method}, {search.epochs} supernet epochs")

    def on_epoch(s: Any) -> None:
        study.set_oneshot({**s.record(), "phase": "supernet", "supernet": str(path / SUPERNET_FILE)})
        say(f"  supernet epoch {s.epoch}/{s.epochs}: train loss {s.history[-1]['train_loss']:.4f}")

    search.run(on_epoch)
    genotypes, extra = strategy.derive(search)
    final = {**search.record(), **extra, "phase": "retraining", "supernet": str(path / SUPERNET_FILE),
             "genotypes": [g.to_dict() for g in genotypes]}
    final.setdefault("derived", genotypes[0].to_dict())
    final.pop("history", None)
    final["loss_history"] = [{"epoch": h["epoch"], "train_loss": h["train_loss"]} for h in search.history]
    study.set_oneshot(final)
    strategy.set_derived(genotypes)
    say(f"one-shot phase done in {search.seconds:.1f}s; retraining {len(genotypes)} derived genotype(s)")
    return strategy.n_derived()


def describe(config: dict[str, Any]) -> str | None:
    """One line on a study's one-shot phase for ``nasforge status`` (``None`` if it has none)."""
    record = config.get("oneshot")
    if not isinstance(record, dict) or not record:
        return None
    parts = [f"one-shot phase: {record.get('method', '?')}", f"{record.get('phase', '?')}",
             f"supernet epochs {record.get('epochs', 0)}", f"{float(record.get('seconds', 0.0)):.1f}s"]
    if "param_free_share" in record:
        parts.append(f"parameter-free share {float(record['param_free_share']):.2f}")
    if record.get("genotypes"):
        parts.append(f"{len(record['genotypes'])} genotype(s) to retrain")
    return ", ".join(parts)


__all__ = ["describe", "run_phase", "supernet_dir"]
