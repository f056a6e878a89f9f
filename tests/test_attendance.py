"""Issue 17, attendance: regrets by mail and by calendar reply (as Outlook sends
them), stand-ins, out-of-office replies with a return date, and what the chair,
the secretary, the stand-in and the minutes form show. No LibreOffice:
KLG_SOFFICE points nowhere, so agendas go out as .docx only."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from daemon.absence_words import calendar_reply, regret, return_date
from daemon.minutes.document import read_form
from daemon.simulate import outlook_calendar_reply
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, GROUP, LENA, MARIA, SOFIA, at, attachment, attachment_names,
                           body, make_mail, new_instance, recipients)
from tests.minutes_helpers import DOCX, docx_of, fill_form, form_tables

MEETING = "2026-12-01"
TAG = f"[KLG {MEETING}]"
ANNA = "anna.vikarie@example.org"
TODAY = date(2026, 11, 26)


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the words ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, subject_line, absent, reason, substitute, day", [
    ("Förhinder", "", True, "", None, None),
    ("Förhinder: kurs i Umeå\nErsättare: Anna Vikarie", "", True, "kurs i Umeå", "Anna Vikarie", None),
    ("Kan inte komma den 8 december", "", True, "", None, date(2026, 12, 8)),
    ("Frånvaro – sjuk", "", True, "sjuk", None, None),
    ("Regrets, travelling\nStand-in: none", "", True, "travelling", "", None),
    ("Cannot attend on 8 December, in Brussels", "", True, "in Brussels", None, date(2026, 12, 8)),
    ("Hej, se ämnesraden", "SV: Förhinder 8/12", True, "", None, date(2026, 12, 8)),
    ("Kommer ändå", "", False, "", None, None),
    ("Can attend after all", "", False, "", None, None),
])
def test_regret_words(text, subject_line, absent, reason, substitute, day):
    said = regret(text, subject_line, TODAY)
    assert (said.absent, said.reason, said.substitute, said.day) == (absent, reason, substitute, day)


@pytest.mark.parametrize("text", ["Frånvarohantering i skolan", "Absence policy", "Vi har förhinder att hantera",
                                  "Budget 2027", ""])
def test_a_proposal_is_no_regret(text):
    assert regret(text, text, TODAY) is None


@pytest.mark.parametrize("text, through", [
    ("Jag är tjänstledig till och med 4 december.", date(2026, 12, 4)),
    ("Jag är tillbaka den 7/12 och svarar då.", date(2026, 12, 6)),
    ("I am on leave until 4 December.", date(2026, 12, 4)),
    ("Back in the office on December 7th.", date(2026, 12, 6)),
    ("Ledig t.o.m. 2027-01-06", date(2027, 1, 6)),
    ("Jag är på semester till 10 jan.", date(2027, 1, 10)),  # no year: the next 10 January
    ("Tack för ditt mejl, jag läser det senare.", None),
])
def test_return_dates(text, through):
    assert return_date(text, TODAY) == through


def test_an_outlook_decline_is_read_from_its_calendar_part():
    raw = outlook_calendar_reply(ERIK, "Erik Sandberg", GROUP, uid="klg-2026-12-01@example.org",
                                 start=datetime(2026, 12, 1, 9, 30), end=datetime(2026, 12, 1, 12),
                                 partstat="DECLINED", summary="Kommunledningsgruppen", comment="På kurs.",
                                 date=at("2026-11-30 15:00"))
    part = raw.split(b"Content-Type: text/calendar")[1]
    assert b'method="REPLY"' in part[:60]
    ics = __import__("base64").b64decode(part.split(b"\n\n", 1)[1].split(b"\n--")[0])
    reply = calendar_reply(ics)
    assert (reply.uid, reply.attendee, reply.partstat, reply.comment) == (
        "klg-2026-12-01@example.org", ERIK, "DECLINED", "På kurs.")
    assert calendar_reply(b"BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR") is None
    assert calendar_reply(b"\x00 not a calendar") is None


# --- through the mailbox -----------------------------------------------------------------------


@pytest.fixture
def inst(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    instance = new_instance(tmp_path / "klg")
    instance.edit_config('title = "Ekonomichef"', 'title = "Ekonomichef"\nsubstitute = "Anna Vikarie <anna.vikarie@example.org>"')
    instance.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    return instance


def _proposals(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Typ: beslut"))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 20"))
    inst.tick(at("2026-11-26 09:00"))


def _out_of_office(inst):
    """Johan Ek (chancellery) is on leave: his client answers a mail of the group's."""
    inst.drop(make_mail(CHANCELLERY, "Automatiskt svar: Budgetuppföljning",
                        "Jag är tjänstledig till och med 4 december. Brådskande ärenden: kansliet.",
                        headers={"Auto-Submitted": "auto-replied"}))
    inst.tick(at("2026-11-26 10:15"))


