"""The meeting book: one PDF with the agenda first and every attachment after
it, in agenda order, with a bookmark per item and per attachment.

Office documents and images are converted by LibreOffice; every PDF, a
member's or a conversion, is then cleaned in a child process
(``daemon.pdfclean``: no JavaScript, launch actions or embedded files, no
structures nested deep enough to crash a PDF library) and merged with
pikepdf. Both are done once per document: ``pdf_cache`` keeps the clean PDF
(or why there is none) by the document's SHA-256. An attachment that cannot
be converted or cleaned is left out and named in ``skipped``, so the mail and
the chancellery's report can say so; no document stops the book.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import PurePath

import pikepdf

from daemon import pdf as pdflib
from daemon import pdfclean
from daemon.store import Store, iso

log = logging.getLogger("klg.agenda")

CONVERTIBLE = {".doc", ".docx", ".docm", ".dot", ".dotx", ".odt", ".rtf", ".txt", ".xls", ".xlsx", ".xlsm", ".ods",
               ".csv", ".ppt", ".pptx", ".pptm", ".odp", ".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp"}


@dataclass
class Part:
    """One item's documents for the book."""

    label: str  # the bookmark: "KLG-2026-042 Budgetuppföljning"
    documents: list[dict]  # attachment rows (name, sha256, content_type)


@dataclass
class Book:
    data: bytes
    pages: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why)


def as_pdf(store: Store, name: str, sha256: str, now) -> tuple[bytes | None, str | None]:
    """The document as a clean PDF (converted and cleaned once, then cached), or (None, why not)."""
    cached = store.one("SELECT * FROM pdf_cache WHERE source_sha256 = ?", [sha256])
    if cached:
        return (store.files.get(cached["pdf_sha256"]), None) if cached["pdf_sha256"] else (None, cached["error"])
    data = store.files.get(sha256)
    try:
        if data[:5] != b"%PDF-":
            if PurePath(name).suffix.lower() not in CONVERTIBLE:
                return None, "not a document type LibreOffice converts"
            data = pdflib.to_pdf(data, name)
        out = pdfclean.clean(data)
    except pdflib.ConversionError as exc:
        if "not installed" in str(exc):
            raise  # not the document's fault: do not remember it as unconvertible
        if "did not finish" in str(exc):
            return None, str(exc)  # perhaps a busy machine: try again next time
        return _remember(store, sha256, None, str(exc), now)
    except pdfclean.Unusable as exc:
        if "took more than" in str(exc):
            return None, str(exc)
        return _remember(store, sha256, None, str(exc), now)
    return _remember(store, sha256, out, None, now)


def _remember(store: Store, sha256: str, pdf: bytes | None, error: str | None, now) -> tuple[bytes | None, str | None]:
    store.db["pdf_cache"].insert({"source_sha256": sha256, "pdf_sha256": store.files.put(pdf) if pdf else None,
                                  "error": error[:300] if error else None, "made_at": iso(now)}, replace=True)
    return pdf, error


def build(store: Store, agenda_pdf: bytes, agenda_label: str, parts: list[Part], now, title: str) -> Book:
    """The meeting book: ``agenda_pdf`` first, then each part's documents, bookmarked."""
    book = pikepdf.new()
    book.pages.extend(pikepdf.open(io.BytesIO(agenda_pdf)).pages)
    marks = [pikepdf.OutlineItem(agenda_label, 0)]
    skipped: list[tuple[str, str]] = []
    for part in parts:
        parent = None
        for doc in part.documents:
            data, why = as_pdf(store, doc["name"], doc["sha256"], now)
            if data is None:
                skipped.append((doc["name"], why or "?"))
                continue
            first = len(book.pages)
            try:
                book.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
            except Exception as exc:  # cleaned PDFs merge; should one not, it is left out, not the book
                del book.pages[first:]
                log.warning("meeting book: %s left out: %s", doc["name"], exc)
                skipped.append((doc["name"], str(exc)[:300]))
                continue
            if parent is None:
                parent = pikepdf.OutlineItem(part.label, first)
                marks.append(parent)
            parent.children.append(pikepdf.OutlineItem(doc["name"], first))
    with book.open_outline() as outline:
        outline.root.extend(marks)
    book.docinfo["/Title"] = title
    book.docinfo["/Producer"] = "klg"
    book.Root.PageMode = pikepdf.Name.UseOutlines
    out = io.BytesIO()
    book.save(out)
    return Book(out.getvalue(), len(book.pages), skipped)
