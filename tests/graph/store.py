"""The responder's mailboxes, kept in real Maildir folders on disk.

A mailbox lives in ``<base>/<address>/``, which stands for Exchange's ``msgfolderroot``. Every mail
folder is a Maildir (``tmp/ new/ cur/``) in a sub-directory named ``.`` + its display name,
nested for child folders (Maildir++ style, as Dovecot and Python's ``mailbox.Maildir`` do it):
``Inbox/Behandlat`` is ``<base>/<address>/.Inbox/.Behandlat/``. A test can therefore drop a mail
into ``.Inbox/new/`` by hand, or read what was sent from ``.Sent Items/``, with nothing but the
file system; Graph sees it on the next request because nothing is cached.

Ids are opaque to a Graph client, as Microsoft's are; here they are reversible (the folder path
and Maildir key, base64url-encoded behind the ``AAMkA`` prefix that Exchange ids begin with), so
a moved message gets a new id and its old id stops resolving, as Graph documents for ``move``.
The time a message was received is its file's modification time (a rename keeps it).
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import mailbox
import os
import threading
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

# The well-known folder names a client may use instead of an id (mailFolder resource type) and
# the display names Exchange gives them in an English mailbox.
WELL_KNOWN = {"msgfolderroot": "", "inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts",
              "deleteditems": "Deleted Items", "junkemail": "Junk Email"}
ID_PREFIX = "AAMkA"


def _encode_name(name: str) -> str:
    return "." + name.replace("%", "%25").replace("/", "%2F")


def _decode_name(part: str) -> str:
    return part[1:].replace("%2F", "/").replace("%25", "%")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_id(value: str) -> tuple[str, str, str]:
    """(kind "F" or "M", folder path on disk, Maildir key) of an id; ValueError if it is none of ours."""
    if not value.startswith(ID_PREFIX):
        raise ValueError(value)
    text = base64.urlsafe_b64decode(value[len(ID_PREFIX):].encode()).decode()
    kind, rest = text[:1], text[1:]
    rel, _, key = rest.partition("\0")
    if kind not in "FM" or (kind == "M") != bool(key) or ".." in rel.split("/"):
        raise ValueError(value)
    return kind, rel, key


def new_key() -> str:
    """A fresh Maildir unique name (time, random part, host), as a delivery agent makes one."""
    return f"{int(dt.datetime.now().timestamp())}.R{uuid.uuid4().hex}.graph-responder"


@dataclass(frozen=True)
class Folder:
    """One mail folder: ``rel`` is its path below the mailbox directory ("" is msgfolderroot)."""

    store: "MailStore"
    rel: str

    @property
    def path(self) -> Path:
        return self.store.root / self.rel if self.rel else self.store.root

    @property
    def id(self) -> str:
        return ID_PREFIX + _b64("F" + self.rel)

    @property
    def name(self) -> str:
        return _decode_name(self.rel.rsplit("/", 1)[-1]) if self.rel else "Top of Information Store"

    @property
    def parent(self) -> "Folder | None":
        if not self.rel:
            return None
        return Folder(self.store, self.rel.rpartition("/")[0])

    @property
    def display_path(self) -> str:
        """'Inbox/Behandlat': the display names from the root down."""
        return "/".join(_decode_name(p) for p in self.rel.split("/")) if self.rel else ""

    def children(self) -> list["Folder"]:
        if not self.path.is_dir():
            return []
        return [Folder(self.store, f"{self.rel}/{p.name}" if self.rel else p.name)
                for p in sorted(self.path.iterdir()) if p.name.startswith(".") and (p / "cur").is_dir()]

    def child(self, name: str) -> "Folder | None":
        """The child folder named ``name`` (Exchange compares folder names case-insensitively)."""
        return next((c for c in self.children() if c.name.casefold() == name.casefold()), None)

    def create_child(self, name: str) -> "Folder":
        folder = Folder(self.store, f"{self.rel}/{_encode_name(name)}" if self.rel else _encode_name(name))
        mailbox.Maildir(folder.path, create=True)
        return folder

    def items(self) -> list["Item"]:
        """The messages in the folder, oldest received first."""
        found = []
        if self.rel:
            for sub in ("new", "cur"):
                directory = self.path / sub
                for name in os.listdir(directory) if directory.is_dir() else ():
                    if not name.startswith("."):
                        found.append(Item(self, name.split(":", 1)[0], directory / name))
        return sorted(found, key=lambda i: (i.file.stat().st_mtime_ns, i.key))

    def item(self, key: str) -> "Item | None":
        return next((i for i in self.items() if i.key == key), None)

    def add(self, raw: bytes, received: dt.datetime | None = None) -> "Item":
        """Deliver ``raw`` into this folder (tmp/ then new/, as a delivery agent does)."""
        key = mailbox.Maildir(self.path, create=True).add(raw)
        item = self.item(key)
        if received is not None:
            stamp = received.timestamp()
            os.utime(item.file, (stamp, stamp))
        return item

    def messages(self) -> list[EmailMessage]:
        """The messages in the folder, parsed, oldest first (for tests to assert on)."""
        return [i.message for i in self.items()]


@dataclass(frozen=True)
class Item:
    """One message file in a folder."""

    folder: Folder
    key: str
    file: Path

    @property
    def id(self) -> str:
        return ID_PREFIX + _b64("M" + self.folder.rel + "\0" + self.key)

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.file.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)

    @property
    def raw(self) -> bytes:
        return self.file.read_bytes()

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def move(self, target: Folder) -> "Item":
        """Move to ``target`` under a new key (so a new id), keeping the time received."""
        mailbox.Maildir(target.path, create=True)
        key = new_key()
        destination = target.path / "cur" / f"{key}:2,"
        os.rename(self.file, destination)
        return Item(target, key, destination)

    def replace(self, raw: bytes) -> None:
        """Rewrite the message in place (a draft that got an attachment), keeping id and time."""
        stat = self.file.stat()
        tmp = self.folder.path / "tmp" / f"{self.key}.rewrite"
        tmp.write_bytes(raw)
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, self.file)


class MailStore:
    """One mailbox: its folders, resolved from the disk on every call."""

    def __init__(self, root: Path, address: str):
        self.root = root
        self.address = address.lower()
        self.lock = threading.RLock()  # moves and sends change several files
        root.mkdir(parents=True, exist_ok=True)
        for name in WELL_KNOWN.values():
            if name:
                mailbox.Maildir(root / _encode_name(name), create=True)

    @property
    def rootfolder(self) -> Folder:
        return Folder(self, "")

    def well_known(self, name: str) -> Folder | None:
        display = WELL_KNOWN.get(name.lower())
        return None if display is None else (Folder(self, _encode_name(display)) if display else self.rootfolder)

    def folder(self, ref: str) -> Folder | None:
        """A folder by id or well-known name; None if there is no such folder."""
        known = self.well_known(ref)
        if known is not None:
            return known
        kind, rel, _ = decode_id(ref)
        folder = Folder(self, rel)
        return folder if kind == "F" and (not rel or (folder.path / "cur").is_dir()) else None

    def path(self, display_path: str) -> Folder | None:
        """A folder by display names from the root, e.g. 'Inbox/Behandlat' or 'Sent Items'."""
        folder = self.rootfolder
        for part in display_path.split("/"):
            folder = folder.child(part) if folder else None
        return folder

    def item(self, ref: str) -> Item | None:
        """A message by id; None if it is not (or no longer) there."""
        kind, rel, key = decode_id(ref)
        if kind != "M" or not (self.root / rel / "cur").is_dir():
            return None
        return Folder(self, rel).item(key)

    def all_items(self) -> list[Item]:
        """Every message in the mailbox, in every folder."""
        found, todo = [], [self.rootfolder]
        while todo:
            folder = todo.pop()
            found.extend(folder.items())
            todo.extend(folder.children())
        return found


def recipients(msg: EmailMessage) -> list[str]:
    """The envelope recipients a transport takes from the header (To, Cc, Bcc), lower-cased, once each."""
    seen: list[str] = []
    for _, addr in getaddresses([str(v) for h in ("To", "Cc", "Bcc") for v in msg.get_all(h, [])]):
        if addr and addr.lower() not in seen:
            seen.append(addr.lower())
    return seen


def headers_of(raw: bytes) -> EmailMessage:
    """Only the header of ``raw``, parsed (quick even for a 30 MB message)."""
    return BytesHeaderParser(policy=email.policy.default).parsebytes(raw)


def drop_header(raw: bytes, name: str) -> bytes:
    """``raw`` without the header field ``name`` (and its folded lines); the body is left byte for byte."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    cut = min(ends) if ends else len(raw)
    kept, dropping = [], False
    for line in raw[:cut].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() == name.lower().encode()
        if not dropping:
            kept.append(line)
    return b"".join(kept) + raw[cut:]