def _final(inst):
    return [m for m in inst.sent() if subject(m) == f"{TAG} Dagordning tisdag 1 december 2026"][-1]


def _decline(inst, sender, name, partstat="DECLINED", comment="", now="2026-11-30 15:00"):
    inst.drop(outlook_calendar_reply(sender, name, GROUP, uid="klg-2026-12-01@example.org",
                                     start=datetime(2026, 12, 1, 9, 30), end=datetime(2026, 12, 1, 12),
                                     partstat=partstat, summary="Kommunledningsgruppen", comment=comment,
                                     date=at(now)))
    inst.tick(at(now))


def test_a_week_with_regrets_a_stand_in_and_an_out_of_office(inst):
    _proposals(inst)
    _out_of_office(inst)
    assert not [m for m in inst.sent() if CHANCELLERY in recipients(m) and "Automatiskt" in subject(m)]  # never answered
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent() if "Utkast till dagordning" in subject(m)][-1]
    assert "Johan Ek – troligen frånvarande: autosvar, borta till och med fredag 4 december 2026" in flat(body(draft))

    inst.tick(at("2026-11-30 14:00"))
    final = _final(inst)
    assert ANNA not in recipients(final)  # nobody has sent regrets yet
    assert "Svara ”Förhinder” på det här mejlet" in flat(body(final))

    before = len(inst.sent())
    inst.drop(make_mail(MARIA, f"SV: {final['Subject']}", "Förhinder: kurs i Umeå\n\n/Maria", reply_to=final))
    inst.tick(at("2026-11-30 14:30"))
    fresh = inst.sent()[before:]
    [ack] = [m for m in fresh if recipients(m) == [MARIA]]
    assert subject(ack) == f"{TAG} Förhinder registrerat"
    assert "Din ersättare Anna Vikarie är med i närvaron och har nu fått dagordningen" in flat(body(ack))
    [notice] = [m for m in fresh if "Förhinder: Maria Holm" in subject(m)]
    assert recipients(notice) == sorted([CHAIR, AHMED])  # the chair and the secretary of the day
    assert "Maria Holm kan inte komma på mötet tisdag 1 december 2026 (kurs i Umeå)." in flat(body(notice))
    assert "Johan Ek – troligen frånvarande, autosvar till och med fredag 4 december 2026" in flat(body(notice))
    [stand_in] = [m for m in fresh if recipients(m) == [ANNA]]
    assert subject(stand_in) == f"{TAG} Dagordning tisdag 1 december 2026 – du är ersättare"
    names = attachment_names(stand_in)
    assert [n for n in names if n.endswith(".docx") and "Dagordning" in n] and [n for n in names if n.endswith(".ics")]
    ics = attachment(stand_in, [n for n in names if n.endswith(".ics")][0]).decode()
    assert "mailto:anna.vikarie@example.org" in ics.replace("\r\n ", "") and "UID:klg-2026-12-01@example.org" in ics
    assert len(fresh) == 3  # nobody else hears of it
    status = inst.status(at("2026-11-30 14:40"))["attendance"]
    assert status == [{"date": MEETING, "absent": [
        {"name": "Johan Ek", "reason": "", "substitute": "", "auto": True, "until": "2026-12-04"},
        {"name": "Maria Holm", "reason": "kurs i Umeå", "substitute": "Anna Vikarie", "auto": False, "until": None}]}]

    # Erik declines the calendar invitation in Outlook (no In-Reply-To), and then mails as well
    before = len(inst.sent())
    _decline(inst, ERIK, "Erik Sandberg", comment="Jag är på kurs.")
    fresh = inst.sent()[before:]
    [ack] = [m for m in fresh if recipients(m) == [ERIK]]
    assert subject(ack) == f"{TAG} Förhinder registrerat" and "(Jag är på kurs.)" in flat(body(ack))
    assert "Ingen ersättare är angiven" in flat(body(ack))
    assert [subject(m) for m in fresh if recipients(m) == sorted([CHAIR, AHMED])] == [f"{TAG} Förhinder: Erik Sandberg"]
    before = len(inst.sent())
    _decline(inst, ERIK, "Erik Sandberg", comment="Jag är på kurs.", now="2026-11-30 15:10")
    assert inst.sent()[before:] == []  # the same answer again changes nothing and is not confirmed again
    assert not inst.folder("quarantine")

    # Lena accepts: nothing to tell anyone
    _decline(inst, LENA, "Lena Åkesson", partstat="ACCEPTED", now="2026-11-30 15:20")
    assert inst.sent()[before:] == []
    # Sofia answers "tentative": nothing recorded, nothing sent, and no proposal made of it
    _decline(inst, SOFIA, "Sofia Lund", partstat="TENTATIVE", now="2026-11-30 15:25")
    assert inst.sent()[before:] == [] and not inst.folder("quarantine")
    store = inst.store()
    try:
        assert store.count("SELECT COUNT(*) FROM items") == 2
    finally:
        store.close()

    inst.tick(at("2026-12-01 12:00"))
    form = [m for m in inst.sent() if "Formulär för minnesanteckningar" in subject(m)][-1]
    table = form_tables(docx_of(form))["attendance"]
    rows = {r[0]: (r[1], r[2]) for r in table[1:]}
    assert rows["Maria Holm"] == ("Ekonomichef", "Nej")
    assert rows["Erik Sandberg"] == ("Socialchef", "Nej")
    assert rows["Johan Ek"] == ("Kanslichef", "Nej (autosvar)")
    assert rows["Anna Vikarie"] == ("Ersättare för Maria Holm", "Ja")
    assert rows["Lena Åkesson"][1] == rows["Karin Berg"][1] == rows["Sofia Lund"][1] == "Ja"
    assert [r[0] for r in table if r[0]][-1] == "Anna Vikarie"  # the stand-ins after the members

    # the secretary returns the form as pre-filled: "Nej (autosvar)" reads as absent
    filled = fill_form(docx_of(form), {
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "Godkänd.", "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Information", "Kommuniceras": "Ja"}})
    raw = read_form(filled)
    assert {a["name"]: a["present"] for a in raw.attendance}["Johan Ek"] == "Nej (autosvar)"
    inst.drop(make_mail(AHMED, "Re: formulär", "Här.", reply_to=form, attachments=[("f.docx", filled, DOCX)]))
    inst.tick(at("2026-12-01 13:00"))
    received = [m for m in inst.sent() if recipients(m) == [AHMED]][-1]
    assert "mottagna" in subject(received), body(received)
    store = inst.store()
    try:
        content = json.loads(store.one("SELECT content FROM minutes_versions WHERE meeting = ?", [MEETING])["content"])
    finally:
        store.close()
    absent = sorted(a["name"] for a in content["attendance"] if not a["present"])
    assert absent == ["Erik Sandberg", "Johan Ek", "Maria Holm"]
    assert {"name": "Anna Vikarie", "title": "Ersättare för Maria Holm", "present": True, "member": False} \
        in content["attendance"]


