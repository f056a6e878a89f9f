"""Breaks as rules: ``[schedule] skip``, the weeks or days of every year with no meeting.

Each entry of ``skip`` is one of:

- ``"christmas"`` (or ``"jul"``): the weeks (ISO, Monday to Sunday) of 24 December
  and 1 January, every year;
- ``{ weeks = "27-32" }`` or ``{ weeks = "27,29-30" }``: those ISO weeks, every year;
- ``{ from = "12-21", to = "01-06" }``: those days every year (``MM-DD``; a range may
  wrap over the new year);
- ``{ from = "2027-06-21", to = "2027-08-08" }``: one dated range (as ``skip_ranges``).

Each may carry ``name`` ("sommaruppehåll"), which the cancellation of a moved
meeting and `klg status` say. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from daemon.config_reader import ConfigReader

SKIP_KEYS = ("weeks", "from", "to", "name")
CHRISTMAS = ("christmas", "jul")
_MMDD = re.compile(r"^(\d{2})-(\d{2})$")
_WEEKS = re.compile(r"^\s*\d{1,2}(?:\s*-\s*\d{1,2})?(?:\s*,\s*\d{1,2}(?:\s*-\s*\d{1,2})?)*\s*$")


@dataclass(frozen=True)
class SkipRule:
    """One break. ``kind``: "weeks" (``weeks`` holds the ISO week numbers), "christmas",
    "yearly" (``first``/``last`` as (month, day)) or "dated" (``first``/``last`` as dates)."""

    kind: str
    name: str = ""
    weeks: frozenset[int] = frozenset()
    first: Any = None
    last: Any = None

    def covers(self, day: date) -> bool:
        """True when ``day`` falls in this break."""
        if self.kind == "weeks":
            return day.isocalendar()[1] in self.weeks
        if self.kind == "christmas":
            return any(_same_week(day, date(year, month, d)) for year in (day.year - 1, day.year, day.year + 1)
                       for month, d in ((12, 24), (1, 1)))
        if self.kind == "dated":
            return self.first <= day <= self.last
        md = (day.month, day.day)
        if self.first <= self.last:
            return self.first <= md <= self.last
        return md >= self.first or md <= self.last  # over the new year: 21 December to 6 January

    def reason(self) -> str:
        """What ``Calendar.skip_reason`` says (Swedish, as its other reasons)."""
        name = self.name or ("jul" if self.kind == "christmas" else "")
        return f"uppehåll: {name}" if name else "uppehåll"


def _same_week(a: date, b: date) -> bool:
    return a - timedelta(days=a.weekday()) == b - timedelta(days=b.weekday())


def read_skip(raw: Any, r: ConfigReader) -> tuple[SkipRule, ...]:
    """``[schedule] skip`` as rules; every problem names the entry and the fix."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.bad("schedule.skip", raw, 'expected a list, e.g. skip = ["christmas", { weeks = "27-32" }]')
        return ()
    rules: list[SkipRule] = []
    for i, entry in enumerate(raw):
        key = f"schedule.skip[{i}]"
        if isinstance(entry, str):
            if entry.strip().lower() in CHRISTMAS:
                rules.append(SkipRule("christmas"))
            else:
                r.bad(key, entry, 'use "christmas", { weeks = "27-32" } or { from = "12-21", to = "01-06" }')
            continue
        if not isinstance(entry, dict):
            r.bad(key, entry, 'use "christmas", { weeks = "27-32" } or { from = "12-21", to = "01-06" }')
            continue
        for extra in sorted(set(entry) - set(SKIP_KEYS)):
            r.bad(f"{key}.{extra}", entry[extra], f"not a key of a break; use {', '.join(SKIP_KEYS)}")
        name = str(entry.get("name", ""))
        if "weeks" in entry:
            rule = _weeks(entry["weeks"], name, key, r)
        elif "from" in entry and "to" in entry:
            rule = _range(entry["from"], entry["to"], name, key, r)
        else:
            r.bad(key, entry, 'give weeks = "27-32", or from and to ("12-21" and "01-06", or dates)')
            rule = None
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _weeks(value: Any, name: str, key: str, r: ConfigReader) -> SkipRule | None:
    text = str(value)
    if not _WEEKS.match(text):
        r.bad(f"{key}.weeks", value, 'expected ISO week numbers such as "27-32" or "27,29-30"')
        return None
    weeks: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        a, b = int(first), int(last or first)
        if not (1 <= a <= b <= 53):
            r.bad(f"{key}.weeks", value, "weeks run from 1 to 53, the first of a range before the last")
            return None
        weeks.update(range(a, b + 1))
    return SkipRule("weeks", name, frozenset(weeks))


def _range(first: Any, last: Any, name: str, key: str, r: ConfigReader) -> SkipRule | None:
    a, b = _MMDD.match(str(first)), _MMDD.match(str(last))
    if a and b:
        try:
            date(2024, int(a[1]), int(a[2]))
            date(2024, int(b[1]), int(b[2]))
        except ValueError:
            r.bad(key, [first, last], 'expected month-day such as "12-21"')
            return None
        return SkipRule("yearly", name, first=(int(a[1]), int(a[2])), last=(int(b[1]), int(b[2])))
    d1, d2 = r.day(first, f"{key}.from"), r.day(last, f"{key}.to")
    if d1 is None or d2 is None:
        return None
    if d2 < d1:
        r.bad(key, [str(first), str(last)], "the last day comes before the first")
        return None
    return SkipRule("dated", name, first=d1, last=d2)
