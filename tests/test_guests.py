"""Issue 17, invited presenters (guests): a non-member named as presenter gets one
invitation for their own slot with their item's documents and nothing else, a
cancellation when the item moves, and their replies count for that item alone."""

from __future__ import annotations

import icalendar
import pytest

from daemon.simulate import Agenda, outlook_calendar_reply
from tests.helpers import (CHAIR, LENA, MARIA, at, attachment, attachment_names, body, make_mail, new_instance,
                           recipients)
from tests.minutes_helpers import DOCX

GUEST = "anna.svensson@example.com"
TAG = "[KLG 2026-12-01]"


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def inst(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    instance = new_instance(tmp_path / "klg")
    instance.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    return instance


def _week(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Typ: beslut",
                        attachments=[("Budget.docx", b"PK budget", DOCX)]))
    inst.drop(make_mail(LENA, "Skolskjutsar", f"Föredragande: Anna Svensson <{GUEST}>\nTid: 20",
                        attachments=[("Skolskjuts.docx", b"PK skolskjuts", DOCX)]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    inst.tick(at("2026-11-30 14:00"))


def _slot(ics: bytes):
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    return event


def test_a_guest_gets_their_slot_and_their_items_documents_only(inst):
    _week(inst)
    ack = [m for m in inst.sent_to(LENA) if "Mottaget: Skolskjutsar" in subject(m)][0]
    assert "Föredragande: Anna Svensson" in flat(body(ack)) and GUEST not in body(ack)
    [invitation] = inst.sent_to(GUEST)
    assert recipients(invitation) == [GUEST]
    names = attachment_names(invitation)
    assert "Skolskjuts.docx" in names and "Budget.docx" not in names
    assert not [n for n in names if n.startswith("Dagordning") and not n.endswith(".ics")]  # no agenda
    [ics_name] = [n for n in names if n.endswith(".ics")]
    event = _slot(attachment(invitation, ics_name))
    final = [m for m in inst.sent_to(MARIA) if subject(m) == f"{TAG} Dagordning tisdag 1 december 2026"][0]
    slot = [line for line in body(final).splitlines() if "Skolskjutsar" in line][0].split()[0]
    start, end = slot.split("–")
    assert event.decoded("dtstart").strftime("%H:%M") == start and event.decoded("dtend").strftime("%H:%M") == end
    assert subject(invitation) == f"{TAG} Inbjudan: Skolskjutsar tisdag 1 december 2026 kl. {start}"
    assert [str(a) for a in (event["attendee"] if isinstance(event["attendee"], list) else [event["attendee"]])] == \
        [f"mailto:{GUEST}"]
    assert "Anna Svensson" in flat(body(final))  # the agenda names the guest as presenter

    # Outlook's decline: for this item alone; the chair and the proposer are told
    before = len(inst.sent())
    inst.drop(outlook_calendar_reply(GUEST, "Anna Svensson", "klg@example.org", uid=str(event["uid"]),
                                     start=event.decoded("dtstart").replace(tzinfo=None),
                                     end=event.decoded("dtend").replace(tzinfo=None), partstat="DECLINED",
                                     summary="Skolskjutsar", comment="Jag är sjuk.", date=at("2026-11-30 16:00")))
    inst.tick(at("2026-11-30 16:00"))
    fresh = inst.sent()[before:]
    [answer] = [m for m in fresh if recipients(m) == [GUEST]]
    assert "Förhinder registrerat: Skolskjutsar" in subject(answer)
    [notice] = [m for m in fresh if recipients(m) != [GUEST]]
    assert recipients(notice) == sorted([CHAIR, LENA])
    assert "Anna Svensson kan inte komma och föredra ”Skolskjutsar” (tisdag 1 december 2026): Jag är sjuk." \
        in flat(body(notice))


def test_a_guests_documents_count_for_their_item_and_other_mail_is_a_strangers(inst):
    _week(inst)
    [invitation] = inst.sent_to(GUEST)
    before = len(inst.sent())
    inst.drop(make_mail(GUEST, f"SV: {invitation['Subject']}", "Här är bilderna.", reply_to=invitation,
                        attachments=[("Bilder.docx", b"PK bilder", DOCX)]))
    inst.drop(make_mail(GUEST, "Ett nytt ärende", "Kan ni ta upp detta?"))
    inst.tick(at("2026-11-30 16:00"))
    fresh = inst.sent()[before:]
    [answer] = [m for m in fresh if recipients(m) == [GUEST]]
    assert "Handlingar mottagna: Skolskjutsar" in subject(answer)
    assert [subject(m) for m in fresh if recipients(m) == sorted([CHAIR, LENA])] == [
        "[KLG-2026-002] Nya handlingar från gästen: Skolskjutsar"]
    store = inst.store()
    try:
        assert [a["name"] for a in store.attachments("KLG-2026-002")] == ["Skolskjuts.docx", "Bilder.docx"]
        assert [a["name"] for a in store.attachments("KLG-2026-001")] == ["Budget.docx"]
        assert store.count("SELECT COUNT(*) FROM items") == 2  # the guest's new mail is no proposal
    finally:
        store.close()
    assert len(inst.folder("quarantine")) == 1


def test_the_guest_is_told_when_their_item_moves(inst):
    _week(inst)
    ack = [m for m in inst.sent_to(LENA) if "Mottaget: Skolskjutsar" in subject(m)][0]
    inst.drop(make_mail(LENA, f"SV: {ack['Subject']}", "Möte: 2026-12-08", reply_to=ack))
    inst.tick(at("2026-11-30 15:00"))
    invitation, cancelled = inst.sent_to(GUEST)
    assert subject(cancelled) == f"{TAG} Inställt: Skolskjutsar tisdag 1 december 2026"
    assert "Punkten är flyttad till mötet tisdag 8 december 2026" in flat(body(cancelled))
    [ics_name] = [n for n in attachment_names(cancelled) if n.endswith(".ics")]
    cal = icalendar.Calendar.from_ical(attachment(cancelled, ics_name))
    assert str(cal["method"]) == "CANCEL"
    assert str(_slot(attachment(cancelled, ics_name))["uid"]) == str(_slot(attachment(
        invitation, [n for n in attachment_names(invitation) if n.endswith(".ics")][0]))["uid"])


def test_gast_names_a_guest_too(inst):
    inst.drop(make_mail(LENA, "Skolskjutsar", f"Gäst: Anna Svensson <{GUEST}>"))
    inst.tick(at("2026-11-27 09:00"))
    store = inst.store()
    try:
        assert store.one("SELECT name, email, state FROM guests") == {"name": "Anna Svensson", "email": GUEST,
                                                                     "state": "named"}
    finally:
        store.close()
    assert not inst.sent_to(GUEST)  # invited when the final agenda goes out, not before


def test_a_new_row_in_the_word_review_can_name_a_guest(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Typ: beslut"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent_to(CHAIR) if "Utkast till dagordning" in subject(m)][-1]
    name = [n for n in attachment_names(draft) if n.endswith(".docx") and "utkast" in n][0]
    agenda = Agenda(attachment(draft, name))
    agenda.add_after("KLG-2026-001", ["", "", "Trafiksäkerhet", f"Anna Svensson <{GUEST}>", "Information", "15"])
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Ny punkt med gäst.", reply_to=draft,
                        attachments=[(name, agenda.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 11:00"))
    inst.tick(at("2026-11-30 14:00"))
    [invitation] = inst.sent_to(GUEST)
    assert "Inbjudan: Trafiksäkerhet tisdag 1 december 2026" in subject(invitation)
    final = [m for m in inst.sent_to(MARIA) if subject(m) == f"{TAG} Dagordning tisdag 1 december 2026"][0]
    assert "Anna Svensson" in body(final) and GUEST not in body(final)


def test_an_update_that_moves_the_guests_slot_sends_a_new_time(inst):
    _week(inst)
    final = [m for m in inst.sent_to(MARIA) if subject(m) == f"{TAG} Dagordning tisdag 1 december 2026"][0]
    agenda = Agenda(attachment(final, "Dagordning KLG 2026-12-01.docx"))
    agenda.move_before("KLG-2026-002", "KLG-2026-001")  # the guest's item first
    inst.drop(make_mail(CHAIR, f"SV: {subject(final)}", "Godkänd", reply_to=final,
                        attachments=[("Dagordning KLG 2026-12-01.docx", agenda.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 16:00"))
    invitation, update = inst.sent_to(GUEST)
    first, second = (_slot(attachment(m, [n for n in attachment_names(m) if n.endswith(".ics")][0]))
                     for m in (invitation, update))
    assert str(first["uid"]) == str(second["uid"]) and int(second["sequence"]) == int(first["sequence"]) + 1
    assert second.decoded("dtstart") < first.decoded("dtstart")
    assert subject(update).startswith(f"{TAG} Ny tid: Skolskjutsar tisdag 1 december 2026 kl. ")
    assert "Budget.docx" not in attachment_names(update)


def test_a_guest_is_outside_the_group_a_secret_document_stays_with_the_members(inst):
    """The guest of an item with one secret document among two gets the public one and a line saying
    one was withheld under secrecy; the guest of a secret item sees neither its title nor its documents."""
    secret_doc = b"PK personalutredning: namn och diagnoser"
    inst.drop(make_mail(LENA, "Skolskjutsar",
                        f"Föredragande: Anna Svensson <{GUEST}>\nTid: 20\nSekretess: Utredning.docx OSL 39 kap. 3 §",
                        attachments=[("Skolskjuts.docx", b"PK skolskjuts", DOCX), ("Utredning.docx", secret_doc, DOCX)]))
    inst.drop(make_mail(MARIA, "Omplacering av en medarbetare",
                        "Föredragande: Per Persson <per.persson@example.com>\nSekretess: OSL 39 kap. 3 §",
                        attachments=[("Omplacering.docx", b"PK omplacering", DOCX)]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    inst.tick(at("2026-11-30 14:00"))

    [invitation] = inst.sent_to(GUEST)
    names = attachment_names(invitation)
    assert "Skolskjuts.docx" in names and "Utredning.docx" not in names
    assert secret_doc not in invitation.as_bytes()
    assert "Handlingar med sekretess skickas inte med e-post (Handling 2 (Sekretess enligt OSL 39 kap. 3 §" \
        in flat(body(invitation))

    [other] = inst.sent_to("per.persson@example.com")
    assert "Omplacering" not in str(other["Subject"]) and "Omplacering" not in body(other)
    assert "Sekretessbelagt ärende" in flat(body(other))
    assert [n for n in attachment_names(other) if not n.endswith(".ics")] == []
    [ics_name] = attachment_names(other)
    assert b"Omplacering" not in attachment(other, ics_name)
    # the members got both items whole
    [members_final] = [m for m in inst.sent_to(MARIA) if subject(m).endswith(f"{TAG} Dagordning tisdag 1 december 2026")]
    assert "Utredning.docx" in attachment_names(members_final) and "Omplacering.docx" in attachment_names(members_final)
