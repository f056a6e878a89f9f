"""The UIDVALIDITY of each IMAP folder, kept in the store across restarts.

A folder's UIDVALIDITY changes when it is deleted and recreated, or restored
from a backup; UIDs made under the old value name other messages. Within a
process :class:`~daemon.backends.imap_session.ImapSession` notices the change;
this remembers the value between processes, so a folder restored while klg
was stopped is noticed at the next start too: it is logged, recorded in the
audit log (``klg log``), and nothing is handled twice because every message
is matched by its Message-ID (intake's ``messages_in``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from daemon.store import Store, iso


class ImapState:
    """The stored UIDVALIDITY of the folders of one IMAP account."""

    def __init__(self, store: Store, account: str, clock: Callable[[], datetime]):
        self.store = store
        self.account = account
        self.clock = clock  # the CLI's clock (engine.system_clock); a backend reads no clock of its own

    def stored(self, folder: str) -> int | None:
        """The UIDVALIDITY last recorded for ``folder``, or None if never."""
        row = self.store.db.execute("SELECT uidvalidity FROM imap_state WHERE account = ? AND folder = ?",
                                    [self.account, folder]).fetchone()
        return None if row is None else int(row[0])

    def record(self, folder: str, value: int) -> int | None:
        """Store ``value`` for ``folder``; return the value it replaced when it
        differed (the folder was recreated since), else None. A change is also
        written to the audit log, in the same transaction."""
        old = self.stored(folder)
        if old == value:
            return None
        now = self.clock()
        with self.store.atomic():
            self.store.db.execute(
                "INSERT INTO imap_state (account, folder, uidvalidity, seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
                "seen_at = excluded.seen_at", [self.account, folder, value, iso(now)])
            if old is not None:
                self.store.event(now, f"IMAP folder {folder} was recreated (UIDVALIDITY {old} -> {value}); "
                                      "its mail is matched by Message-ID, nothing is handled twice",
                                 detail={"account": self.account, "folder": folder, "old": old, "new": value})
        return old
