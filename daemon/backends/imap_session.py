"""The shared mailbox's one IMAP connection, and what holds only while it lasts.

:class:`ImapSession` connects (checking, and creating when allowed, the
processed and quarantine folders), reconnects with exponential backoff up to
``reconnect_max_seconds`` while the server stays away, and forgets everything
tied to the connection when it is dropped after an error: the IDLE state, the
moves not yet sent, the server's capabilities. The folder's UIDVALIDITY is
remembered for the life of the process, so a recreated folder is noticed, and
in the store (``imap_state``, given by the daemon) across restarts.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from daemon.backends.imap_connection import ImapConnection, close_quietly, folder_name, server_separator
from daemon.backends.imap_state import ImapState
from daemon.backends.netconf import describe
from daemon.backends.settings import IMAP_FOLDERS
from daemon.mail import MailError

log = logging.getLogger("klg.mail.imap")

NEW_MAIL = (b"EXISTS", b"RECENT")


class ImapSession:
    """The connection of an :class:`~daemon.backends.imap.ImapMailbox` and its state.

    ``dirty`` says the inbox may hold mail not searched for yet; ``pending``
    (target folder -> UIDs) and ``stale`` (key, Message-ID, target: keys from an
    older UIDVALIDITY) are moves handled during a fetch and not yet sent."""

    def __init__(self, settings: dict[str, Any], state: ImapState | None = None):
        self.settings = settings
        self.state = state  # None: check-config and tests that open a mailbox without a store
        self.conn = ImapConnection(settings, "mailbox")
        self.inbox = settings.get("inbox", IMAP_FOLDERS["inbox"])
        self.folders = {k: settings.get(k, IMAP_FOLDERS[k]) for k in ("processed", "quarantine")}
        self.create_folders = settings.get("create_folders", True)
        self.reconnect_max = float(settings.get("reconnect_max_seconds", 60))
        self.client: IMAPClient | None = None
        self.uidvalidity: dict[str, int] = {}
        self.idling = False
        self.idle_since = 0.0
        self.dirty = True
        self.failures = 0
        self.next_attempt = 0.0
        self.can_move = self.can_uidplus = self.can_idle = False
        self.registered: bool | None = None  # the server took klg's push registration on this connection (imap_push)
        self.pending: dict[str, list[int]] = {}
        self.stale: list[tuple[str, str | None, str]] = []

    def connect(self, create: bool = True) -> IMAPClient:
        """A new logged-in connection with the inbox selected; the processed and
        quarantine folders are created when missing (``create``: not for check())."""
        client = self.conn.open()
        try:
            self.can_move = client.has_capability("MOVE")
            self.can_uidplus = client.has_capability("UIDPLUS")
            self.can_idle = client.has_capability("IDLE")
            self._translate_folders(client)
            if not client.folder_exists(self.inbox):
                raise MailError(f"IMAP {self.conn.host}: the inbox folder {self.settings.get('inbox', 'INBOX')!r} does "
                                f"not exist: check "
                                f"mailbox.inbox (folder names are case-sensitive; the server's inbox is \"INBOX\")")
            for key, name in self.folders.items():
                if not client.folder_exists(name):
                    configured = self.settings.get(key, IMAP_FOLDERS[key])
                    if not self.create_folders:
                        raise MailError(f"IMAP {self.conn.host}: the {key} folder {configured!r} does not exist: create "
                                        f"it in a mail client, or set mailbox.create_folders = true to let klg create it")
                    if not create:
                        continue  # check(): the daemon creates it on its first connection
                    try:
                        client.create_folder(name)
                    except IMAPClientError as exc:
                        raise MailError(f"IMAP {self.conn.host}: the {key} folder {configured!r} could not be created "
                                        f"({' '.join(str(exc).split())[:120]}): create it in a mail client or change "
                                        f"mailbox.{key}") from None
                    log.info("created the IMAP folder %r (%s)", name, key)
            info = client.select_folder(self.inbox)
            self.remember_uidvalidity(self.inbox, int(info[b"UIDVALIDITY"]))
        except MailError:
            close_quietly(client)
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            close_quietly(client)
            raise MailError(describe(exc, "IMAP", self.conn.described)) from None
        return client

    def _translate_folders(self, client: IMAPClient) -> None:
        """Config folder names use "/" between levels; use the server's own separator."""
        separator = server_separator(client)
        self.inbox = folder_name(self.settings.get("inbox", IMAP_FOLDERS["inbox"]), separator)
        self.folders = {k: folder_name(self.settings.get(k, IMAP_FOLDERS[k]), separator) for k in self.folders}

    def remember_uidvalidity(self, folder: str, value: int) -> None:
        """Note the folder's UIDVALIDITY; a change means keys made before it name other messages.
        The value is also kept in the store, so a change while klg was stopped is noticed."""
        old = self.uidvalidity.get(folder)
        if old != value and self.state is not None:
            stored = self.state.record(folder, value)
            old = old if old is not None else stored
        if old is not None and old != value:
            log.warning("IMAP folder %r was recreated (UIDVALIDITY %s -> %s): messages are matched again by "
                        "Message-ID, nothing is handled twice", folder, old, value)
        self.uidvalidity[folder] = value

    def ready(self) -> bool:
        """Connected (connecting if due). False while waiting out the backoff;
        MailError if this attempt failed."""
        if self.client is not None:
            return True
        if time.monotonic() < self.next_attempt:
            return False
        try:
            self.client = self.connect()
        except MailError:
            self.failures += 1
            delay = min(self.reconnect_max, 2 ** (self.failures - 1))
            self.next_attempt = time.monotonic() + delay * random.uniform(0.8, 1.2)
            raise
        if self.failures:
            log.info("IMAP %s: connected again after %d failed attempts", self.conn.host, self.failures)
        self.failures = 0
        self.idling = False
        self.dirty = True
        self.registered = None
        return True

    def drop(self, exc: BaseException | None = None) -> MailError:
        """Forget the connection after an error; return the error to raise."""
        client, self.client = self.client, None
        self.idling = False
        self.dirty = True
        self.pending.clear()  # handled but not moved: found again next time, and recognised
        self.stale.clear()
        if client is not None:
            try:
                client.socket().close()
            except Exception:
                pass
        if isinstance(exc, MailError):
            return exc
        return MailError(describe(exc, "IMAP", self.conn.described) if exc else "IMAP connection lost")

    def start_idle(self) -> None:
        """Enter IDLE now."""
        self.client.idle()
        self.idling, self.idle_since = True, time.monotonic()

    def end_idle(self) -> None:
        """Leave IDLE if in it; mail the server announces on DONE makes the inbox dirty."""
        if self.idling:
            self.idling = False
            responses = self.client.idle_done()[1]
            if any(r[1:2] and r[1] in NEW_MAIL for r in responses if isinstance(r, tuple)):
                self.dirty = True

    def close(self) -> None:
        """Leave IDLE and log out, quietly."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self.idling:
                client.idle_done()
            client.logout()
        except Exception:
            pass
        finally:
            self.idling = False
            try:
                client.socket().close()
            except Exception:
                pass
