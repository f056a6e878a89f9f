"""Issue 17 against real Dovecot and Postfix: the weeks before the meeting of
1 December with an annual item, an out-of-office with a return date, regrets
with a configured stand-in by reply, a decline made as Outlook makes it (an
iTIP REPLY part, no In-Reply-To), and the minutes form's attendance. What
klg sends is read back from the members' IMAP inboxes.

The stand-in's and the guest's addresses are the test servers' mailboxes
outside the group. No LibreOffice: KLG_SOFFICE points nowhere."""

from __future__ import annotations

from datetime import datetime

import icalendar
import pytest

from daemon.simulate import outlook_calendar_reply, small_docx
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, GROUP, LENA, MARIA, at, attachment, attachment_names, body,
                           make_mail, recipients)
from tests.minutes_helpers import DOCX, docx_of, form_tables
from tests.servers import imap_instance
from tests.test_week_on_servers import Inboxes, submit, tick

pytestmark = [pytest.mark.servers, pytest.mark.slow]

STAND_IN = "stranger@example.org"
GUEST = "cesam@example.org"  # another mailbox outside the group (no minutes audience is configured here)
TAG = "[KLG 2026-12-01]"
WHEEL = '''
[[annual_items]]
title = "Budget {next_year}"
presenter = "Maria Holm"
minutes = 30
kind = "beslut"
month = 12
documents_due_days = 7
'''


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def flat(text: str) -> str:
    return " ".join(text.split())


def _catch_up(box, servers) -> None:
    servers.wait_queue_empty()
    box.seen.update({u: servers.count(u) for u in (CHAIR, CHANCELLERY, MARIA, AHMED, ERIK, LENA)})


