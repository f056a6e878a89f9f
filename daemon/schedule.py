"""When meetings happen and when their steps are due. Pure: dates in, dates out.

Meetings come from the RRULE in ``[schedule]``; a date that is a public
holiday, a skip date or inside a skip range has no meeting. A step such as the
proposal deadline lies ``days_before`` calendar days before the meeting at its
clock time; if that day is not a working day the step moves to the previous
working day (a Monday holiday moves Monday's steps to the Friday before).
All clock times are local to the group's time zone, so DST is handled by
``zoneinfo`` when a local time becomes an instant.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from daemon.config import Schedule, StepTime
from daemon.holiday_tables import CachedTable

SEARCH_LIMIT = 600  # occurrences to look at before deciding there is no next meeting


@lru_cache(maxsize=8)
def _holiday_table(country: str, categories: tuple[str, ...], kept_in: Path | None):
    """One holiday table per country for the whole process: building one costs
    milliseconds, and every proposal and step asks. ``kept_in``: the data folder,
    where the years asked for are kept for the next command (daemon/holiday_tables.py)."""
    return CachedTable(country, categories, "sv", kept_in)


@lru_cache(maxsize=8)
def calendar_for(schedule: Schedule, tz: ZoneInfo, kept_in: Path | None = None) -> "Calendar":
    """The shared Calendar of a schedule (it only caches what it computed); ``kept_in``: the
    folder whose ``holidays.json`` keeps the holidays between commands (the data folder)."""
    return Calendar(schedule, tz, kept_in)


class NoMeeting(Exception):
    """The schedule has no meeting in the coming years (everything skipped?)."""


class Calendar:
    def __init__(self, schedule: Schedule, tz: ZoneInfo, kept_in: Path | None = None):
        self.s = schedule
        self.tz = tz
        self.kept_in = kept_in
        self._holiday_names: dict[date, str | None] = {}

    @property
    def _holidays(self):
        """The country's holidays, or None; the table fills in years as they are asked for."""
        if not self.s.holidays:
            return None
        return _holiday_table(self.s.holidays, tuple(self.s.holiday_categories), self.kept_in)

    @cached_property
    def _rule(self):
        # cache=True: dateutil walks a rule from its first date on every after()/before(); ten
        # years on, every pass of a weekly group would walk 500 meetings several times over
        return rrulestr(self.s.recurrence, dtstart=datetime.combine(self.s.first_date, self.s.start), cache=True)

    # --- days -----------------------------------------------------------------

    def holiday(self, day: date) -> str | None:
        """The holiday's name if ``day`` is one, else None."""
        if day not in self._holiday_names:  # asked for every candidate day: remember the answers
            table = self._holidays
            self._holiday_names[day] = table.get(day) if table is not None else None
        return self._holiday_names[day]

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.holiday(day)

    def previous_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """The working day ``n`` working days after ``start`` (n >= 0)."""
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def skip_reason(self, day: date) -> str | None:
        """Why no meeting is held on ``day`` (holiday, skipped date, break), or None."""
        name = self.holiday(day)
        if name:
            return f"helgdag: {name}"
        if day in self.s.skip_dates:
            return "inställt"
        for first, last in self.s.skip_ranges:
            if first <= day <= last:
                return "uppehåll"
        for rule in self.s.skip:
            if rule.covers(day):
                return rule.reason()
        return None

    # --- meetings ---------------------------------------------------------

    def occurrences(self, first: date, last: date) -> list[date]:
        """Every date the RRULE gives in [first, last], held or not."""
        start = datetime.combine(first, time.min)
        end = datetime.combine(last, time.max)
        return [dt.date() for dt in self._rule.between(start, end, inc=True)]

    def meetings(self, first: date, last: date) -> list[date]:
        """Dates in [first, last] on which a meeting is held."""
        return [d for d in self.occurrences(first, last) if not self.skip_reason(d)]

    @lru_cache(maxsize=4096)  # asked several times per proposal with the same days
    def next_meeting(self, after: date, inclusive: bool = False) -> date:
        """The first held meeting after (or on, if ``inclusive``) ``after``."""
        cursor = datetime.combine(after, time.min if inclusive else time.max)
        inc = inclusive
        for _ in range(SEARCH_LIMIT):
            nxt = self._rule.after(cursor, inc=inc)
            if nxt is None:
                break
            if not self.skip_reason(nxt.date()):
                return nxt.date()
            cursor, inc = nxt, False
        raise NoMeeting(f"no meeting is scheduled after {after}: check [schedule] recurrence and skip_ranges")

    def previous_meeting(self, before: date) -> date | None:
        cursor = datetime.combine(before, time.min)
        for _ in range(SEARCH_LIMIT):
            prev = self._rule.before(cursor)
            if prev is None:
                return None
            if not self.skip_reason(prev.date()):
                return prev.date()
            cursor = prev
        return None

    def is_meeting(self, day: date) -> bool:
        return bool(self.occurrences(day, day)) and not self.skip_reason(day)

    # --- instants -------------------------------------------------------------

    def local(self, day: date, at: time) -> datetime:
        """The instant of local clock time ``at`` on ``day`` (DST-correct)."""
        return datetime.combine(day, at, tzinfo=self.tz)

    def start(self, meeting: date) -> datetime:
        return self.local(meeting, self.s.start)

    def end(self, meeting: date) -> datetime:
        return self.local(meeting, self.s.end)

    def step_day(self, meeting: date, step: StepTime) -> date:
        day = meeting - timedelta(days=step.days_before)
        return self.previous_working_day(day) if step.days_before else day

    def step_at(self, meeting: date, step: StepTime) -> datetime:
        return self.local(self.step_day(meeting, step), step.time)

    def proposal_deadline(self, meeting: date) -> datetime:
        return self.step_at(meeting, self.s.proposal_deadline)

    def long_document_deadline(self, meeting: date) -> datetime:
        return self.step_at(meeting, self.s.long_document_deadline)

    def draft_at(self, meeting: date) -> datetime:
        return self.step_at(meeting, self.s.draft)

    def final_at(self, meeting: date) -> datetime:
        return self.step_at(meeting, self.s.final)

    def open_meeting(self, now: datetime, not_before: date | None = None) -> date:
        """The first meeting (on or after ``not_before``) whose proposal deadline is still ahead."""
        day = not_before if not_before and not_before > now.astimezone(self.tz).date() else now.astimezone(self.tz).date()
        meeting = self.next_meeting(day, inclusive=True)
        for _ in range(SEARCH_LIMIT):
            if self.proposal_deadline(meeting) > now:
                return meeting
            meeting = self.next_meeting(meeting)
        raise NoMeeting("no meeting with an open proposal deadline: check [schedule]")

    def upcoming_meeting(self, now: datetime) -> date:
        """The next meeting that has not started yet."""
        meeting = self.next_meeting(now.astimezone(self.tz).date(), inclusive=True)
        while self.start(meeting) <= now:
            meeting = self.next_meeting(meeting)
        return meeting
