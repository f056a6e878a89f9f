"""Checking a sealed PDF (`klg verify FILE`): each signature's signer, integrity
and trust, its PAdES baseline level (B-B, B-T, B-LT, B-LTA), the time-stamp's
time, and whether it would still validate after the certificate expires.

That last answer is tested, not guessed: the signature is validated again at
the time the time-stamp proves, with only the certificates and revocation
information embedded in the PDF (the DSS) and no network — which is what an
archive can do in twenty years. No network is used at all here.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from daemon.config import Config
from daemon.minutes.seal import SealError, trust_anchors
from daemon.minutes.settings import settings

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
LASTS = {
    "B-B": "no: without a trusted time nobody can show the seal was made while the certificate was valid",
    "B-T": "only while the CA still answers for the certificate (no revocation information in the file)",
    "B-LT": "yes: the time-stamp and the embedded revocation information suffice, no network needed",
    "B-LTA": "yes: as B-LT, and a document time-stamp protects it all (renew it before that one expires)",
}


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
    level: str = "B-B"
    timestamp_at: datetime | None = None
    timestamp_trusted: bool = False
    certificate_expires: datetime | None = None
    lasts: bool = False  # validates at the time-stamp's time with the embedded data only


@dataclass
class Report:
    signatures: list[SignatureReport] = field(default_factory=list)
    pdfa: str | None = None  # e.g. "2B"
    anchors: list[str] = field(default_factory=list)
    problem: str | None = None
    archive_timestamp_at: datetime | None = None  # the last valid document time-stamp (B-LTA)

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


def _dss(reader):
    """The PDF's Document Security Store, or None."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    try:
        return DocumentSecurityStore.read_dss(reader)
    except Exception:  # NoDSSFoundError, or a DSS too broken to use: either way none to rely on
        return None


def _lasts(sig, anchors: list, dss, at: datetime) -> bool:
    """The signature validates at ``at`` with the DSS's data only: no fetching, revocation required."""
    from pyhanko.sign.validation import validate_pdf_signature

    if dss is None or not (dss.crls or dss.ocsps):
        return False
    try:
        vc = dss.as_validation_context({"trust_roots": anchors, "moment": at, "allow_fetching": False,
                                        "revocation_mode": "require", "retroactive_revinfo": True})
        return bool(validate_pdf_signature(sig, vc, skip_diff=True).bottom_line)
    except Exception:  # any failure to establish it is the answer "no"
        return False


def _archive_timestamp(reader, anchors: list) -> datetime | None:
    """The time of the last valid, trusted document time-stamp (B-LTA), or None."""
    from pyhanko.sign.validation import validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    found = None
    for ts in reader.embedded_timestamp_signatures:
        try:
            st = validate_pdf_timestamp(ts, ValidationContext(trust_roots=anchors, allow_fetching=False))
        except Exception:
            continue
        if st.intact and st.valid and st.trusted:
            found = st.timestamp
    return found


