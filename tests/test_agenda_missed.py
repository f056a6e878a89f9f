"""A daemon that was down: steps missed while it was down run when it comes
back, each once and in order; a meeting that started without an agenda
passes its items on; a meeting removed from the schedule does too."""

from __future__ import annotations

from tests.agenda_helpers import Agenda, docx_of
from tests.helpers import CHAIR, CHANCELLERY, ERIK, MARIA, MEMBERS, at, attachment_names, body, make_mail, recipients

MEETING = "2026-12-01"


def subjects(inst) -> list[str]:
    return [" ".join(str(m["Subject"]).split()) for m in inst.sent()]


def propose(inst) -> None:
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 20\nTyp: beslut"))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 30"))
    inst.tick(at("2026-11-27 09:00"))


def test_down_over_draft_and_final_times(inst, monkeypatch):
    """Down from Friday to Tuesday 08:00: the draft goes, alone, with a new answer time (the
    'not approved' notice in the same minute was the bug of issue 18); the approval that
    follows sends the final agenda at once, as the final time has passed."""
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")  # and LibreOffice is missing, too
    propose(inst)
    result = inst.tick(at("2026-12-01 08:00"))
    assert result["steps"] == [f"draft:{MEETING}"]
    assert subjects(inst)[2:] == [f"[KLG {MEETING}] Utkast till dagordning – granska och svara senast 09:00"]
    assert "skickas till alla ledamöter så snart den är godkänd" in " ".join(body(inst.sent()[-1]).split())
    assert inst.tick(at("2026-12-01 08:01"))["steps"] == []

    draft = inst.sent()[2]
    inst.drop(make_mail(CHAIR, f"SV: {draft['Subject']}", "Godkänd.", reply_to=draft))
    result = inst.tick(at("2026-12-01 08:10"))
    assert result["steps"] == [f"final:{MEETING}"]
    final = next(m for m in inst.sent() if "Dagordning tisdag" in str(m["Subject"]))
    assert recipients(final) == sorted(MEMBERS)
    # Without LibreOffice the agenda still goes out, as Word, with the invitation …
    assert attachment_names(final) == ["Dagordning KLG 2026-12-01.docx", "Kallelse KLG 2026-12-01.ics"]
    # … and the chancellery learns why the PDF is missing and how to fix it.
    problem = next(m for m in inst.sent() if "något saknas" in str(m["Subject"]))
    assert recipients(problem) == [CHANCELLERY]
    assert "LibreOffice is not installed" in body(problem) and "apt-get install libreoffice-writer-nogui" in body(problem)
    assert inst.tick(at("2026-12-01 08:15"))["steps"] == []
    assert inst.status(at("2026-12-01 08:15"))["meetings"][0]["state"] == "final_sent"