def test_regrets_before_the_final_agenda_bring_the_stand_in_into_it(inst):
    _proposals(inst)
    inst.drop(make_mail(MARIA, "Förhinder", "Jag är på konferens.\n\nErsättare: Anna Vikarie"))
    inst.tick(at("2026-11-27 09:00"))
    [ack] = [m for m in inst.sent() if recipients(m) == [MARIA] and "Förhinder" in subject(m)]
    assert "får dagordningen, handlingarna och kalenderinbjudan när dagordningen skickas ut" in flat(body(ack))
    assert not inst.sent_to(ANNA)
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent() if "Utkast till dagordning" in subject(m)][-1]
    assert "Maria Holm – Jag är på konferens., ersättare Anna Vikarie" in flat(body(draft)) or \
        "Maria Holm, ersättare Anna Vikarie" in flat(body(draft))
    inst.tick(at("2026-11-30 14:00"))
    final = _final(inst)
    assert ANNA in recipients(final) and MARIA in recipients(final)
    ics = attachment(final, [n for n in attachment_names(final) if n.endswith(".ics")][0]).decode()
    assert "mailto:anna.vikarie@example.org" in ics.replace("\r\n ", "")

    # Maria can come after all: she is present again on the form, Anna is not on it
    inst.drop(make_mail(MARIA, f"SV: {final['Subject']}", "Kommer ändå!", reply_to=final))
    inst.tick(at("2026-11-30 16:00"))
    assert subject(inst.sent_to(MARIA)[-1]) == f"{TAG} Närvaro registrerad"
    assert subject(inst.sent_to(ANNA)[-1]) == f"{TAG} Du behövs inte som ersättare tisdag 1 december 2026"
    inst.tick(at("2026-12-01 12:00"))
    form = [m for m in inst.sent() if "Formulär för minnesanteckningar" in subject(m)][-1]
    rows = {r[0]: r[2] for r in form_tables(docx_of(form))["attendance"][1:]}
    assert rows["Maria Holm"] == "Ja" and "Anna Vikarie" not in rows


