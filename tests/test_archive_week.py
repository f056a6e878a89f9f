"""Done when, played through the real week on the Maildir default: the minutes
sealed with the test time-stamp service (tests/tsa.py) verify as PAdES B-LT
with `klg verify`, and the archive package the daemon writes after the
distribution (``[archive] folder``) passes eark-validator (all rules but its
known defect SIP14) with the agenda as sent, the signed minutes (B-LTA) and
the proposal's document in it."""

from __future__ import annotations

import pytest

from tests.helpers import AHMED, CHAIR, CHANCELLERY, ERIK, LENA, MARIA, at, body, make_mail, recipients
from tests.minutes_helpers import DOCX, docx_of, fill_form
from tests.test_archive_package import KNOWN_VALIDATOR_DEFECTS, eark_validate, errors
from tests.test_minutes_week import only, subject
from tests.tsa import PASSWORD, TimeStampService

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

MEETING = "2026-12-01"
SIGNED = "Minnesanteckningar KLG 2026-12-01.pdf"


def configure(inst, tmp_path, tsa: TimeStampService) -> None:
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    pki = tsa.pki
    text = head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + f'''
[minutes]
seal_pkcs12 = "{pki.seal_p12}"
seal_password_env = "KLG_TEST_SEAL_PASSWORD"
seal_trust = ["{pki.ca_pem}"]
seal_tsa_url = "{tsa.url}"
seal_tsa_trust = ["{pki.ca_pem}"]
seal_revocation_fetch = true

[[minutes.audiences]]
name = "members"

[[minutes.audiences]]
name = "intranet"
folder = "{tmp_path / 'intranat'}"
omit_not_communicated = true

[archive]
folder = "{tmp_path / 'e-arkiv'}"
'''
    inst.config_path.write_text(text, encoding="utf-8")


def test_the_week_ends_in_a_b_lt_seal_and_a_valid_archive_package(inst, tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    (tmp_path / "tsa").mkdir()
    with TimeStampService(tmp_path / "tsa", watch_db=inst.root / "data" / "klg.sqlite") as tsa:
        configure(inst, tmp_path, tsa)
        inst.drop(make_mail(MARIA, "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut\n\nUppföljning.",
                            attachments=[("Uppföljning oktober.txt", "Utfall per förvaltning.\n".encode(),
                                          "text/plain")]))
        inst.drop(make_mail(LENA, "Skolskjutsar", "Tid: 20\nTyp: information"))
        inst.tick(at("2026-11-27 09:00"))
        inst.tick(at("2026-11-30 10:05"))
        inst.tick(at("2026-11-30 14:00"))
        before = len(inst.sent())
        inst.tick(at("2026-12-01 12:00"))
        form = only(inst.sent()[before:], "Formulär för minnesanteckningar")
        good = fill_form(docx_of(form), {
            "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter.",
                                                "Kommuniceras": "Ja"},
            "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "KLG godkänner uppföljningen.",
                             "Kommuniceras": "Ja"},
            "KLG-2026-002": {"Utfall": "Information", "Anteckningar / beslut": "Upphandlingen startar i januari.",
                             "Kommuniceras": "Ja"},
        }, absent=("Peter Nyström",), signatory="Erik Sandberg")
        before = len(inst.sent())
        inst.drop(make_mail(AHMED, "Re: " + subject(form), "Här.", reply_to=form,
                            attachments=[("Minnesanteckningar KLG.docx", good, DOCX)]))
        inst.tick(at("2026-12-01 16:00"))
        fresh = inst.sent()[before:]
        karin = only(fresh, "Justering av minnesanteckningar, version 1", CHAIR)
        erik = only(fresh, "Justering av minnesanteckningar, version 1", ERIK)
        inst.drop(make_mail(CHAIR, "Re: " + subject(karin), "Justerat", reply_to=karin))
        inst.drop(make_mail(ERIK, "Re: " + subject(erik), "Justerat", reply_to=erik))
        # The time-stamp service is down when both have approved: nothing goes out, the chancellery is told.
        tsa.down = True
        before = len(inst.sent())
        assert "minutes-signed:2026-12-01:v1" not in inst.tick(at("2026-12-02 11:10"))["steps"]
        fresh = inst.sent()[before:]
        failed = only(fresh, "ett steg kunde inte genomföras")
        assert recipients(failed) == [CHANCELLERY]
        assert not [m for m in fresh if "Justerade minnesanteckningar" in subject(m)]
        assert f"minutes.seal_tsa_url: the time-stamp service {tsa.url} did not give a time-stamp" in body(failed)
        tsa.down = False
        before = len(inst.sent())
        steps = inst.tick(at("2026-12-02 11:15"))["steps"]
        assert "minutes-signed:2026-12-01:v1" in steps and f"archive:{MEETING}" in steps
        report = only(inst.sent()[before:], "Minnesanteckningarna är justerade och utskickade")
        assert f"Utskick av {SIGNED} (PDF/A, förseglad, PAdES B-LT):" in body(report)
        assert tsa.requests >= 2  # the seal's time-stamp, then the archive's document time-stamp
        # A network call never waits inside a store transaction (daemon.documents makes it between runs).
        assert tsa.lock_states and set(tsa.lock_states) == {"free"}, tsa.lock_states

    # The intranet's copy, checked by a reader with the CA: B-LT, and it outlives the certificate.
    result = inst.klg("verify", str(tmp_path / "intranat" / SIGNED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Level: PAdES B-LT" in result.stdout and "Time-stamp: 20" in result.stdout
    assert "yes: the time-stamp and the embedded revocation information suffice" in result.stdout

    package = tmp_path / "e-arkiv" / "KLG-2026-12-01"
    data = package / "representations" / "rep1" / "data"
    assert (data / "Dagordning KLG 2026-12-01.pdf").read_bytes()[:5] == b"%PDF-"
    assert (data / "KLG-2026-001" / "Uppföljning oktober.txt").read_bytes() == "Utfall per förvaltning.\n".encode()
    result = inst.klg("verify", str(data / SIGNED))
    assert result.returncode == 0 and "Level: PAdES B-LTA" in result.stdout, result.stdout
    found = errors(eark_validate(package))
    assert {rule for rule, _ in found} == KNOWN_VALIDATOR_DEFECTS, found
