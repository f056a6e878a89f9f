"""Sending through Exchange (EWS): the exact MIME the daemon built (our
Message-ID and headers) goes to CreateItem, with a copy in the shared
mailbox's Sent Items unless ``save_sent = false``.

A failure is a :class:`TemporaryFailure` (busy, unreachable, misconfigured:
the outbox retries) or a :class:`PermanentFailure` (the message itself was
refused).
"""

from __future__ import annotations

import logging

from exchangelib import Message

from daemon.backends.envelope import with_bcc
from daemon.backends.exchange_account import ExchangeAccount
from daemon.backends.exchange_errors import PERMANENT_SEND_ERRORS, one_line
from daemon.config import Backend
from daemon.mail import MailError, PermanentFailure, TemporaryFailure

log = logging.getLogger("klg.mail.exchange")


class ExchangeTransport:
    """Sends through Exchange: the exact MIME, from the shared mailbox."""

    def __init__(self, backend_config: Backend, group_address: str):
        self.ex = ExchangeAccount(backend_config, group_address, "transport")
        self.save_sent = backend_config.settings.get("save_sent", True)

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """CreateItem with our MIME (SendAndSaveCopy into Sent Items, or SendOnly).
        Exchange takes the recipients from the MIME headers; envelope recipients
        missing there are added as Bcc. Returns [] (refusals come back as bounces)."""
        raw = with_bcc(raw, recipients)
        try:
            account = self.ex.account()
            message = Message(account=account, mime_content=raw)
            if self.save_sent:
                message.folder = account.sent
                message.send_and_save()
            else:
                message.send(save_copy=False)
        except MailError as exc:
            raise TemporaryFailure(str(exc)) from exc
        except PERMANENT_SEND_ERRORS as exc:
            raise PermanentFailure(f"Exchange refused the message: {type(exc).__name__}: {one_line(exc, 160)}") from exc
        except Exception as exc:  # everything else may pass: busy, unreachable, a permission still to be granted
            log.debug("exchange: sending failed", exc_info=True)
            raise TemporaryFailure(self.ex.explain(exc)) from exc
        return []

    def check(self) -> None:
        """Log in and open the Sent Items folder of the shared mailbox."""
        self.ex.run("opening Sent Items", lambda: self.ex.account().sent if self.save_sent else self.ex.account().inbox)

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        self.ex.close()

