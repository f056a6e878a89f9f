"""The annual wheel (årshjul): items that come back every year, from ``[[annual_items]]``.

Each entry names a title, a presenter, minutes, a kind and *when*: ``month = 10``
(the first meeting of October), ``week = 34`` (the meeting in ISO week 34) or
``rrule = "FREQ=YEARLY;BYMONTH=8;BYDAY=3TU"`` (the first meeting on or after each
date the rule gives). ``{year}`` in the title is the meeting's year.

A step puts the item on that meeting's agenda on its own, ``documents_due_days``
(default 7) before the meeting's long-document deadline, as an item like any
other (``items.create``, origin ``wheel``) that the presenter may amend as its
proposer. With ``documents_due_days`` set, the presenter gets a reminder then
to mail the documents as a reply to it. The draft mail names which items came
from the wheel; `klg status` lists the year's wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrulestr

from daemon import items
from daemon.config import KINDS, Config, ConfigError, Member
from daemon.config_reader import ConfigReader
from daemon.context import Ctx
from daemon.schedule import Calendar
from daemon.steps import Step

SECTION = "annual_items"
KEYS = ("title", "presenter", "minutes", "kind", "month", "week", "rrule", "documents_due_days", "description")
DEFAULT_LEAD_DAYS = 7  # days before the long-document deadline the item is put on the agenda
LOOK_AHEAD_DAYS = 60


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class AnnualItem:
    """An ``[[annual_items]]`` entry (the annual wheel): a point that comes back on the agenda every year."""

    title: str
    presenter: str = ""
    minutes: int | None = None
    kind: str | None = None
    month: int | None = None
    week: int | None = None
    rrule: str | None = None
    documents_due_days: int | None = None
    description: str = ""

    @property
    def when(self) -> str:
        if self.month:
            return f"month {self.month}"
        if self.week:
            return f"week {self.week}"
        return self.rrule or ""

    def title_for(self, meeting: date) -> str:
        return self.title.replace("{year}", str(meeting.year)).replace("{next_year}", str(meeting.year + 1))


def check_config(config: Config) -> list[str]:
    """Problems with ``[[annual_items]]``, each naming the key, the value and the fix."""
    return _parse(config)[1]


def annual_items(config: Config) -> list[AnnualItem]:
    found, problems = _parse(config)
    if problems:
        raise ConfigError(config.path, problems)
    return found


def _parse(config: Config) -> tuple[list[AnnualItem], list[str]]:
    r = ConfigReader()
    raw = config.raw.get(SECTION, [])
    if not isinstance(raw, list):
        r.bad(SECTION, raw, "write each as an [[annual_items]] table")
        return [], r.problems
    out: list[AnnualItem] = []
    for key, t in r.each(raw, SECTION, KEYS, "each annual item is an [[annual_items]] table"):
        title = r.text(t, "title", key) or ""
        minutes = r.get(t, "minutes", key, int, None, "expected whole minutes, e.g. 20")
        kind = r.text(t, "kind", key, None)
        if kind and kind not in KINDS:
            r.bad(f"{key}.kind", kind, f"use one of {', '.join(KINDS)}")
        whens = [k for k in ("month", "week", "rrule") if k in t]
        if len(whens) != 1:
            r.bad(key, {k: t[k] for k in whens} or title, 'give exactly one of month = 10, week = 34 or rrule = '
                  '"FREQ=YEARLY;BYMONTH=8;BYDAY=3TU"')
        month = r.get(t, "month", key, int, None, "expected a month, 1 to 12")
        if month is not None and not 1 <= month <= 12:
            r.bad(f"{key}.month", month, "expected a month, 1 to 12")
        week = r.get(t, "week", key, int, None, "expected an ISO week, 1 to 53")
        if week is not None and not 1 <= week <= 53:
            r.bad(f"{key}.week", week, "expected an ISO week, 1 to 53")
        rule = r.text(t, "rrule", key, None)
        if rule:
            try:
                rrulestr(rule, dtstart=datetime(2026, 1, 1))
            except (ValueError, TypeError) as exc:
                r.bad(f"{key}.rrule", rule, f'expected an RFC 5545 RRULE such as "FREQ=YEARLY;BYMONTH=8;BYDAY=3TU" ({exc})')
        due = r.get(t, "documents_due_days", key, int, None, "expected whole days, e.g. 14")
        if due is not None and due < 0:
            r.bad(f"{key}.documents_due_days", due, "expected whole days, 0 or more")
        presenter = r.text(t, "presenter", key, "") or ""
        if presenter and config.member_by_name(presenter) is None:
            r.bad(f"{key}.presenter", presenter, "not the name of a member; write it as in [[members]] name")
        out.append(AnnualItem(title, presenter, minutes, kind, month, week, rule, due,
                              str(t.get("description", ""))))
    return out, r.problems


# --- when ----------------------------------------------------------------------------------


def meeting_in(cal: Calendar, item: AnnualItem, year: int) -> list[date]:
    """The meetings of ``year`` that ``item`` goes on (one, or none when a break takes it)."""
    if item.month:
        first = date(year, item.month, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        held = cal.meetings(first, last)
        return held[:1]
    if item.week:
        try:
            monday = date.fromisocalendar(year, item.week, 1)
        except ValueError:  # week 53 in a year that has 52
            return []
        return cal.meetings(monday, monday + timedelta(days=6))[:1]
    out: list[date] = []
    rule = rrulestr(item.rrule or "", dtstart=datetime(year, 1, 1))
    for when in rule.between(datetime(year, 1, 1), datetime(year, 12, 31, 23, 59), inc=True):
        meeting = cal.next_meeting(when.date(), inclusive=True)
        if meeting.year == year and meeting not in out:
            out.append(meeting)
    return out


def occurrences(config: Config, cal: Calendar, first: date, last: date) -> list[tuple[AnnualItem, date]]:
    """(item, meeting) for every annual item's meeting in [first, last], by date."""
    found = []
    for item in annual_items(config):
        for year in range(first.year, last.year + 1):
            found += [(item, d) for d in meeting_in(cal, item, year) if first <= d <= last]
    return sorted(found, key=lambda pair: pair[1])


