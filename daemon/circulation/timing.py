"""When a written procedure's comment period ends, when the silent are reminded,
and which meeting decides. Pure: dates in, dates out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from daemon.circulation.settings import Settings
from daemon.schedule import Calendar


@dataclass(frozen=True)
class Timing:
    deadline: datetime
    reminder: datetime | None
    meeting: date


def working_days_before(cal: Calendar, day: date, n: int) -> date:
    """The working day ``n`` working days before ``day``."""
    while n > 0:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            n -= 1
    return day


def timing(cal: Calendar, s: Settings, now: datetime, not_before: date | None) -> Timing:
    """When the comment period started at ``now`` ends, when to remind, and which
    meeting decides: the first (not before ``not_before``) whose proposal deadline
    comes after the end of the comment period."""
    today = now.astimezone(cal.tz).date()
    deadline = cal.local(cal.add_working_days(today, s.comment_days), s.deadline_time)
    reminder = None
    if s.reminder_days_before:
        day = working_days_before(cal, deadline.date(), s.reminder_days_before)
        at = cal.local(day, s.reminder_time or s.deadline_time)
        reminder = at if now < at < deadline else None
    return Timing(deadline, reminder, cal.open_meeting(deadline, not_before=not_before))

