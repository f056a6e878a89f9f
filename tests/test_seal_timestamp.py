"""A seal that holds for the archive: PAdES B-T with a real RFC 3161 time-stamp
(``openssl ts`` on loopback, tests/tsa.py), B-LT with the CA's CRL embedded
(from a file, or fetched from the certificate's URL), B-LTA with a document
time-stamp, and what `klg verify` says about each — the level, the time-stamp's
time and whether it would still validate after the certificate expires."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pikepdf
import pytest

from daemon.minutes.seal import SealError, archive_timestamp, seal, trust_anchors
from daemon.minutes.sealcheck import verify
from daemon.minutes.settings import MinutesSettings
from tests.tsa import PASSWORD, TimeStampService

AT = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.timezone.utc)


def blank_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def settings_for(tsa: TimeStampService | None, pki_folder: Path, **extra) -> MinutesSettings:
    return MinutesSettings(
        form_delay_minutes=0, return_reminder_hours=48, reminder_hours=24, file_name="x.pdf",
        seal_pkcs12=pki_folder / "seal.p12", seal_password={"seal_password_env": "KLG_TEST_SEAL_PASSWORD"},
        seal_trust=(pki_folder / "ca.pem",), seal_reason="Justerade minnesanteckningar", audiences=(),
        seal_tsa_url=tsa.url if tsa else None, seal_tsa_trust=(pki_folder / "ca.pem",), **extra)


@pytest.fixture
def tsa(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    with TimeStampService(tmp_path) as service:
        yield service


def sealed(tsa, tmp_path, **extra) -> tuple[bytes, MinutesSettings]:
    s = settings_for(tsa, tmp_path, **extra)
    return seal(blank_pdf(), s, at=AT, location="Sjöviks kommun", contact="klg@example.org"), s


def test_a_time_stamped_seal_is_b_t_with_the_services_time(tsa, tmp_path):
    pdf, s = sealed(tsa, tmp_path)
    assert tsa.requests >= 1  # pyHanko may ask once more to learn the token's size
    report = verify(pdf, trust_anchors(s))
    [sig] = report.signatures
    assert report.ok, sig.details
    assert sig.level == "B-T"
    assert sig.timestamp_trusted
    assert abs(sig.timestamp_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)  # openssl's clock
    assert sig.signed_at == AT  # the daemon's now, as stated by the signer
    assert not sig.lasts  # no revocation information in the file


def test_with_the_crl_given_as_a_file_the_seal_is_b_lt_and_lasts(tsa, tmp_path):
    pdf, s = sealed(tsa, tmp_path, seal_revocation_files=(tmp_path / "ca.crl",))
    [sig] = verify(pdf, trust_anchors(s)).signatures
    assert sig.level == "B-LT", sig.details
    assert sig.lasts
    assert b"/DSS" in pdf and b"/CRLs" in pdf


@pytest.mark.parametrize("fetch", [False, True], ids=["ocsp-from-files", "ocsp-fetched"])
def test_ocsp_responses_count_as_revocation_information(tmp_path, monkeypatch, fetch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    with TimeStampService(tmp_path, crl_url=False, ocsp=True) as service:  # OCSP only, no CRL
        files = []
        for name, cert in (("seal.ocsp", service.pki.seal_cert), ("tsa.ocsp", service.pki.tsa_cert)):
            (tmp_path / name).write_bytes(service.pki.ocsp_response(cert))
            files.append(tmp_path / name)
        extra = {"seal_revocation_fetch": True} if fetch else {"seal_revocation_files": tuple(files)}
        pdf, s = sealed(service, tmp_path, **extra)
    [sig] = verify(pdf, trust_anchors(s)).signatures
    assert sig.level == "B-LT", sig.details
    assert b"/OCSPs" in pdf


def test_with_fetching_the_crl_comes_from_the_certificates_url(tsa, tmp_path):
    pdf, s = sealed(tsa, tmp_path, seal_revocation_fetch=True)
    [sig] = verify(pdf, trust_anchors(s)).signatures
    assert sig.level == "B-LT", sig.details


def test_an_archive_time_stamp_makes_it_b_lta(tsa, tmp_path):
    pdf, s = sealed(tsa, tmp_path, seal_revocation_files=(tmp_path / "ca.crl",))
    before = tsa.requests
    stamped = archive_timestamp(pdf, s)
    assert stamped.startswith(pdf[:1000])  # an incremental update: the sealed bytes stay as they were
    report = verify(stamped, trust_anchors(s))
    [sig] = report.signatures
    assert report.ok, sig.details
    assert sig.level == "B-LTA"
    assert report.archive_timestamp_at is not None
    assert tsa.requests > before


def test_without_a_time_stamp_service_the_seal_stays_b_b(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    from tests.tsa import TestPKI

    TestPKI(tmp_path)
    s = settings_for(None, tmp_path)
    pdf = seal(blank_pdf(), s, at=AT, location="Sjöviks kommun", contact="klg@example.org")
    report = verify(pdf, trust_anchors(s))
    [sig] = report.signatures
    assert report.ok and sig.level == "B-B" and sig.timestamp_at is None and not sig.lasts


def test_a_service_that_does_not_answer_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    with TimeStampService(tmp_path) as service:
        url = service.url
    s = settings_for(None, tmp_path)
    s = MinutesSettings(**{**s.__dict__, "seal_tsa_url": url, "seal_tsa_timeout": 2.0})
    with pytest.raises(SealError, match=r"minutes.seal_tsa_url: the time-stamp service http://127.0.0.1:\d+/tsa"):
        seal(blank_pdf(), s, at=AT, location="Sjöviks kommun", contact="klg@example.org")


def configure(inst, tmp_path: Path, tsa: TimeStampService, trust: bool = True) -> None:
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    text = head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + f'''
[minutes]
seal_pkcs12 = "{tmp_path / 'seal.p12'}"
seal_password_env = "KLG_TEST_SEAL_PASSWORD"
seal_tsa_url = "{tsa.url}"
seal_revocation_files = ["{tmp_path / 'ca.crl'}"]
''' + (f'seal_trust = ["{tmp_path / "ca.pem"}"]\nseal_tsa_trust = ["{tmp_path / "ca.pem"}"]\n' if trust else "")
    inst.config_path.write_text(text, encoding="utf-8")


def test_klg_verify_reports_level_time_and_what_happens_after_expiry(inst, tsa, tmp_path):
    configure(inst, tmp_path, tsa)
    pdf, _ = sealed(tsa, tmp_path, seal_revocation_files=(tmp_path / "ca.crl",))
    path = tmp_path / "Minnesanteckningar.pdf"
    path.write_bytes(pdf)
    result = inst.klg("verify", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Level: PAdES B-LT" in out
    assert "Time-stamp: 20" in out and "(trusted: the seal existed at this time)" in out
    assert "After the certificate expires (2034-12-30" in out and "yes: the time-stamp and the embedded" in out
    assert "Result: VALID" in out


def test_klg_verify_without_a_trust_anchor_says_so_in_one_line(inst, tsa, tmp_path):
    pdf, _ = sealed(tsa, tmp_path)
    path = tmp_path / "Minnesanteckningar.pdf"
    path.write_bytes(pdf)
    result = inst.klg("verify", str(path))  # the default instance has no seal and no seal_trust
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "no trust anchor" in line and "--trust CA.pem" in line
    assert "Trust: NOT trusted" in result.stdout


def test_b_lt_without_revocation_information_is_refused_not_downgraded(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    with TimeStampService(tmp_path, crl_url=False) as service:  # certificates name no CRL to fetch
        s = settings_for(service, tmp_path, seal_revocation_fetch=True)
        with pytest.raises(SealError, match="revocation status of the seal's or the time-stamp's certificates"):
            seal(blank_pdf(), s, at=AT, location="Sjöviks kommun", contact="klg@example.org")