def put_at(cal: Calendar, item: AnnualItem, meeting: date) -> datetime:
    """When ``item`` goes on ``meeting``'s agenda (and its presenter is reminded)."""
    lead = item.documents_due_days if item.documents_due_days is not None else DEFAULT_LEAD_DAYS
    return cal.long_document_deadline(meeting) - timedelta(days=lead)


def _key(item: AnnualItem, meeting: date) -> str:
    import hashlib  # imported here, not at the top: start-up (issue 19): OpenSSL, for a pass with annual items in play

    digest = hashlib.sha256(item.title.encode()).hexdigest()[:10]
    return f"wheel:{meeting.isoformat()}:{digest}"


def due(ctx: Ctx) -> list[Step]:
    """STEPS entry: put each annual item on its meeting once its time has come (until the draft)."""
    cal = ctx.calendar
    steps = []
    for item, meeting in occurrences(ctx.config, cal, ctx.today, ctx.today + timedelta(days=LOOK_AHEAD_DAYS)):
        if put_at(cal, item, meeting) <= ctx.now < cal.draft_at(meeting):
            steps.append(Step(_key(item, meeting), lambda c, i=item, m=meeting: put(c, i, m),
                              f"put the annual item {item.title_for(meeting)!r} on {meeting}"))
    return steps


def wake_times(config: Config) -> list[time]:
    """WAKE_TIMES entry: the long-document deadline's clock time, when the wheel's steps fall due."""
    return [config.schedule.long_document_deadline.time] if config.raw.get(SECTION) else []


def _presenter(ctx: Ctx, item: AnnualItem) -> Member:
    return (ctx.config.member_by_name(item.presenter) if item.presenter else None) or ctx.chancellery()[0]


def existing(ctx: Ctx, item: AnnualItem, meeting: date) -> dict | None:
    return ctx.store.one("SELECT * FROM items WHERE origin = 'wheel' AND meeting = ? AND title = ?",
                         [meeting.isoformat(), item.title_for(meeting)[: items.MAX_TITLE]])


def put(ctx: Ctx, item: AnnualItem, meeting: date) -> None:
    """Put ``item`` on ``meeting``'s agenda, and remind its presenter when documents are due."""
    if existing(ctx, item, meeting) is not None:
        return
    presenter = _presenter(ctx, item)
    d = meeting.isoformat()
    item_id = items.create(ctx, title=item.title_for(meeting), presenter=presenter.name, proposer=presenter.email,
                           meeting=d, origin="wheel", source="wheel", description=item.description,
                           minutes=item.minutes, kind=item.kind, announce_it=False)
    ctx.event("annual wheel: item put on the agenda", item=item_id, meeting=d, detail={"when": item.when})
    items.announce(ctx, item_id, "created", "wheel")
    if item.documents_due_days is not None:
        ctx.send("wheel_reminder", [presenter], {"item": items.summary(ctx, item_id), "name": presenter.name,
                                                  "documents_due": ctx.calendar.long_document_deadline(meeting)},
                 kind="item", item=item_id, meeting=d)


# --- klg status ------------------------------------------------------------------------------


def section(ctx: Ctx) -> tuple[str, list, list[str]]:
    """STATUS entry: ("wheel", JSON list, text lines): the annual items of the coming twelve months."""
    cal = ctx.calendar
    out, lines = [], []
    try:
        found = occurrences(ctx.config, cal, ctx.today, ctx.today + timedelta(days=365))
    except ConfigError:
        return "wheel", [], ["Annual wheel: [[annual_items]] has problems; run klg check-config"]
    for item, meeting in found:
        row = existing(ctx, item, meeting)
        entry = {"title": item.title_for(meeting), "meeting": meeting.isoformat(), "when": item.when,
                 "presenter": _presenter(ctx, item).name, "minutes": item.minutes, "kind": item.kind,
                 "item": row["id"] if row else None,
                 "put_on_agenda_at": put_at(cal, item, meeting).isoformat(timespec="minutes"),
                 "documents_due": cal.long_document_deadline(meeting).isoformat(timespec="minutes")
                 if item.documents_due_days is not None else None}
        out.append(entry)
        state = f"on the agenda as {row['id']}" if row else f"goes on the agenda {entry['put_on_agenda_at'][:16]}"
        lines.append(f"Annual wheel {meeting}: {entry['title']} ({entry['presenter']}, {item.when}), {state}")
    return "wheel", out, lines

