"""Reading the IMAP inbox: every message in it, oldest first, one at a time.

Everything in the inbox folder is unprocessed (handled mail is moved out), so
a full search after any reconnect finds exactly the work left. Messages are
fetched in batches of up to ``fetch_batch_mb`` and handed out one by one; while
the engine handles one batch the next is fetched in a helper thread. Large
messages are fetched alone, in pieces, never ahead.
"""

from __future__ import annotations

import ssl
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator

from imapclient.exceptions import IMAPClientError

from daemon.backends.imap_moving import ImapMover
from daemon.backends.imap_session import ImapSession
from daemon.mail import InboxMessage, MailError
from daemon.mail.message import message_id_of

BATCH_MESSAGES = 100  # at most this many messages per FETCH (and so per MOVE)
CHUNK = 1024 * 1024  # messages larger than this are fetched in pieces of this size


class ImapReader:
    """The fetch of an :class:`~daemon.backends.imap.ImapMailbox`."""

    def __init__(self, session: ImapSession, mover: ImapMover, batch_bytes: int):
        self.session = session
        self.mover = mover
        self.batch_bytes = batch_bytes
        self._executor: ThreadPoolExecutor | None = None

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message in the inbox folder, oldest first, one at a time.

        Messages are fetched in batches of up to ``fetch_batch_mb`` but handed
        out one by one; the search is repeated until it finds nothing new, so
        mail that arrives meanwhile is taken in the same pass."""
        s = self.session
        try:
            if not s.ready():
                return
            if s.idling and not s.dirty:
                return  # in IDLE and the server announced nothing: nothing new
            # Out of IDLE the server tells nothing unasked, so search: wait() leaves IDLE at every
            # timeout, and a caller may fetch twice without waiting (klg tick, the benchmarks).
            s.end_idle()
            s.dirty = False
            # select again: a folder deleted and recreated under an open session shows its new UIDVALIDITY
            s.remember_uidvalidity(s.inbox, int(s.client.select_folder(s.inbox)[b"UIDVALIDITY"]))
            yielded: set[int] = set()
            self.mover.batching = True
            while True:
                self.mover.flush()
                uidvalidity = s.uidvalidity[s.inbox]
                sizes = self._sizes(s.client.search(["UNDELETED"]))
                todo = [u for u in sorted(sizes) if u not in yielded]
                if not todo:
                    return
                if (yield from self._hand_out(todo, sizes, uidvalidity, yielded)):
                    yielded.clear()  # reconnected meanwhile: search again under the new UIDVALIDITY
                    if not s.ready():
                        return
        except MailError:
            s.drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise s.drop(exc) from None
        finally:
            self.mover.batching = False
            self.mover.finish()

    def _hand_out(self, todo: list[int], sizes: dict[int, int], uidvalidity: int,
                  yielded: set[int]) -> Iterator[InboxMessage]:
        """Fetch ``todo`` in batches and yield each message; return True if the
        connection or the folder changed under us and the search must be redone.

        While the engine handles one batch, the next is fetched in a helper
        thread (the engine's moves only collect UIDs meanwhile; they are sent
        between batches), so waiting for the server overlaps with handling.
        Large messages are never fetched ahead: one at a time is in memory."""
        s = self.session
        batches = list(self._batches(todo, sizes))
        ahead: Future | None = None
        try:
            for n, batch in enumerate(batches):
                fetched = ahead.result() if ahead is not None else self._load(batch, sizes)
                ahead = None
                self.mover.flush()  # the previous batch's moves, while no FETCH is under way
                following = batches[n + 1] if n + 1 < len(batches) else None
                if following and not self._large(following, sizes):
                    ahead = self._helper().submit(self._load, following, sizes)
                # moved or expunged by someone else meanwhile: not there
                present = [uid for uid in batch if b"BODY[]" in (fetched.get(uid) or {})]
                for uid in present:
                    raw = fetched.pop(uid).pop(b"BODY[]")
                    yielded.add(uid)
                    key = f"{uidvalidity}:{uid}"
                    self.mover.message_ids[key] = message_id_of(raw)
                    # the last of the batch: the engine commits the batch's effects before the moves are sent
                    yield InboxMessage(key=key, raw=raw, last=uid == present[-1])
                    del raw
                    if s.client is None or s.uidvalidity.get(s.inbox) != uidvalidity:
                        return True
                del fetched
            return False
        finally:
            if ahead is not None:  # never leave a FETCH running on the connection
                try:
                    ahead.result()
                except Exception:
                    pass

    def _large(self, batch: list[int], sizes: dict[int, int]) -> bool:
        return len(batch) == 1 and sizes.get(batch[0], 0) > CHUNK

    def _load(self, batch: list[int], sizes: dict[int, int]) -> dict:
        """{uid: {b"BODY[]": raw}} for ``batch``."""
        if self._large(batch, sizes):
            raw = self._fetch_large(batch[0], sizes[batch[0]])
            return {batch[0]: {b"BODY[]": raw}} if raw is not None else {}
        return self.session.client.fetch(batch, ["BODY.PEEK[]"])

    def _helper(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="klg-imap-fetch")
        return self._executor

    def _fetch_large(self, uid: int, size: int) -> bytes | None:
        """A large message in pieces (partial FETCH): imaplib needs about three
        times a literal's size while reading it; in pieces that is three times
        the piece, and the message itself is held twice only while joining."""
        pieces: list[bytes] = []
        offset = 0
        while offset < size:
            found = self.session.client.fetch([uid], [f"BODY.PEEK[]<{offset}.{CHUNK}>"]).get(uid)
            if not found:
                return None
            piece = next((v for k, v in found.items() if k.startswith(b"BODY[]")), None)
            if not piece:
                break
            pieces.append(piece)
            offset += len(piece)
            del found, piece
        return b"".join(pieces)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        found = self.session.client.fetch(uids, ["RFC822.SIZE"])
        return {u: int(d.get(b"RFC822.SIZE", 0)) for u, d in found.items()}

    def _batches(self, uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
        batch, total = [], 0
        for uid in uids:
            if batch and (total + sizes.get(uid, 0) > self.batch_bytes or len(batch) >= BATCH_MESSAGES):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += sizes.get(uid, 0)
        if batch:
            yield batch

    def close(self) -> None:
        """Stop the helper thread (after any fetch it is doing)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
