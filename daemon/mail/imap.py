"""The shared mailbox on an IMAP server (imapclient), waiting with IDLE.

How it stays correct:

* Everything in the inbox folder is unprocessed: handled mail is moved out,
  so after any reconnect a full search finds exactly the work left. A message
  handled but not yet moved (crash, lost connection) is found again, and
  intake knows its Message-ID: it is only moved, never acted on twice.
* A key is ``"<UIDVALIDITY>:<UID>"``. If the folder's UIDVALIDITY changed
  since the key was made (the folder was recreated or restored), :meth:`move`
  finds the message again by its Message-ID instead of trusting the UID.
* Moves use MOVE where the server has it, else COPY + ``\\Deleted`` +
  ``UID EXPUNGE`` of that one UID; never a bare EXPUNGE, which would remove
  other people's deleted mail. Without UIDPLUS the copy is left flagged
  ``\\Deleted`` (and skipped by klg) until someone expunges the folder.
* IDLE is entered after a search that found nothing, and left when a
  :meth:`wait` times out: the server syncs on DONE, which announces mail that
  arrived between the search and the start of IDLE (servers such as Dovecot
  do not sync when IDLE starts). A long wait re-issues IDLE every
  ``idle_minutes`` (well under the 29 minutes after which servers may drop an
  idle client); re-issuing also proves the connection alive, within
  ``timeout_seconds``. imapclient's ``idle_check`` swallows EOF, so an early,
  empty return is treated as a possibly dead connection and probed.
* Any error drops the connection; the next call reconnects, with exponential
  backoff up to ``reconnect_max_seconds`` while the server stays away.

UIDVALIDITY is remembered per folder for the life of the process; across
restarts no memory is needed, because the inbox holds only unprocessed mail
and intake's ``messages_in`` table remembers every Message-ID it handled.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import Future, ThreadPoolExecutor
import re
import socket
import ssl
import time
from typing import Any, Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from daemon.mail import InboxMessage, MailError
from daemon.mail.message import message_id_of
from daemon.mail.netconf import TokenSource, describe, secret, tls_context, validate_connection

log = logging.getLogger("klg.mail.imap")

PORTS = {"tls": 993, "starttls": 143, "none": 143}
KEYS = {
    "host", "port", "security", "tls_ca_file", "username", "auth", "password_env", "password_credential",
    "token_env", "token_credential", "token_command", "token_url", "client_id", "client_secret_env",
    "client_secret_credential", "scope", "inbox", "processed", "quarantine", "create_folders", "idle_minutes",
    "timeout_seconds", "reconnect_max_seconds", "fetch_batch_mb",
}
DEFAULT_FOLDERS = {"inbox": "INBOX", "processed": "klg/Behandlat", "quarantine": "klg/Karantän"}
MAX_IDLE_MINUTES = 25  # servers may drop a client idle for 30 minutes (RFC 2177: re-issue before 29)
NEW_MAIL = (b"EXISTS", b"RECENT")
BATCH_MESSAGES = 100  # at most this many messages per FETCH (and so per MOVE)
CHUNK = 1024 * 1024  # messages larger than this are fetched in pieces of this size


def validate(settings: dict[str, Any], section: str = "mailbox") -> list[str]:
    """Every problem with the ``[mailbox]`` settings of the IMAP backend, one line each."""
    p = validate_connection(settings, section, PORTS, KEYS)
    names = {}
    for key in DEFAULT_FOLDERS:
        value = settings.get(key, DEFAULT_FOLDERS[key])
        if not isinstance(value, str) or not value.strip():
            p.append(f"{section}.{key} = {value!r}: name an IMAP folder, e.g. {DEFAULT_FOLDERS[key]!r}")
        elif value.upper() in names:
            p.append(f"{section}.{key} = {value!r}: the same folder as {section}.{names[value.upper()]}; "
                     f"use a folder of its own")
        else:
            names[value.upper()] = key
    minutes = settings.get("idle_minutes", 10)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_IDLE_MINUTES:
        p.append(f"{section}.idle_minutes = {minutes!r}: use a number of minutes above 0 and at most "
                 f"{MAX_IDLE_MINUTES}; servers drop idle clients after about 30")
    cap = settings.get("reconnect_max_seconds", 60)
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 1 <= cap <= 3600:
        p.append(f"{section}.reconnect_max_seconds = {cap!r}: use a number of seconds between 1 and 3600")
    if not isinstance(settings.get("create_folders", True), bool):
        p.append(f"{section}.create_folders = {settings['create_folders']!r}: use true or false")
    batch = settings.get("fetch_batch_mb", 8)
    if isinstance(batch, bool) or not isinstance(batch, (int, float)) or not 0 < batch <= 256:
        p.append(f"{section}.fetch_batch_mb = {batch!r}: use a number of megabytes between 1 and 256")
    return p


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
        self.port = int(settings.get("port", PORTS[self.security]))
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
            _close(client)
            raise MailError(login_failure("IMAP", self.host, s, exc)) from None
        except MailError:
            _close(client)
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            _close(client)
            raise MailError(describe(exc, "IMAP", self.described)) from None


def login_failure(protocol: str, host: str, s: dict[str, Any], exc: BaseException) -> str:
    """The one line for a refused login, by auth kind."""
    detail = " ".join(str(exc).split())[:120]
    if s.get("auth") == "xoauth2":
        return (f"{protocol} {host}: XOAUTH2 login as {s.get('username')!r} refused ({detail}): the token was not "
                f"accepted for this mailbox; check the app's permission and scope (Microsoft 365: "
                f"IMAP.AccessAsApp/SMTP.SendAsApp granted, the app given access to the mailbox with "
                f"Add-MailboxPermission; Google: scope https://mail.google.com/)")
    where = s.get("password_env") or s.get("password_credential")
    return (f"{protocol} {host}: login as {s.get('username')!r} refused ({detail}): wrong user name or password; "
            f"check username and the password in {where!r}")


def _close(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:
        pass


class ImapMailbox:
    """The :class:`daemon.mail.Mailbox` on an IMAP server; see the module docstring."""

    def __init__(self, backend: Any):
        settings = dict(backend.settings)
        problems = validate(settings)
        if problems:
            from daemon.config import ConfigError

            raise ConfigError("[mailbox]", problems)
        self.settings = settings
        self.conn = ImapConnection(settings, "mailbox")
        self.inbox = settings.get("inbox", DEFAULT_FOLDERS["inbox"])
        self.folders = {k: settings.get(k, DEFAULT_FOLDERS[k]) for k in ("processed", "quarantine")}
        self.create_folders = settings.get("create_folders", True)
        self.idle_seconds = float(settings.get("idle_minutes", 10)) * 60
        self.reconnect_max = float(settings.get("reconnect_max_seconds", 60))
        self.batch_bytes = int(float(settings.get("fetch_batch_mb", 8)) * 1024 * 1024)
        self.client: IMAPClient | None = None
        self.uidvalidity: dict[str, int] = {}
        self._idling = False
        self._idle_since = 0.0
        self._dirty = True          # the inbox may hold mail we have not searched for
        self._failures = 0
        self._next_attempt = 0.0
        self._message_ids: dict[str, str | None] = {}
        self._can_move = self._can_uidplus = self._can_idle = False
        self._in_fetch = False
        self._pending: dict[str, list[int]] = {}  # target folder -> UIDs handled during a fetch, not yet moved
        self._stale: list[tuple[str, str | None, str]] = []  # (key, Message-ID, target) from an older UIDVALIDITY
        self._executor: ThreadPoolExecutor | None = None
        self._warned_no_uidplus = False

    # --- connection ---------------------------------------------------------

    def _connect(self, create: bool = True) -> IMAPClient:
        client = self.conn.open()
        try:
            self._can_move = client.has_capability("MOVE")
            self._can_uidplus = client.has_capability("UIDPLUS")
            self._can_idle = client.has_capability("IDLE")
            self._translate_folders(client)
            if not client.folder_exists(self.inbox):
                raise MailError(f"IMAP {self.conn.host}: the inbox folder {self.settings.get('inbox', 'INBOX')!r} does "
                                f"not exist: check "
                                f"mailbox.inbox (folder names are case-sensitive; the server's inbox is \"INBOX\")")
            for key, name in self.folders.items():
                if not client.folder_exists(name):
                    configured = self.settings.get(key, DEFAULT_FOLDERS[key])
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
            self._remember_uidvalidity(self.inbox, int(info[b"UIDVALIDITY"]))
        except MailError:
            _close(client)
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            _close(client)
            raise MailError(describe(exc, "IMAP", self.conn.described)) from None
        return client

    def _translate_folders(self, client: IMAPClient) -> None:
        """Config folder names use "/" between levels; use the server's own separator."""
        separator = server_separator(client)
        self.inbox = folder_name(self.settings.get("inbox", DEFAULT_FOLDERS["inbox"]), separator)
        self.folders = {k: folder_name(self.settings.get(k, DEFAULT_FOLDERS[k]), separator) for k in self.folders}

    def _remember_uidvalidity(self, folder: str, value: int) -> None:
        old = self.uidvalidity.get(folder)
        if old is not None and old != value:
            log.warning("IMAP folder %r was recreated (UIDVALIDITY %s -> %s): messages are matched again by "
                        "Message-ID, nothing is handled twice", folder, old, value)
        self.uidvalidity[folder] = value

    def _ready(self) -> bool:
        """Connected (connecting if due). False while waiting out the backoff;
        MailError if this attempt failed."""
        if self.client is not None:
            return True
        if time.monotonic() < self._next_attempt:
            return False
        try:
            self.client = self._connect()
        except MailError:
            self._failures += 1
            delay = min(self.reconnect_max, 2 ** (self._failures - 1))
            self._next_attempt = time.monotonic() + delay * random.uniform(0.8, 1.2)
            raise
        if self._failures:
            log.info("IMAP %s: connected again after %d failed attempts", self.conn.host, self._failures)
        self._failures = 0
        self._idling = False
        self._dirty = True
        return True

    def _drop(self, exc: BaseException | None = None) -> MailError:
        """Forget the connection after an error; return the error to raise."""
        client, self.client = self.client, None
        self._idling = False
        self._dirty = True
        self._pending.clear()  # handled but not moved: found again next time, and recognised
        self._stale.clear()
        if client is not None:
            try:
                client.socket().close()
            except Exception:
                pass
        if isinstance(exc, MailError):
            return exc
        return MailError(describe(exc, "IMAP", self.conn.described) if exc else "IMAP connection lost")

    def _end_idle(self) -> None:
        if self._idling:
            self._idling = False
            responses = self.client.idle_done()[1]
            if any(r[1:2] and r[1] in NEW_MAIL for r in responses if isinstance(r, tuple)):
                self._dirty = True

    # --- the Mailbox interface ------------------------------------------------

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message in the inbox folder, oldest first, one at a time.

        Messages are fetched in batches of up to ``fetch_batch_mb`` but handed
        out one by one; the search is repeated until it finds nothing new, so
        mail that arrives meanwhile is taken in the same pass."""
        try:
            if not self._ready():
                return
            if self._idling and not self._dirty:
                return  # in IDLE and the server announced nothing: nothing new
            # Out of IDLE the server tells nothing unasked, so search: wait() leaves IDLE at every
            # timeout, and a caller may fetch twice without waiting (klg tick, the benchmarks).
            self._end_idle()
            self._dirty = False
            # select again: a folder deleted and recreated under an open session shows its new UIDVALIDITY
            self._remember_uidvalidity(self.inbox, int(self.client.select_folder(self.inbox)[b"UIDVALIDITY"]))
            yielded: set[int] = set()
            self._in_fetch = True
            while True:
                self._flush_moves()
                uidvalidity = self.uidvalidity[self.inbox]
                sizes = self._sizes(self.client.search(["UNDELETED"]))
                todo = [u for u in sorted(sizes) if u not in yielded]
                if not todo:
                    return
                if (yield from self._hand_out(todo, sizes, uidvalidity, yielded)):
                    yielded.clear()  # reconnected meanwhile: search again under the new UIDVALIDITY
                    if not self._ready():
                        return
        except MailError:
            self._drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise self._drop(exc) from None
        finally:
            self._in_fetch = False
            self._finish_moves()

    def _flush_moves(self) -> None:
        """Move the UIDs collected during a fetch, one command per target folder."""
        while self._stale:
            key, message_id, target = self._stale.pop()
            uid = self._find(message_id, key)
            if uid is not None:
                self._pending.setdefault(target, []).append(uid)
        while self._pending:
            target, uids = next(iter(self._pending.items()))
            self._move_uids(sorted(uids), target)
            del self._pending[target]

    def _finish_moves(self) -> None:
        """The end of a fetch, however it ended: move what was handled. If the
        connection is gone the messages stay, and are recognised next time."""
        if not self._pending and not self._stale:
            return
        if self.client is None:
            self._pending.clear()
            self._stale.clear()
            return
        try:
            self._flush_moves()
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            log.warning("%s; the handled messages stay in the inbox until the next pass moves them",
                        self._drop(exc))

    def _hand_out(self, todo: list[int], sizes: dict[int, int], uidvalidity: int,
                  yielded: set[int]) -> Iterator[InboxMessage]:
        """Fetch ``todo`` in batches and yield each message; return True if the
        connection or the folder changed under us and the search must be redone.

        While the engine handles one batch, the next is fetched in a helper
        thread (the engine's moves only collect UIDs meanwhile; they are sent
        between batches), so waiting for the server overlaps with handling.
        Large messages are never fetched ahead: one at a time is in memory."""
        batches = list(self._batches(todo, sizes))
        ahead: Future | None = None
        try:
            for n, batch in enumerate(batches):
                fetched = ahead.result() if ahead is not None else self._load(batch, sizes)
                ahead = None
                self._flush_moves()  # the previous batch's moves, while no FETCH is under way
                following = batches[n + 1] if n + 1 < len(batches) else None
                if following and not self._large(following, sizes):
                    ahead = self._helper().submit(self._load, following, sizes)
                for uid in batch:
                    data = fetched.pop(uid, None)
                    if data is None or b"BODY[]" not in data:
                        continue  # moved or expunged by someone else meanwhile
                    raw = data.pop(b"BODY[]")
                    yielded.add(uid)
                    key = f"{uidvalidity}:{uid}"
                    self._message_ids[key] = message_id_of(raw)
                    yield InboxMessage(key=key, raw=raw)
                    del raw
                    if self.client is None or self.uidvalidity.get(self.inbox) != uidvalidity:
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
        return self.client.fetch(batch, ["BODY.PEEK[]"])

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
            found = self.client.fetch([uid], [f"BODY.PEEK[]<{offset}.{CHUNK}>"]).get(uid)
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
        found = self.client.fetch(uids, ["RFC822.SIZE"])
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

    def move(self, key: str, folder: str) -> None:
        """Move the message ``key`` from the inbox to ``processed`` or ``quarantine``.
        A lost connection is replaced once, at once, and the move tried again."""
        message_id = self._message_ids.pop(key, None)
        try:
            self._move(key, message_id, self.folders[folder])
        except MailError as first:
            if self.client is not None or self._failures:
                raise first
            log.info("%s; reconnecting to move %s", first, key)
            self._move(key, message_id, self.folders[folder])

    def _move(self, key: str, message_id: str | None, target: str) -> None:
        try:
            if not self._ready():
                raise MailError(f"IMAP {self.conn.host} is unreachable; the message stays in the inbox for now")
            self._end_idle()
            uidvalidity, _, uid_text = key.partition(":")
            uid = int(uid_text)
            if int(uidvalidity) != self.uidvalidity[self.inbox]:
                if self._in_fetch:  # the connection may be busy fetching ahead: look it up between batches
                    self._stale.append((key, message_id, target))
                    return
                uid = self._find(message_id, key)
                if uid is None:
                    return
            if self._in_fetch:
                # moved together after the batch: one command instead of one per message
                self._pending.setdefault(target, []).append(uid)
                return
            self._move_uids([uid], target)
        except MailError:
            self._drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise self._drop(exc) from None

    def _move_uids(self, uids: list[int], target: str) -> None:
        if self._can_move:
            self.client.move(uids, target)
            return
        self.client.copy(uids, target)
        self.client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self._can_uidplus:
            self.client.uid_expunge(uids)
        elif not self._warned_no_uidplus:
            self._warned_no_uidplus = True
            log.warning("IMAP %s has neither MOVE nor UIDPLUS: handled mail is copied and left flagged "
                        "\\Deleted in %r (klg never expunges other people's mail)", self.conn.host, self.inbox)

    def _find(self, message_id: str | None, key: str) -> int | None:
        """The current UID of a message whose key predates a UIDVALIDITY change."""
        if not message_id:
            log.warning("message %s: the folder was recreated and it has no Message-ID; it will be fetched again "
                        "and recognised by its content", key)
            return None
        found = sorted(self.client.search(["UNDELETED", "HEADER", "Message-ID", message_id]))
        if not found:
            return None  # already moved (by us before a reconnect, or by someone else)
        log.info("message %s (%s) found again as UID %s after the folder was recreated", key, message_id, found[0])
        return found[0]

    def wait(self, timeout: float) -> None:
        """Block until new mail may have arrived or ``timeout`` seconds passed, in
        IDLE when the server has it (left at the timeout, re-issued every idle_minutes meanwhile).
        A connection lost while waiting is replaced at once; MailError only if
        that fails (the engine then pauses and the backoff applies)."""
        try:
            self._wait(timeout)
        except MailError as lost:
            if self.client is not None or self._failures:
                raise
            log.warning("%s; reconnecting", lost)
            self._ready()  # raises MailError if the server is still away

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            if not self._ready():
                time.sleep(max(0.0, min(deadline, self._next_attempt) - time.monotonic()))
                return
            self._flush_moves()
            if self._dirty:
                return
            if not self._can_idle:
                time.sleep(max(0.0, deadline - time.monotonic()))
                self._dirty = True
                return
            if not self._idling:
                if self.client.search(["UNDELETED"]):  # arrived after the last search, before IDLE
                    self._dirty = True
                    return
                self.client.idle()
                self._idling, self._idle_since = True, time.monotonic()
            while True:
                now = time.monotonic()
                if now - self._idle_since >= self.idle_seconds:
                    self._end_idle()  # re-issue; also proves the connection alive
                    if self._dirty:
                        return
                    self.client.idle()
                    self._idling, self._idle_since = True, time.monotonic()
                    continue
                remaining = deadline - now
                if remaining <= 0:
                    # Leave IDLE at every timeout: DONE makes the server sync, and mail that came
                    # between the search above and IDLE's start is only announced by a sync
                    # (Dovecot at its next keepalive, about 20 s; other servers perhaps not before
                    # IDLE is re-issued). So it waits at most one wait(), not idle_minutes.
                    self._end_idle()
                    return
                span = min(remaining, self.idle_seconds - (now - self._idle_since))
                responses = self.client.idle_check(timeout=span)
                if any(r[0] == b"BYE" for r in responses if isinstance(r, tuple) and r):
                    raise self._drop(MailError(f"IMAP {self.conn.host} closed the connection (BYE); reconnecting"))
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] in NEW_MAIL for r in responses):
                    self._dirty = True
                    return
                if not responses and time.monotonic() - now < span - 0.05:
                    # idle_check returns early and empty on EOF: probe the connection
                    self._end_idle()
                    self.client.idle()
                    self._idling, self._idle_since = True, time.monotonic()
        except MailError:
            self._drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise self._drop(exc) from None

    def check(self) -> None:
        """Connect, log in and look at the folders; MailError in one line if anything fails."""
        client = self._connect(create=False)
        _close(client)

    def close(self) -> None:
        """Leave IDLE and log out."""
        if self.client is not None and self._pending and not self._idling:
            self._finish_moves()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self._idling:
                client.idle_done()
            client.logout()
        except Exception:
            pass
        finally:
            self._idling = False
            try:
                client.socket().close()
            except Exception:
                pass
