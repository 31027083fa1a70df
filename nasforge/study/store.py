"""The SQLite store: studies (their JSON config) and trials, one transaction per state change.

The study driver is the only writer. The file is opened in WAL mode with a busy timeout, so readers
(``nasforge status``) never block the driver and a SIGKILL of the driver never loses a committed
trial. Every write is one ``BEGIN IMMEDIATE ... COMMIT`` transaction. Opening, the schema and its
migrations are :mod:`nasforge.study.schema`; the driver lease is :mod:`nasforge.study.lease`, which
*guards* the store while a driver holds it: every write of that study first checks, inside its own
transaction, that the lease row still names the driver, and raises :class:`~nasforge.errors.LeaseLost`
otherwise (so a driver whose lease was taken over never writes over the new driver's trials).

Re-queued trials: a trial that failed for a transport reason (``worker_lost``, ``driver_lost``,
``interrupted``) is stored FAILED with ``requeued = 1``; its candidate is re-run as a *new* trial
number whose ``retry_of`` names it. Requeued trials are not told to the strategy and do not count in
the study's trial budget (see :meth:`Store.count_budget`); :meth:`Store.settle` turns one into an
ordinary failure (told, counted) once its candidate used up its re-runs.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasforge.errors import StoreError
from nasforge.space.architecture import Architecture
from nasforge.study.schema import open_connection, rename_metrics
from nasforge.trial import Candidate, Trial, TrialState


@dataclass(frozen=True)
class StudyRecord:
    """A stored study: its id, name, JSON config and creation time."""

    id: int
    name: str
    config: dict[str, Any]
    created: float


def _json_default(value: Any) -> Any:
    """Make NumPy scalars/arrays and paths JSON-serialisable."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _next_seq(conn: sqlite3.Connection, study_id: int) -> int:
    row = conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM trials WHERE study_id = ?", (study_id,))
    return int(row.fetchone()[0])


def dumps(value: Any) -> str:
    """JSON text of ``value`` (NumPy scalars converted; sorted keys)."""
    return json.dumps(value, default=_json_default, sort_keys=True)


