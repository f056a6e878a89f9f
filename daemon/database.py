"""The small part of sqlite-utils klg used, on plain :mod:`sqlite3`.

``store.db`` offers what the workflows call: ``db["table"].insert(row)``
(``.last_pk``), ``db["table"].update(pk, changes)``, ``db.query(sql, params)``
(dicts), ``db.execute``, ``db.atomic()`` (a transaction; nested: a savepoint)
and ``db.conn``. Values are stored as sqlite-utils stored them (dicts and
lists as JSON, dates as ISO 8601), so stores written before read the same.

Why not sqlite-utils itself (issue 19): importing it (with click and pluggy)
cost more start-up than the rest of ``klg status``, and in intake's hot path
it looked the table up again for every insert and wrapped every SELECT in a
savepoint, 34,000 ``execute()`` calls for 3,500 inserts. Here an insert is one
statement, which sqlite3's statement cache keeps prepared, and a table's
primary key is read once per connection.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence


class NotFoundError(KeyError):
    """``update`` of a row that does not exist: the table and the key."""


def stored(value: Any) -> Any:
    """A Python value as a column value, the way sqlite-utils stored it."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=repr, ensure_ascii=False)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    # A UUID, if the uuid module is loaded at all (no value can be one otherwise): importing it for this
    # test would load platform, whose regular expressions cost every command 10 ms (start-up, issue 19).
    uuid = sys.modules.get("uuid")
    if uuid is not None and isinstance(value, uuid.UUID):
        return str(value)
    return value


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Inserted:
    """What ``insert`` returns: ``last_pk`` (the new row's primary key) and ``last_rowid``."""

    __slots__ = ("last_pk", "last_rowid")

    def __init__(self, last_pk: Any, last_rowid: int | None):
        self.last_pk = last_pk
        self.last_rowid = last_rowid


class Table:
    """One table of a :class:`Database`: ``insert`` and ``update``."""

    def __init__(self, db: "Database", name: str):
        self.db = db
        self.name = name

    @property
    def pk(self) -> str:
        """The primary key's column ("rowid" when the table has none of its own)."""
        found = self.db._pks.get(self.name)
        if found is None:
            cols = [(row[5], row[1]) for row in self.db.conn.execute(f"PRAGMA table_info({_quoted(self.name)})")]
            if not cols:
                raise sqlite3.OperationalError(f"no such table: {self.name}")
            keys = sorted(c for c in cols if c[0])
            found = keys[0][1] if len(keys) == 1 else "rowid"
            self.db._pks[self.name] = found
        return found

    def insert(self, record: dict[str, Any], *, replace: bool = False, ignore: bool = False) -> Inserted:
        """Insert one row (``replace``: over a row with the same key; ``ignore``: not if one exists);
        its primary key is ``last_pk``."""
        names = tuple(record)
        key = (self.name, replace, ignore, names)
        sql = self.db._inserts.get(key)
        if sql is None:  # the same few shapes over and over: built once per connection
            verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE" if ignore else "INSERT"
            sql = self.db._inserts[key] = (f"{verb} INTO {_quoted(self.name)} ({', '.join(map(_quoted, names))}) "
                                           f"VALUES ({', '.join('?' * len(names))})")
        cursor = self.db.execute(sql, [stored(record[n]) for n in names])
        pk = self.pk
        given = record.get(pk)
        return Inserted(given if given is not None else cursor.lastrowid, cursor.lastrowid)

    def insert_all(self, records: list[dict[str, Any]]) -> None:
        """Insert many rows."""
        for record in records:
            self.insert(record)

    def upsert(self, record: dict[str, Any], pk: str | tuple[str, ...]) -> Inserted:
        """Insert the row, or change the columns given of the row with the same ``pk`` (a column,
        or a tuple of columns for a compound key such as ``("meeting", "email")``)."""
        keys = (pk,) if isinstance(pk, str) else tuple(pk)
        names = list(record)
        rest = [n for n in names if n not in keys]
        sql = (f"INSERT INTO {_quoted(self.name)} ({', '.join(map(_quoted, names))}) VALUES "
               f"({', '.join('?' * len(names))}) ON CONFLICT ({', '.join(map(_quoted, keys))}) DO "
               + (f"UPDATE SET {', '.join(f'{_quoted(n)} = excluded.{_quoted(n)}' for n in rest)}" if rest else "NOTHING"))
        cursor = self.db.execute(sql, [stored(record[n]) for n in names])
        value = record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)
        return Inserted(value, cursor.lastrowid)

    def update(self, pk_value: Any, changes: dict[str, Any]) -> "Table":
        """Change the columns in ``changes`` of the row whose primary key is ``pk_value``."""
        pk = self.pk
        if not changes:
            if self.db.conn.execute(f"SELECT 1 FROM {_quoted(self.name)} WHERE {_quoted(pk)} = ?",
                                    [pk_value]).fetchone() is None:
                raise NotFoundError(f"{self.name}: no row {pk_value!r}")
            return self
        names = list(changes)
        cursor = self.db.execute(
            f"UPDATE {_quoted(self.name)} SET {', '.join(f'{_quoted(n)} = ?' for n in names)} WHERE {_quoted(pk)} = ?",
            [*(stored(changes[n]) for n in names), pk_value])
        if cursor.rowcount == 0:
            raise NotFoundError(f"{self.name}: no row {pk_value!r}")
        return self


