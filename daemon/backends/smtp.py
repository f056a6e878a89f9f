"""Sending through an SMTP server (smtplib): implicit TLS or STARTTLS, AUTH
with a password or XOAUTH2.

The outbox calls :meth:`SmtpTransport.send` for one stored message at a time
and does the retrying: this module only says what happened.

* 250 for some or all recipients: sent. Recipients refused with 5xx are
  returned (the outbox marks them failed and tells the chancellery once);
  recipients refused with 4xx while others were accepted are returned too,
  with the server's words, so one full mailbox never holds back the agenda
  for everyone else.
* 4xx for the whole message, a refused or broken connection, a refused login
  or an untrusted certificate: :class:`TemporaryFailure`, retried with
  backoff (a login or certificate problem is a configuration problem the
  operator fixes; the mail must not be lost meanwhile).
* 5xx for every recipient, the sender or the data: :class:`PermanentFailure`.

One connection is kept across a flush and checked with NOOP when it has been
quiet; a server that closed it is reconnected before anything is sent, so the
retry cannot send twice. If ``sent_folder`` is set, a copy of each sent mail
is appended there over the ``[mailbox]`` IMAP account, unless a message with
the same Message-ID is already there.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
from typing import Any

from daemon.backends import settings as backend_settings
from daemon.backends.imap_connection import ImapConnection, folder_name, server_separator
from daemon.backends.netconf import TokenSource, describe, login_failure, secret, tls_context, xoauth2_string
from daemon.backends.settings import SMTP_PORTS
from daemon.config import ConfigError
from daemon.faults import crash_point
from daemon.mail import MailError, PermanentFailure, TemporaryFailure
from daemon.mail.message import message_id_of

log = logging.getLogger("klg.mail.smtp")

QUIET_SECONDS = 20  # a connection unused this long is checked with NOOP before use
DOWN_SECONDS = 5  # after a failed connection, the rest of the queue waits this long without trying


class SmtpTransport:
    """The :class:`daemon.mail.Transport` for an SMTP server; see the module docstring."""

    def __init__(self, backend: Any, mailbox: Any = None, own_address: str | None = None):
        settings = dict(backend.settings)
        problems = backend_settings.smtp(settings)
        if settings.get("sent_folder") and (mailbox is None or getattr(mailbox, "backend", None) != "imap"):
            problems.append("transport.sent_folder needs [mailbox] backend = \"imap\": the copy is stored over that "
                            "IMAP account; remove sent_folder or use the IMAP mailbox")
        if problems:
            raise ConfigError("[transport]", problems)
        self.settings = settings
        self.security = settings.get("security", "tls")
        self.host = settings["host"]
        self.port = int(settings.get("port", SMTP_PORTS[self.security]))
        self.timeout = float(settings.get("timeout_seconds", 30))
        self.auth = settings.get("auth", "password")
        self.tokens = TokenSource(settings, "transport")
        self.sent_folder = settings.get("sent_folder")
        # a hidden envelope recipient: Postfix queues every recipient of one transaction together, so the
        # copy that comes back to the shared inbox proves the server took the mail (see the outbox)
        self.copy_to = own_address if settings.get("copy_to_self") else None
        self._mailbox_settings = dict(mailbox.settings) if mailbox is not None else None
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._down_until = 0.0
        self._down_reason = ""
        self._sent_copy = None  # ImapConnection for the Sent folder, made on first use
        self._sent_client = None

    @property
    def described(self) -> dict[str, Any]:
        """The settings with the effective host, port and timeout, for error messages."""
        return {**self.settings, "host": self.host, "port": self.port, "timeout_seconds": self.timeout}

    # --- connection ---------------------------------------------------------

    def _open(self) -> smtplib.SMTP:
        """Connect, secure and authenticate; MailError (one line) if that fails."""
        context = tls_context(self.settings) if self.security != "none" else None
        helo = self.settings.get("helo_name")
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=helo, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=helo, timeout=self.timeout)
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(f"SMTP {self.host}:{self.port} does not offer STARTTLS: use security = \"tls\" and "
                                    f"port 465, or ask the server's administrator to enable TLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.auth != "none":
                self._login(smtp)
            return smtp
        except MailError:
            _quit(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _quit(smtp)
            raise MailError(login_failure("SMTP", self.host, self.settings, _smtp_text(exc))) from None
        except smtplib.SMTPNotSupportedError:
            _quit(smtp)
            raise MailError(f"SMTP {self.host}:{self.port} offers no {self.auth.upper()} login here: it may need "
                            f"STARTTLS first (security = \"starttls\") or a different auth") from None
        except smtplib.SMTPResponseException as exc:
            _quit(smtp)
            raise MailError(f"SMTP {self.host}:{self.port} refused the session: {_smtp_text(exc)}") from None
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            _quit(smtp)
            raise MailError(describe(exc, "SMTP", self.described)) from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        user = self.settings["username"]
        if self.auth == "password":
            smtp.login(user, secret(self.settings, "transport", "password"))
            return
        if "xoauth2" not in (smtp.esmtp_features.get("auth", "").lower().split()):
            raise MailError(f"SMTP {self.host}:{self.port} does not offer AUTH XOAUTH2: check host and port "
                            f"(Microsoft 365: smtp.office365.com:587, security = \"starttls\")")
        sasl = xoauth2_string(user, self.tokens.token())

        def respond(challenge: bytes | None = None) -> str:
            return sasl if challenge is None else ""  # an error challenge is answered empty (RFC 7628 3.2.3)

        try:
            smtp.auth("XOAUTH2", respond, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError:
            self.tokens.forget()
            raise

    def _connection(self) -> smtplib.SMTP:
        """The open connection, checked with NOOP if it has been quiet; reconnects if it is gone."""
        if self._smtp is not None and time.monotonic() - self._last_used > QUIET_SECONDS:
            try:
                if self._smtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (OSError, smtplib.SMTPException):
                self._discard()
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        _quit(smtp)

    # --- the Transport interface ------------------------------------------------

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """Deliver ``raw`` to ``recipients``; return the refused ones. TemporaryFailure
        to retry later, PermanentFailure if nobody can get it."""
        if time.monotonic() < self._down_until:
            # the server just failed to take a connection: do not wait out a timeout per queued mail
            raise TemporaryFailure(self._down_reason)
        if self.sent_folder and self._sent_client is None:
            # log in to the Sent folder before the SMTP transaction, not after it: the time between
            # the server's 250 and the stored copy is the one window in which a crash sends twice
            try:
                self._sent_folder_client()
            except Exception as exc:
                self._drop_sent_client()
                log.warning("the Sent folder %r cannot be opened (%s); sending anyway", self.sent_folder,
                            describe(exc, "IMAP", self._mailbox_settings or {}))
        envelope = list(recipients)
        if self.copy_to and self.copy_to.lower() not in {r.lower() for r in recipients}:
            envelope.append(self.copy_to)
        try:
            refused = [r for r in self._send(raw, sender, envelope) if r != self.copy_to]
        except PermanentFailure as exc:
            exc.recipients = [r for r in exc.recipients if r != self.copy_to]
            raise
        except TemporaryFailure as exc:
            if self._smtp is None:  # no session: remember for a little while
                self._down_until, self._down_reason = time.monotonic() + DOWN_SECONDS, str(exc)
            raise
        except MailError as exc:
            self._discard()
            self._down_until, self._down_reason = time.monotonic() + DOWN_SECONDS, str(exc)
            raise TemporaryFailure(str(exc)) from None
        crash_point("smtp.after-accept")  # accepted, not yet recorded: only copy_to_self closes this window
        if self.sent_folder:
            self._copy_to_sent(raw)
        return refused

    def delivered(self, message_id: str) -> bool | None:
        """After an interrupted attempt: True if the Sent folder holds the copy
        made after the server accepted the mail. Otherwise None, never False:
        without a copy the mail may still have gone out (death between the
        server's 250 and the copy), so the outbox sends again — at least once,
        never lost — and counts it as unsure."""
        if not self.sent_folder:
            return None
        try:
            client = self._sent_folder_client()
            found = bool(client.search(["HEADER", "Message-ID", f"<{message_id.strip('<>')}>"]))
        except Exception as exc:
            self._drop_sent_client()
            raise MailError(f"cannot search the Sent folder {self.sent_folder!r} for {message_id}: "
                            f"{describe(exc, 'IMAP', self._mailbox_settings or {})}") from None
        return True if found else None

    def _sent_folder_client(self):
        if self._sent_client is None:
            self._sent_copy = self._sent_copy or ImapConnection(self._mailbox_settings, "mailbox")
            client = self._sent_copy.open()
            self._sent_name = folder_name(self.sent_folder, server_separator(client))
            if not client.folder_exists(self._sent_name):
                client.create_folder(self._sent_name)
            client.select_folder(self._sent_name)
            self._sent_client = client
        return self._sent_client

    def _drop_sent_client(self) -> None:
        client, self._sent_client = self._sent_client, None
        if client is not None:
            try:
                client.socket().close()
            except Exception:
                pass

    def _send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        for attempt in (1, 2):
            smtp = self._connection()
            try:
                options = ["SIZE=%d" % len(raw)] if smtp.has_extn("size") else []
                if smtp.has_extn("8bitmime") and not raw.isascii():
                    options.append("BODY=8BITMIME")  # Swedish text goes as 8bit (RFC 6152)
                code, text = smtp.mail(sender, options)
            except (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout) as exc:
                # nothing of this message has been sent yet: reconnect once and start over
                self._discard()
                if attempt == 2:
                    raise TemporaryFailure(describe(exc, "SMTP", self.described)) from None
                continue
            except (OSError, smtplib.SMTPException) as exc:
                self._discard()
                raise TemporaryFailure(describe(exc, "SMTP", self.described)) from None
            break
        self._last_used = time.monotonic()
        try:
            if code == 421:
                self._discard()
                raise TemporaryFailure(f"SMTP {self.host} is closing the connection: {code} {_text(text)}")
            if code != 250:
                self._reset()
                if code == 552 or b"5.3.4" in (text if isinstance(text, bytes) else b""):
                    raise PermanentFailure(f"SMTP {self.host} refused the message as too large ({len(raw)} bytes): "
                                           f"{code} {_text(text)}: send fewer or smaller attachments")
                what = f"SMTP {self.host} refused the sender {sender}: {code} {_text(text)}"
                if 400 <= code < 500:
                    raise TemporaryFailure(what)
                raise PermanentFailure(what + ": check that the account may send as this address")
            accepted, refused, temporary = [], {}, {}
            for rcpt in recipients:
                code, text = smtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted.append(rcpt)
                elif 400 <= code < 500:
                    temporary[rcpt] = f"{code} {_text(text)}"
                else:
                    refused[rcpt] = f"{code} {_text(text)}"
            if not accepted:
                self._reset()
                if temporary:
                    raise TemporaryFailure(f"SMTP {self.host} deferred every recipient: " + _join(temporary))
                raise PermanentFailure(f"SMTP {self.host} refused every recipient: " + _join(refused), sorted(refused))
            code, text = smtp.data(raw)
            self._last_used = time.monotonic()
            if code != 250:
                self._reset()
                what = f"SMTP {self.host} refused the message: {code} {_text(text)}"
                if 400 <= code < 500:
                    raise TemporaryFailure(what)
                raise PermanentFailure(what)
        except (TemporaryFailure, PermanentFailure):
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._discard()
            raise TemporaryFailure(describe(exc, "SMTP", self.described)) from None
        failed = {**refused, **{r: f"{t} (temporary; not retried)" for r, t in temporary.items()}}
        if failed:
            log.warning("SMTP %s: sent, but refused for %s", self.host, _join(failed))
        return sorted(failed)

    def _reset(self) -> None:
        try:
            self._smtp.rset()
        except Exception:
            self._discard()

    def _copy_to_sent(self, raw: bytes) -> None:
        """Append ``raw`` to the Sent folder unless its Message-ID is already there.
        A failure is logged, never raised: the mail itself went out."""
        try:
            client = self._sent_folder_client()
            message_id = message_id_of(raw)
            if message_id and client.search(["HEADER", "Message-ID", message_id]):
                return
            client.append(self._sent_name, raw, flags=[b"\\Seen"])
        except Exception as exc:
            self._drop_sent_client()
            log.warning("the copy in the Sent folder %r was not stored (%s); the mail itself was sent",
                        self.sent_folder, describe(exc, "IMAP", self._mailbox_settings or {}))

    def check(self) -> None:
        """Connect, secure and log in; MailError in one line if that fails."""
        smtp = self._open()
        _quit(smtp)
        if self.sent_folder:
            client = ImapConnection(self._mailbox_settings, "mailbox").open()
            try:
                if not client.folder_exists(self.sent_folder):
                    log.info("the Sent folder %r does not exist yet; klg creates it on the first copy", self.sent_folder)
            finally:
                try:
                    client.logout()
                except Exception:
                    pass

    def close(self) -> None:
        """Say QUIT and log out of the Sent folder's IMAP connection."""
        self._discard()
        client, self._sent_client = self._sent_client, None
        if client is not None:
            try:
                client.logout()
            except Exception:
                pass


def _quit(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:200]


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _join(found: dict[str, str]) -> str:
    return "; ".join(f"{r}: {t}" for r, t in sorted(found.items()))
