"""The embedded default: Maildir folders under ``mailboxes/``.

``inbox/`` is the shared mailbox (drop a ``.eml`` into ``inbox/new/``),
``processed/`` and ``quarantine/`` receive handled mail, ``sent/`` is where
the Maildir transport "delivers" what the daemon sends. Moves are renames, so
a message is always in exactly one folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

from daemon.mail import InboxMessage, MailError, TemporaryFailure

SUBDIRS = ("tmp", "new", "cur")

BATCH = 100  # messages whose effects the engine commits together


def ensure_maildir(path: Path) -> Path:
    """Create a Maildir (tmp/new/cur) at ``path`` if it is not there."""
    for sub in SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


class MaildirMailbox:
    def __init__(self, root: str | Path, settings: dict[str, Any] | None = None, poll_seconds: float = 5.0):
        settings = settings or {}
        self.root = Path(root)
        self.inbox = self.root / settings.get("inbox", "inbox")
        self.folders = {f: self.root / settings.get(f, f) for f in ("processed", "quarantine")}
        self.poll_seconds = poll_seconds
        for path in (self.inbox, *self.folders.values()):
            ensure_maildir(path)

    def _entries(self) -> list[Path]:
        found = []
        for sub in ("new", "cur"):
            with os.scandir(self.inbox / sub) as it:
                found += [Path(e.path) for e in it if e.is_file() and not e.name.startswith(".")]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def fetch(self) -> Iterator[InboxMessage]:
        """The inbox's messages, oldest first, in batches of ``BATCH`` (the engine commits per batch)."""
        entries = self._entries()
        for n, path in enumerate(entries):
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # moved by someone else meanwhile
                continue
            last = n == len(entries) - 1 or n % BATCH == BATCH - 1
            yield InboxMessage(key=f"{path.parent.name}/{path.name}", raw=raw, last=last)

    def move(self, key: str, folder: str) -> None:
        sub, _, name = key.partition("/")
        source = self.inbox / sub / name
        if not source.exists():
            return
        base = name.split(":2,")[0]
        target = self.folders[folder] / "cur" / f"{base}:2,S"
        n = 1
        while target.exists():
            n += 1
            target = self.folders[folder] / "cur" / f"{base}.{n}:2,S"
        os.rename(source, target)

    def _signature(self) -> tuple:
        return tuple((self.inbox / s).stat().st_mtime_ns for s in ("new", "cur"))

    def wait(self, timeout: float) -> None:
        """Sleep until the inbox changes or ``timeout`` passes (cheap stat polling)."""
        before = self._signature()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if self._signature() != before:
                return

    def check(self) -> None:
        for path in (self.inbox, *self.folders.values()):
            if not os.access(path / "new", os.R_OK | os.W_OK):
                raise MailError(f"cannot read and write the Maildir {path}: check that it exists and belongs to the service user")

    def close(self) -> None:
        pass


def _hashed_name(data: bytes) -> str:
    """A sent mail's file name: the first 32 hex digits of the SHA-256 of ``data``."""
    import hashlib  # imported here, not at the top: start-up (issue 19): OpenSSL, only when mail goes

    return hashlib.sha256(data).hexdigest()[:32] + ".eml"


class MaildirTransport:
    """Delivers into the ``sent`` Maildir. The file name is derived from the
    message's Message-ID, so delivering the same outbox mail twice leaves one
    file, and :meth:`delivered` can tell after a crash whether it got there."""

    def __init__(self, root: str | Path, settings: dict[str, Any] | None = None):
        settings = settings or {}
        self.folder = ensure_maildir(Path(root) / settings.get("folder", "sent"))

    @staticmethod
    def file_name(message_id: str) -> str:
        """The file an outbox mail is delivered as (a Message-ID may hold '/', so it is hashed)."""
        return _hashed_name(message_id.strip("<>").encode("utf-8"))

    def _exists(self, name: str) -> bool:
        # a mail client that read it has moved it to cur/ and added flags (name:2,S)
        return (self.folder / "new" / name).exists() or any((self.folder / "cur").glob(name + "*"))

    def delivered(self, message_id: str) -> bool:
        """True if the mail with ``message_id`` is in the sent Maildir."""
        return self._exists(self.file_name(message_id))

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        from daemon.mail.message import message_id_of  # noqa: PLC0415 -- start-up (issue 19): parsing only when mail is sent

        message_id = message_id_of(raw)
        name = self.file_name(message_id) if message_id else _hashed_name(raw)
        if self._exists(name):
            return []
        target = self.folder / "new" / name
        tmp = self.folder / "tmp" / name
        try:
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:  # e.g. disk full: the outbox keeps it and retries
            tmp.unlink(missing_ok=True)
            raise TemporaryFailure(f"cannot write to the Maildir {self.folder}: {exc.strerror or exc}; "
                                   "free space or fix its permissions, klg retries") from exc
        return []

    def check(self) -> None:
        if not os.access(self.folder / "new", os.W_OK):
            raise MailError(f"cannot write to the Maildir {self.folder}: check that it belongs to the service user")

    def close(self) -> None:
        pass


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable: a delivery the outbox counts on must survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
