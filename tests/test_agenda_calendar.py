"""When the agenda's steps happen: holidays, the summer break, DST changes,
groups meeting every other week or monthly. Drafts only (no LibreOffice)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from daemon import meetings
from daemon.schedule import Calendar
from daemon.scheduler import Waker, wake_times
from daemon.secretary import secretary_for
from daemon.context import Ctx
from tests.helpers import CHAIR, MARIA, TZ, at, body, make_mail, recipients

UTC = timezone.utc


def drafts(inst) -> list[str]:
    return [" ".join(str(m["Subject"]).split()) for m in inst.sent() if "Utkast" in str(m["Subject"])]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_monday_holiday_moves_the_steps_to_the_previous_working_day(inst):
    """Easter 2026: Monday 6 April and Good Friday 3 April are holidays, so the
    deadline and the draft for Tuesday 7 April come on Thursday 2 April."""
    cal = Calendar(inst.config.schedule, TZ)
    assert cal.proposal_deadline(date(2026, 4, 7)) == at("2026-04-02 10:00")
    assert cal.draft_at(date(2026, 4, 7)) == at("2026-04-02 10:05")
    assert cal.final_at(date(2026, 4, 7)) == at("2026-04-02 14:00")
    inst.drop(make_mail(MARIA, "Påskens bemanning", "Tid: 10"))
    inst.tick(at("2026-04-01 09:00"))
    assert inst.tick(at("2026-04-02 10:04"))["steps"] == []
    assert inst.tick(at("2026-04-02 10:05"))["steps"] == ["draft:2026-04-07"]
    assert drafts(inst) == ["[KLG 2026-04-07] Utkast till dagordning – granska och svara senast 14:00"]
    assert "torsdag 2 april 2026" in " ".join(body(inst.sent()[-1]).split())


def test_no_meeting_on_a_holiday(inst):
    """Tuesday 6 January 2026 is Epiphany: no meeting, no draft; items go to 13 January."""
    inst.drop(make_mail(MARIA, "Årets första ärende", "Tid: 10"))
    inst.tick(at("2026-01-02 09:00"))
    assert "tisdag 13 januari 2026" in body(inst.sent()[0])
    assert inst.tick(at("2026-01-05 10:05"))["steps"] == []
    assert inst.tick(at("2026-01-12 10:05"))["steps"] == ["draft:2026-01-13"]


def test_summer_break(inst):
    """No meetings from 22 June to 9 August: a proposal after the last deadline waits for 11 August."""
    assert inst.tick(at("2026-06-15 10:05"))["steps"] == ["draft:2026-06-16"]
    inst.drop(make_mail(MARIA, "Höstens planering", "Tid: 10"))
    inst.tick(at("2026-06-15 11:00"))
    ack = inst.sent_to(MARIA)[-1]  # the notice of the late proposal to the chair and chancellery comes after it
    assert "tisdag 11 augusti 2026" in body(ack)
    for monday in ("2026-06-22", "2026-06-29", "2026-07-06", "2026-07-27", "2026-08-03"):
        assert inst.tick(at(f"{monday} 14:00"))["steps"] == [], monday
    assert inst.tick(at("2026-08-10 10:05"))["steps"] == ["draft:2026-08-11"]


def test_dst_spring_and_autumn(inst):
    """Steps happen at the local clock time on both sides of a DST change."""
    inst.drop(make_mail(MARIA, "Vårens ärende", "Tid: 10"))
    inst.tick(utc("2026-03-20 08:00"))
    # The week before the change (CET, UTC+1): 10:05 local is 09:05 UTC.
    assert inst.tick(utc("2026-03-23 09:04"))["steps"] == []
    assert inst.tick(utc("2026-03-23 09:05"))["steps"] == ["draft:2026-03-24"]
    # (Nobody approved it, so the item moves on to 31 March when the meeting starts.)
    assert inst.tick(utc("2026-03-24 08:30"))["steps"] == ["carry:2026-03-24:1"]
    # DST began on Sunday 29 March (CEST, UTC+2): 10:05 local is 08:05 UTC.
    assert inst.tick(utc("2026-03-30 08:04"))["steps"] == []
    assert inst.tick(utc("2026-03-30 08:05"))["steps"] == ["draft:2026-03-31"]
    # DST ended on Sunday 25 October: back to 09:05 UTC; at 08:05 UTC it is only 09:05 local.
    assert inst.tick(utc("2026-10-26 08:05"))["steps"] == ["carry:2026-03-31:1"]  # to 27 October
    assert inst.tick(utc("2026-10-26 09:05"))["steps"] == ["draft:2026-10-27"]
    cal = Calendar(inst.config.schedule, TZ)
    assert cal.start(date(2026, 3, 31)).astimezone(UTC) == utc("2026-03-31 07:30")
    assert cal.start(date(2026, 10, 27)).astimezone(UTC) == utc("2026-10-27 08:30")


def test_scheduler_wakes_at_local_times_across_dst(inst):
    """APScheduler only wakes the daemon; its cron triggers follow the local clock across DST."""
    config = inst.config
    times = [t.strftime("%H:%M") for t in wake_times(config)]
    assert {"10:00", "10:05", "13:00", "14:00", "09:30"} <= set(times)
    waker = Waker(config)
    triggers = {str(job.trigger): job.trigger for job in waker.scheduler.get_jobs()}
    draft = next(t for name, t in triggers.items() if "hour='10', minute='5'" in name)
    spring = draft.get_next_fire_time(None, at("2026-03-28 12:00"))
    autumn = draft.get_next_fire_time(None, at("2026-10-24 12:00"))
    assert spring.astimezone(UTC) == utc("2026-03-29 08:05")
    assert autumn.astimezone(UTC) == utc("2026-10-25 09:05")


def test_every_other_week(inst):
    """A biweekly group (from Tuesday 6 January 2026) meets 24 November and 8 December, not 1 December."""
    inst.edit_config('recurrence = "FREQ=WEEKLY;BYDAY=TU"', 'recurrence = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"')
    inst.drop(make_mail(MARIA, "Varannan vecka", "Tid: 10"))
    inst.tick(at("2026-11-25 09:00"))
    assert "tisdag 8 december 2026" in body(inst.sent()[0])
    assert inst.tick(at("2026-11-30 10:05"))["steps"] == []
    assert inst.tick(at("2026-12-07 10:05"))["steps"] == ["draft:2026-12-08"]
    assert recipients(inst.sent()[-1])[1] == CHAIR


def test_monthly(inst):
    """A group meeting the first Tuesday of the month."""
    inst.edit_config('recurrence = "FREQ=WEEKLY;BYDAY=TU"', 'recurrence = "FREQ=MONTHLY;BYDAY=1TU"')
    inst.drop(make_mail(MARIA, "Månadens ärende", "Tid: 10"))
    inst.tick(at("2026-11-10 09:00"))
    assert "tisdag 1 december 2026" in body(inst.sent()[0])
    inst.drop(make_mail(MARIA, "Nästa månad", "Tid: 10"))
    inst.tick(at("2026-12-02 09:00"))
    assert "tisdag 5 januari 2027" in body(inst.sent()[-1])
    assert inst.tick(at("2026-11-24 10:05"))["steps"] == []
    assert inst.tick(at("2026-11-30 10:05"))["steps"] == ["draft:2026-12-01"]
    assert inst.tick(at("2027-01-04 10:05"))["steps"] == ["draft:2027-01-05"]


def test_secretary_rotation_is_stable_and_can_be_overridden(inst):
    """The secretary is the member whose turn it is by held meetings since first_date."""
    config = inst.config
    store = inst.store()
    try:
        ctx = Ctx(config, store, at("2026-11-20 09:00"))
        turns = [secretary_for(ctx, d).name for d in (date(2026, 1, 13), date(2026, 1, 20), date(2026, 1, 27))]
        # 6 January is a holiday, so 13 January is the first held meeting: the first secretary in turn.
        assert turns == ["Johan Ek", "Maria Holm", "Erik Sandberg"]
        assert secretary_for(ctx, date(2026, 1, 20)).name == "Maria Holm"  # stable when asked again
        with store.atomic():
            meetings.set_secretary(store, "2026-01-20", "peter.nystrom@example.org")
        assert secretary_for(ctx, date(2026, 1, 20)).name == "Peter Nyström"
    finally:
        store.close()
    inst.edit_config("[minutes]\n# secretaries", '[minutes]\nsecretaries = "all"\n# secretaries')
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-11-20 09:00"))
        assert secretary_for(ctx, date(2026, 1, 13)).name == "Karin Berg"
    finally:
        store.close()