class Store:
    """A nasforge SQLite store file.

    Args:
        path: the ``.db`` file.
        create: create the file (and schema) if missing; otherwise a missing file is a
            :class:`StoreError` (read-only commands never create stores).
        timeout: SQLite busy timeout in seconds.
        read_only: never write (an older schema is read as it is, not migrated); writes raise.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0,
                 read_only: bool = False) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.read_only = read_only
        self._guards: dict[int, Callable[[sqlite3.Connection], None]] = {}
        self._conn, self.version = open_connection(
            self.path, create=create and not read_only, read_only=read_only, timeout=timeout
        )

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------
    def guard(self, study_id: int, check: Callable[[sqlite3.Connection], None] | None) -> None:
        """Run ``check(conn)`` at the start of every write transaction of ``study_id`` (``None`` removes
        it); the lease uses it to refuse writes once another driver took the study over."""
        if check is None:
            self._guards.pop(study_id, None)
        else:
            self._guards[study_id] = check

    @contextmanager
    def transaction(
        self, study_id: int | None = None, *, guarded: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE ... COMMIT`` (with the guard of ``study_id`` checked first); rolled back
        on any exception (Ctrl-C included)."""
        if self.read_only:
            raise StoreError(f"store {str(self.path)!r} was opened read-only; it cannot be written")
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write store {str(self.path)!r}: {exc}") from exc
        try:
            check = self._guards.get(study_id) if guarded and study_id is not None else None
            if check is not None:
                check(conn)
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"write to store {str(self.path)!r} failed: {exc}") from exc
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {str(self.path)!r} is closed")
        return self._conn

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = self._connection()
        try:
            cur = conn.execute(sql, params)
            return cur.fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read store {str(self.path)!r}: {exc}") from exc

    # -- studies ------------------------------------------------------------------------------
    def create_study(self, name: str, config: dict[str, Any]) -> StudyRecord:
        """Insert a new study; :class:`StoreError` if ``name`` exists."""
        created = time.time()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone():
                raise StoreError(
                    f"study {name!r} already exists in {str(self.path)!r}; resume it with "
                    f"`nasforge resume {name}` / Study.load, or choose another name"
                )
            cur = conn.execute(
                "INSERT INTO studies (name, config, created) VALUES (?, ?, ?)", (name, dumps(config), created)
            )
            study_id = int(cur.lastrowid or 0)
        return StudyRecord(study_id, name, config, created)

    def get_study(self, name: str) -> StudyRecord:
        """The study called ``name``; :class:`StoreError` listing the stored names if absent."""
        rows = self._query("SELECT id, name, config, created FROM studies WHERE name = ?", (name,))
        if not rows:
            names = [s.name for s in self.list_studies()]
            known = ", ".join(names) if names else "none"
            raise StoreError(
                f"no study named {name!r} in store {str(self.path)!r} (studies there: {known}); "
                "check the name with `nasforge status`"
            )
        return self._study(rows[0])

    def update_study_config(self, study_id: int, config: dict[str, Any]) -> None:
        """Replace a study's config (one transaction); used for run settings such as the budget."""
        with self.transaction(study_id) as conn:
            conn.execute("UPDATE studies SET config = ? WHERE id = ?", (dumps(config), study_id))

    def has_study(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM studies WHERE name = ?", (name,)))

    def list_studies(self) -> list[StudyRecord]:
        """Every stored study, oldest first."""
        rows = self._query("SELECT id, name, config, created FROM studies ORDER BY id")
        return [self._study(r) for r in rows]

    def _study(self, row: tuple[Any, ...]) -> StudyRecord:
        try:
            config = json.loads(row[2])
        except json.JSONDecodeError as exc:
            raise StoreError(f"study {row[1]!r} has a corrupt config in {str(self.path)!r}: {exc}") from exc
        return StudyRecord(int(row[0]), str(row[1]), config, float(row[3]))

    # -- trials -------------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        candidate: Candidate,
        *,
        hash_: str,
        seed_fn: Callable[[int], int],
        attempt: int = 1,
        retry_of: int | None = None,
        started: float | None = None,
        driver: str | None = None,
    ) -> int:
        """Insert a RUNNING trial with the next number (one transaction); returns its number.

        ``seed_fn(number)`` gives the trial's seed from its number; ``driver`` is the lease token of
        the driver that runs it (its clean-up fails only its own trials).
        """
        with self.transaction(study_id) as conn:
            row = conn.execute("SELECT MAX(number) FROM trials WHERE study_id = ?", (study_id,)).fetchone()
            number = 0 if row[0] is None else int(row[0]) + 1
            seed = int(seed_fn(number))
            conn.execute(
                "INSERT INTO trials (study_id, number, genotype, hash, state, budget, parent, seed, started, "
                "info, attempt, retry_of, driver) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    study_id,
                    number,
                    candidate.architecture.to_json(),
                    hash_,
                    TrialState.RUNNING.value,
                    candidate.budget,
                    candidate.parent,
                    seed,
                    time.time() if started is None else started,
                    dumps(candidate.info),
                    attempt,
                    retry_of,
                    driver,
                ),
            )
        return number

    def finish_trial(
        self,
        study_id: int,
        number: int,
        *,
        state: TrialState,
        value: float | None = None,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
        traceback: str | None = None,
        started: float | None = None,
        completed: float | None = None,
        checkpoint: str | None = None,
        intermediate: list[Any] | None = None,
        requeued: bool = False,
    ) -> None:
        """Record the end of a RUNNING trial (one transaction) and give it the next completion seq."""
        if not state.finished:
            raise StoreError(f"finish_trial needs a finished state, got {state}")
        if value is not None and not math.isfinite(value):
            value = None
        with self.transaction(study_id) as conn:
            row = conn.execute(
                "SELECT state FROM trials WHERE study_id = ? AND number = ?", (study_id, number)
            ).fetchone()
            if row is None:
                raise StoreError(f"trial {number} does not exist")
            if row[0] != TrialState.RUNNING.value:
                raise StoreError(f"trial {number} is already {row[0]}; it cannot finish twice")
            seq_value = _next_seq(conn, study_id)
            conn.execute(
                "UPDATE trials SET state = ?, value = ?, metrics = ?, error = ?, traceback = ?, "
                "started = COALESCE(?, started), completed = ?, checkpoint = ?, intermediate = ?, seq = ?, "
                "requeued = ? WHERE study_id = ? AND number = ?",
                (
                    state.value,
                    value,
                    dumps(metrics or {}),
                    error,
                    traceback,
                    started,
                    time.time() if completed is None else completed,
                    checkpoint,
                    dumps(intermediate or []),
                    seq_value,
                    int(requeued),
                    study_id,
                    number,
                ),
            )

    def fail_running(self, study_id: int, reason: str, *, owner: str | None = None,
                     requeued: bool = True) -> list[int]:
        """Mark RUNNING trials FAILED with ``reason`` in one transaction; returns their numbers.

        ``owner``: only the trials that driver (lease token) started; ``None``: every RUNNING trial (the
        recovery of a driver that just took the lease, before it started any).
        """
        now = time.time()
        sql = "SELECT number FROM trials WHERE study_id = ? AND state = ?"
        params: tuple[Any, ...] = (study_id, TrialState.RUNNING.value)
        if owner is not None:
            sql, params = sql + " AND driver = ?", (*params, owner)
        with self.transaction(study_id) as conn:
            numbers = [int(r[0]) for r in conn.execute(sql + " ORDER BY number", params)]
            for number in numbers:
                seq = _next_seq(conn, study_id)
                conn.execute(
                    "UPDATE trials SET state = ?, error = ?, completed = ?, seq = ?, requeued = ? "
                    "WHERE study_id = ? AND number = ?",
                    (TrialState.FAILED.value, reason, now, int(seq), int(requeued), study_id, number),
                )
        return numbers

    def settle(self, study_id: int, number: int) -> None:
        """Make the requeued trial ``number`` an ordinary failure: told to the strategy (at its place in
        the completion order), counted in the budget, never re-run."""
        with self.transaction(study_id) as conn:
            conn.execute(
                "UPDATE trials SET requeued = 0 WHERE study_id = ? AND number = ? AND requeued = 1",
                (study_id, number),
            )

    _COLUMNS = (
        "number, genotype, state, value, metrics, budget, parent, seed, error, traceback, started, "
        "completed, checkpoint, intermediate, info, attempt, retry_of, requeued, seq"
    )

    def trials(self, study_id: int) -> list[Trial]:
        """All trials of a study, by number."""
        rows = self._query(
            f"SELECT {self._COLUMNS} FROM trials WHERE study_id = ? ORDER BY number", (study_id,)
        )
        return [self._trial(r) for r in rows]

    def get_trial(self, study_id: int, number: int) -> Trial:
        rows = self._query(
            f"SELECT {self._COLUMNS} FROM trials WHERE study_id = ? AND number = ?", (study_id, number)
        )
        if not rows:
            raise StoreError(f"trial {number} does not exist in this study")
        return self._trial(rows[0])

    def history(self, study_id: int) -> list[Trial]:
        """Finished trials the strategy was told (not requeued), in completion order (replay order)."""
        rows = self._query(
            f"SELECT {self._COLUMNS} FROM trials WHERE study_id = ? AND state != ? AND requeued = 0 "
            "ORDER BY seq",
            (study_id, TrialState.RUNNING.value),
        )
        return [self._trial(r) for r in rows]

    def pending_requeues(self, study_id: int) -> list[Trial]:
        """Requeued trials whose candidate has not been re-run yet, oldest first."""
        rows = self._query(
            f"SELECT {self._COLUMNS} FROM trials AS t WHERE study_id = ? AND requeued = 1 AND NOT EXISTS "
            "(SELECT 1 FROM trials AS r WHERE r.study_id = t.study_id AND r.retry_of = t.number) "
            "ORDER BY seq",
            (study_id,),
        )
        return [self._trial(r) for r in rows]

    def count_budget(self, study_id: int) -> int:
        """Trials that count in the study's budget: all but requeued ones (a retry counts once)."""
        rows = self._query("SELECT COUNT(*) FROM trials WHERE study_id = ? AND requeued = 0", (study_id,))
        return int(rows[0][0])

    def _trial(self, row: tuple[Any, ...]) -> Trial:
        (number, genotype, state, value, metrics, budget, parent, seed, error, tb, started, completed,
         checkpoint, intermediate, info, attempt, retry_of, requeued, seq) = row  # fmt: skip
        try:
            arch = Architecture.from_json(genotype)
            info_dict = json.loads(info)
            info_dict.update(attempt=int(attempt), seed=seed, requeued=bool(requeued))
            if retry_of is not None:
                info_dict["retry_of"] = int(retry_of)
            if seq is not None:
                info_dict["seq"] = int(seq)
            return Trial(
                number=int(number),
                architecture=arch,
                state=TrialState(state),
                value=value,
                metrics=rename_metrics(json.loads(metrics)),
                budget=budget,
                parent=parent,
                error=error,
                traceback=tb,
                started_at=started,
                completed_at=completed,
                checkpoint=checkpoint,
                intermediate=[(float(s), rename_metrics(m)) for s, m in json.loads(intermediate)],
                info=info_dict,
            )
        except (ValueError, TypeError) as exc:
            raise StoreError(f"trial {number} in {str(self.path)!r} is corrupt: {exc}") from exc

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        return str(self._query("PRAGMA integrity_check")[0][0])
