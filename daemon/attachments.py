"""Attachments of items: checking them on arrival and keeping them.

A document is looked at just enough to count its pages (for the long-document
rule) and to refuse files that would hurt whoever opens them later: archives
that expand far beyond their size (zip bombs disguised as .docx) and files over
the configured limits. Nothing here unpacks more than a few kilobytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from daemon.files import unique_names
from daemon.mail.message import Attachment
from daemon.store import Store, iso

OOXML = (".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm")
MAX_EXPANSION = 100  # uncompressed/compressed ratio beyond which an Office file is refused
MAX_UNPACKED = 500 * 1024 * 1024


@dataclass
class Checked:
    attachment: Attachment
    pages: int | None = None
    problem: str | None = None  # why it was not kept (plain language, Swedish and English)


class _SharedBytes(io.BytesIO):
    """A BytesIO that keeps sharing the bytes it was made from. pypdf asks a
    stream for ``getbuffer()`` when it has one, which makes BytesIO copy the
    whole document; without it pypdf seeks and reads like on a file."""

    @property
    def getbuffer(self):
        raise AttributeError("getbuffer")


def count_pages(att: Attachment) -> int | None:
    """Pages of a PDF or Word document if cheaply known, else None."""
    name = att.name.lower()
    try:
        if name.endswith(".pdf") or att.content_type == "application/pdf":
            from pypdf import PdfReader

            return len(PdfReader(_SharedBytes(att.data), strict=False).pages)
        if name.endswith(".docx"):
            with zipfile.ZipFile(io.BytesIO(att.data)) as z:
                info = z.getinfo("docProps/app.xml")
                if info.file_size > 1_000_000:
                    return None
                m = re.search(rb"<Pages>(\d+)</Pages>", z.read(info))
                return int(m[1]) if m else None
    except Exception:
        return None
    return None


def zip_bomb(att: Attachment) -> bool:
    """True when an Office (zip) file would expand absurdly."""
    if not att.name.lower().endswith(OOXML) and att.content_type not in ("application/zip",):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(att.data)) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False  # not a zip after all; LibreOffice will say so if it matters
    return total > MAX_UNPACKED or (total > 10 * 1024 * 1024 and total > MAX_EXPANSION * max(len(att.data), 1))


def check(attachments: list[Attachment], max_bytes: int, max_count: int, language: str) -> list[Checked]:
    """Decide per attachment whether it is kept, and count pages of the kept ones."""
    sv = language == "sv"
    out = []
    for n, att in enumerate(attachments):
        if n >= max_count:
            out.append(Checked(att, problem=(f"fler än {max_count} bilagor; {att.name} sparades inte" if sv
                                             else f"more than {max_count} attachments; {att.name} was not kept")))
        elif att.size > max_bytes:
            mb = max_bytes // (1024 * 1024)
            out.append(Checked(att, problem=(f"{att.name} är större än {mb} MB och sparades inte; dela en länk i stället" if sv
                                             else f"{att.name} is larger than {mb} MB and was not kept; share a link instead")))
        elif att.size == 0:
            out.append(Checked(att, problem=(f"{att.name} är tom och sparades inte" if sv else f"{att.name} is empty and was not kept")))
        elif zip_bomb(att):
            out.append(Checked(att, problem=(f"{att.name} ser skadad ut (packas upp till orimlig storlek) och sparades inte" if sv
                                             else f"{att.name} looks damaged (expands to an absurd size) and was not kept")))
        else:
            out.append(Checked(att, pages=count_pages(att)))
    return out


def keep(store: Store, item_id: str, checked: list[Checked], now, source_message: str | None,
         owner: str = "item", owner_id: str | None = None) -> list[dict]:
    """Store the kept attachments for ``item_id`` and return their rows."""
    existing = [a["name"] for a in store.attachments(owner_id or item_id, owner)]
    kept = [c for c in checked if c.problem is None]
    names = unique_names(existing + [c.attachment.name for c in kept])[len(existing):]
    rows = []
    for c, name in zip(kept, names):
        sha = store.files.put(c.attachment.data)
        row = {"item_id": item_id, "owner": owner, "owner_id": owner_id or item_id, "name": name, "sha256": sha,
               "size": c.attachment.size, "content_type": c.attachment.content_type, "pages": c.pages,
               "added_at": iso(now), "source_message": source_message}
        store.db["attachments"].insert(row)
        rows.append(row)
    return rows


def is_long(row: dict, max_pages: int, max_bytes: int) -> bool:
    """The long-document rule: more pages than allowed, or (pages unknown) larger than allowed."""
    if row.get("pages") is not None:
        return row["pages"] > max_pages
    return row["size"] > max_bytes
