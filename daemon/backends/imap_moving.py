"""Moving handled mail out of the IMAP inbox, to processed or quarantine.

Moves use MOVE where the server has it, else COPY + ``\\Deleted`` + ``UID
EXPUNGE`` of those UIDs; never a bare EXPUNGE, which would remove other
people's deleted mail. Without UIDPLUS the copy is left flagged ``\\Deleted``
(and skipped by klg) until someone expunges the folder.

While a fetch is under way (``batching``) the moves are only collected, and
sent between batches, one command per target folder. A key made under an
older UIDVALIDITY (the folder was recreated or restored) is looked up again by
its Message-ID instead of trusting the UID.
"""

from __future__ import annotations

import logging
import ssl

from imapclient.exceptions import IMAPClientError

from daemon.backends.imap_session import ImapSession
from daemon.mail import MailError

log = logging.getLogger("klg.mail.imap")


class ImapMover:
    """The moves of an :class:`~daemon.backends.imap.ImapMailbox`."""

    def __init__(self, session: ImapSession):
        self.session = session
        self.batching = False  # a fetch is under way: collect moves, send them between batches
        self.message_ids: dict[str, str | None] = {}  # key -> Message-ID of each message handed out
        self._warned_no_uidplus = False

    def move(self, key: str, folder: str) -> None:
        """Move the message ``key`` from the inbox to ``processed`` or ``quarantine``.
        A lost connection is replaced once, at once, and the move tried again."""
        s = self.session
        message_id = self.message_ids.pop(key, None)
        try:
            self._move(key, message_id, s.folders[folder])
        except MailError as first:
            if s.client is not None or s.failures:
                raise first
            log.info("%s; reconnecting to move %s", first, key)
            self._move(key, message_id, s.folders[folder])

    def _move(self, key: str, message_id: str | None, target: str) -> None:
        s = self.session
        try:
            if not s.ready():
                raise MailError(f"IMAP {s.conn.host} is unreachable; the message stays in the inbox for now")
            s.end_idle()
            uidvalidity, _, uid_text = key.partition(":")
            uid = int(uid_text)
            if int(uidvalidity) != s.uidvalidity[s.inbox]:
                if self.batching:  # the connection may be busy fetching ahead: look it up between batches
                    s.stale.append((key, message_id, target))
                    return
                uid = self.find(message_id, key)
                if uid is None:
                    return
            if self.batching:
                # moved together after the batch: one command instead of one per message
                s.pending.setdefault(target, []).append(uid)
                return
            self._move_uids([uid], target)
        except MailError:
            s.drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise s.drop(exc) from None

    def flush(self) -> None:
        """Move the UIDs collected during a fetch, one command per target folder."""
        s = self.session
        while s.stale:
            key, message_id, target = s.stale.pop()
            uid = self.find(message_id, key)
            if uid is not None:
                s.pending.setdefault(target, []).append(uid)
        while s.pending:
            target, uids = next(iter(s.pending.items()))
            self._move_uids(sorted(uids), target)
            del s.pending[target]

    def finish(self) -> None:
        """The end of a fetch, however it ended: move what was handled. If the
        connection is gone the messages stay, and are recognised next time."""
        s = self.session
        if not s.pending and not s.stale:
            return
        if s.client is None:
            s.pending.clear()
            s.stale.clear()
            return
        try:
            self.flush()
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            log.warning("%s; the handled messages stay in the inbox until the next pass moves them", s.drop(exc))

    def _move_uids(self, uids: list[int], target: str) -> None:
        s = self.session
        if s.can_move:
            s.client.move(uids, target)
            return
        s.client.copy(uids, target)
        s.client.add_flags(uids, [b"\\Deleted"], silent=True)
        if s.can_uidplus:
            s.client.uid_expunge(uids)
        elif not self._warned_no_uidplus:
            self._warned_no_uidplus = True
            log.warning("IMAP %s has neither MOVE nor UIDPLUS: handled mail is copied and left flagged "
                        "\\Deleted in %r (klg never expunges other people's mail)", s.conn.host, s.inbox)

    def find(self, message_id: str | None, key: str) -> int | None:
        """The current UID of a message whose key predates a UIDVALIDITY change."""
        if not message_id:
            log.warning("message %s: the folder was recreated and it has no Message-ID; it will be fetched again "
                        "and recognised by its content", key)
            return None
        found = sorted(self.session.client.search(["UNDELETED", "HEADER", "Message-ID", message_id]))
        if not found:
            return None  # already moved (by us before a reconnect, or by someone else)
        log.info("message %s (%s) found again as UID %s after the folder was recreated", key, message_id, found[0])
        return found[0]
