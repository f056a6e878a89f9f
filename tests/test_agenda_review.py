"""Review in Word: what the daemon does with every kind of answer to a draft."""

from __future__ import annotations

import copy

import pytest

from daemon.agenda.reading import is_approval
from tests.agenda_helpers import DOCX, W, Agenda, docx_of, tiny_pdf
from tests.helpers import (CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, PETER, at, attachment_names, body,
                           make_mail, recipients)

MEETING = "2026-12-01"


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


@pytest.fixture
def drafted(inst):
    """Three proposals, one late one for the next meeting, and the draft sent on Monday 10:05."""
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15\nTyp: beslut"))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 30"))
    inst.drop(make_mail(LENA, "Skolskjutsar", "Tid: 20\nTyp: information"))
    inst.tick(at("2026-11-27 09:00"))
    inst.drop(make_mail(PETER, "Mediestrategi", "Tid: 10"))
    inst.tick(at("2026-11-30 10:03"))
    inst.tick(at("2026-11-30 10:05"))
    return inst


def draft_of(inst):
    return next(m for m in inst.sent() if "Utkast" in subject(m))


def reply(inst, sender, to, text, docx: bytes | None = None, when="2026-11-30 11:00", name="dagordning.docx"):
    attachments = [(name, docx, DOCX)] if docx is not None else []
    inst.drop(make_mail(sender, f"SV: {subject(to)}", text, reply_to=to, attachments=attachments))
    return inst.tick(at(when))


def meeting(inst) -> dict:
    return next(m for m in inst.status(at("2026-11-30 12:00"))["meetings"] if m["date"] == MEETING)


def versions(inst) -> int:
    return meeting(inst)["agenda_version"]


@pytest.mark.parametrize("text, expected", [
    ("OK", True), ("Ok, tack!", True), ("Godkänd\n\n/Karin", True), ("godkänner", True), ("Approved.", True),
    ("OK men flytta punkt 3 till efter pausen", False), ("Jag godkänner inte detta", False), ("", False),
    ("Se bifogat", False),
])
def test_approval_words(text, expected):
    assert is_approval(text) is expected


def test_unreadable_document_names_row_and_cell(drafted):
    inst = drafted
    draft = draft_of(inst)
    agenda = Agenda(docx_of(draft))
    agenda.set("KLG-2026-001", 5, "tio")
    agenda.set("KLG-2026-002", 1, "KLG-2026-099")
    agenda.set("KLG-2026-003", 4, "Övrigt")
    agenda.add_after("KLG-2026-003", ["", "", "", "Karin", "", "5"])
    reply(inst, CHAIR, draft, "Ändrat", agenda.bytes())
    answer = inst.sent()[-1]
    assert recipients(answer) == [CHAIR]
    text = " ".join(body(answer).split())
    assert "Rad 2 (KLG-2026-001 Budgetuppföljning), kolumnen Min: ”tio” är inget antal minuter" in text
    assert "Rad 3 (KLG-2026-099 Rekrytering), kolumnen Nr: det finns inget ärende KLG-2026-099" in text
    assert "Rad 5 (KLG-2026-003 Skolskjutsar), kolumnen Typ: ”Övrigt” är ingen typ" in text
    assert "Rad 6, kolumnen Ärende: en ny punkt behöver en rubrik" in text
    assert attachment_names(answer) == ["Dagordning KLG 2026-12-01 utkast v1.docx"]
    assert versions(inst) == 1  # nothing changed
    assert inst.folder("quarantine")


def test_other_formats_and_unclear_replies(drafted):
    inst = drafted
    draft = draft_of(inst)
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Se bifogat", reply_to=draft,
                        attachments=[("dagordning.pdf", tiny_pdf("x"), "application/pdf")]))
    inst.tick(at("2026-11-30 11:00"))
    assert "inte i Word-format (.docx)" in " ".join(body(inst.sent()[-1]).split())
    reply(inst, CHANCELLERY, draft, "Kan vi prata om punkt 2?", when="2026-11-30 11:05")
    assert "varken ett ändrat dokument (.docx) eller ett godkännande" in " ".join(body(inst.sent()[-1]).split())
    assert versions(inst) == 1


def test_a_document_without_changes(drafted):
    inst = drafted
    draft = draft_of(inst)
    reply(inst, CHAIR, draft, "Här", docx_of(draft))
    assert "ingen ny version" in body(inst.sent()[-1])
    reply(inst, CHAIR, draft, "Godkänd", docx_of(draft), when="2026-11-30 11:10")
    assert "Dagordningen är godkänd (version 1)" in subject(inst.sent()[-1])