class Database:
    """One SQLite connection in autocommit mode: a write outside :meth:`atomic` commits at once."""

    def __init__(self, path: Path | str):
        # isolation_level=None: no implicit transactions; atomic() opens them, as sqlite-utils did
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA recursive_triggers = on")
        self._pks: dict[str, str] = {}
        self._inserts: dict[tuple, str] = {}  # (table, replace, ignore, columns): the INSERT statement
        self._savepoints = 0
        self._batch: Callable[[], None] | None = None  # in a batch: what must be durable before each COMMIT
        self._hooks: list[Callable[[], None]] = []  # run once the open transaction is committed

    def __getitem__(self, name: str) -> Table:
        return Table(self, name)

    def execute(self, sql: str, params: Sequence | dict | None = None) -> sqlite3.Cursor:
        """Run one statement; the cursor."""
        return self.conn.execute(sql, params) if params is not None else self.conn.execute(sql)

    def query(self, sql: str, params: Sequence | dict | None = None) -> Iterator[dict]:
        """The rows of ``sql`` as dicts, one at a time."""
        cursor = self.execute(sql, params)
        if cursor.description is None:
            raise ValueError("query() is for SQL that returns rows; use execute() for other statements")
        keys = [d[0] for d in cursor.description]
        return (dict(zip(keys, row)) for row in cursor)

    @contextmanager
    def atomic(self) -> Iterator["Database"]:
        """A transaction; nested calls become savepoints."""
        conn = self.conn
        if conn.in_transaction:
            # named by depth, not by a running count: the same few statements, kept prepared
            name = f"klg_{self._savepoints + 1}"
            conn.execute(f"SAVEPOINT {name}")
            self._savepoints += 1
            try:
                yield self
            except BaseException:
                if conn.in_transaction:  # a RAISE(ROLLBACK) trigger may have ended it already
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._savepoints -= 1
            return
        self._hooks.clear()  # a transaction ended that commit() did not end: SQLite rolled it back
        conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            if self._batch is not None:
                return  # in a batch the transaction stays open for the next one; commit() ends it
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # --- batches: many top-level transactions, one COMMIT (issue 19) ---------------------------

    @contextmanager
    def batch(self, before_commit: Callable[[], None] = lambda: None) -> Iterator["Database"]:
        """Join the top-level transactions opened inside into one, committed by
        :meth:`commit` (and when the batch ends, however it ends). A transaction
        that fails is rolled back alone (it is a savepoint of the open one), so the
        open transaction only ever holds whole units of work. ``before_commit`` runs
        before every COMMIT: what the rows refer to (files) is made durable first.

        Why: intake handles a fetched batch of mail in one COMMIT, one WAL fsync
        instead of one per message; the mailbox moves wait for it (:meth:`after_commit`)."""
        if self._batch is not None:
            yield self
            return
        self._batch = before_commit
        try:
            yield self
        except BaseException:
            try:
                self.commit()  # what was finished before the failure is whole: keep it
            except Exception:
                self.rollback()
            raise
        else:
            self.commit()
        finally:
            self._batch = None
            self._hooks.clear()

    @property
    def batching(self) -> bool:
        return self._batch is not None

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once what was written so far is committed: at the COMMIT of
        the open transaction, at once when none is open, never if it is rolled back."""
        if self.conn.in_transaction:
            self._hooks.append(hook)
            return
        if self._hooks:  # the transaction they waited for ended without commit(): rolled back
            self._hooks.clear()
        hook()

    def commit(self) -> None:
        """Commit the open transaction (in a batch: everything since the last commit),
        then run its :meth:`after_commit` hooks. A failing COMMIT rolls back and raises."""
        hooks, self._hooks = self._hooks, []
        if not self.conn.in_transaction:
            return  # nothing open; any hooks belonged to a transaction SQLite rolled back
        try:
            if self._batch is not None:
                self._batch()
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        for hook in hooks:
            hook()

    def rollback(self) -> None:
        """Roll back the open transaction; its hooks are dropped."""
        self._hooks.clear()
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def enable_wal(self) -> None:
        self.conn.execute("PRAGMA journal_mode = wal")

    def close(self) -> None:
        self.conn.close()
