"""Helpers for the agenda tests: documents as members make them, and the
chair's edits of the agenda made with python-docx as Word would leave them."""

from __future__ import annotations

import copy
import io
import subprocess
import tempfile
from email.message import EmailMessage
from pathlib import Path

import docx
from docx.table import Table, _Row

from tests.helpers import attachment, attachment_names

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def tiny_pdf(*lines: str, pages: int = 1) -> bytes:
    """A real PDF whose pages show ``lines`` (Helvetica), for pdftotext to find."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * p} 0 R" for p in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for p in range(pages):
        text = " ".join(f"({line} - {p + 1}) Tj 0 -30 Td" for line in lines)
        stream = f"BT /F1 20 Tf 72 760 Td {text} ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * p} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def small_docx(*paragraphs: str) -> bytes:
    """A Word document with ``paragraphs``, as a member would attach one."""
    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """What pdftotext reads from ``data`` (layout kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout


def docx_of(msg: EmailMessage) -> bytes:
    """The agenda .docx attached to ``msg`` (the first attachment named Dagordning/Agenda)."""
    name = next(n for n in attachment_names(msg) if n.endswith(".docx") and n.startswith(("Dagordning", "Agenda")))
    return attachment(msg, name)


class Agenda:
    """An agenda .docx opened for editing like a chair would in Word."""

    def __init__(self, data: bytes):
        self.doc = docx.Document(io.BytesIO(data))
        self.table = self._find()

    def _find(self) -> Table:
        for t in self.doc.tables:
            if t.rows and [c.text for c in t.rows[0].cells][:3] in (["Tid", "Nr", "Ärende"], ["Time", "No.", "Item"]):
                return t
        raise AssertionError("no agenda table")

    @property
    def header(self) -> list[str]:
        return [c.text for c in self.table.rows[0].cells]

    def rows(self) -> list[list[str]]:
        """Every data row's cells as text (the title cell: all its paragraphs joined by ' | ')."""
        out = []
        for row in self.table.rows[1:]:
            out.append([" | ".join(p.text for p in c.paragraphs if p.text) for c in row.cells])
        return out

    def titles(self) -> list[str]:
        return [row.cells[2].paragraphs[0].text for row in self.table.rows[1:]]

    def _tr(self, key: str):
        for row in self.table.rows[1:]:
            if row.cells[1].text == key or row.cells[2].paragraphs[0].text == key:
                return row
        raise KeyError(key)

    def move_before(self, key: str, before: str) -> None:
        self._tr(before)._tr.addprevious(self._tr(key)._tr)

    def remove(self, key: str) -> None:
        tr = self._tr(key)._tr
        tr.getparent().remove(tr)

    def set(self, key: str, column: int, text: str) -> None:
        _set(self._tr(key).cells[column], text)

    def add_after(self, key: str, cells: list[str]) -> None:
        """A new row below ``key`` (Word: Insert Rows Below copies the formatting), filled with ``cells``."""
        tr = self._tr(key)._tr
        new = copy.deepcopy(tr)
        tr.addnext(new)
        row = _Row(new, self.table)
        for cell, text in zip(row.cells, cells):
            _set(cell, text)
        for cell in row.cells:  # Word's new row has one empty paragraph per cell
            for p in cell.paragraphs[1:]:
                p._p.getparent().remove(p._p)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _set(cell, text: str) -> None:
    p = cell.paragraphs[0]
    for r in p.runs[1:]:
        r._r.getparent().remove(r._r)
    if p.runs:
        p.runs[0].text = text
    else:
        p.add_run(text)