def test_approval_of_an_older_version_is_refused(drafted):
    inst = drafted
    draft = draft_of(inst)
    agenda = Agenda(docx_of(draft))
    agenda.set("KLG-2026-002", 5, "25")
    reply(inst, CHANCELLERY, draft, "Kortare", agenda.bytes())
    assert "Dagordning version 2" in subject(inst.sent()[-1])
    reply(inst, CHAIR, draft, "OK", when="2026-11-30 11:10")  # to the draft, not to version 2
    answer = inst.sent()[-1]
    assert "gäller version 1 av dagordningen, men Johan Ek har redan gjort version 2" in " ".join(body(answer).split())
    assert attachment_names(answer) == ["Dagordning KLG 2026-12-01 utkast v2.docx"]
    status = meeting(inst)
    assert (status["state"], status["agenda_version"]) == ("draft_sent", 2)


def test_late_item_brought_forward_and_break_moved(drafted):
    """A row with the number of the late proposal brings it to this meeting; a time
    typed in the break's cell moves the break; the chair approves in the same reply."""
    inst = drafted
    draft = draft_of(inst)
    assert "KLG-2026-004 Mediestrategi" in body(draft)
    agenda = Agenda(docx_of(draft))
    agenda.add_after("KLG-2026-003", ["", "KLG-2026-004", "", "", "", ""])
    agenda.set("Paus", 0, "11.05")
    reply(inst, CHAIR, draft, "Godkänd, tack", agenda.bytes())
    version = inst.sent()[-1]
    assert subject(version) == "[KLG 2026-12-01] Dagordning version 2 – godkänd"
    rows = Agenda(docx_of(version)).rows()
    assert [r[:2] for r in rows] == [["09:30–09:50", "Stående"], ["09:50–10:05", "KLG-2026-001"],
                                     ["10:05–10:35", "KLG-2026-002"], ["10:35–10:55", "KLG-2026-003"],
                                     ["10:55–11:05", "KLG-2026-004"], ["11:05–11:35", "Paus"],
                                     ["11:35–11:45", "Stående"]]
    assert "Pausen läggs närmast kl. 11:05" in body(version)
    status = meeting(inst)
    assert status["state"] == "approved" and "KLG-2026-004" in [i["id"] for i in status["items"]]


def test_deleting_the_break_row_removes_the_break(drafted):
    inst = drafted
    draft = draft_of(inst)
    agenda = Agenda(docx_of(draft))
    agenda.remove("Paus")
    reply(inst, CHAIR, draft, "Ingen fika idag", agenda.bytes())
    assert "Paus" not in [r[1] for r in Agenda(docx_of(inst.sent()[-1])).rows()]
    assert "Pausen är borttagen" in body(inst.sent()[-1])


def test_written_procedure_set_in_review_starts_it(drafted):
    """Setting the kind "Skriftligt förfarande" in the review sends the item out for
    written comments and takes it off this agenda; the reviewers' own edits are not
    told back to them as a notice of changes."""
    inst = drafted
    draft = draft_of(inst)
    before = len(inst.sent())
    agenda = Agenda(docx_of(draft))
    agenda.set("KLG-2026-002", 4, "Skriftligt förfarande")
    agenda.set("KLG-2026-003", 3, "Erik")
    reply(inst, CHAIR, draft, "Rekryteringen tar vi skriftligt", agenda.bytes())
    new = inst.sent()[before:]
    circulated = [m for m in new if "Skriftligt förfarande: Rekrytering" in subject(m)]
    assert sorted(r for m in circulated for r in recipients(m)) == sorted(a for a in MEMBERS if a != ERIK)
    rows = Agenda(docx_of(inst.sent()[-1])).rows()
    assert "KLG-2026-002" not in [r[1] for r in rows]
    assert ["KLG-2026-003", "Erik Sandberg"] in [[r[1], r[3]] for r in rows]
    assert not [m for m in new if "på dagordningen" in subject(m)]  # no "Ändrat ärende på dagordningen" to them
    status = inst.status(at("2026-11-30 11:00"))
    assert [c["item"] for c in status["circulations"]] == ["KLG-2026-002"]


def test_tracked_changes_are_read_as_accepted(drafted):
    """Word with Track Changes on: an insertion counts, a deletion and a deleted row do not."""
    inst = drafted
    draft = draft_of(inst)
    agenda = Agenda(docx_of(draft))
    cell = agenda._tr("KLG-2026-001").cells[2].paragraphs[0]._p
    run = cell.find(f"{W}r")
    deleted = copy.deepcopy(run)
    deleted.find(f"{W}t").tag = f"{W}delText"
    wrap_del = cell.makeelement(f"{W}del", {f"{W}id": "1", f"{W}author": "Karin"})
    wrap_del.append(deleted)
    inserted = copy.deepcopy(run)
    inserted.find(f"{W}t").text = "Ekonomisk uppföljning"
    wrap_ins = cell.makeelement(f"{W}ins", {f"{W}id": "2", f"{W}author": "Karin"})
    wrap_ins.append(inserted)
    run.addprevious(wrap_del)
    run.addprevious(wrap_ins)
    cell.remove(run)
    tr = agenda._tr("KLG-2026-002")._tr
    trpr = tr.find(f"{W}trPr")
    trpr.append(trpr.makeelement(f"{W}del", {f"{W}id": "3", f"{W}author": "Karin"}))
    reply(inst, CHAIR, draft, "Med spårade ändringar", agenda.bytes())
    version = inst.sent()[-1]
    text = body(version)
    assert "Ny rubrik för KLG-2026-001: ”Ekonomisk uppföljning” (var ”Budgetuppföljning”)" in text
    assert "Borttagen: KLG-2026-002 Rekrytering (flyttad till 8 dec)" in text


