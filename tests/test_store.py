"""The SQLite store: schema, WAL, refusal of foreign/corrupt files, trial numbering and ordering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nasforge.errors import StoreError
from nasforge.space import Architecture
from nasforge.study.schema import SCHEMA_VERSION
from nasforge.study.store import Store
from nasforge.trial import Candidate, TrialState


def _cand(x: int) -> Candidate:
    return Candidate(Architecture("toy", {"x": x, "y": 0}))


def _new_trial(store: Store, sid: int, x: int) -> int:
    return store.create_trial(sid, _cand(x), hash_=f"h{x}", seed_fn=lambda n: 100 + n)


def test_schema_wal_and_reopen(store_path: Path) -> None:
    with Store(store_path) as store:
        rec = store.create_study("a", {"seed": 1})
        assert store.get_study("a").config == {"seed": 1}
        assert rec.id == store.get_study("a").id
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = conn.execute("SELECT value FROM nasforge_meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION
    conn.close()
    with Store(store_path, create=False) as store:
        assert [s.name for s in store.list_studies()] == ["a"]
        assert store.integrity_check() == "ok"


@pytest.mark.parametrize(
    "content, match",
    [(b"this is not a database at all, just text" * 20, "not a SQLite database"),
     (b"SQLite format 3\x00" + b"\xff" * 200, "corrupt")],
)
def test_foreign_or_corrupt_file_refused_and_untouched(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=match):
        Store(path)
    assert path.read_bytes() == content
    assert not (tmp_path / "bad.db-wal").exists()


def test_other_application_database_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.execute("INSERT INTO accounts VALUES (7)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another application"):
        Store(path)
    assert path.read_bytes() == before


def test_missing_store_not_created_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="does not exist"):
        Store(path, create=False)
    assert not path.exists()
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path / "missing-dir" / "x.db")


def test_duplicate_and_unknown_study(store_path: Path) -> None:
    store = Store(store_path)
    store.create_study("a", {})
    with pytest.raises(StoreError, match="already exists"):
        store.create_study("a", {"other": 1})
    assert store.get_study("a").config == {}
    with pytest.raises(StoreError, match=r"no study named 'b'.*studies there: a"):
        store.get_study("b")


def test_trial_numbers_and_completion_order(store_path: Path) -> None:
    store = Store(store_path)
    sid = store.create_study("a", {}).id
    other = store.create_study("b", {}).id
    numbers = [_new_trial(store, sid, x) for x in range(3)]
    assert numbers == [0, 1, 2]
    assert _new_trial(store, other, 5) == 0  # numbers are per study
    store.finish_trial(sid, 2, state=TrialState.COMPLETE, value=0.5, metrics={"valid_acc": 0.5})
    store.finish_trial(sid, 0, state=TrialState.FAILED, error="exception", traceback="tb")
    with pytest.raises(StoreError, match="cannot finish twice"):
        store.finish_trial(sid, 2, state=TrialState.COMPLETE, value=0.9)
    assert [t.number for t in store.history(sid)] == [2, 0]  # completion order, not number order
    t1 = store.get_trial(sid, 1)
    assert t1.state is TrialState.RUNNING and t1.info["seed"] == 101
    assert store.fail_running(sid, "driver_lost") == [1]
    lost = store.get_trial(sid, 1)
    assert lost.state is TrialState.FAILED and lost.error == "driver_lost" and lost.info["requeued"]
    assert [t.number for t in store.pending_requeues(sid)] == [1]
    assert store.count_budget(sid) == 2  # the requeued trial does not count
    retry = store.create_trial(sid, _cand(1), hash_="h1", seed_fn=lambda n: n, retry_of=1, attempt=2)
    assert retry == 3 and store.pending_requeues(sid) == []
    done = store.get_trial(sid, 2)
    assert done.value == 0.5 and done.metrics == {"valid_acc": 0.5}
    assert done.architecture == _cand(2).architecture


def test_failed_write_leaves_store_unchanged(store_path: Path) -> None:
    store = Store(store_path)
    sid = store.create_study("a", {}).id
    _new_trial(store, sid, 0)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("DELETE FROM trials")
        raise RuntimeError("interrupted mid-transaction")
    assert len(store.trials(sid)) == 1
