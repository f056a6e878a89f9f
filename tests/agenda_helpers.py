"""Helpers for the agenda tests: documents as members make them, and the
chair's edits of the agenda made with python-docx as Word would leave them."""

from __future__ import annotations

import io
import subprocess
import tempfile
from email.message import EmailMessage
from pathlib import Path

from daemon.mail.outgoing import DOCX  # noqa: F401 (the tests import it from here)
from daemon.simulate import Agenda, small_docx  # noqa: F401 (the tests import them from here)
from tests.helpers import attachment, attachment_names

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


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
