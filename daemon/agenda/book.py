"""The meeting book: one PDF with the agenda first and every attachment after
it, in agenda order, with a bookmark per item and per attachment.

Office documents and images are converted by LibreOffice; every PDF, a
member's or a conversion, is then cleaned in a child process
(``daemon.pdfclean``: no JavaScript, launch actions or embedded files, no
structures nested deep enough to crash a PDF library) and merged with
pikepdf. Both are done once per document, outside the store's transactions
(``daemon.documents``): ``pdf_cache`` keeps the clean PDF (or why there is
none) by the document's SHA-256. An attachment that cannot
be converted or cleaned is left out and named in ``skipped``, so the mail and
the chancellery's report can say so; no document stops the book.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import PurePath


from daemon import documents, pdfclean
from daemon import pdf as pdflib
from daemon.store import Store

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


def job(store: Store, name: str, sha256: str) -> documents.Job:
    """The job that makes the clean PDF of an attachment for the book (made once; the
    result, or why there is none, is kept in ``pdf_cache`` under the document's SHA-256)."""

    def make() -> bytes:
        data = store.files.get(sha256)
        try:
            if data[:5] != b"%PDF-":
                if PurePath(name).suffix.lower() not in CONVERTIBLE:
                    raise documents.Failed("not a document type LibreOffice converts")
                data = pdflib.to_pdf(data, name)
            return pdfclean.clean(data)
        except pdflib.ConversionError as exc:
            # not the document's fault when LibreOffice is missing or the machine too busy: tried again later
            raise documents.Failed(str(exc), lasting="not installed" not in str(exc)
                                   and "did not finish" not in str(exc)) from None
        except pdfclean.Unusable as exc:
            raise documents.Failed(str(exc), lasting="took more than" not in str(exc)) from None

    return documents.Job(sha256, f"{name} for the meeting book", make)


def build(agenda_pdf: bytes, agenda_label: str, parts: list[Part], cleaned: dict[str, bytes | documents.Failed],
          title: str) -> Book:
    """The meeting book: ``agenda_pdf`` first, then each part's documents (their clean
    PDFs in ``cleaned``, by SHA-256, made by :func:`job`), bookmarked."""
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    book = pikepdf.new()
    book.pages.extend(pikepdf.open(io.BytesIO(agenda_pdf)).pages)
    marks = [pikepdf.OutlineItem(agenda_label, 0)]
    skipped: list[tuple[str, str]] = []
    for part in parts:
        parent = None
        for doc in part.documents:
            data = cleaned[doc["sha256"]]
            if isinstance(data, documents.Failed):
                skipped.append((doc["name"], str(data)))
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
