"""The shared mailbox on an IMAP server (imapclient), waiting with IDLE.

How it stays correct:

* Everything in the inbox folder is unprocessed: handled mail is moved out,
  so after any reconnect a full search finds exactly the work left. A message
  handled but not yet moved (crash, lost connection) is found again, and
  intake knows its Message-ID: it is only moved, never acted on twice.
* A key is ``"<UIDVALIDITY>:<UID>"``. If the folder's UIDVALIDITY changed
  since the key was made (the folder was recreated or restored), :meth:`move`
  finds the message again by its Message-ID instead of trusting the UID.
* Moves never EXPUNGE other people's deleted mail (``imap_moving``).
* IDLE is left at every timeout and re-issued every ``idle_minutes``, and a
  connection that may be dead is probed (``imap_idle``).
* Any error drops the connection; the next call reconnects, with exponential
  backoff up to ``reconnect_max_seconds`` while the server stays away
  (``imap_session``).

UIDVALIDITY is remembered per folder, in memory and, when the daemon gives
the mailbox its store, in the ``imap_state`` table (``imap_state``), so a
folder restored while klg was stopped is noticed and recorded in the audit
log. Correctness never rests on it: the inbox holds only unprocessed mail and
intake's ``messages_in`` table remembers every Message-ID it handled.

The parts: ``imap_connection`` (connect, log in), ``imap_session`` (the one
connection and its state), ``imap_reading`` (fetch), ``imap_moving`` (move),
``imap_idle`` (wait), ``imap_push`` (Dovecot's push notification, waking the
wait); :class:`ImapMailbox` puts them together.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Iterator

from daemon.backends import settings as backend_settings
from daemon.backends.imap_connection import close_quietly
from daemon.backends.imap_idle import ImapWaiter
from daemon.backends.imap_moving import ImapMover
from daemon.backends.imap_push import PushListener
from daemon.backends.imap_reading import ImapReader
from daemon.backends.imap_session import ImapSession
from daemon.backends.imap_state import ImapState
from daemon.config import ConfigError
from daemon.mail import InboxMessage


class ImapMailbox:
    """The :class:`daemon.mail.Mailbox` on an IMAP server; see the module docstring."""

    def __init__(self, backend: Any, state: ImapState | None = None, tz: tzinfo | None = None):
        settings = dict(backend.settings)
        problems = backend_settings.imap(settings)
        if problems:
            raise ConfigError("[mailbox]", problems)
        self.settings = settings
        self.session = ImapSession(settings, state)
        self.mover = ImapMover(self.session)
        self.reader = ImapReader(self.session, self.mover, int(float(settings.get("fetch_batch_mb", 8)) * 1024 * 1024))
        listen = backend_settings.parse_listen(settings.get("push_listen"))
        self.push = PushListener(listen, str(settings.get("username", "")), self.session.inbox) if listen else None
        self.waiter = ImapWaiter(self.session, self.mover, float(settings.get("idle_minutes", 10)) * 60,
                                 float(settings.get("check_seconds", 0)), settings.get("check_hours", "07:00-18:00"),
                                 state.clock if state is not None else None, tz, self.push)

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message in the inbox folder, oldest first, one at a time (see ``imap_reading``)."""
        return self.reader.fetch()

    def move(self, key: str, folder: str) -> None:
        """Move the message ``key`` from the inbox to ``processed`` or ``quarantine``."""
        self.mover.move(key, folder)

    def wait(self, timeout: float) -> None:
        """Block until new mail may have arrived, or ``timeout`` seconds passed (see ``imap_idle``)."""
        self.waiter.wait(timeout)

    def check(self) -> None:
        """Connect, log in and look at the folders; MailError in one line if anything fails."""
        close_quietly(self.session.connect(create=False))

    def close(self) -> None:
        """Move what is still pending, leave IDLE and log out."""
        s = self.session
        if s.client is not None and s.pending and not s.idling:
            self.mover.finish()
        self.reader.close()
        s.close()
        if self.push is not None:
            self.push.close()