def test_the_weeks_before_a_meeting_with_regrets_a_stand_in_and_the_wheel(servers, tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    inst = imap_instance(tmp_path / "klg", servers)
    inst.edit_config('title = "Ekonomichef"', f'title = "Ekonomichef"\nsubstitute = "Sven Vikarie <{STAND_IN}>"')
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    inst.config_path.write_text(inst.config_path.read_text(encoding="utf-8") + WHEEL, encoding="utf-8")
    box = Inboxes(servers)

    # 17 November 09:30: the wheel puts the budget on 1 December and reminds Maria
    tick(inst, servers, "2026-11-17 13:00")  # the meeting of the 17th is over: its own mails are not this test's
    servers.wait_for(MARIA, 1)
    servers.wait_queue_empty()
    box.seen.update({u: servers.count(u) for u in (CHAIR, CHANCELLERY, MARIA, AHMED, ERIK, LENA)})
    [reminder] = [m for m in servers.messages(MARIA) if "Årshjulet" in subject(m)]
    assert subject(reminder) == "[KLG-2026-001] Årshjulet: Budget 2027 – handlingar senast tisdag 24 november 2026"

    # Lena proposes an item presented by a guest from outside the group
    submit(servers, (make_mail(LENA, "Skolskjutsar", f"Föredragande: Cecilia Gäst <{GUEST}>\nTid: 20\nMöte: 2026-12-01",
                               attachments=[("Skolskjuts.docx", small_docx("Utredning"), DOCX)],
                               date=at("2026-11-20 09:00")), LENA))
    tick(inst, servers, "2026-11-20 09:00")
    assert "Mottaget: Skolskjutsar" in subject(servers.wait_for(LENA, 1)[-1])

    # Johan Ek's out-of-office answers the reminder's thread; nobody answers it
    submit(servers, (make_mail(CHANCELLERY, "Automatiskt svar: Budget 2027",
                               "Jag är tjänstledig till och med 4 december.",
                               headers={"Auto-Submitted": "auto-replied"}, date=at("2026-11-26 10:15")), CHANCELLERY))
    tick(inst, servers, "2026-11-26 10:15")
    box.nothing_new(CHANCELLERY)

    tick(inst, servers, "2026-11-30 10:05")
    draft = box.new(CHAIR, 1)[0]
    text = flat(body(draft))
    assert "Från årshjulet (lagda på dagordningen av klg): KLG-2026-001 Budget 2027 – Maria Holm" in text
    assert "Johan Ek – troligen frånvarande: autosvar, borta till och med fredag 4 december 2026" in text
    box.new(CHANCELLERY, 1)

    tick(inst, servers, "2026-11-30 14:00")
    final = [m for m in box.new(MARIA, 1) if subject(m) == f"{TAG} Dagordning tisdag 1 december 2026"][0]
    assert [subject(m) for m in box.new(ERIK, 1)] == [subject(final)]
    _catch_up(box, servers)  # the reviewers' notices about the unapproved agenda are another test's
    assert servers.count(STAND_IN) == 0
    [invitation] = servers.wait_for(GUEST, 1)
    names = attachment_names(invitation)
    assert "Skolskjuts.docx" in names and not [n for n in names if n.endswith(".docx") and n != "Skolskjuts.docx"]
    [guest_ics] = [n for n in names if n.endswith(".ics")]
    event = icalendar.Calendar.from_ical(attachment(invitation, guest_ics)).walk("VEVENT")[0]
    slot = event.decoded("dtstart").strftime("%H:%M")
    assert subject(invitation) == f"{TAG} Inbjudan: Skolskjutsar tisdag 1 december 2026 kl. {slot}"

    # the guest declines in Outlook: for that item alone
    submit(servers, (outlook_calendar_reply(GUEST, "Cecilia Gäst", GROUP, uid=str(event["uid"]),
                                            start=event.decoded("dtstart").replace(tzinfo=None),
                                            end=event.decoded("dtend").replace(tzinfo=None), partstat="DECLINED",
                                            summary="Skolskjutsar", comment="Krock.", date=at("2026-11-30 14:20")),
                     GUEST))
    tick(inst, servers, "2026-11-30 14:20")
    assert "Förhinder registrerat: Skolskjutsar" in subject(servers.wait_for(GUEST, 2)[-1])
    assert "Gästen kan inte komma: Skolskjutsar" in subject(box.one(CHAIR, "Gästen kan inte komma"))
    assert "Gästen kan inte komma" in subject(servers.wait_for(LENA, 3)[-1])

    # Maria replies "Förhinder": her stand-in gets the agenda and the invitation at once
    submit(servers, (make_mail(MARIA, f"SV: {final['Subject']}", "Förhinder: kurs i Umeå\n\n/Maria", reply_to=final,
                               date=at("2026-11-30 14:30")), MARIA))
    tick(inst, servers, "2026-11-30 14:30")
    assert subject(box.one(MARIA, "Förhinder registrerat")) == f"{TAG} Förhinder registrerat"
    notice = box.one(CHAIR, "Förhinder: Maria Holm")
    assert recipients(notice) == sorted([CHAIR, AHMED])
    box.one(AHMED, "Förhinder: Maria Holm")
    [stand_in] = servers.wait_for(STAND_IN, 1)
    assert subject(stand_in) == f"{TAG} Dagordning tisdag 1 december 2026 – du är ersättare"
    ics = [n for n in attachment_names(stand_in) if n.endswith(".ics")][0]
    assert f"mailto:{STAND_IN}" in attachment(stand_in, ics).decode().replace("\r\n ", "")

    # Erik declines in Outlook: a calendar reply with no In-Reply-To
    submit(servers, (outlook_calendar_reply(ERIK, "Erik Sandberg", GROUP, uid="klg-2026-12-01@example.org",
                                            start=datetime(2026, 12, 1, 9, 30), end=datetime(2026, 12, 1, 12),
                                            partstat="DECLINED", summary="Kommunledningsgruppen",
                                            comment="Jag är på kurs.", date=at("2026-11-30 15:00")), ERIK))
    tick(inst, servers, "2026-11-30 15:00")
    ack = box.one(ERIK, "Förhinder registrerat")
    assert "(Jag är på kurs.)" in flat(body(ack))
    box.one(CHAIR, "Förhinder: Erik Sandberg")
    box.one(AHMED, "Förhinder: Erik Sandberg")

    tick(inst, servers, "2026-12-01 12:00")
    form = box.one(AHMED, "Formulär för minnesanteckningar")
    rows = {r[0]: (r[1], r[2]) for r in form_tables(docx_of(form))["attendance"][1:] if r[0]}
    assert rows["Maria Holm"][1] == rows["Erik Sandberg"][1] == "Nej"
    assert rows["Johan Ek"][1] == "Nej (autosvar)"
    assert rows["Sven Vikarie"] == ("Ersättare för Maria Holm", "Ja")
    assert rows["Karin Berg"][1] == "Ja"
    assert servers.count(GROUP, "INBOX") == 0
