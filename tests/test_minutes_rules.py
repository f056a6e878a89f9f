"""The minutes' rules one by one: reading a returned form, approval words,
the secretary swap, reminders, who may return the form, mail that lost its
thread headers, and the [minutes] config. No LibreOffice: KLG_SOFFICE points
nowhere, so versions go out as .docx only (which is itself a tested path)."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.context import Ctx
from daemon.followups import done_words
from daemon.minutes import content as contentlib
from daemon.minutes import formcheck
from daemon.minutes.replies import AGENDA_FINAL_KINDS, approval_word
from daemon.schedule import Calendar
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, LENA, MARIA, PETER, SOFIA, at, attachment_names, body,
                           make_mail, recipients)
from tests.minutes_helpers import DOCX, docx_of, fill_form

MEETING = "2026-12-01"
TAG = f"[KLG {MEETING}]"


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def no_pdf(monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")


# --- pure rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, word", [
    ("Justerat", "Justerat"), ("justeras.", "justeras"), ("Godkänt, tack!", "Godkänt"), ("Godkänd", "Godkänd"),
    ("APPROVED", "APPROVED"), ("OK för mig\n\n/Karin", "OK"), ("Justerat\nMvh Karin", "Justerat"),
    ("OK men § 3 ska ändras", None), ("Ok?", None), ("Justerat, utom § 2", None), ("Punkt 2 är fel", None),
    ("", None), ("Inte justerat", None),
])
def test_approval_words(text, word):
    assert approval_word(text) == word


@pytest.mark.parametrize("text, result", [
    ("Klart", (True, [])), ("klart U7 och U9", (True, [7, 9])), ("Done: u3", (True, [3])),
    ("Inte klart än", (False, [])), ("", (False, [])),
])
def test_done_words(text, result):
    assert done_words(text) == result


def _check(cfg, rows, *, today=date(2026, 12, 1), signatories=(), attendance=None, followups=()):
    raw = formcheck.RawForm(identifier="klg-minutes:2026-12-01", has_items_table=True,
                            signatories=list(signatories), rows=rows, followups=list(followups),
                            attendance=attendance or [{"name": "Karin Berg", "present": "Ja"}])
    cal = Calendar(cfg.schedule, cfg.group.timezone)
    form_rows = [{"id": "KLG-2026-001", "type": "item", "title": "Budget", "presenter": "Maria Holm", "kind": "beslut"},
                 {"id": None, "type": "standing", "title": "Mediaspaning", "presenter": "", "kind": ""}]
    return formcheck.check(raw, config=cfg, meeting=date(2026, 12, 1), today=today, form_rows=form_rows,
                           form_followups=[{"id": 4, "title": "Lokaler", "responsible": "Erik Sandberg",
                                            "next_step": "Inventera", "communicate": True}],
                           secretary=cfg.member_by_address(AHMED),
                           next_meeting=lambda d, inc: cal.next_meeting(d, inclusive=inc),
                           item_exists=lambda i: i == "KLG-2026-009", language="sv")


def test_form_rows_are_checked(inst):
    cfg = inst.config
    ok = _check(cfg, [
        {"id": "KLG-2026-001", "title": "Budget", "outcome": "beslutat", "notes": "Godkänd.", "responsible": "Maria",
         "next_step": "Redovisa", "comes_back": "15 december", "communicate": "ja"},
        {"id": "", "title": "Mediaspaning"},
        {"id": "", "title": "Vinterväghållning", "outcome": "Till politiken", "notes": "Till KS.",
         "comes_back": "2026-12-26", "communicate": ""},
    ], signatories=["Erik och Lena Åkesson"], followups=[{"id": "U4", "done": "Ja", "comment": "Klart i dag"}])
    assert ok.problems == []
    rows = ok.content["rows"]
    assert rows[0] | {} == {**rows[0], "outcome": "beslut", "responsible": "Maria Holm", "responsible_email": MARIA,
                            "comes_back": "2026-12-15", "communicate": True, "type": "item"}
    assert rows[1]["type"] == "standing" and rows[1]["communicate"] is True  # nothing noted: nothing to hide
    assert rows[2]["type"] == "extra" and rows[2]["outcome"] == "politiken" and rows[2]["communicate"] is False
    # 26 December is a holiday; 29 December lies in the default's Christmas break: the next meeting
    assert rows[2]["comes_back"] == "2027-01-05"
    assert any("inget möte 2026-12-26" in n for n in ok.notes)
    assert any("Kommuniceras var tomt" in n for n in ok.notes)
    assert [s["email"] for s in ok.content["signatories"]] == [CHAIR, ERIK, LENA]
    assert ok.content["followups"] == [{"id": 4, "title": "Lokaler", "responsible": "Erik Sandberg",
                                        "next_step": "Inventera", "done": True, "comment": "Klart i dag",
                                        "communicate": True}]
    # The hash is of the content: the same form gives the same hash, a changed word another.
    again = _check(cfg, [
        {"id": "KLG-2026-001", "title": "Budget", "outcome": "beslutat", "notes": "Godkänd.", "responsible": "Maria",
         "next_step": "Redovisa", "comes_back": "15 december", "communicate": "ja"},
        {"id": "", "title": "Mediaspaning"},
        {"id": "", "title": "Vinterväghållning", "outcome": "Till politiken", "notes": "Till KS.",
         "comes_back": "2026-12-26", "communicate": ""},
    ], signatories=["Erik och Lena Åkesson"], followups=[{"id": "U4", "done": "Ja", "comment": "Klart i dag"}])
    assert contentlib.content_hash(again.content) == contentlib.content_hash(ok.content)
    ok.content["rows"][0]["notes"] = "Godkänd!"
    assert contentlib.content_hash(again.content) != contentlib.content_hash(ok.content)


def test_form_problems_name_the_row_and_the_fix(inst):
    bad = _check(inst.config, [
        {"id": "KLG-2026-001", "title": "Budget", "outcome": "beslut", "notes": "", "comes_back": "2026-11-30",
         "communicate": "kanske"},
        {"id": "KLG-2026-077", "title": "Okänt", "outcome": "Information"},
        {"id": "", "title": "Övrigt", "outcome": "", "notes": "Något"},
        {"id": "", "title": "Sent", "outcome": "Diskussion", "comes_back": "nån gång"},
    ], signatories=["Kalle Anka"], attendance=[{"name": "Karin Berg", "present": "kanske"}],
        followups=[{"id": "U99", "done": "Ja"}])
    text = [f"{p['where']}: {p['problem']} — {p['fix']}" for p in bad.problems]
    assert bad.content is None
    assert "Justerare: ”Kalle Anka” är inte medlem i gruppen — skriv justerarens namn som i medlemslistan, " \
           "t.ex. Peter Nyström" in text
    assert "Närvaro, Karin Berg: ”kanske” är varken Ja eller Nej — skriv Ja (närvarande) eller Nej (frånvarande)" in text
    assert "Rad 1 (KLG-2026-001 Budget): beslutet saknas — skriv vad som beslutades i kolumnen Anteckningar / beslut" in text
    assert ("Rad 1 (KLG-2026-001 Budget): datumet 2026-11-30 har redan varit — skriv ett kommande datum "
            "(t.ex. 2026-12-08) eller ”nästa möte”") in text
    assert "Rad 1 (KLG-2026-001 Budget): ”kanske” i kolumnen Kommuniceras är varken Ja eller Nej — skriv Ja eller Nej" in text
    assert any(t.startswith("Rad 2 (KLG-2026-077): ärendenumret KLG-2026-077 finns inte") for t in text)
    assert any(t.startswith("Rad 2 (Övrigt): utfall saknas") for t in text)
    assert any(t.startswith("Rad 3 (Sent): ”nån gång” är varken ett datum eller ”nästa möte”") for t in text)
    assert "Uppföljning U99: uppföljningspunkten U99 finns inte — låt numret i kolumnen Nr stå kvar som det var" in text
    # A deleted item row is a problem; a form for another meeting is refused outright.
    missing = _check(inst.config, [{"id": "", "title": "Mediaspaning"}])
    assert [p["problem"] for p in missing.problems] == ["raden för ärende KLG-2026-001 Budget saknas"]
    raw = formcheck.RawForm(identifier="klg-minutes:2026-11-24", has_items_table=True)
    other = formcheck.check(raw, config=inst.config, meeting=date(2026, 12, 1), today=date(2026, 12, 1), form_rows=[],
                            form_followups=[], secretary=inst.config.members[0], next_meeting=None,
                            item_exists=None, language="sv")
    assert [p["problem"] for p in other.problems] == ["formuläret gäller mötet 2026-11-24"]


# --- through the mailbox ---------------------------------------------------------------------


def minutes_steps(result: dict) -> list[str]:
    return [s for s in result["steps"] if s.startswith("minutes-")]


def stand_in(inst):
    """The stand-in for the agenda's final mail (sent with the step_failed text)."""
    return [m for m in inst.sent() if "ett steg kunde inte genomföras" in subject(m)][-1]