def test_down_over_the_week_with_send_draft_policy(inst, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    propose(inst)
    result = inst.tick(at("2026-12-01 07:45"))
    assert result["steps"] == [f"draft:{MEETING}"]  # the reviewers get until 09:00, half an hour before the meeting
    assert inst.tick(at("2026-12-01 08:55"))["steps"] == []
    assert inst.tick(at("2026-12-01 09:00"))["steps"] == [f"final:{MEETING}"]
    assert subjects(inst)[2:4] == [f"[KLG {MEETING}] Utkast till dagordning – granska och svara senast 09:00",
                                   f"[KLG {MEETING}] Dagordning tisdag 1 december 2026"]
    assert f"[KLG {MEETING}] Dagordningen skickades utan godkännande" in subjects(inst)[4:]
    final = inst.sent()[3]
    assert Agenda(docx_of(final)).rows()[1][1:3] == ["KLG-2026-001", "Budgetuppföljning"]
    assert inst.tick(at("2026-12-01 09:05"))["steps"] == []


def test_reminder_before_the_final_time(inst):
    propose(inst)
    inst.tick(at("2026-11-30 10:05"))
    assert inst.tick(at("2026-11-30 12:59"))["steps"] == []
    assert inst.tick(at("2026-11-30 13:00"))["steps"] == [f"reminder:{MEETING}"]
    reminder = inst.sent()[-1]
    assert recipients(reminder) == sorted([CHAIR, CHANCELLERY])
    assert attachment_names(reminder) == ["Dagordning KLG 2026-12-01 utkast v1.docx"]
    assert inst.tick(at("2026-11-30 13:30"))["steps"] == []
    assert inst.tick(at("2026-11-30 14:00"))["steps"] == [f"unapproved:{MEETING}"]


def test_down_over_the_meeting_carries_the_items_over(inst):
    """Back after the meeting started: no draft for it; its items move to the next meeting,
    whose draft shows where they came from."""
    propose(inst)
    result = inst.tick(at("2026-12-01 13:00"))
    assert result["steps"] == [f"carry:{MEETING}:1"]
    assert not [s for s in subjects(inst) if "Utkast" in s]
    moved = [m for m in inst.sent() if "Flyttat till" in str(m["Subject"])]
    assert sorted(recipients(m)[0] for m in moved) == sorted([MARIA, ERIK])
    assert "inte fick någon fastställd dagordning" in " ".join(body(moved[0]).split())
    notice = inst.sent()[-1]
    assert recipients(notice) == [CHANCELLERY] and "2 punkter flyttade från 2026-12-01" in str(notice["Subject"])
    assert inst.tick(at("2026-12-01 13:05"))["steps"] == []

    inst.tick(at("2026-12-07 10:05"))
    draft = inst.sent()[-1]
    assert "[KLG 2026-12-08] Utkast" in str(draft["Subject"])
    rows = Agenda(docx_of(draft)).rows()
    assert rows[1][1:3] == ["KLG-2026-001", "Budgetuppföljning | (från 1 dec)"]
    assert "Punkter som flyttats hit från tidigare möten" in body(draft)


def test_a_meeting_taken_off_the_schedule_passes_its_items_on(inst):
    propose(inst)
    inst.edit_config("skip_dates = []", 'skip_dates = ["2026-12-01"]')
    result = inst.tick(at("2026-11-28 12:00"))
    assert result["steps"] == [f"carry:{MEETING}:1"]
    notice = inst.sent()[-1]
    assert "Mötet tisdag 1 december 2026 hålls inte (inställt)" in body(notice)
    status = inst.status(at("2026-11-28 12:00"))
    assert [m["date"] for m in status["meetings"]][:1] == ["2026-12-08"]
    assert [i["id"] for i in status["meetings"][0]["items"]] == ["KLG-2026-001", "KLG-2026-002"]
    # Nothing is sent for the skipped date at its draft time.
    assert inst.tick(at("2026-11-30 10:05"))["steps"] == []


def test_a_meeting_cancelled_after_its_agenda_went_out(inst, monkeypatch):
    """The invitation is taken back (same UID, METHOD:CANCEL, higher SEQUENCE); the items move on."""
    import icalendar

    from tests.helpers import attachment

    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    propose(inst)
    inst.tick(at("2026-11-30 10:05"))
    draft = inst.sent()[-1]
    inst.drop(make_mail(CHAIR, f"SV: {draft['Subject']}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 14:00"))
    inst.edit_config("skip_dates = []", 'skip_dates = ["2026-12-01"]')
    assert inst.tick(at("2026-11-30 16:00"))["steps"] == [f"carry:{MEETING}:1"]
    [cancel] = [m for m in inst.sent() if "Inställt" in str(m["Subject"])]
    assert recipients(cancel) == sorted(MEMBERS)
    part = next(cancel.iter_attachments())
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "CANCEL"
    [event] = icalendar.Calendar.from_ical(attachment(cancel, "Kallelse KLG 2026-12-01.ics")).walk("VEVENT")
    assert (str(event["uid"]), event["sequence"], str(event["status"])) == ("klg-2026-12-01@example.org", 1, "CANCELLED")
    assert "tisdag 8 december 2026" in body(cancel)
    assert "kl. 09:30 är inställt." in body(cancel)  # not "är inställt (inställt)"
