"""The store: one SQLite file (plain sqlite3 through ``daemon.database``, WAL) and a content-addressed
file folder beside it.

Schema changes are numbered SQL files in ``daemon/migrations``; the file's
number is recorded in ``PRAGMA user_version`` in the same transaction, so a
crash mid-migration leaves the old schema intact. Every workflow writes inside
``store.atomic()``: the effects of a message or a step, the outbox rows it
queues and the marker saying it happened commit together or not at all.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from daemon.database import Database
from daemon.files import FileStore

SYSTEM = "klg"


def iso(moment: datetime) -> str:
    """A stored timestamp: UTC, ISO 8601, sortable as text."""
    if moment.tzinfo is None:
        raise ValueError("stored times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with the package, in order."""
    found = []
    # the package's own folder, read as files (importlib.resources would import zipfile and tempfile
    # on every start for a folder that is always on disk; start-up, issue 19)
    for entry in (Path(__file__).parent / "migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append((int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def disk_full(exc: BaseException, where: Path | None = None) -> bool:
    """True if ``exc`` (or what caused it) says a disk or quota is full. SQLite
    says only "disk I/O error" when it cannot grow its shared-memory file, so
    that counts too when the disk under ``where`` has (almost) no space left."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError):
            if "full" in str(exc):  # "database or disk is full"
                return True
            if "disk I/O error" in str(exc) and where is not None and _free_bytes(where) < (1 << 20):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def _free_bytes(where: Path) -> int:
    try:
        st = os.statvfs(where)
    except OSError:
        return 1 << 62  # cannot tell: do not blame the disk
    return st.f_bavail * st.f_frsize


def disk_full_message(where: Path) -> str:
    """What to tell the operator when the disk under ``where`` is full."""
    return (f"the disk holding {where} is full (no space left): nothing was lost and nothing half-done was kept; "
            "free space there (df -h shows it) and klg resumes where it stopped")


class StoreLocked(Exception):
    """Another klg process already works on this data folder."""


class StoreOwnership(Exception):
    """root was about to open a data folder that belongs to the service user."""


def _refuse_root_on_service_data(data_dir: Path) -> None:
    """Files root created in the service user's data folder (a new -wal file, a
    migration) would lock the daemon out, so root is told to use that user."""
    if os.geteuid() != 0:
        return
    owner = data_dir.stat().st_uid
    if owner != 0:
        try:
            import pwd

            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = str(owner)
        raise StoreOwnership(
            f"{data_dir} belongs to the user {name} and this command runs as root; files it would create "
            f"there could lock the daemon out. Run it as that user instead: sudo -u {name} klg …"
        )


class Store:
    """The daemon's state: ``db`` (:class:`daemon.database.Database`) and ``files``."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _refuse_root_on_service_data(self.data_dir)
        self.path = self.data_dir / "klg.sqlite"
        # Created owner-only before SQLite touches it: SQLite gives the -wal and
        # -shm files the database file's mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self.db = Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 10000")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        for path in (self.path, self.path.with_name("klg.sqlite-wal"), self.path.with_name("klg.sqlite-shm")):
            if path.exists() and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        self.files = FileStore(self.data_dir / "files")
        self._lock_fd: int | None = None
        self.migrate()

    # --- lifecycle -------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply every shipped migration not yet applied, in number order; return the applied numbers.

        Applied numbers are kept in ``schema_migrations`` rather than inferred from
        the highest one, so a migration that lands after a higher-numbered one is
        still applied.
        """
        conn = self.db.conn
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        applied = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")}
        legacy = conn.execute("PRAGMA user_version").fetchone()[0]
        shipped = migrations()
        if legacy and not applied:  # a store from before the table existed: trust user_version
            applied = {number for number, _, _ in shipped if number <= legacy}
            conn.executemany("INSERT INTO schema_migrations VALUES (?, ?)",
                             [(n, name) for n, name, _ in shipped if n in applied])
            conn.commit()
        for number, name, sql in shipped:
            if number in applied:
                continue
            top = max([number, *applied])
            try:
                conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES ({number}, '{name}');\n"
                                   f"PRAGMA user_version = {top};\nCOMMIT;")
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            applied.add(number)
        return sorted(applied)

    def lock(self) -> None:
        """Take the instance lock so two daemons never work on one data folder."""
        fd = os.open(self.data_dir / "klg.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(
                f"another klg process is running on {self.data_dir}; stop it first (systemctl stop klg@…) or use `klg status` to look"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction; nested calls become savepoints."""
        with self.db.atomic():
            yield self.db

    @contextmanager
    def batch(self) -> Iterator[Database]:
        """Many units of work (intake's messages of one fetched batch), one COMMIT and one
        sync of the files at :meth:`commit` (see ``Database.batch``): each ``atomic()``
        inside still succeeds or fails alone."""
        with self.files.deferred(), self.db.batch(before_commit=self.files.sync):
            yield self.db

    def commit(self) -> None:
        """Commit the batch so far: the files first, then the rows, then the hooks (``after_commit``)."""
        self.db.commit()

    # --- generic helpers ---------------------------------------------------

    def one(self, sql: str, params: Any = ()) -> dict | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    def all(self, sql: str, params: Any = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    def count(self, sql: str, params: Any = ()) -> int:
        return self.db.execute(sql, params).fetchone()[0]

    # --- steps and events ------------------------------------------------

    def step_done(self, key: str) -> bool:
        return self.one("SELECT 1 AS x FROM steps WHERE key = ?", [key]) is not None

    def mark_step(self, key: str, now: datetime, detail: str | None = None) -> None:
        self.db["steps"].insert({"key": key, "done_at": iso(now), "detail": detail})

    def event(self, now: datetime, what: str, *, actor: str = SYSTEM, item: str | None = None,
              meeting: str | None = None, detail: Any = None) -> None:
        """Append one line to the audit log."""
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, ensure_ascii=False, default=str)
        self.db["events"].insert(
            {"at": iso(now), "actor": actor, "item_id": item, "meeting": meeting, "what": what, "detail": detail}
        )

    # --- items and meetings ----------------------------------------------

    def next_item_id(self, short: str, year: int) -> tuple[str, int]:
        seq = self.count("SELECT COALESCE(MAX(seq), 0) + 1 FROM items WHERE year = ?", [year])
        return f"{short}-{year}-{seq:03d}", seq

    def item(self, item_id: str) -> dict | None:
        return self.one("SELECT * FROM items WHERE id = ?", [item_id])

    def attachments(self, owner_id: str, owner: str = "item") -> list[dict]:
        """Current (not removed) attachments of an item or other owner, oldest first."""
        if owner == "item":
            return self.all("SELECT * FROM attachments WHERE item_id = ? AND owner = 'item' AND removed = 0 ORDER BY id", [owner_id])
        return self.all("SELECT * FROM attachments WHERE owner = ? AND owner_id = ? AND removed = 0 ORDER BY id", [owner, owner_id])

    def meeting(self, day: str) -> dict:
        """The meeting row for ``day`` (YYYY-MM-DD), created on first use."""
        row = self.one("SELECT * FROM meetings WHERE date = ?", [day])
        if row is None:
            self.db["meetings"].insert({"date": day, "state": "collecting", "agenda_version": 0})
            row = self.one("SELECT * FROM meetings WHERE date = ?", [day])
        return row

    # --- mail bookkeeping ---------------------------------------------------

    def message_seen(self, message_id: str) -> dict | None:
        return self.one("SELECT * FROM messages_in WHERE message_id = ?", [message_id])

    def sent_by_us(self, message_ids: list[str]) -> dict | None:
        """The newest outbox row whose Message-ID is among ``message_ids``."""
        ids = [m for m in message_ids if m]
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        return self.one(f"SELECT * FROM outbox WHERE message_id IN ({marks}) ORDER BY id DESC LIMIT 1", ids)