def _week(inst):
    """Two proposals and Monday's agenda steps (with the agenda workflow installed, the final
    agenda goes out unapproved at 14:00, so the meeting has minutes)."""
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Typ: beslut"))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 20"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    inst.tick(at("2026-11-30 14:00"))


def _to_form(inst, now="2026-12-01 12:00"):
    _week(inst)
    inst.tick(at(now))
    return [m for m in inst.sent() if "ormulär för minnesanteckningar" in subject(m) or "Minutes form" in subject(m)][-1]


def _filled(form, **extra):
    return fill_form(docx_of(form), {
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "Godkänd.", "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Information", "Kommuniceras": "Ja"},
    }, **extra)


def test_secretary_swap_by_replying_to_the_final_agenda(inst):
    _week(inst)
    # The agenda's final mail (issue 3) stands in as an outbox mail of kind "final".
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-11-30 14:00"))
        with store.atomic():
            ctx.send("step_failed", inst.config.members, {"what": "Dagordning", "error": "-"},
                     kind=AGENDA_FINAL_KINDS[0], meeting=MEETING)
    finally:
        store.close()
    inst.tick(at("2026-11-30 14:00"))
    final = stand_in(inst)
    before = len(inst.sent())
    inst.drop(make_mail(SOFIA, "Re: Dagordning", "Sekreterare: Kalle Anka", reply_to=final))
    inst.drop(make_mail(MARIA, "Re: Dagordning", "Sekreterare: Lena\n\nJag byter med Ahmed.", reply_to=final))
    inst.drop(make_mail(ERIK, "Re: Dagordning", "Tack för dagordningen!", reply_to=final))
    inst.tick(at("2026-11-30 15:00"))
    fresh = inst.sent()[before:]
    unknown = [m for m in fresh if recipients(m) == [SOFIA]][0]
    assert subject(unknown) == f"{TAG} Okänd sekreterare"
    assert "Vi hittar ingen medlem som heter ”Kalle Anka”" in flat(body(unknown))
    swapped = [m for m in fresh if "Ny sekreterare" in subject(m)][0]
    assert recipients(swapped) == sorted([MARIA, LENA, AHMED])
    assert "Lena Åkesson är nu sekreterare för mötet tisdag 1 december 2026 i stället för Ahmed Karimi" in flat(body(swapped))
    [thanks] = [m for m in fresh if recipients(m) == [ERIK]]  # answered, and no swap
    assert "sekreterare" not in subject(thanks).lower()

    inst.tick(at("2026-12-01 12:00"))
    form = [m for m in inst.sent() if "Formulär för minnesanteckningar" in subject(m)][-1]
    assert recipients(form) == [LENA]
    status = inst.status(at("2026-12-01 12:00"))["minutes"]["meetings"][0]
    assert (status["state"], status["waiting_for"], status["secretary"]["email"]) == ("form_sent", "secretary", LENA)


