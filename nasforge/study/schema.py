"""The store's schema, its version and the migrations from older versions.

Version history:

* **1** (nasforge 0.1.0): studies, trials, leases.
* **2**: ``trials.driver`` (the lease token of the driver that started a trial, so a driver's clean-up
  touches only its own trials); the ``flops`` metric renamed ``macs`` (it counts multiply-accumulates)
  in stored metrics and intermediate reports.

:func:`open_connection` opens a file, refuses what is not a nasforge store (not SQLite, corrupt, another
application's database, a newer schema) before writing anything, creates the schema in a new file and
migrates an older one in one transaction (all steps or none). A read-only open never writes: an older
store is then read as it is (the readers in :mod:`nasforge.study.store` accept every version).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasforge.errors import StoreError

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nasforge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    genotype TEXT NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    value REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    budget REAL,
    parent INTEGER,
    seed INTEGER,
    error TEXT,
    traceback TEXT,
    started REAL,
    completed REAL,
    checkpoint TEXT,
    intermediate TEXT NOT NULL DEFAULT '[]',
    info TEXT NOT NULL DEFAULT '{}',
    seq INTEGER,
    attempt INTEGER NOT NULL DEFAULT 1,
    retry_of INTEGER,
    requeued INTEGER NOT NULL DEFAULT 0,
    driver TEXT,
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS trials_by_seq ON trials (study_id, seq);
CREATE TABLE IF NOT EXISTS leases (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id),
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    heartbeat REAL NOT NULL
);
"""

#: metric keys renamed between versions: old name -> new name (also applied when reading old stores)
RENAMED_METRICS = {"flops": "macs"}


def rename_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` with the old metric names of :data:`RENAMED_METRICS` replaced by the new ones."""
    if not any(old in metrics for old in RENAMED_METRICS):
        return metrics
    out = dict(metrics)
    for old, new in RENAMED_METRICS.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE trials ADD COLUMN driver TEXT")
    rows = conn.execute("SELECT id, metrics, intermediate FROM trials").fetchall()
    for row_id, metrics, intermediate in rows:
        old_metrics = json.loads(metrics)
        new_metrics = rename_metrics(old_metrics)
        reports = json.loads(intermediate)
        new_reports = [[step, rename_metrics(m)] for step, m in reports]
        if new_metrics != old_metrics or new_reports != reports:
            conn.execute(
                "UPDATE trials SET metrics = ?, intermediate = ? WHERE id = ?",
                (json.dumps(new_metrics, sort_keys=True), json.dumps(new_reports, sort_keys=True), row_id),
            )


#: ``version -> the step that migrates a store of that version to the next one``
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


def _stored_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM nasforge_meta WHERE key='schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        return 0


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the store on ``conn`` to :data:`SCHEMA_VERSION` in one transaction; returns the old version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = start = _stored_version(conn)  # read again inside the lock: another process may have
        while version < SCHEMA_VERSION:  # migrated it meanwhile
            MIGRATIONS[version](conn)
            version += 1
        conn.execute("UPDATE nasforge_meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        conn.execute("COMMIT")
    except BaseException as exc:
        conn.execute("ROLLBACK")
        if isinstance(exc, (sqlite3.Error, ValueError, TypeError, KeyError)):
            raise StoreError(
                f"could not migrate store {str(path)!r} to schema version {SCHEMA_VERSION}: {exc}; "
                "the store was left unchanged"
            ) from exc
        raise
    return start


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT OR IGNORE INTO nasforge_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_connection(
    path: Path, *, create: bool, read_only: bool, timeout: float
) -> tuple[sqlite3.Connection, int]:
    """Open the store file: ``(connection, schema version of the file)`` (see the module docstring)."""
    if path.is_dir():
        raise StoreError(f"store {str(path)!r} is a directory; expected a .db file path")
    exists = path.exists()
    if not exists and not create:
        raise StoreError(
            f"store {str(path)!r} does not exist; pass the path of an existing store with --store "
            "(or run `nasforge search` to create one)"
        )
    # No plain open() of the file here: closing any other descriptor of a SQLite file releases
    # this process's POSIX locks on it, and another process could then delete a live WAL.
    # SQLite itself refuses a non-database file ("file is not a database") without writing to it.
    if not exists and not path.parent.exists():
        raise StoreError(f"cannot create store {str(path)!r}: directory {str(path.parent)!r} is missing")
    try:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {str(path)!r}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "nasforge_meta" not in tables:
            raise StoreError(
                f"store {str(path)!r} is a SQLite database of another application (tables: "
                f"{', '.join(sorted(tables)[:5])}); pass a nasforge store or a new path"
            )
        if "nasforge_meta" in tables:
            version = _stored_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"store {str(path)!r} has schema version {version}, this nasforge reads versions up to "
                    f"{SCHEMA_VERSION}; upgrade nasforge to open it"
                )
            if version < 1:
                raise StoreError(f"store {str(path)!r} has no valid schema version; it may be corrupt")
            if not read_only:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                if version < SCHEMA_VERSION:
                    migrate(conn, path)
                    version = SCHEMA_VERSION
        else:
            if not create:
                raise StoreError(f"store {str(path)!r} is empty; it holds no studies")
            _create(conn)
            version = SCHEMA_VERSION
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        what = "not a SQLite database" if "not a database" in str(exc) else "unreadable or corrupt"
        raise StoreError(
            f"store {str(path)!r} is {what} ({exc}); pass a nasforge .db file or a new path"
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn, version
