"""The driver lease: at most one driver runs a study at a time.

A row in the ``leases`` table names the driver (random token, pid, host, heartbeat). A second driver
refuses with a clear message while the holder is alive. A lease is *stale* (and taken over) when its
pid is dead on this host, or, for another host, when its heartbeat is older than ``stale_after``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from nasforge.errors import StoreError
from nasforge.study.store import Store


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


class DriverLease:
    """Exclusive right of one driver to run a study (acquire / heartbeat / release)."""

    def __init__(self, store: Store, study_id: int, study_name: str, *, stale_after: float = 600.0) -> None:
        self.store = store
        self.study_id = study_id
        self.study_name = study_name
        self.stale_after = stale_after
        self.token = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self._last_beat = 0.0

    def acquire(self) -> None:
        """Take the lease or raise :class:`StoreError` naming the live holder."""
        now = time.time()
        with self.store.transaction() as conn:
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
        self._last_beat = now

    def _stale(self, row: tuple[str, int, str, float], now: float) -> bool:
        _, pid, host, beat = row
        if host == self.host:
            return not pid_alive(int(pid))
        return now - float(beat) > self.stale_after

    def heartbeat(self, min_interval: float = 5.0) -> None:
        """Refresh the heartbeat (at most every ``min_interval`` seconds)."""
        now = time.time()
        if now - self._last_beat < min_interval:
            return
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE leases SET heartbeat = ? WHERE study_id = ? AND token = ?",
                (now, self.study_id, self.token),
            )
        self._last_beat = now

    def release(self) -> None:
        """Give the lease back (only if we still hold it)."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE study_id = ? AND token = ?", (self.study_id, self.token))
