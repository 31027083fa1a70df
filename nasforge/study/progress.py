"""Progress display of a running study: a rich bar (trials done / total, best validation score, ETA)."""

from __future__ import annotations

from typing import Any


class Progress:
    """Silent progress (the interface): ``start``, ``update``, ``stop``."""

    def start(self, done: int, total: int | None, best: float | None) -> None:
        """Called once before the first trial (``done`` counts trials already in the store)."""

    def update(self, done: int, best: float | None, failed: int = 0) -> None:
        """Called after each finished trial."""

    def stop(self) -> None:
        """Called once at the end (also on Ctrl-C and aborts)."""


class RichProgress(Progress):
    """A rich progress bar: ``trials done/total``, ``best <objective>``, elapsed and ETA.

    Args:
        objective: the objective's name shown next to the best value.
        sign: +1, or -1 when the study minimises (values are stored as scores to maximise).
        console: a ``rich.console.Console`` (default: stderr).
    """

    def __init__(self, objective: str = "valid_acc", sign: float = 1.0, console: Any = None) -> None:
        self.objective = objective
        self.sign = sign
        self.console = console
        self._progress: Any = None
        self._task: Any = None

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
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "search", total=total, completed=done, best=self._best_text(best)
        )

    def update(self, done: int, best: float | None, failed: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=self._best_text(best, failed))

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
