"""The driver lease: at most one driver runs a study at a time, and a driver that lost it stops.

A row in the ``leases`` table names the driver (random token, pid, host, heartbeat). A second driver
refuses with a clear message while the holder is alive. A lease is *stale* (and taken over) when its
pid is dead on this host, or, for another host, when its heartbeat is older than ``stale_after``.

While held, the lease is kept up by a daemon thread with its own SQLite connection (so it beats while
a serial trial blocks the driver's loop): every ``heartbeat_every`` seconds it refreshes the row and
checks that the row was there to refresh (``rowcount``). The lease also *guards* the store: every write
of the study first checks, in its own transaction, that the row still carries this driver's token. A
driver that finds its lease taken (by the thread or by a guarded write) gets
:class:`~nasforge.errors.LeaseLost` and stops without writing again; its clean-up touches nothing of
the driver that took over.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from typing import Any

from nasforge.errors import LeaseLost, StoreError
from nasforge.study.store import Store

#: seconds between two heartbeats of a held lease
HEARTBEAT_EVERY = 5.0


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (zombies count as dead where detectable)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_lease(store: Store, study_id: int) -> tuple[str, int, str, float] | None:
    """``(token, pid, host, heartbeat)`` of the study's lease row, or ``None`` when nobody holds it."""
    rows = store._query("SELECT token, pid, host, heartbeat FROM leases WHERE study_id = ?", (study_id,))
    return tuple(rows[0]) if rows else None  # type: ignore[return-value]


class DriverLease:
    """Exclusive right of one driver to run a study (acquire / check / release)."""

    def __init__(self, store: Store, study_id: int, study_name: str, *, stale_after: float = 600.0,
                 heartbeat_every: float | None = None) -> None:
        self.store = store
        self.study_id = study_id
        self.study_name = study_name
        self.stale_after = stale_after
        self.heartbeat_every = HEARTBEAT_EVERY if heartbeat_every is None else float(heartbeat_every)
        self.token = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._taker: Any = None  # the lease row found in our place
        self._thread: threading.Thread | None = None

    # -- taking and giving back -------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lease (starting the heartbeat and the store guard) or raise :class:`StoreError`
        naming the live holder."""
        now = time.time()
        with self.store.transaction(self.study_id, guarded=False) as conn:
            row = conn.execute(
                "SELECT token, pid, host, heartbeat FROM leases WHERE study_id = ?", (self.study_id,)
            ).fetchone()
            if row is not None and row[0] != self.token and not self._stale(row, now):
                _token, pid, host, beat = row
                raise StoreError(
                    f"study {self.study_name!r} is already being run by another driver (pid {pid} on "
                    f"host {host}, last heartbeat {now - beat:.0f}s ago); wait for it to finish or stop "
                    "it, then run `nasforge resume` again"
                )
            conn.execute(
                "INSERT OR REPLACE INTO leases (study_id, token, pid, host, heartbeat) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.study_id, self.token, self.pid, self.host, now),
            )
        self.store.guard(self.study_id, self._check_row)
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat_loop, name="nasforge-lease-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (only if this driver still holds it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.store.timeout + 5.0)
            self._thread = None
        self.store.guard(self.study_id, None)
        if self._lost.is_set():
            return  # the row belongs to the driver that took over
        with self.store.transaction(self.study_id, guarded=False) as conn:
            conn.execute("DELETE FROM leases WHERE study_id = ? AND token = ?", (self.study_id, self.token))

    def _stale(self, row: tuple[str, int, str, float], now: float) -> bool:
        _, pid, host, beat = row
        if host == self.host:
            return not pid_alive(int(pid))
        return now - float(beat) > self.stale_after

    # -- holding ----------------------------------------------------------------------------------
    @property
    def lost(self) -> bool:
        """Whether another driver took the lease over."""
        return self._lost.is_set()

    def check(self) -> None:
        """Raise :class:`LeaseLost` if the lease was found taken over."""
        if self._lost.is_set():
            raise LeaseLost(self._message())

    def _check_row(self, conn: sqlite3.Connection) -> None:
        """The store guard: the lease row must still carry this driver's token."""
        row = conn.execute(
            "SELECT token, pid, host FROM leases WHERE study_id = ?", (self.study_id,)
        ).fetchone()
        if row is None or row[0] != self.token:
            self._taker = row
            self._lost.set()
            raise LeaseLost(self._message())

    def _beat_loop(self) -> None:
        conn = sqlite3.connect(str(self.store.path), timeout=self.store.timeout, isolation_level=None)
        try:
            while not self._stop.wait(self.heartbeat_every):
                try:
                    cur = conn.execute(
                        "UPDATE leases SET heartbeat = ? WHERE study_id = ? AND token = ?",
                        (time.time(), self.study_id, self.token),
                    )
                    if cur.rowcount == 1:
                        continue
                    self._taker = conn.execute(
                        "SELECT token, pid, host FROM leases WHERE study_id = ?", (self.study_id,)
                    ).fetchone()
                except sqlite3.Error:  # busy past the timeout, or the file went away: try again later
                    continue
                self._lost.set()
                return
        finally:
            conn.close()

    def _message(self) -> str:
        taker = self._taker
        who = "another driver" if taker is None else f"another driver (pid {taker[1]} on host {taker[2]})"
        if taker is None:
            who = "nobody (the lease row was removed)"
        return (
            f"study {self.study_name!r}: this driver's lease was taken over by {who} while it ran, so it "
            "stopped without writing further; the new driver re-runs this driver's unfinished trials. "
            "Run one driver per study (check with `nasforge status`)"
        )
