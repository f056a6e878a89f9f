"""Attachments of items: checking them on arrival and keeping them.

A document is looked at just enough to count its pages (for the long-document
rule) and to refuse files that would hurt whoever opens them later: archives
that expand far beyond their size or lie about it (zip bombs disguised as
.docx), Office files with DTDs, and files over the configured limits. Office
files and zip archives are streamed through ``officezip`` (inflated in small
pieces, never held); nothing here keeps more than a megabyte of what it unpacks.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from daemon import officezip
from daemon.files import unique_names
from daemon.store import Store, iso

if TYPE_CHECKING:  # annotations only: parsing mail is loaded when mail comes (start-up, issue 19)
    from daemon.mail.message import Attachment

log = logging.getLogger("klg.attachments")

OOXML = (".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".dotx", ".potx", ".xltx")
ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
# Why an archive is refused; other findings (damaged, not a zip after all) leave the file to whoever opens it.
HOSTILE = ("bomb", "too_large", "too_many_entries", "dtd")


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


def look(att: Attachment) -> None:
    """Find out ahead what :func:`check` asks of ``att`` (whether it is hostile, else its pages)
    and keep it on the attachment; a second process does this while the daemon is busy
    (``daemon.ahead``). Both are functions of the file's bytes, name and type alone."""
    refused = hostile(att)
    att.known = {"hostile": refused} if refused is not None else {"hostile": None, "pages": count_pages(att)}


def count_pages(att: Attachment) -> int | None:
    """Pages of a PDF or Word document if cheaply known, else None (also for any broken file)."""
    if "pages" in att.known:
        return att.known["pages"]
    name = att.name.lower()
    try:
        if name.endswith(".pdf") or att.content_type == "application/pdf":
            from pypdf import PdfReader

            return len(PdfReader(_SharedBytes(att.data), strict=False).pages)
        if name.endswith(".docx"):
            app = officezip.member(att.data, "docProps/app.xml", 1_000_000)
            m = re.search(rb"<Pages>(\d{1,6})</Pages>", app or b"")
            return int(m[1]) if m else None
    except Exception as exc:  # RecursionError too: a damaged document has no page count, and that is all
        log.info("no page count for %s: %s: %s", att.name, type(exc).__name__, str(exc)[:200])
        return None
    return None


def hostile(att: Attachment) -> officezip.Refused | None:
    """Why an Office file or zip archive must not be kept (it expands absurdly, lies about
    its size, or holds a DTD), or None."""
    if "hostile" in att.known:
        return att.known["hostile"]
    if not att.name.lower().endswith((*OOXML, ".zip")) and att.content_type not in ZIP_TYPES:
        return None
    try:
        officezip.scan(att.data)
    except officezip.Refused as refused:
        return refused if refused.reason in HOSTILE else None
    return None


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
        elif (refused := hostile(att)) is not None:
            log.warning("attachment %s not kept: %s", att.name, refused)
            out.append(Checked(att, problem=_refusal(att.name, refused, sv)))
        else:
            out.append(Checked(att, pages=count_pages(att)))
    return out


def _refusal(name: str, refused: officezip.Refused, sv: bool) -> str:
    if refused.reason == "dtd":
        return (f"{name} innehåller en DTD (<!DOCTYPE>), som Office aldrig skriver, och sparades inte; spara om "
                "filen i Office och skicka den igen" if sv else
                f"{name} contains a DTD (<!DOCTYPE>), which Office never writes, and was not kept; save the file "
                "again in Office and send it again")
    return (f"{name} ser skadad ut (packas upp till orimlig storlek) och sparades inte" if sv
            else f"{name} looks damaged (expands to an absurd size) and was not kept")


def keep(store: Store, item_id: str, checked: list[Checked], now, source_message: str | None,
         owner: str = "item", owner_id: str | None = None) -> list[dict]:
    """Store the kept attachments for ``item_id`` and return their rows."""
    existing = [a["name"] for a in store.attachments(owner_id or item_id, owner)]
    kept = [c for c in checked if c.problem is None]
    names = unique_names([c.attachment.name for c in kept], taken=existing)
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


def came_in_late(rows: list[dict], max_pages: int, max_bytes: int, deadline: datetime) -> bool:
    """Whether a long document among ``rows`` (attachment rows) came in after
    ``deadline``, the long-document deadline of the meeting the item is on now.
    Asked again for each meeting, so a warning never travels with a moved item."""
    return any(is_long(r, max_pages, max_bytes) and datetime.fromisoformat(r["added_at"]) > deadline for r in rows)
