"""The small mail interface every backend implements, and its errors.

A :class:`Mailbox` hands out the messages waiting in the shared inbox and moves
each one to ``processed`` or ``quarantine`` once its effect is committed. A
:class:`Transport` delivers one stored outgoing message. The backends (Maildir,
the embedded default; IMAP/SMTP; Exchange) live in ``daemon.backends``, whose
``open_mailbox`` and ``open_transport`` pick one from the config; this package
imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

FOLDERS = ("processed", "quarantine")


class MailError(Exception):
    """A mailbox or transport problem, worded for the operator in one line."""


class TemporaryFailure(MailError):
    """Sending failed for now (4xx, connection refused); retry later."""


class PermanentFailure(MailError):
    """The server refused for good (5xx). ``recipients`` lists the refused ones;
    empty means the whole message was refused."""

    def __init__(self, message: str, recipients: list[str] | None = None):
        super().__init__(message)
        self.recipients = recipients or []


@dataclass
class InboxMessage:
    """One message waiting in the inbox. ``key`` is the backend's own handle
    (a Maildir file name, an IMAP UID, an EWS item id). ``last``: the last of a
    batch the backend fetched together; the engine commits the batch's effects
    and moves its messages then (True for a backend that hands out one at a time)."""

    key: str
    raw: bytes
    last: bool = True


class Mailbox(Protocol):
    def fetch(self) -> Iterator[InboxMessage]:
        """Every message now in the inbox, oldest first, one at a time."""

    def move(self, key: str, folder: str) -> None:
        """Move a message out of the inbox into ``processed`` or ``quarantine``."""

    def wait(self, timeout: float) -> None:
        """Block until new mail may have arrived, or ``timeout`` seconds passed."""

    def check(self) -> None:
        """Raise MailError with a one-line explanation if the mailbox is unusable."""

    def close(self) -> None: ...


class Transport(Protocol):
    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """Deliver ``raw``; return the recipients refused for good (may be empty).
        Raise TemporaryFailure to retry later, PermanentFailure if all failed.

        A transport may also offer ``delivered(message_id) -> bool | None``: after
        an attempt was interrupted, True if the mail is known to have gone out,
        False if known not to, None if it cannot tell (the outbox sends again)."""

    def check(self) -> None: ...

    def close(self) -> None: ...