def test_replies_from_members_and_calendar_answers(drafted, monkeypatch):
    """A member's reply to the final agenda gets one plain answer; a calendar client's
    acceptance is recorded and never answered or taken for a proposal."""
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    inst = drafted
    reply(inst, CHAIR, draft_of(inst), "OK")
    inst.tick(at("2026-11-30 14:00"))
    final = next(m for m in inst.sent() if "Dagordning tisdag" in subject(m))
    sent_before = len(inst.sent())
    reply(inst, MARIA, final, "Jag kommer tyvärr inte.", when="2026-11-30 15:00")
    answer = inst.sent()[-1]
    assert recipients(answer) == [MARIA] and "läses inte av någon här" in " ".join(body(answer).split())
    ics = (b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:klg-2026-12-01@example.org\r\n"
           b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:erik.sandberg@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    inst.drop(make_mail(ERIK, "Accepterat: Kommunledningsgruppen", "", attachments=[("invite.ics", ics, "text/calendar")]))
    inst.tick(at("2026-11-30 15:10"))
    assert len(inst.sent()) == sent_before + 1
    status = inst.status(at("2026-11-30 15:10"))
    assert "Accepterat" not in str(status)


def test_reply_without_thread_headers_is_found_by_the_subject_tag(drafted):
    inst = drafted
    draft = draft_of(inst)
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "OK"))  # no In-Reply-To/References
    inst.tick(at("2026-11-30 11:00"))
    assert "Dagordningen är godkänd (version 1)" in subject(inst.sent()[-1])


def test_no_changes_after_the_meeting_started(drafted):
    inst = drafted
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft_of(inst))}", "OK", reply_to=draft_of(inst)))
    inst.tick(at("2026-12-01 10:00"))
    [answer] = [m for m in inst.sent() if "Om ditt svar" in subject(m)]
    assert recipients(answer) == [CHAIR] and "har redan börjat" in body(answer)


def test_changes_after_the_draft_are_told_to_the_reviewers(drafted):
    """A late proposal, a withdrawal and a proposer's change after the draft: the chair and the
    chancellery hear of each; the agenda itself only changes when they say so."""
    inst = drafted
    inst.drop(make_mail(ERIK, "Akut: vinterberedskap", "Tid: 10"))
    inst.tick(at("2026-11-30 10:30"))
    [late] = [m for m in inst.sent() if subject(m) == "[KLG 2026-12-01] Sent förslag: KLG-2026-005"]
    assert recipients(late) == sorted([CHAIR, CHANCELLERY])
    assert "Lägg då till en rad med ärendenumret KLG-2026-005" in " ".join(body(late).split())
    assert attachment_names(late) == ["Dagordning KLG 2026-12-01 utkast v1.docx"]

    ack = next(m for m in inst.sent_to(LENA) if "Mottaget" in subject(m))
    inst.drop(make_mail(LENA, f"SV: {subject(ack)}", "ÅTERKALLA", reply_to=ack))
    inst.tick(at("2026-11-30 10:40"))
    assert [subject(m) for m in inst.sent() if "Återkallat ärende" in subject(m)] == [
        "[KLG 2026-12-01] Återkallat ärende på dagordningen: KLG-2026-003"]

    ack = next(m for m in inst.sent_to(MARIA) if "Mottaget" in subject(m))
    inst.drop(make_mail(MARIA, f"SV: {subject(ack)}", "Tid: 25", reply_to=ack,
                        attachments=[("bilaga.pdf", tiny_pdf("Bilaga"), "application/pdf")]))
    inst.tick(at("2026-11-30 10:50"))
    [changed] = [m for m in inst.sent() if subject(m) == "[KLG 2026-12-01] Ändrat ärende på dagordningen: KLG-2026-001"]
    text = " ".join(body(changed).split())
    assert "Tid: 15 → 25 min" in text and "Nya handlingar: bilaga.pdf" in text
    assert versions(inst) == 1


def test_a_new_version_after_approval_says_which_one_goes_out(drafted):
    inst = drafted
    draft = draft_of(inst)
    reply(inst, CHAIR, draft, "OK")
    approved = inst.sent()[-1]
    agenda = Agenda(docx_of(draft))
    agenda.set("KLG-2026-003", 5, "30")
    reply(inst, CHANCELLERY, approved, "En ändring till", agenda.bytes(), when="2026-11-30 12:00")
    text = " ".join(body(inst.sent()[-1]).split())
    assert "Version 1 är godkänd. Det är den som skickas till alla ledamöter kl. 14:00" in text
    assert meeting(inst)["state"] == "draft_sent"
