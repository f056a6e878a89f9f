"""Connecting and logging in to an IMAP server, and its folder names.

:class:`ImapConnection` makes one logged-in connection from ``[mailbox]``-style
settings: implicit TLS or STARTTLS (always verified), then a password or
XOAUTH2 login. The shared mailbox uses it (``daemon.backends.imap``), and so
does the SMTP transport for its copy in a Sent folder.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from daemon.backends.netconf import TokenSource, describe, login_failure, secret, tls_context
from daemon.backends.settings import IMAP_PORTS
from daemon.mail import MailError


def server_separator(client: IMAPClient) -> str:
    """The server's hierarchy separator ("/" or "." mostly)."""
    try:
        found = client.list_folders("", "")
        separator = found[0][1] if found else None
    except IMAPClientError:
        separator = None
    if isinstance(separator, bytes):
        separator = separator.decode("ascii", "replace")
    return separator or "/"


def quiet_protocol_trace(client: IMAPClient) -> None:
    """Turn imaplib's own protocol trace off unless an administrator asked for it.

    imapclient sets imaplib's ``debug`` to 5 so that the trace goes to its
    ``imapclient.imaplib`` logger. imaplib then formats a ``%r`` of every line
    and of every fetched literal before the logger drops it: for a backlog of
    271 KB proposals that cost about 4 ms of CPU per message, more than the
    fetch itself. klg's logging keeps ``imapclient`` at WARNING, so the trace
    was never shown; whoever sets ``imapclient.imaplib`` to DEBUG to debug a
    server still gets it."""
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


def folder_name(configured: str, separator: str) -> str:
    """A configured folder name ("klg/Behandlat") with the server's separator."""
    return configured if separator == "/" else configured.replace("/", separator)


class ImapConnection:
    """One logged-in IMAP connection built from ``[mailbox]``-style settings;
    shared by the mailbox and by the transport's copy to a Sent folder."""

    def __init__(self, settings: dict[str, Any], section: str, tokens: TokenSource | None = None):
        self.settings = settings
        self.section = section
        self.security = settings.get("security", "tls")
        self.host = settings["host"]
        self.port = int(settings.get("port", IMAP_PORTS[self.security]))
        self.timeout = float(settings.get("timeout_seconds", 30))
        self.tokens = tokens or TokenSource(settings, section)

    @property
    def described(self) -> dict[str, Any]:
        """The settings with the effective host, port and timeout, for error messages."""
        return {**self.settings, "host": self.host, "port": self.port, "timeout_seconds": self.timeout}

    def open(self) -> IMAPClient:
        """Connect, secure and log in; raise MailError with a one-line explanation."""
        s = self.settings
        client = None
        try:
            context = tls_context(s) if self.security != "none" else None
            client = IMAPClient(self.host, port=self.port, ssl=self.security == "tls", ssl_context=context,
                                timeout=SocketTimeout(connect=self.timeout, read=self.timeout))
            quiet_protocol_trace(client)
            if self.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise MailError(f"IMAP {self.host}:{self.port} does not offer STARTTLS: use security = \"tls\" "
                                    f"and port 993, or ask the server's administrator to enable TLS")
                client.starttls(context)
            auth = s.get("auth", "password")
            if auth == "password":
                client.login(s["username"], secret(s, self.section, "password"))
            elif auth == "xoauth2":
                try:
                    client.oauth2_login(s["username"], self.tokens.token())
                except LoginError:
                    self.tokens.forget()
                    raise
            return client
        except LoginError as exc:
            close_quietly(client)
            raise MailError(login_failure("IMAP", self.host, s, exc)) from None
        except MailError:
            close_quietly(client)
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            close_quietly(client)
            raise MailError(describe(exc, "IMAP", self.described)) from None


def close_quietly(client: IMAPClient | None) -> None:
    """Shut a connection down without a word (it is being given up anyway)."""
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:
        pass
