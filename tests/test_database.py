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