def test_swap_after_the_form_went_out_resends_it(inst):
    form = _to_form(inst)
    assert recipients(form) == [AHMED]
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-12-01 12:05"))
        with store.atomic():
            ctx.send("step_failed", inst.config.members, {"what": "Dagordning", "error": "-"},
                     kind=AGENDA_FINAL_KINDS[-1], meeting=MEETING)
    finally:
        store.close()
    inst.tick(at("2026-12-01 12:05"))
    agenda = stand_in(inst)
    inst.drop(make_mail(AHMED, "Re: Dagordning", "Sekreterare: Erik Sandberg", reply_to=agenda))
    before = len(inst.sent())
    inst.tick(at("2026-12-01 12:10"))
    fresh = inst.sent()[before:]
    resent = [m for m in fresh if "Formulär" in subject(m)][0]
    assert recipients(resent) == [ERIK] and "Ahmed Karimi har meddelat att du är sekreterare" in flat(body(resent))
    assert attachment_names(resent) == ["Minnesanteckningar KLG 2026-12-01 formulär.docx"]
    # Only the new secretary (or the chair, the chancellery) may hand the form in now.
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: form", "Här.", reply_to=form, attachments=[("f.docx", _filled(form), DOCX)]))
    inst.tick(at("2026-12-01 13:00"))
    [refused] = inst.sent()[before:]
    assert subject(refused) == f"{TAG} Minnesanteckningarna togs inte emot"
    assert "bara lämnas in av sekreteraren (Erik Sandberg)" in flat(body(refused))


