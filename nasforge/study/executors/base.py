"""The :class:`Executor` contract: *where* trials run. The study (driver) stays the only writer.

The driver calls ``start(evaluator, ...)`` once, then ``submit(job)`` up to ``capacity`` jobs, and
``wait(timeout)`` to collect finished :class:`JobResult` s (in completion order). Executors never
touch the store or the strategy; they send the evaluator (and its task data) to each worker once.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from nasforge.estimate.base import Evaluator
from nasforge.trial import Job, JobResult


class Executor(ABC):
    """Base class of executors (serial, process, ray)."""

    name: ClassVar[str] = ""

    @abstractmethod
    def start(self, evaluator: Evaluator) -> None:
        """Start workers and ship the evaluator (with its data) to each, once."""

    @property
    @abstractmethod
    def capacity(self) -> int:
        """How many jobs can run at once."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Queue ``job``; must not block while fewer than ``capacity`` jobs are in flight."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Block until at least one job finished (or ``timeout``), return the finished ones."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Number of submitted jobs not yet returned by :meth:`wait`."""

    @abstractmethod
    def shutdown(self, cancel: bool = True) -> None:
        """Stop workers; with ``cancel`` running jobs are abandoned."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(cancel=True)


def wait_loop(
    pump: Callable[[], list[JobResult]],
    in_flight: Callable[[], int],
    next_timeout_in: Callable[[], float | None],
    block: Callable[[float | None], None],
    timeout: float | None,
) -> list[JobResult]:
    """The ``wait`` of executors with workers: pump events until a result, an idle executor or ``timeout``.

    ``pump`` collects what arrived, enforces trial timeouts, fills free slots and returns (and clears)
    the finished results; ``block(pause)`` sleeps until a worker has news or ``pause`` seconds passed
    (``pause`` is the nearer of the caller's deadline and the next trial timeout).
    """
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        done = pump()
        if done or in_flight() == 0:
            return done
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return []
        pause = next_timeout_in()
        if deadline is not None:
            pause = deadline - now if pause is None else min(pause, deadline - now)
        block(pause)
