"""Test helpers: build mails as members' clients do, and drive an instance of
the embedded default (Maildir + SQLite) in a temporary folder with a given clock."""

from __future__ import annotations

import atexit
import email
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon import config as configlib
from daemon.backends import open_mailbox, open_transport
from daemon.backends.maildir import ensure_maildir
from daemon.checks import load_config
from daemon.engine import Engine
from daemon.instance import instance_config
from daemon.simulate import member_mail
from daemon.store import Store

REPO = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Europe/Stockholm")

CHAIR = "karin.berg@example.org"
CHANCELLERY = "johan.ek@example.org"
MARIA = "maria.holm@example.org"
ERIK = "erik.sandberg@example.org"
LENA = "lena.akesson@example.org"
AHMED = "ahmed.karimi@example.org"
SOFIA = "sofia.lund@example.org"
PETER = "peter.nystrom@example.org"
MEMBERS = [CHAIR, CHANCELLERY, MARIA, ERIK, LENA, AHMED, SOFIA, PETER]
GROUP = "klg@example.org"
NAMES = {CHAIR: "Karin Berg", CHANCELLERY: "Johan Ek", MARIA: "Maria Holm", ERIK: "Erik Sandberg",
         LENA: "Lena Åkesson", AHMED: "Ahmed Karimi", SOFIA: "Sofia Lund", PETER: "Peter Nyström"}


def at(text: str) -> datetime:
    """A local Stockholm time from '2026-11-23 10:05'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def make_mail(sender: str = MARIA, subject: str = "Ett ärende", body: str = "Beskrivning.", *,
              to: str = GROUP, attachments: list[tuple[str, bytes, str]] = (), html: str | None = None,
              headers: dict[str, str] | None = None, message_id: str | None = None,
              reply_to: EmailMessage | None = None, date: datetime | None = None) -> bytes:
    """A mail as a member's client would send it. ``reply_to`` threads it onto a mail we sent."""
    return member_mail(sender, NAMES.get(sender, "Someone"), to, subject, body, date=date or at("2026-11-20 09:00"),
                       attachments=attachments, html=html, headers=headers, message_id=message_id,
                       reply_to=reply_to)


@dataclass
class Instance:
    """One klg instance in a folder: config, Maildirs, data."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "klg.toml"

    @property
    def config(self) -> configlib.Config:
        return load_config(self.config_path)

    @property
    def mailboxes(self) -> Path:
        return self.root / "mailboxes"

    def drop(self, raw: bytes, name: str | None = None) -> Path:
        """Put a message into inbox/new as a member's mail server would."""
        name = name or f"{len(list((self.mailboxes / 'inbox' / 'new').iterdir())) + 1:05d}.{os.getpid()}.eml"
        tmp = self.mailboxes / "inbox" / "tmp" / name
        tmp.write_bytes(raw)
        target = self.mailboxes / "inbox" / "new" / name
        tmp.rename(target)
        return target

    def tick(self, now: datetime) -> dict:
        """One pass of the engine, in-process, at ``now``."""
        config = self.config
        store = Store(config.data_dir)
        mailbox, transport = open_mailbox(config, store, lambda: now), open_transport(config)
        try:
            return Engine(config, store, mailbox, transport).tick(now)
        finally:
            mailbox.close()
            transport.close()
            store.close()

    def store(self) -> Store:
        return Store(self.config.data_dir)

    def sent(self) -> list[EmailMessage]:
        """Every mail the daemon delivered, oldest first."""
        folder = self.mailboxes / "sent"
        files = sorted([*(folder / "new").iterdir(), *(folder / "cur").iterdir()], key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]

    def sent_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent() if address in recipients(m)]

    def folder(self, name: str) -> list[Path]:
        return sorted(p for sub in ("new", "cur") for p in (self.mailboxes / name / sub).iterdir())

    def klg(self, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real command line against this instance."""
        return subprocess.run([sys.executable, "-m", "daemon", "--config", str(self.config_path), *args],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env={**os.environ, **(env or {})})

    def status(self, now: datetime | None = None) -> dict:
        args = ["status", "--json"] + (["--now", now.isoformat()] if now else [])
        result = self.klg(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def edit_config(self, old: str, new: str) -> None:
        text = self.config_path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in config"
        self.config_path.write_text(text.replace(old, new, 1), encoding="utf-8")


_EMPTY_STORE: list[Path] = []


def empty_store() -> Path:
    """The database of a new store, made once per test process by the shipped migrations.

    Migrating a new database is one committed transaction per migration (0.1–0.15 s in
    all); the suite makes thousands of instances, each starting from the same empty
    store, so they start from a copy. The migrations still run: here, once (a broken one
    fails every test), and wherever a test runs ``klg init`` or opens ``Store`` on a
    folder of its own."""
    if not _EMPTY_STORE:
        folder = Path(tempfile.mkdtemp(prefix="klg-empty-store-"))
        atexit.register(shutil.rmtree, folder, True)
        Store(folder / "data").close()  # the last connection's close folds the WAL into the file
        _EMPTY_STORE.append(folder / "data" / "klg.sqlite")
    return _EMPTY_STORE[0]


def new_instance(root: Path, backend: str = "maildir") -> Instance:
    """A new instance in ``root``, its store a copy of :func:`empty_store`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "klg.toml").write_text(instance_config(backend, templates=str(REPO / "templates")), encoding="utf-8")
    for folder in ("inbox", "processed", "quarantine", "sent"):
        ensure_maildir(root / "mailboxes" / folder)
    data = root / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    if not (data / "klg.sqlite").exists():
        fd = os.open(data / "klg.sqlite", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # owner-only, as Store makes it
        with os.fdopen(fd, "wb") as out, empty_store().open("rb") as source:
            shutil.copyfileobj(source, out)
    return Instance(root)


def recipients(msg: EmailMessage) -> list[str]:
    return sorted(a.addr_spec.lower() for h in ("To", "Cc") for a in (msg[h].addresses if msg[h] else []))


def body(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def attachment_names(msg: EmailMessage) -> list[str]:
    return [p.get_filename() for p in msg.iter_attachments()]


def attachment(msg: EmailMessage, name: str) -> bytes:
    for p in msg.iter_attachments():
        if p.get_filename() == name:
            return p.get_content() if isinstance(p.get_content(), bytes) else p.get_payload(decode=True)
    raise KeyError(f"{name} not among {attachment_names(msg)}")