def verify(pdf: bytes, anchors: list) -> Report:
    """Check every signature in ``pdf`` against ``anchors`` (no network: revocation is not fetched)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    report = Report(pdfa=pdfa_identification(pdf), anchors=[a.subject.human_friendly for a in anchors])
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_regular_signatures
    except Exception as exc:
        report.problem = f"not a readable PDF ({type(exc).__name__}: {exc})"
        return report
    if not sigs:
        report.problem = "the file carries no signature"
        return report
    dss = _dss(reader)
    report.archive_timestamp_at = _archive_timestamp(reader, anchors)
    for sig in sigs:
        vc = ValidationContext(trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail")
        try:
            st = validate_pdf_signature(sig, vc)
        except Exception as exc:
            report.signatures.append(SignatureReport(sig.field_name or "?", "?", "", None, False, False, False, False,
                                                     "?", "?", False, f"{type(exc).__name__}: {exc}"))
            continue
        cert = st.signing_cert
        ts = st.timestamp_validity
        ts_ok = ts is not None and bool(ts.intact and ts.valid and ts.trusted)
        lasts = ts_ok and _lasts(sig, anchors, dss, ts.timestamp)
        level = "B-B" if ts is None else "B-LT" if lasts else "B-T"
        if lasts and report.archive_timestamp_at is not None and report.archive_timestamp_at >= ts.timestamp:
            level = "B-LTA"
        report.signatures.append(SignatureReport(
            field=sig.field_name or "?",
            signer=cert.subject.human_friendly if cert else "?",
            certificate_sha256=cert.sha256.hex() if cert else "",
            signed_at=st.signer_reported_dt,
            timestamped=ts is not None,
            intact=bool(st.intact), valid=bool(st.valid), trusted=bool(st.trusted),
            coverage=_words(st.coverage.name if st.coverage else "?"),
            modifications=_words(st.modification_level.name if st.modification_level else "?"),
            ok=bool(st.bottom_line) and (ts is None or ts_ok),
            details=st.pretty_print_details(),
            level=level, timestamp_at=ts.timestamp if ts is not None else None, timestamp_trusted=ts_ok,
            certificate_expires=cert.not_valid_after if cert else None, lasts=lasts,
        ))
    return report


def _words(name: str) -> str:
    return re.sub(r"_", " ", name).lower()


def render_report(path: str, report: Report, tz) -> str:
    """`klg verify`'s text: signer, time, integrity, trust and PAdES level of each signature."""
    lines = [f"File: {path}", f"PDF/A: {('PDF/A-' + report.pdfa) if report.pdfa else 'no PDF/A identification in the XMP metadata'}"]
    if report.problem:
        lines += [f"Result: INVALID — {report.problem}"]
        return "\n".join(lines)

    def at(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "unknown"

    for n, s in enumerate(report.signatures, 1):
        if s.timestamp_at is None:
            stamp = "none (the signing time is as stated by the signer)"
        else:
            stamp = (f"{at(s.timestamp_at)} (trusted: the seal existed at this time)" if s.timestamp_trusted else
                     f"{at(s.timestamp_at)} (NOT trusted: give the time-stamp service's CA with --trust)")
        lines += [
            f"Signature {n} (field {s.field})",
            f"  Signer: {s.signer}",
            f"  Certificate SHA-256: {s.certificate_sha256}",
            f"  Signed at: {at(s.signed_at)} (as stated by the signer)",
            f"  Time-stamp: {stamp}",
            f"  Level: PAdES {s.level}",
            f"  After the certificate expires ({at(s.certificate_expires)}): {LASTS[s.level]}",
            f"  Integrity: {'intact' if s.intact and s.valid else 'BROKEN: the document or the signature was altered'}"
            f" (covers: {s.coverage}; changes after signing: {s.modifications})",
            f"  Trust: {'trusted' if s.trusted else 'NOT trusted'}"
            + (f" (anchors: {'; '.join(report.anchors)})" if report.anchors else
               " (no trust anchor: set [minutes] seal_trust or pass --trust CA.pem)"),
        ]
    if report.archive_timestamp_at:
        lines.append(f"Archive time-stamp: {at(report.archive_timestamp_at)}")
    lines.append(f"Result: {'VALID' if report.ok else 'INVALID'}")
    return "\n".join(lines)


def add_cli(subparsers) -> None:
    """Register `klg verify FILE [--trust CA.pem]`."""
    p = subparsers.add_parser("verify", help="check the seal (PAdES signature) of signed minutes")
    p.add_argument("file", type=Path, help="a PDF, e.g. the signed minutes")
    p.add_argument("--trust", type=Path, action="append", default=[],
                   help="a CA certificate (PEM/DER) to trust, also the time-stamp service's; repeatable "
                        "(default: [minutes] seal_trust and seal_tsa_trust, else the seal's own chain)")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(config: Config, args) -> int:
    """Exit 0 when every signature is intact and trusted, 1 otherwise."""
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"klg verify: cannot read {args.file} ({exc.strerror})", file=sys.stderr)
        return 1
    try:
        s = settings(config)
        both = trust_anchors(s, list(args.trust)) + trust_anchors(None, list(s.seal_tsa_trust))
        anchors = list({a.sha256: a for a in both}.values())  # one CA may anchor the seal and the time-stamp
    except SealError as exc:
        print(f"klg verify: {exc}", file=sys.stderr)
        return 1
    if not anchors:
        print(f"klg verify: {args.file}: no trust anchor to check the seal against; set [minutes] seal_trust "
              "(or seal_pkcs12) in the config, or pass --trust CA.pem", file=sys.stderr)
    for name in ("pyhanko", "pyhanko_certvalidator"):  # their warnings carry tracebacks; the report says it all
        logging.getLogger(name).setLevel(logging.CRITICAL)
    report = verify(data, anchors)
    print(render_report(str(args.file), report, config.group.timezone))
    return 0 if report.ok else 1
