"""The SQLite store: schema, WAL, refusal of foreign/corrupt files, trial numbering and ordering."""

from __future__ import annotations

import json
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


V1_DUMP = Path(__file__).parent / "data" / "store_v1.sql"


def _v1_store(path: Path) -> Path:
    """A store file written by nasforge 0.1.0 (schema version 1), rebuilt from its SQL text."""
    conn = sqlite3.connect(path)
    conn.executescript(V1_DUMP.read_text())
    conn.close()
    return path


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT value FROM nasforge_meta WHERE key='schema_version'").fetchone()[0])
    finally:
        conn.close()


def test_a_0_1_0_store_is_migrated_with_every_trial(tmp_path: Path) -> None:
    path = _v1_store(tmp_path / "old.db")
    assert _version(path) == 1
    with Store(path, create=False, read_only=True) as store:  # read-only: read as it is, not migrated
        sid = store.get_study("old").id
        before = store.trials(sid)
        assert [t.metrics.get("macs") for t in before[:3]] == [1079, 1049, 1026]  # the old key is read
    assert _version(path) == 1
    with Store(path, create=False) as store:  # a writing open migrates
        assert store.version == SCHEMA_VERSION == 2
        after = store.trials(sid)
    assert _version(path) == 2
    assert [(t.number, t.state, t.architecture, t.value) for t in after] == [
        (t.number, t.state, t.architecture, t.value) for t in before
    ]
    assert len(after) == 4 and after[3].state is TrialState.RUNNING
    for trial in after[:3]:
        assert "flops" not in trial.metrics and trial.metrics["macs"] > 1000
    conn = sqlite3.connect(path)
    stored = [json.loads(m) for (m,) in conn.execute("SELECT metrics FROM trials ORDER BY number")]
    columns = [r[1] for r in conn.execute("PRAGMA table_info(trials)")]
    conn.close()
    assert all("flops" not in m for m in stored) and "driver" in columns  # rewritten, not just read


def test_a_migrated_0_1_0_study_resumes(tmp_path: Path) -> None:
    from fakes import ToyEvaluator

    from nasforge.study import Study

    path = _v1_store(tmp_path / "old.db")
    study = Study.load(store=path, name="old", evaluator=ToyEvaluator())
    study.optimize(n_trials=5, show_progress=False)
    trials = study.trials
    assert trials[3].error == "driver_lost" and trials[4].info["retry_of"] == 3  # the dead driver's trial
    assert study.store.count_budget(study.record.id) == 5 and len(trials) == 6
    assert all(t.state is TrialState.COMPLETE for t in trials if t.number != 3)


def test_a_newer_store_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE nasforge_meta SET value = '7' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for read_only in (False, True):
        message = f"schema version 7, this nasforge reads versions up to {SCHEMA_VERSION}"
        with pytest.raises(StoreError, match=message):
            Store(path, create=False, read_only=read_only)
    assert path.read_bytes() == before


def test_a_failed_migration_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasforge.study import schema

    path = _v1_store(tmp_path / "old.db")

    def broken(conn: sqlite3.Connection) -> None:
        schema._migrate_1_to_2(conn)  # every step of it runs, then the last one fails
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setitem(schema.MIGRATIONS, 1, broken)
    with pytest.raises(StoreError, match=r"could not migrate .* left unchanged"):
        Store(path, create=False)
    assert _version(path) == 1
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(trials)")]
    metrics = conn.execute("SELECT metrics FROM trials WHERE number = 0").fetchone()[0]
    conn.close()
    assert "driver" not in columns and '"flops"' in metrics  # rolled back as one transaction


def test_fail_running_of_one_driver_leaves_the_other_drivers_trials(store_path: Path) -> None:
    store = Store(store_path)
    sid = store.create_study("a", {}).id
    mine = store.create_trial(sid, _cand(0), hash_="h0", seed_fn=lambda n: n, driver="me")
    theirs = store.create_trial(sid, _cand(1), hash_="h1", seed_fn=lambda n: n, driver="them")
    assert store.fail_running(sid, "interrupted", owner="me") == [mine]
    assert store.get_trial(sid, theirs).state is TrialState.RUNNING
    assert store.fail_running(sid, "driver_lost") == [theirs]  # a recovery fails every RUNNING trial


def test_a_guarded_write_is_refused_when_the_guard_says_so(store_path: Path) -> None:
    from nasforge.errors import LeaseLost

    store = Store(store_path)
    sid = store.create_study("a", {}).id

    def taken(conn: sqlite3.Connection) -> None:
        raise LeaseLost("taken over")

    store.guard(sid, taken)
    with pytest.raises(LeaseLost):
        _new_trial(store, sid, 0)
    assert store.trials(sid) == []
    store.guard(sid, None)
    assert _new_trial(store, sid, 0) == 0
