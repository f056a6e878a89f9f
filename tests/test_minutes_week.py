"""The minutes end to end on the Maildir default, with a given clock: the real
week (proposals, Monday's agenda steps, the meeting's end), the pre-filled form
to the secretary, a filled form read back (made with python-docx) with rows to
correct, a change request round, a spoofed approval, two approvals, the signed
PDF/A sealed with a certificate the test makes, each audience's mail, the
intranet file, follow-ups and the item that comes back on the next meeting."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from daemon.followups import followups_for
from tests.agenda_helpers import Agenda
from tests.agenda_helpers import docx_of as agenda_docx_of
from daemon.minutes.seal import trust_anchors
from daemon.minutes.sealcheck import pdfa_identification, verify
from daemon.context import Ctx
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, SOFIA, at, attachment,
                           attachment_names, body, make_mail, recipients)
from tests.minutes_helpers import DOCX, docx_of, fill_form, form_tables, make_seal, pdf_text

pytestmark = pytest.mark.libreoffice

MEETING = "2026-12-01"
TAG = f"[KLG {MEETING}]"
SIGNED = "Minnesanteckningar KLG 2026-12-01.pdf"
COLUMNS = ["Nr", "Ärende", "Föredragande", "Utfall", "Anteckningar / beslut", "Ansvarig", "Nästa steg", "Återkommer",
           "Kommuniceras"]


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def only(messages, text: str, to: str | None = None):
    found = [m for m in messages if text in subject(m) and (to is None or recipients(m) == [to])]
    assert len(found) == 1, [(subject(m), recipients(m)) for m in messages]
    return found[0]


def flat(text: str) -> str:
    return " ".join(text.split())


def new_mail(inst, before: int) -> list:
    return inst.sent()[before:]


@pytest.fixture
def seal(tmp_path, monkeypatch):
    p12, ca = make_seal(tmp_path)
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", "hemligt")
    return p12, ca


def configure(inst, tmp_path, p12, ca) -> None:
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    text = head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + f'''
[minutes]
seal_pkcs12 = "{p12}"
seal_password_env = "KLG_TEST_SEAL_PASSWORD"
seal_trust = ["{ca}"]

[[minutes.audiences]]
name = "members"

[[minutes.audiences]]
name = "council"
addresses = ["ksau@example.org"]

[[minutes.audiences]]
name = "union"
addresses = ["cesam@example.org"]

[[minutes.audiences]]
name = "intranet"
folder = "{tmp_path / 'intranat'}"
'''
    inst.config_path.write_text(text, encoding="utf-8")


def _xmp(pdf: bytes) -> str:
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    return root["/Metadata"].get_object().get_data().decode("utf-8")


def test_minutes_from_final_agenda_to_distribution(inst, tmp_path, seal):
    p12, ca = seal
    configure(inst, tmp_path, p12, ca)

    # The week: proposals on Friday, the agenda's steps on Monday, the meeting on Tuesday 09:30–12:00.
    inst.drop(make_mail(MARIA, "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut\n\nUppföljning."))
    inst.drop(make_mail(ERIK, "Rekrytering socialsekreterare", "Tid: 30"))
    inst.drop(make_mail(LENA, "Skolskjutsar", "Tid: 20\nTyp: information"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    inst.tick(at("2026-11-30 14:00"))
    assert "minutes-form:2026-12-01" not in inst.tick(at("2026-12-01 11:59"))["steps"]

    # 12:00, the meeting's end: the pre-filled form goes to the secretary of the day.
    before = len(inst.sent())
    assert "minutes-form:2026-12-01" in inst.tick(at("2026-12-01 12:00"))["steps"]
    form = only(new_mail(inst, before), "Formulär för minnesanteckningar")
    assert subject(form) == f"{TAG} Formulär för minnesanteckningar tisdag 1 december 2026"
    [secretary] = recipients(form)
    assert secretary == AHMED  # the rotation's turn (members with the secretary role, in order)
    assert attachment_names(form) == ["Minnesanteckningar KLG 2026-12-01 formulär.docx"]
    tables = form_tables(docx_of(form))
    assert tables["identifier"] == "klg-minutes:2026-12-01"
    assert tables["items"][0] == COLUMNS
    rows = [r for r in tables["items"][1:] if r[1]]
    assert [r[:3] for r in rows if r[0]] == [["KLG-2026-001", "Budgetuppföljning oktober", "Maria Holm"],
                                            ["KLG-2026-002", "Rekrytering socialsekreterare", "Erik Sandberg"],
                                            ["KLG-2026-003", "Skolskjutsar", "Lena Åkesson"]]
    assert [r[1] for r in rows if not r[0]] == ["Information från verksamheterna", "Mediaspaning"]
    assert all(r[3:] == [""] * 6 for r in rows)  # outcome … communicate are for the secretary
    assert tables["attendance"][0] == ["Namn", "Titel", "Närvarande (Ja/Nej)"]
    assert [r[0] for r in tables["attendance"][1:] if r[0]] == [
        "Karin Berg", "Johan Ek", "Maria Holm", "Erik Sandberg", "Lena Åkesson", "Ahmed Karimi", "Sofia Lund",
        "Peter Nyström"]
    assert "KLG-2026-002  Rekrytering socialsekreterare" in body(form)

    # The secretary returns it with three rows that cannot be accepted.
    blank = docx_of(form)
    bad = fill_form(blank, {
        "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter."},
        "KLG-2026-001": {"Utfall": "Beslut"},
        "KLG-2026-002": {"Utfall": "Diskussion", "Återkommer": "2026-11-24"},
        "KLG-2026-003": {"Utfall": "Bordlagd"},
    })
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: " + subject(form), "Här är anteckningarna.", reply_to=form,
                        attachments=[("Minnesanteckningar KLG.docx", bad, DOCX)]))
    inst.tick(at("2026-12-01 15:00"))
    [problems] = new_mail(inst, before)
    assert recipients(problems) == [AHMED] and subject(problems) == f"{TAG} Formuläret behöver rättas"
    text = body(problems)
    assert ("Rad 2 (KLG-2026-001 Budgetuppföljning oktober): beslutet saknas. Så här rättar du: skriv vad som "
            "beslutades i kolumnen Anteckningar / beslut.") in text
    assert "Rad 3 (KLG-2026-002 Rekrytering socialsekreterare): datumet 2026-11-24 har redan varit" in text
    assert "Rad 4 (KLG-2026-003 Skolskjutsar): utfallet ”Bordlagd” känns inte igen" in text
    assert "Inget har skickats till justerarna än" in flat(text)

    # Corrected: Erik Sandberg is appointed to sign with the chair; Peter was absent.
    good = fill_form(blank, {
        "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter.",
                                            "Kommuniceras": "Ja"},
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "KLG godkänner uppföljningen.",
                         "Ansvarig": "Maria Holm", "Nästa steg": "Redovisa för KSAU", "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Diskussion", "Anteckningar / beslut": "Svårt att rekrytera.", "Ansvarig": "Erik",
                         "Nästa steg": "Ta fram en rekryteringsplan", "Återkommer": "nästa möte",
                         "Kommuniceras": "Nej"},
        "KLG-2026-003": {"Utfall": "Information", "Anteckningar / beslut": "Upphandlingen startar i januari.",
                         "Kommuniceras": "Ja"},
    }, absent=("Peter Nyström",), signatory="Erik Sandberg")
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: " + subject(problems), "Rättat.", reply_to=problems,
                        attachments=[("Minnesanteckningar KLG.docx", good, DOCX)]))
    inst.tick(at("2026-12-01 16:00"))
    fresh = new_mail(inst, before)
    received = only(fresh, "Minnesanteckningarna är mottagna", AHMED)
    assert "som version 1. De har skickats till Karin Berg och Erik Sandberg" in " ".join(body(received).split())
    karin_v1 = only(fresh, "Justering av minnesanteckningar, version 1", CHAIR)
    erik_v1 = only(fresh, "Justering av minnesanteckningar, version 1", ERIK)
    assert attachment_names(karin_v1) == ["Minnesanteckningar KLG 2026-12-01 v1.docx",
                                          "Minnesanteckningar KLG 2026-12-01 v1.pdf"]
    draft = pdf_text(attachment(karin_v1, "Minnesanteckningar KLG 2026-12-01 v1.pdf"))
    assert "Förslag för justering – version 1" in draft and "ej justerat" in draft
    assert "Kommuniceras: Nej" in flat(draft) and "Kommuniceras: Ja" not in draft  # the signatories see the Nej
    assert "Beslut: KLG godkänner uppföljningen." in draft

    # Karin approves version 1; Erik asks for a change, which goes to the secretary with the form to edit.
    before = len(inst.sent())
    inst.drop(make_mail(CHAIR, "Re: " + subject(karin_v1), "Justerat\n\nMvh\nKarin", reply_to=karin_v1))
    inst.drop(make_mail(ERIK, "Re: " + subject(erik_v1), "§ 3: skriv att planen tas fram tillsammans med HR.",
                        reply_to=erik_v1))
    inst.tick(at("2026-12-02 09:00"))
    fresh = new_mail(inst, before)
    assert "registrerad (1 av 2)" in body(only(fresh, "Justering registrerad", CHAIR))
    assert "Du skrev också" not in body(only(fresh, "Justering registrerad", CHAIR))
    assert "har skickats till sekreteraren" in body(only(fresh, "Din ändring har skickats", ERIK))
    change = only(fresh, "Ändring begärd i minnesanteckningarna, version 1", AHMED)
    assert "§ 3: skriv att planen tas fram tillsammans med HR." in body(change)
    assert attachment_names(change)[0] == "Minnesanteckningar KLG 2026-12-01 formulär v1.docx"

    # The secretary edits the form she last sent: version 2 voids Karin's approval.
    edited = fill_form(docx_of(change), {"KLG-2026-002": {
        "Anteckningar / beslut": "Svårt att rekrytera. Planen tas fram tillsammans med HR."}})
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: " + subject(change), "Ändrat.", reply_to=change,
                        attachments=[("Minnesanteckningar KLG.docx", edited, DOCX)]))
    inst.tick(at("2026-12-02 10:00"))
    fresh = new_mail(inst, before)
    karin_v2 = only(fresh, "Justering av minnesanteckningar, version 2", CHAIR)
    erik_v2 = only(fresh, "Justering av minnesanteckningar, version 2", ERIK)
    assert "ersätter version 1" in body(karin_v2) and "gäller inte längre" in body(karin_v2)
    status = inst.status(at("2026-12-02 10:00"))["minutes"]["meetings"][0]
    assert (status["state"], status["version"], status["waiting_for"]) == ("signing", 2, "signatures")
    assert [s["approved_at"] for s in status["signatories"]] == [None, None]

    # Karin's approval of the replaced version, Maria (not a signatory) answering Karin's mail, and a
    # stranger: none counts.
    before = len(inst.sent())
    inst.drop(make_mail(CHAIR, "Re: " + subject(karin_v1), "Justerat", reply_to=karin_v1))
    inst.drop(make_mail(MARIA, "Re: " + subject(karin_v2), "Justerat", reply_to=karin_v2))
    inst.drop(make_mail("mallory@example.net", "Re: " + subject(karin_v2), "Justerat", reply_to=karin_v2))
    inst.tick(at("2026-12-02 10:30"))
    fresh = new_mail(inst, before)
    replaced = only(fresh, "Versionen du svarade på är ersatt", CHAIR)
    assert "ersatts av version 2" in " ".join(body(replaced).split())
    assert attachment_names(replaced) == ["Minnesanteckningar KLG 2026-12-01 v2.docx",
                                          "Minnesanteckningar KLG 2026-12-01 v2.pdf"]
    assert "inte justerare" in body(only(fresh, "Ditt svar räknades inte", MARIA))
    assert len(fresh) == 2  # the stranger is not answered
    assert [m.name for m in inst.folder("quarantine")]  # the stranger's mail is kept in quarantine
    status = inst.status(at("2026-12-02 10:30"))["minutes"]["meetings"][0]
    assert [s["approved_at"] for s in status["signatories"]] == [None, None]

    # Both approve version 2: the signed minutes go out in the same pass.
    before = len(inst.sent())
    inst.drop(make_mail(CHAIR, "Re: " + subject(karin_v2), "Justerat", reply_to=karin_v2))
    inst.drop(make_mail(ERIK, "Re: " + subject(erik_v2), "Godkänt, tack!\n\n/Erik", reply_to=erik_v2))
    result = inst.tick(at("2026-12-02 11:15"))
    assert "minutes-signed:2026-12-01:v2" in result["steps"]
    fresh = new_mail(inst, before)

    signed = [m for m in fresh if "Justerade minnesanteckningar" in subject(m)]
    assert {subject(m) for m in signed} == {f"{TAG} Justerade minnesanteckningar tisdag 1 december 2026"}
    assert sorted(tuple(recipients(m)) for m in signed) == sorted(
        [("cesam@example.org",), ("ksau@example.org",), tuple(sorted(MEMBERS))])
    [members] = [m for m in signed if recipients(m) == sorted(MEMBERS)]
    assert attachment_names(members) == [SIGNED]
    full = attachment(members, SIGNED)
    text = pdf_text(full)
    for expected in ("Justerade 2026-12-02", "Rekrytering socialsekreterare",
                     "Svårt att rekrytera. Planen tas fram tillsammans med HR.", "Frånvarande: Peter Nyström",
                     "Återkommer: tisdag 8 december 2026"):
        assert expected in text, expected
    signing_block = [line.split() for line in text.splitlines() if "2026-12-02 1" in line]
    assert ["Karin", "Berg", "Ordförande,", "Kommundirektör", "2026-12-02", "11:15"] in signing_block
    assert ["Erik", "Sandberg", "Justerare,", "Socialchef", "2026-12-02", "11:15"] in signing_block

    council = [m for m in fresh if recipients(m) == ["ksau@example.org"]]
    union = [m for m in fresh if recipients(m) == ["cesam@example.org"]]
    assert len(council) == len(union) == 1
    # "Kommuniceras" is written only where it says Nej, and only in the members' copy
    assert flat(text).count("Kommuniceras: Nej") == 1 and "Kommuniceras: Ja" not in text
    council_text = pdf_text(attachment(council[0], SIGNED))  # the council gets every point, but it is published
    assert "Rekrytering socialsekreterare" in council_text and "Kommuniceras" not in council_text
    cut = attachment(union[0], SIGNED)
    cut_text = pdf_text(cut)
    assert "Rekrytering socialsekreterare" not in cut_text  # Kommuniceras: Nej
    assert "Kommuniceras" not in cut_text
    assert "omfattar inte 1 punkt" in cut_text and "Skolskjutsar" in cut_text  # one point, in the singular
    assert "punkt(er)" not in cut_text and "1 punkter" not in cut_text
    assert "omfattar inte 1 punkt som" in " ".join(body(union[0]).split())
    intranet = tmp_path / "intranat" / SIGNED
    assert intranet.read_bytes() == cut

    # PDF/A-2 in the XMP metadata, and a valid PAdES seal by the test certificate.
    for pdf in (full, cut):
        assert pdfa_identification(pdf) == "2B"
        assert "<pdfaid:part>2</pdfaid:part>" in _xmp(pdf) or 'pdfaid:part="2"' in _xmp(pdf)
        report = verify(pdf, trust_anchors(None, [ca]))
        [sig] = report.signatures
        assert report.ok and sig.intact and sig.valid and sig.trusted
        assert "Kommunledningsgruppen" in sig.signer and sig.coverage == "entire file"
    result = inst.klg("verify", str(intranet))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: VALID" in result.stdout and "PDF/A-2B" in result.stdout
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(full.replace(b"Rapporter.", b"Rapporter!", 1) if b"Rapporter." in full else
                         full[:2000] + bytes([full[2000] ^ 1]) + full[2001:])
    result = inst.klg("verify", str(tampered))
    assert result.returncode == 1 and "INVALID" in result.stdout

    report = only(fresh, "Minnesanteckningarna är justerade och utskickade")
    assert recipients(report) == sorted([CHANCELLERY, AHMED])
    assert "KLG-2026-002  Rekrytering socialsekreterare → mötet 2026-12-08" in body(report)
    assert f"Intranätet: sparad som {intranet}" in body(report)

    # Follow-ups: one mail per responsible; "Klart" closes Maria's.
    maria = only(fresh, "Uppföljning: 1 uppgift från", MARIA)
    assert "U1  Redovisa för KSAU (Budgetuppföljning oktober)" in body(maria)
    erik = only(fresh, "Uppföljning: 1 uppgift från", ERIK)
    assert "U2  Ta fram en rekryteringsplan" in body(erik)

    status = inst.status(at("2026-12-02 11:15"))
    minutes = status["minutes"]["meetings"][0]
    assert minutes["state"] == "distributed"
    assert [(d["audience"], d["channel"]) for d in minutes["distributed"]] == [
        ("members", "mail"), ("council", "mail"), ("union", "mail"), ("intranet", "folder")]
    assert [s["approved_at"] for s in minutes["signatories"]] == ["2026-12-02 11:15", "2026-12-02 11:15"]
    text = inst.klg("status", "--now", at("2026-12-02 11:15").isoformat()).stdout
    mailed = re.findall(r"^\s+\S+\s+mail\s+(\d+) (\w+)", text, re.MULTILINE)
    assert len(mailed) == 3 and all(word == ("address" if n == "1" else "addresses") for n, word in mailed), text
    assert "address(es)" not in text  # the plural rule
    # The carried-over item is on the next meeting.
    next_meeting = [m for m in status["meetings"] if m["date"] == "2026-12-08"][0]
    assert [i["id"] for i in next_meeting["items"]] == ["KLG-2026-002"]

    inst.drop(make_mail(MARIA, "Re: " + subject(maria), "Klart!", reply_to=maria))
    inst.tick(at("2026-12-03 09:00"))
    assert "U1" in body(only(inst.sent()[-1:], "Uppföljning markerad som klar", MARIA))
    store = inst.store()
    try:
        open_ones = followups_for(Ctx(inst.config, store, at("2026-12-03 09:00")), "2026-12-08")
    finally:
        store.close()
    assert [(f["ref"], f["responsible"], f["next_step"]) for f in open_ones] == [
        ("U2", "Erik Sandberg", "Ta fram en rekryteringsplan")]

    # Next week: the draft agenda lists Erik's open follow-up under "Uppföljning" and has the carried item.
    before = len(inst.sent())
    inst.tick(at("2026-12-07 10:05"))
    draft2 = [m for m in new_mail(inst, before) if "utkast" in subject(m).lower() or "Utkast" in subject(m)]
    assert draft2, [subject(m) for m in new_mail(inst, before)]
    rows2 = Agenda(agenda_docx_of(draft2[0])).rows()
    [followup_row] = [r for r in rows2 if r[2].startswith("Uppföljning")]
    assert followup_row[1] == "Stående"
    assert "U2 Erik Sandberg: Ta fram en rekryteringsplan" in followup_row[2]
    assert "U1" not in followup_row[2]  # Maria's is done
    assert any(r[1] == "KLG-2026-002" for r in rows2)
    # ... and the carried item and Erik's follow-up are in the next form.
    inst.tick(at("2026-12-07 14:00"))
    before = len(inst.sent())
    inst.tick(at("2026-12-08 12:00"))
    form2 = only(new_mail(inst, before), "Formulär för minnesanteckningar")
    assert recipients(form2) == [SOFIA]
    t2 = form_tables(docx_of(form2))
    assert ["KLG-2026-002", "Rekrytering socialsekreterare", "Erik Sandberg"] in [r[:3] for r in t2["items"]]
    assert t2["followups"][1][:3] == ["U2", "Ta fram en rekryteringsplan", "Erik Sandberg"]
    # Sofia returns it: the item is decided and Erik's follow-up is ticked off as done.
    filled = fill_form(docx_of(form2), {
        "KLG-2026-002": {"Utfall": "Beslut", "Anteckningar / beslut": "Rekryteringsplanen antas.",
                         "Kommuniceras": "Ja"},
    }, followups={"U2": {"Klar (Ja/Nej)": "Ja", "Kommentar": "Planen antagen"}})
    before = len(inst.sent())
    inst.drop(make_mail(SOFIA, "Re: " + subject(form2), "Här.", reply_to=form2,
                        attachments=[("Minnesanteckningar.docx", filled, DOCX)]))
    inst.tick(at("2026-12-08 15:00"))
    karin = only(new_mail(inst, before), "Justering av minnesanteckningar, version 1", CHAIR)
    assert "[KLG 2026-12-08]" in subject(karin)
    before = len(inst.sent())
    inst.drop(make_mail(CHAIR, "Re: " + subject(karin), "Justerat", reply_to=karin))
    inst.tick(at("2026-12-09 08:30"))
    fresh = new_mail(inst, before)
    report2 = only(fresh, "Minnesanteckningarna är justerade och utskickade")
    assert "Avslutade uppföljningspunkter: U2." in body(report2)
    [members2] = [m for m in fresh if "Justerade minnesanteckningar" in subject(m) and recipients(m) == sorted(MEMBERS)]
    text2 = pdf_text(attachment(members2, "Minnesanteckningar KLG 2026-12-08.pdf"))
    assert "Uppföljning" in text2 and "Klar: Planen antagen" in text2
    store = inst.store()
    try:
        assert followups_for(Ctx(inst.config, store, at("2026-12-09 08:30")), "2026-12-15") == []
    finally:
        store.close()
