"""``klg log``: what the chancellery or an auditor sees of what happened."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers import CHAIR, ERIK, MARIA, at, make_mail


def log(inst, *args) -> list[dict]:
    result = inst.klg("log", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def history(inst):
    """Maria proposes, amends and withdraws an item; Erik proposes another; a stranger writes."""
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15"))
    inst.drop(make_mail(ERIK, "Äldreboende", "Typ: beslut"))
    inst.tick(at("2026-11-20 09:00"))
    ack = next(m for m in inst.sent_to(MARIA))
    inst.drop(make_mail(MARIA, "Re: " + ack["Subject"], "Tid: 20", reply_to=ack))
    inst.tick(at("2026-11-20 10:00"))
    inst.drop(make_mail(MARIA, "Re: " + ack["Subject"], "ÅTERKALLA", reply_to=ack))
    inst.drop(make_mail("okand@example.net", "Köp våra tjänster", "Hej"))
    inst.tick(at("2026-11-20 11:00"))
    return inst


def test_log_of_an_item_tells_its_story_in_order(history):
    events = log(history, "--item", "klg-2026-001")
    whats = [e["what"] for e in events]
    assert whats == [
        "proposal received: Budgetuppföljning",
        f"mail queued: ack to {MARIA}",
        "mail in: proposal -> processed",
        "mail sent: ack",
        "item amended",
        f"mail queued: amended to {MARIA}",
        "mail in: amendment -> processed",
        "mail sent: amended",
        "item withdrawn",
        f"mail queued: withdrawn to {MARIA}",
        "mail in: withdrawal -> processed",
        "mail sent: withdrawn",
    ]
    assert {e["item"] for e in events} == {"KLG-2026-001"}
    assert [e["actor"] for e in events if e["what"].startswith(("proposal", "item", "mail in"))] == [MARIA] * 6
    assert events[4]["detail"]["changes"] == {"minutes": 20}
    assert events[0]["at"] == "2026-11-20T08:00:00+00:00"
    assert events[-1]["at"] == "2026-11-20T10:00:00+00:00"


def test_log_of_a_meeting_has_its_items_and_nothing_else(history):
    events = log(history, "--meeting", "2026-11-24")
    assert {e["item"] for e in events} == {"KLG-2026-001", "KLG-2026-002"}
    assert log(history, "--meeting", "2026-12-01") == []


def test_whole_log_includes_mail_from_strangers(history):
    events = log(history)
    stranger = [e for e in events if e["actor"] == "okand@example.net"]
    assert [e["what"] for e in stranger] == ["mail in: stranger -> quarantine"]
    assert stranger[0]["detail"]["subject"] == "Köp våra tjänster"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_text_log_is_one_line_per_event_in_local_time(history):
    result = history.klg("log", "--item", "KLG-2026-002")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"2026-11-20 09:00:00  {ERIK}")
    assert "KLG-2026-002" in lines[0] and "2026-11-24" in lines[0] and "proposal received: Äldreboende" in lines[0]


def test_bad_meeting_date_is_a_usage_error(history):
    result = history.klg("log", "--meeting", "24/11")
    assert result.returncode == 2
    assert "--meeting '24/11' is not a date; write it as YYYY-MM-DD" in result.stderr


def test_unknown_item_has_an_empty_log(history):
    assert history.klg("log", "--item", "KLG-2026-999").stdout.strip() == "(no events)"


def test_events_cannot_be_changed_or_deleted(history):
    db = sqlite3.connect(history.config.data_dir / "klg.sqlite")
    try:
        for sql in ("UPDATE events SET actor = 'someone else' WHERE id = 1", "DELETE FROM events WHERE id = 1",
                    "DELETE FROM events"):
            with pytest.raises(sqlite3.IntegrityError, match="the audit log is append-only"):
                db.execute(sql)
    finally:
        db.close()
    assert log(history)[0]["actor"] == MARIA


def test_redelivered_mail_adds_no_event(history):
    before = len(log(history))
    history.drop(make_mail(CHAIR, "Samma mejl", "x", message_id="<same@example.org>"))
    history.tick(at("2026-11-20 12:00"))
    history.drop(make_mail(CHAIR, "Samma mejl", "x", message_id="<same@example.org>"))
    history.tick(at("2026-11-20 12:05"))
    ins = [e for e in log(history)[before:] if e["what"].startswith("mail in")]
    assert len(ins) == 1
