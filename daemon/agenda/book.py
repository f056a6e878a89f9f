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

The book is the agenda's PDF with the documents' pages after it, so its front
keeps everything that makes the agenda accessible and archivable: the
structure tree (the members' pages are not in it: they come as their authors
made them, and their own tags do not survive cleaning), /Lang, the title shown
in the window title, the sRGB output intent. It is PDF/A-2b when every
document's fonts are embedded (LibreOffice's conversions always are); a
document whose fonts are not makes the book a plain PDF, and is named in
``not_archival`` for the chancellery.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from daemon import documents, pdfclean
from daemon import pdf as pdflib
from daemon.store import Store

if TYPE_CHECKING:  # the annotations only; pikepdf itself is imported where a book is made
    import pikepdf

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
    not_archival: list[str] = field(default_factory=list)  # documents that keep the book from being PDF/A-2b


def job(store: Store, name: str, sha256: str) -> documents.Job:
    """The job that makes the clean PDF of an attachment for the book (made once; the
    result, or why there is none, is kept in ``pdf_cache`` under the document's SHA-256)."""

    def make() -> bytes:
        path = store.files.path(sha256)
        try:
            with open(path, "rb") as fh:
                is_pdf = fh.read(5) == b"%PDF-"
            if is_pdf:  # the cleaner reads the stored file itself: the daemon does not hold it (memory, issue 19)
                return pdfclean.clean(path)
            if PurePath(name).suffix.lower() not in CONVERTIBLE:
                raise documents.Failed("not a document type LibreOffice converts")
            return pdfclean.clean(pdflib.to_pdf(store.files.get(sha256), name, filter_options=pdflib.export_options()))
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

    book = pikepdf.open(io.BytesIO(agenda_pdf))  # its structure tree, language, metadata and output intent stay
    first_member = len(book.pages)
    if "/OpenAction" in book.Root:
        del book.Root["/OpenAction"]  # LibreOffice's "open at page 1"; a book opens there anyway, and acts on nothing
    marks = [pikepdf.OutlineItem(agenda_label, 0)]
    skipped: list[tuple[str, str]] = []
    not_archival: list[str] = []
    for part in parts:
        parent = None
        for doc in part.documents:
            data = cleaned[doc["sha256"]]
            if isinstance(data, documents.Failed):
                skipped.append((doc["name"], str(data)))
                continue
            first = len(book.pages)
            try:
                source = pikepdf.open(io.BytesIO(data))
                if not _archival(source):
                    not_archival.append(doc["name"])
                book.pages.extend(source.pages)
            except Exception as exc:  # cleaned PDFs merge; should one not, it is left out, not the book
                del book.pages[first:]
                log.warning("meeting book: %s left out: %s", doc["name"], exc)
                skipped.append((doc["name"], str(exc)[:300]))
                continue
            for page in book.pages[first:]:
                _outside_the_structure(page.obj)
            if parent is None:
                parent = pikepdf.OutlineItem(part.label, first)
                marks.append(parent)
            parent.children.append(pikepdf.OutlineItem(doc["name"], first))
    with book.open_outline() as outline:
        outline.root.clear()  # the agenda's own bookmarks (its title) give way to the book's
        outline.root.extend(marks)
    book.Root.PageMode = pikepdf.Name.UseOutlines
    with book.open_metadata(set_pikepdf_as_editor=False) as meta:  # the XMP and the document info agree
        meta["dc:title"] = title
        meta["pdf:Producer"] = "klg"
        if not_archival and "pdfaid:part" in meta:
            del meta["pdfaid:part"]
            del meta["pdfaid:conformance"]
        if len(book.pages) > first_member and "pdfuaid:part" in meta:
            del meta["pdfuaid:part"]  # the members' pages are not tagged, so the whole book is not PDF/UA
    out = io.BytesIO()
    book.save(out)
    return Book(out.getvalue(), len(book.pages), skipped, not_archival)


def _outside_the_structure(page: pikepdf.Dictionary) -> None:
    """A member's page joins the book without claims on its structure tree: its own entries
    in a parent tree that is not there would point a screen reader at the agenda's elements."""
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    if "/StructParents" in page:
        del page["/StructParents"]
    for annot in page.get("/Annots", []):
        if isinstance(annot, pikepdf.Dictionary):
            if "/StructParent" in annot:
                del annot["/StructParent"]
            annot["/F"] = 4  # printed, never hidden: PDF/A's rule for annotations (links here)


def _archival(pdf: pikepdf.Pdf) -> bool:
    """Whether ``pdf``'s pages can be part of a PDF/A-2b book: every font embedded."""
    try:
        return not fonts_not_embedded(pdf)
    except Exception:  # a font dictionary no reader foresaw: the document still goes in, the book is not PDF/A
        return False


def fonts_not_embedded(pdf: pikepdf.Pdf) -> list[str]:
    """The fonts (on any page, in any form XObject) whose program is not in ``pdf``; PDF/A needs them all."""
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    missing: list[str] = []
    seen: set = set()
    stack = [page.obj.get("/Resources") for page in pdf.pages]
    while stack:
        resources = stack.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        for font in resources.get("/Font", {}).values():
            if not isinstance(font, pikepdf.Dictionary) or str(font.get("/Subtype", "")) == "/Type3":
                continue
            described = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor", {})
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font.get("/BaseFont", "?"))[1:])
        for xobject in resources.get("/XObject", {}).values():
            if isinstance(xobject, pikepdf.Stream) and str(xobject.get("/Subtype", "")) == "/Form":
                stack.append(xobject.get("/Resources"))
    return missing
