"""Helpers for the minutes tests: fill in the form as a secretary would (python-docx),
read PDFs, and make a seal (a self-signed CA and a PKCS#12 certificate)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

from docx import Document

from daemon.mail.outgoing import DOCX  # noqa: F401 (the tests import it from here)
from daemon.simulate import fill_form, table_with  # noqa: F401 (the tests import them from here)



def docx_of(msg) -> bytes:
    """The first .docx attached to ``msg``."""
    for part in msg.iter_attachments():
        if (part.get_filename() or "").endswith(".docx"):
            return part.get_payload(decode=True)
    raise KeyError("no .docx attached")


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
