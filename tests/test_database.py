"""daemon/database.py, the part of sqlite-utils klg used: rows stored as sqlite-utils stored
them, the keys it returned, transactions that commit or roll back as a whole."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from daemon.database import Database, NotFoundError


@pytest.fixture
def db(tmp_path):
    d = Database(tmp_path / "t.sqlite")
    d.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT, data TEXT, at TEXT)")
    d.execute("CREATE TABLE named (key TEXT PRIMARY KEY, n INTEGER)")
    yield d
    d.close()


def test_insert_stores_json_and_iso_times_and_returns_the_key(db):
    first = db["things"].insert({"name": "a", "data": {"x": [1, "å"]}, "at": datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)})
    assert first.last_pk == 1 and db["things"].insert({"id": None, "name": "b"}).last_pk == 2
    assert db["named"].insert({"key": "K-1", "n": 1}).last_pk == "K-1"
    assert list(db.query("SELECT name, data, at FROM things WHERE id = 1")) == [
        {"name": "a", "data": '{"x": [1, "å"]}', "at": "2026-12-03T09:00:00+00:00"}]


def test_update_changes_one_row_and_refuses_a_missing_one(db):
    db["named"].insert({"key": "K-1", "n": 1})
    db["named"].update("K-1", {"n": 5})
    assert db.execute("SELECT n FROM named").fetchone()[0] == 5
    with pytest.raises(NotFoundError):
        db["named"].update("K-9", {"n": 1})
    db["named"].upsert({"key": "K-1", "n": 7}, pk="key")
    db["named"].upsert({"key": "K-2", "n": 8}, pk="key")
    assert db.execute("SELECT key, n FROM named ORDER BY key").fetchall() == [("K-1", 7), ("K-2", 8)]


def test_atomic_commits_together_and_rolls_back_a_savepoint_alone(db, tmp_path):
    with db.atomic():
        db["things"].insert({"name": "kept"})
        with pytest.raises(ValueError):
            with db.atomic():
                db["things"].insert({"name": "undone"})
                raise ValueError("inner")
        other = sqlite3.connect(tmp_path / "t.sqlite")
        assert other.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 0  # not committed yet
    assert [r["name"] for r in db.query("SELECT name FROM things")] == ["kept"]
    with pytest.raises(RuntimeError):
        with db.atomic():
            db["things"].insert({"name": "lost"})
            raise RuntimeError("outer")
    assert other.execute("SELECT name FROM things").fetchall() == [("kept",)]
    assert not db.conn.in_transaction
    other.close()


def test_upsert_by_one_column_and_by_a_compound_key(db):
    db["named"].upsert({"key": "K-1", "n": 1}, pk="key")
    db["named"].upsert({"key": "K-1", "n": 2}, pk="key")
    assert list(db.query("SELECT key, n FROM named")) == [{"key": "K-1", "n": 2}]
    db.execute("CREATE TABLE seats (meeting TEXT, email TEXT, state TEXT, PRIMARY KEY (meeting, email))")
    for state in ("absent", "present"):
        db["seats"].upsert({"meeting": "2026-12-08", "email": "a@x", "state": state}, pk=("meeting", "email"))
    db["seats"].upsert({"meeting": "2026-12-15", "email": "a@x", "state": "absent"}, pk=("meeting", "email"))
    assert list(db.query("SELECT meeting, state FROM seats ORDER BY meeting")) == [
        {"meeting": "2026-12-08", "state": "present"}, {"meeting": "2026-12-15", "state": "absent"}]


def test_a_batch_commits_its_transactions_once_and_runs_the_hooks_only_then(db, tmp_path):
    """Intake's batch (issue 19): each unit succeeds or fails alone, nothing is visible
    before commit(), and a unit's after-commit hook runs only once its rows are committed."""
    other = sqlite3.connect(tmp_path / "t.sqlite")
    moved: list[str] = []
    synced: list[int] = []

    def before_commit():  # the files: made durable while the rows are not yet committed
        synced.append(other.execute("SELECT COUNT(*) FROM things").fetchone()[0])

    with db.batch(before_commit=before_commit):
        for name in ("first", "second", "bad", "third"):
            try:
                with db.atomic():
                    db["things"].insert({"name": name})
                    if name == "bad":
                        raise ValueError(name)
            except ValueError:
                continue
            db.after_commit(lambda name=name: moved.append(name))
        assert other.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 0 and moved == []
        db.commit()
        assert moved == ["first", "second", "third"] and synced == [0]
        with db.atomic():
            db["things"].insert({"name": "fourth"})
        db.after_commit(lambda: moved.append("fourth"))
        assert moved == ["first", "second", "third"]
    assert moved[-1] == "fourth" and synced == [0, 3]  # the batch's end commits what it holds
    assert [r[0] for r in other.execute("SELECT name FROM things ORDER BY id")] == ["first", "second", "third", "fourth"]
    other.close()


def test_a_hook_never_runs_when_the_batch_is_rolled_back_under_it(db):
    """SQLite may end a transaction by itself (a full disk, a RAISE(ROLLBACK) trigger):
    then the units it held are gone, and so are their hooks (the mail stays in the inbox)."""
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON named WHEN NEW.key = 'no' BEGIN SELECT RAISE(ROLLBACK, 'no'); END")
    moved: list[str] = []
    with db.batch():
        with db.atomic():
            db["things"].insert({"name": "lost with the batch"})
        db.after_commit(lambda: moved.append("lost"))
        with pytest.raises(sqlite3.IntegrityError):
            with db.atomic():
                db["named"].insert({"key": "no", "n": 1})
        assert not db.conn.in_transaction
        with db.atomic():
            db["things"].insert({"name": "after"})
        db.after_commit(lambda: moved.append("after"))
        db.commit()
    assert moved == ["after"]
    assert [r["name"] for r in db.query("SELECT name FROM things")] == ["after"]
