"""Helpers for the minutes tests: fill in the form as a secretary would (python-docx),
read PDFs, and make a seal (a self-signed CA and a PKCS#12 certificate)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

from docx import Document

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_of(msg) -> bytes:
    """The first .docx attached to ``msg``."""
    for part in msg.iter_attachments():
        if (part.get_filename() or "").endswith(".docx"):
            return part.get_payload(decode=True)
    raise KeyError("no .docx attached")


def _header(table) -> list[str]:
    return [c.text.strip() for c in table.rows[0].cells]


def table_with(doc, first: str, column: str):
    for t in doc.tables:
        h = _header(t)
        if h and h[0] == first and column in h:
            return t
    raise KeyError(f"no table with {first} … {column}")


def form_tables(data: bytes) -> dict:
    """The form's tables as lists of rows (header first), by name."""
    doc = Document(io.BytesIO(data))
    out = {}
    for name, first, col in (("items", "Nr", "Utfall"), ("attendance", "Namn", "Närvarande (Ja/Nej)"),
                             ("followups", "Nr", "Klar (Ja/Nej)")):
        try:
            t = table_with(doc, first, col)
        except KeyError:
            continue
        out[name] = [[c.paragraphs[0].text.strip() for c in row.cells] for row in t.rows]
    out["identifier"] = doc.core_properties.identifier
    return out


def _set(cell, text: str) -> None:
    for p in cell.paragraphs[1:]:
        p._p.getparent().remove(p._p)
    p = cell.paragraphs[0]
    for r in p.runs:
        r._r.getparent().remove(r._r)
    lines = text.split("\n")
    p.add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line)


LABELS = {
    "sv": {"no": "Nr", "outcome": "Utfall", "name": "Namn", "present": "Närvarande (Ja/Nej)", "done": "Klar (Ja/Nej)",
           "signatory": "Justerare", "absent": "Nej"},
    "en": {"no": "No.", "outcome": "Outcome", "name": "Name", "present": "Present (Yes/No)", "done": "Done (Yes/No)",
           "signatory": "Signatory", "absent": "No"},
}


def fill_form(data: bytes, rows: dict[str, dict], *, absent: tuple[str, ...] = (), signatory: str | None = None,
              followups: dict[str, dict] | None = None, extra: list[dict] = (), lang: str = "sv") -> bytes:
    """Fill the form as a secretary in Word would: ``rows`` maps an item id (or a
    standing item's title) to {column header: text}."""
    words = LABELS[lang]
    doc = Document(io.BytesIO(data))
    items = table_with(doc, words["no"], words["outcome"])
    head = _header(items)
    pending = dict(rows)
    blank = []
    for row in items.rows[1:]:
        key = row.cells[0].text.strip() or row.cells[1].paragraphs[0].text.strip()
        if not key:
            blank.append(row)
            continue
        for col, text in pending.pop(key, {}).items():
            _set(row.cells[head.index(col)], text)
    assert not pending, f"rows not in the form: {list(pending)}"
    for row, values in zip(blank, extra):
        for col, text in values.items():
            _set(row.cells[head.index(col)], text)
    att = table_with(doc, words["name"], words["present"])
    for row in att.rows[1:]:
        if row.cells[0].text.strip() in absent:
            _set(row.cells[2], words["absent"])
    if signatory is not None:
        for t in doc.tables:
            for row in t.rows:
                if len(row.cells) == 2 and row.cells[0].text.strip() == words["signatory"]:
                    _set(row.cells[1], signatory)
    if followups:
        fu = table_with(doc, words["no"], words["done"])
        fh = _header(fu)
        for row in fu.rows[1:]:
            for col, text in followups.get(row.cells[0].text.strip(), {}).items():
                _set(row.cells[fh.index(col)], text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def make_seal(folder: Path, password: str = "hemligt") -> tuple[Path, Path]:
    """A test CA and an organisation certificate signed by it: (seal.p12, ca.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sjöviks kommun"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(days=3650)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(name("Sjöviks kommun Test-CA")).issuer_name(name("Sjöviks kommun Test-CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (x509.CertificateBuilder().subject_name(name("Kommunledningsgruppen")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    p12 = folder / "seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"Kommunledningsgruppen", key, leaf, [ca], serialization.BestAvailableEncryption(password.encode())))
    pem = folder / "ca.pem"
    pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return p12, pem
