"""Sealing the signed minutes with a PAdES signature (pyHanko), and checking a
sealed PDF (`klg verify FILE`).

The seal is an organisation certificate in a PKCS#12 file named by
``[minutes] seal_pkcs12``; its password comes from ``seal_password_env`` or
``seal_password_credential``. The signature is PAdES baseline B-B: no trusted
timestamp and no embedded revocation data, because neither a timestamp
authority nor an OCSP/CRL source can be assumed reachable from the server
(B-T/B-LT need them). It is added as an incremental update, so the PDF/A-2
file LibreOffice made stays PDF/A-2 (pyHanko keeps the XMP metadata in step).
"""

from __future__ import annotations

import io
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from daemon.config import Config, read_secret
from daemon.minutes.settings import MinutesSettings, settings

FIELD_NAME = "Forsegling"


class SealError(Exception):
    """The seal could not be applied or read; the message names the key or file and the fix."""


def _password(s: MinutesSettings) -> bytes:
    secret = read_secret({k.replace("seal_password", "password"): v for k, v in s.seal_password.items()}, "password")
    if secret is None:
        where = (f"the environment variable {s.seal_password['seal_password_env']}" if "seal_password_env" in
                 s.seal_password else f"the systemd credential {s.seal_password.get('seal_password_credential')}")
        raise SealError(f"minutes.seal_password: {where} is not set, so the seal {s.seal_pkcs12} cannot be opened; "
                        "set it in the service's environment (or LoadCredential=)")
    return secret.encode("utf-8")


def load_signer(s: MinutesSettings):
    """The pyHanko signer for the configured PKCS#12 seal."""
    from pyhanko.sign import signers

    if s.seal_pkcs12 is None:
        raise SealError("minutes.seal_pkcs12 is not set: there is no seal to sign with")
    try:
        data = Path(s.seal_pkcs12).read_bytes()
    except OSError as exc:
        raise SealError(f"minutes.seal_pkcs12: cannot read {s.seal_pkcs12} ({exc.strerror}); check the path and that "
                        "the klg user may read it") from None
    try:
        return signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=_password(s))
    except ValueError:
        raise SealError(f"minutes.seal_pkcs12: {s.seal_pkcs12} could not be opened with the configured password; "
                        "check the password, and that the file is a PKCS#12 (.p12/.pfx) with a private key") from None


def seal(pdf: bytes, s: MinutesSettings, *, at: datetime, location: str, contact: str) -> bytes:
    """``pdf`` with an invisible PAdES B-B signature by the configured seal, signing time ``at``."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = load_signer(s)

    class _AtTime(signers.PdfSigner):
        """The signing time is the daemon's ``now`` (time is an input), not the library's clock."""

        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = at
            return session

    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=s.seal_reason, location=location, contact_info=contact,
    )
    spec = fields.SigFieldSpec(FIELD_NAME, invis_sig_settings=fields.InvisSigSettings(
        set_print_flag=True, set_hidden_flag=False))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = _AtTime(meta, signer=signer, new_field_spec=spec).sign_pdf(writer)
    return out.getvalue()


# --- checking ------------------------------------------------------------------------


@dataclass
class SignatureReport:
    field: str
    signer: str
    certificate_sha256: str
    signed_at: datetime | None
    timestamped: bool
    intact: bool
    valid: bool
    trusted: bool
    coverage: str
    modifications: str
    ok: bool
    details: str = ""


@dataclass
class Report:
    signatures: list[SignatureReport] = field(default_factory=list)
    pdfa: str | None = None  # e.g. "2B"
    anchors: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.signatures) and all(s.ok for s in self.signatures)


def pdfa_identification(pdf: bytes) -> str | None:
    """The PDF/A part and conformance from the XMP metadata (``"2B"``), or None."""
    from pypdf import PdfReader

    try:
        root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
        xml = root["/Metadata"].get_object().get_data()
    except Exception:
        return None
    ns = "{http://www.aiim.org/pdfa/ns/id/}"
    try:
        tree = ET.fromstring(xml)
    except ET.ParseError:
        return None
    part = conformance = None
    for el in tree.iter():
        part = part or el.attrib.get(f"{ns}part") or (el.text if el.tag == f"{ns}part" else None)
        conformance = conformance or el.attrib.get(f"{ns}conformance") or (
            el.text if el.tag == f"{ns}conformance" else None)
    return f"{part.strip()}{(conformance or '').strip()}" if part else None


def _load_certs(path: Path) -> list:
    from asn1crypto import pem, x509

    data = path.read_bytes()
    if pem.detect(data):
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
    return [x509.Certificate.load(data)]


def trust_anchors(s: MinutesSettings | None, extra: list[Path] = ()) -> list:
    """Certificates to trust: ``extra`` and ``[minutes] seal_trust``; without either, the
    seal's own certificate chain from the PKCS#12 file (the seal trusts itself)."""
    paths = [*extra, *(s.seal_trust if s else ())]
    certs = []
    for p in paths:
        try:
            certs += _load_certs(Path(p))
        except (OSError, ValueError) as exc:
            raise SealError(f"cannot read the trust anchor {p} ({exc}); give a PEM or DER certificate file") from None
    if certs or s is None or s.seal_pkcs12 is None:
        return certs
    signer = load_signer(s)
    return [signer.signing_cert, *signer.cert_registry]