def test_a_named_stand_in_who_is_not_configured_is_only_a_name(inst):
    _proposals(inst)
    inst.drop(make_mail(SOFIA, "Kan inte komma", "Ersättare: Per Persson <per@elsewhere.example>"))
    inst.tick(at("2026-11-27 09:00"))
    [ack] = [m for m in inst.sent() if recipients(m) == [SOFIA] and "Förhinder" in subject(m)]
    assert "Per Persson står som din ersättare i närvaron, men är inte en av de ersättare som gruppen har lagt in" in flat(body(ack))
    inst.tick(at("2026-11-30 10:05"))  # the draft, on time
    inst.tick(at("2026-11-30 14:00"))
    assert not inst.sent_to("per@elsewhere.example")  # klg never mails an address a mail merely names
    inst.tick(at("2026-12-01 12:00"))
    form = [m for m in inst.sent() if "Formulär för minnesanteckningar" in subject(m)][-1]
    rows = {r[0]: (r[1], r[2]) for r in form_tables(docx_of(form))["attendance"][1:]}
    assert rows["Per Persson"] == ("Ersättare för Sofia Lund", "Ja") and rows["Sofia Lund"][1] == "Nej"


def test_regrets_for_a_day_without_a_meeting_are_answered_and_a_proposal_stays_a_proposal(inst):
    inst.drop(make_mail(ERIK, "Förhinder 24 december", "God jul!"))
    inst.drop(make_mail(LENA, "Frånvarohantering i skolan", "Tid: 15"))
    inst.tick(at("2026-11-26 09:00"))
    [answer] = inst.sent_to(ERIK)
    assert "Vi kunde inte registrera ditt svar" in subject(answer)
    assert "Det är inget möte den torsdag 24 december 2026" in flat(body(answer))
    [ack] = inst.sent_to(LENA)
    assert "Mottaget: Frånvarohantering i skolan" in subject(ack)


def test_english_regrets(inst):
    inst.edit_config('language = "sv"', 'language = "en"')
    _proposals(inst)
    inst.drop(make_mail(MARIA, "Regrets", "Cannot attend, travelling."))
    inst.tick(at("2026-11-27 09:00"))
    [ack] = [m for m in inst.sent() if recipients(m) == [MARIA] and "Regrets" in subject(m)]
    assert subject(ack) == f"{TAG} Regrets recorded"
    assert "Your stand-in Anna Vikarie is in the attendance and will receive the agenda" in flat(body(ack))
    [notice] = [m for m in inst.sent() if "Regrets: Maria Holm" in subject(m)]
    assert "Maria Holm cannot attend the meeting on Tuesday 1 December 2026" in flat(body(notice))


def test_an_out_of_office_never_approves(inst):
    _proposals(inst)
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent() if "Utkast till dagordning" in subject(m)][-1]
    inst.drop(make_mail(CHANCELLERY, f"Automatiskt svar: {draft['Subject']}",
                        "OK\n\nJag är tillbaka den 7/12.", headers={"Auto-Submitted": "auto-replied"}, reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    assert not inst.sent_to(CHANCELLERY)[-1:] or "Utkast" in subject(inst.sent_to(CHANCELLERY)[-1])  # not answered
    store = inst.store()
    try:
        assert store.count("SELECT COUNT(*) FROM agenda_versions WHERE approved_at IS NOT NULL") == 0
    finally:
        store.close()
    inst.tick(at("2026-11-30 14:00"))
    inst.tick(at("2026-12-01 12:00"))
    form = [m for m in inst.sent() if "Formulär för minnesanteckningar" in subject(m)][-1]
    rows = {r[0]: r[2] for r in form_tables(docx_of(form))["attendance"][1:]}
    assert rows["Johan Ek"] == "Nej (autosvar)"