def test_return_without_a_form_and_with_the_wrong_form(inst, no_pdf):
    form = _to_form(inst)
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: form", "Här är de.", reply_to=form,
                        attachments=[("anteckningar.pdf", b"%PDF-1.4 ...", "application/pdf")]))
    inst.drop(make_mail(AHMED, "Re: form", "Här är de.", reply_to=form,
                        attachments=[("annat.docx", _other_docx(), DOCX)]))
    inst.tick(at("2026-12-01 13:00"))
    no_docx, wrong = inst.sent()[before:]
    assert ("Svara på mejlet med det ifyllda formuläret bifogat som Word-fil (.docx). "
            "Vi hittade ingen sådan fil i ditt svar (bifogat var: anteckningar.pdf)") in flat(body(no_docx))
    assert "tabellen med ärenden saknas" in body(wrong)


def _other_docx() -> bytes:
    import io

    from docx import Document

    doc = Document()
    doc.add_paragraph("Ett helt annat dokument.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_reminders_and_a_docx_only_version(inst, no_pdf):
    form = _to_form(inst)
    # The secretary's reminder: 48 hours after the form, in office hours (Thursday 12:00).
    assert minutes_steps(inst.tick(at("2026-12-03 11:59"))) == []
    assert minutes_steps(inst.tick(at("2026-12-03 12:00"))) == ["minutes-return-reminder:2026-12-01:v0"]
    reminder = inst.sent()[-1]
    assert subject(reminder) == f"{TAG} Påminnelse: Formulär för minnesanteckningar tisdag 1 december 2026"
    assert attachment_names(reminder) == ["Minnesanteckningar KLG 2026-12-01 formulär.docx"]
    assert minutes_steps(inst.tick(at("2026-12-04 12:00"))) == []  # once

    # Returned Friday 16:30: no LibreOffice, so the signatories get the .docx and are told no PDF was made.
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: form", "Här.", reply_to=form, attachments=[("f.docx", _filled(form), DOCX)]))
    inst.tick(at("2026-12-04 16:30"))
    fresh = inst.sent()[before:]
    received = [m for m in fresh if recipients(m) == [AHMED]][0]
    assert "utan PDF" in flat(body(received))
    sign = [m for m in fresh if recipients(m) == [CHAIR]][0]
    assert attachment_names(sign) == ["Minnesanteckningar KLG 2026-12-01 v1.docx"]
    assert "Word-fil." in body(sign)
    # 24 hours later is Saturday: the reminder waits for Monday 08:00.
    assert minutes_steps(inst.tick(at("2026-12-05 17:00"))) == []
    assert minutes_steps(inst.tick(at("2026-12-07 07:59"))) == []
    assert minutes_steps(inst.tick(at("2026-12-07 08:00"))) == ["minutes-sign-reminder:2026-12-01:v1"]
    again = [m for m in inst.sent() if "Påminnelse: Justering" in subject(m)]
    assert [recipients(m) for m in again] == [[CHAIR]]
    # A mail that lost its thread headers but carries the meeting tag still counts as the chair's answer.
    inst.drop(make_mail(CHAIR, f"{TAG} Justerat", "Justerat"))
    before = len(inst.sent())
    inst.tick(at("2026-12-07 09:00"))
    fresh = inst.sent()[before:]
    assert "Justerade minnesanteckningar" not in " ".join(subject(m) for m in fresh)  # no PDF yet: the step waits
    assert "registrerad (1 av 1)" in body([m for m in fresh if recipients(m) == [CHAIR]][0])
    status = inst.status(at("2026-12-07 09:00"))
    assert status["minutes"]["meetings"][0]["signatories"][0]["approved_at"] == "2026-12-07 09:00"
    failed = [m for m in fresh if recipients(m) == [CHANCELLERY]]
    assert len(failed) == 1 and "LibreOffice is not installed" in body(failed[0])
    assert inst.status(at("2026-12-07 09:00"))["minutes"]["meetings"][0]["state"] == "signing"


def test_minutes_config_is_checked(inst, tmp_path):
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    inst.config_path.write_text(head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + '''
[minutes]
reminder_hours = -1
seal_pkcs12 = "saknas.p12"
seal_password = "hemligt"
file_name = "../{date}.docx"
colour = "blå"

[[minutes.audiences]]
name = "council"
addresses = ["inte en adress"]
folder = "/tmp/x"
''', encoding="utf-8")
    result = inst.klg("check-config")
    assert result.returncode == 2
    err = result.stderr
    for expected in ("minutes.reminder_hours = -1: expected hours",
                     "minutes.seal_pkcs12 = 'saknas.p12': no such file",
                     'minutes.seal_password = "***": secrets never go in the file',
                     "minutes.seal_password_env is missing",
                     "minutes.file_name = '../{date}.docx': expected a file name ending in .pdf",
                     "minutes.colour is not a known key",
                     "minutes.audiences[0]: has both addresses and folder",
                     "minutes.audiences[0].addresses: 'inte en adress' is not an e-mail address"):
        assert expected in err, (expected, err)


def test_the_english_form_and_mails(inst, no_pdf):
    inst.edit_config('language = "sv"', 'language = "en"')
    form = _to_form(inst)
    assert subject(form) == f"{TAG} Minutes form Tuesday 1 December 2026"
    assert attachment_names(form) == ["Minutes KLG 2026-12-01 form.docx"]
    filled = fill_form(docx_of(form), {
        "KLG-2026-001": {"Outcome": "Decision", "Notes / decision": "Approved.", "Communicate": "Yes",
                         "Comes back": "next meeting"},
        "KLG-2026-002": {"Outcome": "Referred", "Communicate": "No"},
    }, absent=("Sofia Lund",), signatory="Maria Holm", lang="en")
    before = len(inst.sent())
    inst.drop(make_mail(AHMED, "Re: form", "Here.", reply_to=form, attachments=[("f.docx", filled, DOCX)]))
    inst.tick(at("2026-12-01 13:00"))
    fresh = inst.sent()[before:]
    received = [m for m in fresh if recipients(m) == [AHMED]][0]
    assert subject(received) == f"{TAG} The minutes have been received"
    assert "as version 1. They have gone to Karin Berg and Maria Holm for approval (without a PDF" in flat(body(received))
    sign = [m for m in fresh if recipients(m) == [MARIA]][0]
    assert subject(sign) == f"{TAG} Minutes for approval, version 1"
    assert "§ 2  KLG-2026-001" not in body(sign) and "§ 2  Budgetuppföljning – Decision" in body(sign)
    assert "§ 3  Rekrytering – To the politicians" in body(sign)
    assert attachment_names(sign) == ["Minutes KLG 2026-12-01 v1.docx"]
    before = len(inst.sent())
    inst.drop(make_mail(MARIA, "Re: sign", "Approved", reply_to=sign))
    inst.tick(at("2026-12-01 14:00"))
    [answer] = [m for m in inst.sent()[before:] if recipients(m) == [MARIA]]
    assert subject(answer) == f"{TAG} Approval recorded"
    assert "(1 of 2). We are now waiting for Karin Berg." in flat(body(answer))


def test_a_reply_to_the_final_agenda_goes_to_the_minutes_or_the_agenda(inst):
    # A "Sekreterare:" line in a reply to the final agenda is the minutes' business;
    # any other reply to it still goes to the agenda, which answers it.
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-11-30 14:00"))
        with store.atomic():
            ctx.send("step_failed", inst.config.members, {"what": "Dagordning", "error": "-"}, kind="agenda-final",
                     meeting=MEETING)
    finally:
        store.close()
    inst.tick(at("2026-11-30 14:00"))
    final = stand_in(inst)
    inst.drop(make_mail(PETER, "Re: Dagordning", "Sekreterare: Peter Nyström", reply_to=final))
    inst.drop(make_mail(LENA, "Re: Agenda 2", "Kan vi byta ordning på punkterna?", reply_to=final))
    before = len(inst.sent())
    inst.tick(at("2026-11-30 15:00"))
    new = inst.sent()[before:]
    [swapped] = [m for m in new if PETER in recipients(m)]
    assert "Peter Nyström är nu sekreterare för mötet tisdag 1 december 2026 i stället för Ahmed Karimi" in flat(body(swapped))
    [answered] = [m for m in new if recipients(m) == [LENA]]  # the agenda's answer to a member who is no reviewer
    assert "Svar på dagordningen läses inte av någon här" in flat(body(answered))


def test_a_word_edited_form_template_is_checked(inst, tmp_path):
    import shutil

    from docx import Document

    from tests.helpers import REPO

    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    path = templates / "sv" / "minutes.docx"
    doc = Document(str(path))
    for table in doc.tables:
        for cell in table.rows[0].cells:
            if cell.text == "Utfall":
                cell.paragraphs[0].runs[0].text = "Resultat"
    doc.save(str(path))
    inst.edit_config(f'templates = "{REPO / "templates"}"', f'templates = "{templates}"')
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert (f"template {path}: the table of points must keep its header row with the columns Nr and Utfall"
            in result.stderr)