def verify(pdf: bytes, anchors: list) -> Report:
    """Check every signature in ``pdf`` against ``anchors`` (no network: revocation is not fetched)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    report = Report(pdfa=pdfa_identification(pdf), anchors=[a.subject.human_friendly for a in anchors])
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:
        report.problem = f"not a readable PDF ({type(exc).__name__}: {exc})"
        return report
    if not sigs:
        report.problem = "the file carries no signature"
        return report
    for sig in sigs:
        vc = ValidationContext(trust_roots=anchors or None, allow_fetching=False, revocation_mode="soft-fail")
        try:
            st = validate_pdf_signature(sig, vc)
        except Exception as exc:
            report.signatures.append(SignatureReport(sig.field_name or "?", "?", "", None, False, False, False, False,
                                                     "?", "?", False, f"{type(exc).__name__}: {exc}"))
            continue
        cert = st.signing_cert
        report.signatures.append(SignatureReport(
            field=sig.field_name or "?",
            signer=cert.subject.human_friendly if cert else "?",
            certificate_sha256=cert.sha256.hex() if cert else "",
            signed_at=st.signer_reported_dt,
            timestamped=st.timestamp_validity is not None,
            intact=bool(st.intact), valid=bool(st.valid), trusted=bool(st.trusted),
            coverage=_words(st.coverage.name if st.coverage else "?"),
            modifications=_words(st.modification_level.name if st.modification_level else "?"),
            ok=bool(st.bottom_line),
            details=st.pretty_print_details(),
        ))
    return report


def _words(name: str) -> str:
    return re.sub(r"_", " ", name).lower()


def render_report(path: str, report: Report, tz) -> str:
    """`klg verify`'s text: signer, time, integrity and trust of each signature."""
    lines = [f"File: {path}", f"PDF/A: {('PDF/A-' + report.pdfa) if report.pdfa else 'no PDF/A identification in the XMP metadata'}"]
    if report.problem:
        lines += [f"Result: INVALID — {report.problem}"]
        return "\n".join(lines)
    for n, s in enumerate(report.signatures, 1):
        when = s.signed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if s.signed_at else "unknown"
        lines += [
            f"Signature {n} (field {s.field})",
            f"  Signer: {s.signer}",
            f"  Certificate SHA-256: {s.certificate_sha256}",
            f"  Signed at: {when} ({'trusted timestamp' if s.timestamped else 'as stated by the signer; no timestamp'})",
            f"  Integrity: {'intact' if s.intact and s.valid else 'BROKEN: the document or the signature was altered'}"
            f" (covers: {s.coverage}; changes after signing: {s.modifications})",
            f"  Trust: {'trusted' if s.trusted else 'NOT trusted'}"
            + (f" (anchors: {'; '.join(report.anchors)})" if report.anchors else
               " (no trust anchors: set [minutes] seal_trust or pass --trust CA.pem)"),
        ]
    lines.append(f"Result: {'VALID' if report.ok else 'INVALID'}")
    return "\n".join(lines)


def add_cli(subparsers) -> None:
    """Register `klg verify FILE [--trust CA.pem]`."""
    p = subparsers.add_parser("verify", help="check the seal (PAdES signature) of signed minutes")
    p.add_argument("file", type=Path, help="a PDF, e.g. the signed minutes")
    p.add_argument("--trust", type=Path, action="append", default=[],
                   help="a CA certificate (PEM/DER) to trust; repeatable (default: [minutes] seal_trust, else the seal's own)")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(config: Config, args) -> int:
    """Exit 0 when every signature is intact and trusted, 1 otherwise."""
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"klg verify: cannot read {args.file} ({exc.strerror})", file=sys.stderr)
        return 1
    try:
        anchors = trust_anchors(settings(config), list(args.trust))
    except SealError as exc:
        print(f"klg verify: {exc}", file=sys.stderr)
        return 1
    report = verify(data, anchors)
    print(render_report(str(args.file), report, config.group.timezone))
    return 0 if report.ok else 1
