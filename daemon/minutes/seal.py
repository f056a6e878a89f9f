"""Sealing the signed minutes with a PAdES signature (pyHanko); checking a sealed
PDF is :mod:`daemon.minutes.sealcheck` (`klg verify FILE`).

The seal is an organisation certificate in a PKCS#12 file named by
``[minutes] seal_pkcs12``; its password comes from ``seal_password_env`` or
``seal_password_credential``. The PAdES baseline level depends on what the
server can reach:

- B-B (no ``seal_tsa_url``): the signing time is only what the server says, so
  once the certificate expires nobody can show the seal was made while it was
  valid.
- B-T (``seal_tsa_url``): an RFC 3161 time-stamp from that service proves when.
- B-LT (B-T plus ``seal_revocation_files`` or ``seal_revocation_fetch``): the
  certificates and the revocation information (CRLs/OCSP) of the seal's and
  the time-stamp's chains are embedded in the PDF's DSS, so it validates
  without asking anyone, also after the certificates expire.
- B-LTA: :func:`archive_timestamp` (called by `klg archive`) adds a document
  time-stamp over all of it.

Every signature is an incremental update, so the PDF/A-2 file LibreOffice made
stays PDF/A-2 (pyHanko keeps the XMP metadata in step). A call to the
time-stamp service is network I/O: the minutes ask for it through
:func:`seal_job` (``daemon.documents``), never inside a store transaction.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from daemon import documents
from daemon.config import read_secret
from daemon.files import fingerprint
from daemon.minutes.settings import MinutesSettings

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


def _timestamper(s: MinutesSettings):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(s.seal_tsa_url, timeout=s.seal_tsa_timeout)


def revocation_info(paths) -> tuple[list, list]:
    """(CRLs, OCSP responses) read from ``paths`` (DER or PEM), for B-LT."""
    from asn1crypto import crl, ocsp, pem

    crls, ocsps = [], []
    for p in paths:
        try:
            data = Path(p).read_bytes()
            if pem.detect(data):
                kind, _, data = pem.unarmor(data)
            else:
                kind = None
            if kind == "X509 CRL" or kind is None and _is_crl(data):
                crls.append(crl.CertificateList.load(data))
            else:
                resp = ocsp.OCSPResponse.load(data)
                resp.native  # noqa: B018 — parse now, so a bad file is named here
                ocsps.append(resp)
        except (OSError, ValueError) as exc:
            raise SealError(f"minutes.seal_revocation_files: cannot read {p} as a CRL or an OCSP response ({exc}); "
                            "give the CA's CRL (DER or PEM) or a saved OCSP response") from None
    return crls, ocsps


def _is_crl(der: bytes) -> bool:
    from asn1crypto import crl

    try:
        crl.CertificateList.load(der)["tbs_cert_list"]["issuer"].native  # noqa: B018
        return True
    except ValueError:
        return False


def validation_context(s: MinutesSettings, signer, *, fetch: bool | None = None):
    """The context the seal's and the time-stamp's chains are checked (and their B-LT data gathered) in."""
    from pyhanko_certvalidator import ValidationContext

    crls, ocsps = revocation_info(s.seal_revocation_files)
    roots = [*trust_anchors(s), *trust_anchors(None, list(s.seal_tsa_trust))]
    return ValidationContext(trust_roots=roots, other_certs=list(signer.cert_registry), crls=crls, ocsps=ocsps,
                             allow_fetching=s.seal_revocation_fetch if fetch is None else fetch,
                             revocation_mode="require")


def seal(pdf: bytes, s: MinutesSettings, *, at: datetime, location: str, contact: str) -> bytes:
    """``pdf`` with an invisible PAdES signature by the configured seal, signing time ``at``:
    B-B, or B-T with ``seal_tsa_url``, or B-LT with revocation information too (see the module's doc).
    SealError names the service or file when the time-stamp or the revocation data cannot be had."""
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
        embed_validation_info=s.long_term, validation_context=validation_context(s, signer) if s.long_term else None,
    )
    spec = fields.SigFieldSpec(FIELD_NAME, invis_sig_settings=fields.InvisSigSettings(
        set_print_flag=True, set_hidden_flag=False))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    timestamper = _timestamper(s) if s.seal_tsa_url else None
    try:
        out = _AtTime(meta, signer=signer, timestamper=timestamper, new_field_spec=spec).sign_pdf(writer)
    except Exception as exc:  # pyHanko's and the HTTP client's many errors: name the service or the chain
        raise SealError(_signing_problem(s, exc)) from None
    return out.getvalue()


def _signing_problem(s: MinutesSettings, exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if s.seal_tsa_url and ("imestamp" in text or "HTTP" in text or "onnection" in text or "Timeout" in text):
        return (f"minutes.seal_tsa_url: the time-stamp service {s.seal_tsa_url} did not give a time-stamp ({text}); "
                "check that it is reachable from the server, or remove seal_tsa_url to seal without (B-B)")
    if s.long_term:
        return (f"minutes.seal_revocation_files: the revocation status of the seal's or the time-stamp's "
                f"certificates could not be established ({text}); give the CAs' CRLs in seal_revocation_files, "
                "set seal_revocation_fetch = true, or name the CA in seal_trust/seal_tsa_trust")
    return f"the seal could not be applied ({text})"


def seal_job(pdf: bytes, s: MinutesSettings, *, at: datetime, location: str, contact: str) -> documents.Job:
    """The sealing of ``pdf`` as a document job, so a time-stamp service is called with no transaction
    open; a service that does not answer is a failure of the moment (tried again on the next pass)."""
    def make() -> bytes:
        try:
            return seal(pdf, s, at=at, location=location, contact=contact)
        except SealError as exc:
            raise documents.Failed(str(exc), lasting=False) from None

    level = "B-LT" if s.long_term else "B-T" if s.seal_tsa_url else "B-B"
    return documents.Job(f"seal:{fingerprint(pdf)}:{at.isoformat()}:{level}", f"the seal ({level}) of the minutes", make)


def archive_timestamp(pdf: bytes, s: MinutesSettings) -> bytes:
    """``pdf`` with the validation data of its signatures and a document time-stamp over all of it
    (PAdES B-LTA), from ``seal_tsa_url``; SealError when there is no service or it does not answer."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import add_validation_info

    if not s.seal_tsa_url:
        raise SealError("minutes.seal_tsa_url is not set: a document time-stamp (B-LTA) needs a time-stamp service")
    signer = load_signer(s)
    vc = validation_context(s, signer)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        out = io.BytesIO(pdf)
        for sig in reader.embedded_regular_signatures:
            out = add_validation_info(sig, vc, output=io.BytesIO(), in_place=False)
            reader = PdfFileReader(out, strict=False)
        writer = IncrementalPdfFileWriter(io.BytesIO(out.getvalue()))
        stamped = signers.PdfTimeStamper(_timestamper(s), field_name="Arkivtidsstampel").timestamp_pdf(
            writer, "sha256", validation_context=vc)
    except Exception as exc:  # as in seal(): name the service or the chain
        raise SealError(_signing_problem(s, exc)) from None
    return stamped.getvalue()


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


