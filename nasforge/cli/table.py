"""Rich tables of a study's trials (results of ``search``/``resume``, ``status NAME``)."""

from __future__ import annotations

from typing import Any

from nasforge.cli.common import fmt, genotype_summary
from nasforge.estimate.inherit import describe as describe_lineage
from nasforge.trial import Trial, TrialState


def _console() -> Any:
    from rich.console import Console

    return Console()


def results_table(study: Any, top: int = 10, title: str | None = None) -> Any:
    """The ``top`` COMPLETE trials by validation objective: number, valid, test, params, time, genotype."""
    from rich.table import Table

    done = [t for t in study.trials if t.state is TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: (-t.value, t.number))
    title = title or f"study {study.name}: top {min(top, len(done))} of {len(done)} completed trials"
    table = Table(title=title)
    for column in ("#", study.objective, "test acc", "params", "time (s)", "genotype"):
        table.add_column(column, justify="left" if column == "genotype" else "right")
    for trial in done[:top]:
        table.add_row(*_row(study, trial))
    return table


def _row(study: Any, trial: Trial) -> list[str]:
    m = trial.metrics
    seconds = m.get("train_seconds", trial.duration)
    return [
        str(trial.number),
        fmt(study.user_value(trial)),
        fmt(m.get("test_acc")),
        fmt(m.get("params")),
        fmt(seconds, 1) if isinstance(seconds, (int, float)) else "-",
        genotype_summary(trial.architecture.genes),
    ]


def trials_table(study: Any) -> Any:
    """Every trial of a study with its state and failure reason."""
    from rich.table import Table

    table = Table(title=f"study {study.name}")
    for column in ("#", "state", study.objective, "test acc", "params", "time (s)", "note"):
        table.add_column(column, justify="right" if column not in ("state", "note") else "left")
    for trial in study.trials:
        _, value, test, params, seconds, genotype = _row(study, trial)
        note = genotype
        if trial.state is TrialState.FAILED:
            note = f"{trial.error}" + (" (re-run)" if trial.info.get("requeued") else "")
        origin = describe_lineage(trial.info)
        if origin is not None:
            note = f"from {origin}: " + note
        if trial.info.get("retry_of") is not None:
            note = f"retry of #{trial.info['retry_of']}: " + note
        table.add_row(str(trial.number), trial.state.value, value, test, params, seconds, note)
    return table


def print_best_line(study: Any) -> None:
    """``best trial #n: valid_acc X, test acc Y (test reported only, never used to select)``."""
    best = study.best_trial
    console = _console()
    if best is None:
        console.print("no completed trial yet")
        return
    test = best.metrics.get("test_acc")
    folds = best.metrics.get("cv_folds")
    how = ""
    if folds:
        how = f" ({folds}-fold cross-validation, spread {fmt(best.metrics.get('valid_acc_std'))})"
        if "final_n_train" in best.metrics:
            how += f"; final model trained on all {best.metrics['final_n_train']} train+valid samples"
    console.print(
        f"best trial #{best.number}: {study.objective} {fmt(study.user_value(best))}{how}, "
        f"test accuracy [bold]{fmt(test)}[/bold]"
    )


def print_results(study: Any, top: int = 10) -> None:
    console = _console()
    console.print(results_table(study, top))
    print_best_line(study)
