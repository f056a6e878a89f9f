"""The meeting book: one PDF with the agenda first and every attachment after
it, in agenda order, with a bookmark per item and per attachment.

Office documents and images are converted by LibreOffice (each document
once: conversions are cached in ``pdf_cache`` by the document's SHA-256),
PDFs are merged with pypdf. An attachment that cannot be converted is left
out and named in ``skipped`` so the mail can say so.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import PurePath

from pypdf import PdfReader, PdfWriter

from daemon import pdf as pdflib
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


def is_pdf(name: str, data: bytes) -> bool:
    return data[:5] == b"%PDF-" or PurePath(name).suffix.lower() == ".pdf"


def as_pdf(store: Store, name: str, sha256: str, now) -> tuple[bytes | None, str | None]:
    """The document as PDF bytes (converted once, then cached), or (None, why not)."""
    data = store.files.get(sha256)
    if data[:5] == b"%PDF-":
        return data, None
    if PurePath(name).suffix.lower() not in CONVERTIBLE:
        return None, "not a document type LibreOffice converts"
    cached = store.one("SELECT * FROM pdf_cache WHERE source_sha256 = ?", [sha256])
    if cached:
        return (store.files.get(cached["pdf_sha256"]), None) if cached["pdf_sha256"] else (None, cached["error"])
    try:
        out = pdflib.to_pdf(data, name)
    except pdflib.ConversionError as exc:
        if "not installed" in str(exc):
            raise  # not the document's fault: do not remember it as unconvertible
        if "did not finish" in str(exc):
            return None, str(exc)  # perhaps a busy machine: try again next time
        store.db["pdf_cache"].insert({"source_sha256": sha256, "pdf_sha256": None, "error": str(exc)[:300],
                                      "made_at": iso(now)}, replace=True)
        return None, str(exc)
    store.db["pdf_cache"].insert({"source_sha256": sha256, "pdf_sha256": store.files.put(out), "error": None,
                                  "made_at": iso(now)}, replace=True)
    return out, None


def _reader(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("the PDF is password-protected")
    _ = len(reader.pages)  # raises on a PDF without a readable page tree
    return reader


def build(store: Store, agenda_pdf: bytes, agenda_label: str, parts: list[Part], now, title: str) -> Book:
    """The meeting book: ``agenda_pdf`` first, then each part's documents, bookmarked."""
    writer = PdfWriter()
    writer.append(_reader(agenda_pdf), import_outline=False)
    writer.add_outline_item(title=agenda_label, page_number=0)
    skipped: list[tuple[str, str]] = []
    for part in parts:
        parent = None
        for doc in part.documents:
            data, why = as_pdf(store, doc["name"], doc["sha256"], now)
            if data is None:
                skipped.append((doc["name"], why or "?"))
                continue
            try:
                reader = _reader(data)
            except Exception as exc:  # a damaged or protected PDF must not stop the book
                skipped.append((doc["name"], str(exc)))
                continue
            first = len(writer.pages)
            writer.append(reader, import_outline=False)
            if parent is None:
                parent = writer.add_outline_item(title=part.label, page_number=first)
            writer.add_outline_item(title=doc["name"], page_number=first, parent=parent)
    writer.add_metadata({"/Title": title, "/Producer": "klg"})
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    return Book(out.getvalue(), len(writer.pages), skipped)
