"""Issue 17's month on the embedded default, 16 November to 6 January: an annual
item, an out-of-office with a return date, regrets with a configured stand-in,
a guest presenter and the Christmas break, with the daemon passing at the
week's times. Each person gets what the issue describes, the form shows the
attendance, and no meeting is held in the break."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import (AHMED, CHAIR, CHANCELLERY, LENA, MARIA, MEMBERS, at, attachment_names, make_mail,
                           new_instance, recipients)
from tests.minutes_helpers import DOCX, docx_of, form_tables

pytestmark = pytest.mark.slow

STAND_IN = "anna.vikarie@example.org"
GUEST = "gunnar.gast@example.com"
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


def test_a_month_of_the_groups_year(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    inst = new_instance(tmp_path / "klg")
    inst.edit_config('title = "Ekonomichef"', f'title = "Ekonomichef"\nsubstitute = "Anna Vikarie <{STAND_IN}>"')
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    inst.config_path.write_text(inst.config_path.read_text(encoding="utf-8") + WHEEL, encoding="utf-8")

    mails = {  # (day, time) -> mails dropped just before that pass
        ("2026-11-20", "09:00"): [make_mail(LENA, "Skolskjutsar", f"Gäst: Gunnar Gäst <{GUEST}>\nMöte: 2026-12-01",
                                            attachments=[("Skolskjuts.docx", b"PK skolskjuts", DOCX)])],
        ("2026-11-26", "09:00"): [make_mail(CHANCELLERY, "Automatiskt svar: Budget 2027",
                                            "Jag är tjänstledig till och med 4 december.",
                                            headers={"Auto-Submitted": "auto-replied"})],
        ("2026-11-27", "09:00"): [make_mail(MARIA, "Förhinder 1 december", "Kurs i Umeå.")],
    }
    day = date(2026, 11, 16)
    while day <= date(2027, 1, 6):
        for clock in ("09:00", "09:30", "10:05", "12:00", "14:00", "16:00"):
            for raw in mails.get((day.isoformat(), clock), []):
                inst.drop(raw)
            inst.tick(at(f"{day.isoformat()} {clock}"))
        day += timedelta(days=1)
    sent = inst.sent()

    # the Christmas break: no agenda for 29 December (22 December is held, 5 January too)
    finals = sorted({subject(m)[5:15] for m in sent if " Dagordning " in subject(m) and "ersättare" not in subject(m)})
    assert "2026-12-29" not in finals and {"2026-12-01", "2026-12-22", "2027-01-05"} <= set(finals)

    # the annual item: on 1 December's agenda, Maria reminded once
    assert [subject(m) for m in sent if "Årshjulet" in subject(m)] == [
        "[KLG-2026-001] Årshjulet: Budget 2027 – handlingar senast tisdag 24 november 2026"]

    # the stand-in: the final agenda of 1 December and nothing else
    assert [subject(m) for m in sent if STAND_IN in recipients(m)] == ["[KLG 2026-12-01] Dagordning tisdag 1 december 2026"]
    # the guest: one invitation, their item's document and the .ics
    [invitation] = [m for m in sent if GUEST in recipients(m)]
    assert recipients(invitation) == [GUEST]
    assert sorted(n.rsplit(".", 1)[-1] for n in attachment_names(invitation)) == ["docx", "ics"]
    assert "Skolskjuts.docx" in attachment_names(invitation)
    # members: every final agenda goes to all of them
    final = [m for m in sent if subject(m) == "[KLG 2026-12-01] Dagordning tisdag 1 december 2026"][0]
    assert recipients(final) == sorted([*MEMBERS, STAND_IN])
    # the chair and the secretary of the day heard of Maria's regrets
    [notice] = [m for m in sent if subject(m) == "[KLG 2026-12-01] Förhinder: Maria Holm"]
    assert recipients(notice) == sorted([CHAIR, AHMED])

    # the form of 1 December
    form = [m for m in sent if "Formulär för minnesanteckningar tisdag 1 december 2026" in subject(m)][0]
    rows = {r[0]: (r[1], r[2]) for r in form_tables(docx_of(form))["attendance"][1:] if r[0]}
    assert rows["Maria Holm"][1] == "Nej" and rows["Johan Ek"][1] == "Nej (autosvar)"
    assert rows["Anna Vikarie"] == ("Ersättare för Maria Holm", "Ja")
    # the form of 8 December: Johan is back, nobody is absent
    form8 = [m for m in sent if "Formulär för minnesanteckningar tisdag 8 december 2026" in subject(m)][0]
    rows8 = {r[0]: r[2] for r in form_tables(docx_of(form8))["attendance"][1:] if r[0]}
    assert set(rows8.values()) == {"Ja"} and "Anna Vikarie" not in rows8
