"""Progress display of a running study: a rich bar (trials done / total, best validation score, ETA) and,
under it, one line per running trial (its number, epoch ``step/budget`` and latest validation accuracy,
from the trial's intermediate reports)."""

from __future__ import annotations

import time
from typing import Any


class Progress:
    """Silent progress (the interface): ``start``, ``update``, ``stop`` and the per-trial hooks."""

    def start(self, done: int, total: int | None, best: float | None) -> None:
        """Called once before the first trial (``done`` counts trials already in the store)."""

    def update(self, done: int, best: float | None, failed: int = 0) -> None:
        """Called after each finished trial."""

    def trial_started(self, number: int, budget: float | None) -> None:
        """Trial ``number`` was submitted; ``budget`` is its epochs (``None`` when unknown)."""

    def trial_report(self, number: int, step: float, metrics: dict[str, float]) -> None:
        """Trial ``number`` reported ``metrics`` at ``step`` (an epoch for training)."""

    def trial_finished(self, number: int) -> None:
        """Trial ``number`` finished (any state)."""

    def stop(self) -> None:
        """Called once at the end (also on Ctrl-C and aborts)."""


class RichProgress(Progress):
    """A rich progress bar: ``trials done/total``, ``best <objective>``, elapsed and ETA, plus a line per
    running trial: ``#12 epoch 3/15 valid_acc 0.8123``.

    Args:
        objective: the objective's name shown next to the best value.
        sign: +1, or -1 when the study minimises (values are stored as scores to maximise).
        console: a ``rich.console.Console`` (default: stderr). On a console that is not a terminal rich
            draws nothing until :meth:`stop`, which prints the final state.
        refresh_every: at most one redraw per this many seconds on reports (the bar also refreshes itself).
    """

    def __init__(self, objective: str = "valid_acc", sign: float = 1.0, console: Any = None,
                 refresh_every: float = 0.2) -> None:
        self.objective = objective
        self.sign = sign
        self.console = console
        self.refresh_every = refresh_every
        self._progress: Any = None
        self._task: Any = None
        self._trials: dict[int, Any] = {}
        self._last_refresh = 0.0

    def _best_text(self, best: float | None, failed: int = 0) -> str:
        text = f"best {self.objective} " + ("-" if best is None else f"{self.sign * best:.4f}")
        return text + (f"  failed {failed}" if failed else "")

    def start(self, done: int, total: int | None, best: float | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        console = self.console if self.console is not None else Console(stderr=True)
        self._progress = RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "trials", total=total, completed=done, info=self._best_text(best), eta="eta"
        )

    def update(self, done: int, best: float | None, failed: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, info=self._best_text(best, failed))

    def trial_started(self, number: int, budget: float | None) -> None:
        if self._progress is None:
            return
        total = float(budget) if isinstance(budget, (int, float)) and budget > 0 else None
        self._trials[number] = self._progress.add_task(
            f"  #{number} epoch", total=total, completed=0, info="", eta=""
        )

    def trial_report(self, number: int, step: float, metrics: dict[str, float]) -> None:
        task = self._trials.get(number)
        if self._progress is None or task is None:
            return
        value = metrics.get("valid_acc", metrics.get(self.objective))
        info = f"valid_acc {value:.4f}" if isinstance(value, (int, float)) else ""
        self._progress.update(task, completed=float(step), info=info)
        now = time.monotonic()
        if now - self._last_refresh >= self.refresh_every:
            self._last_refresh = now
            self._progress.refresh()

    def trial_finished(self, number: int) -> None:
        task = self._trials.pop(number, None)
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)

    def stop(self) -> None:
        if self._progress is not None:
            for task in self._trials.values():
                self._progress.remove_task(task)
            self._trials = {}
            self._progress.stop()
            self._progress = None
