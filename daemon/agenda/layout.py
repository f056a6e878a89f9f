"""The agenda's rows: which rows, in which order, at which times. Pure.

A row is a dict (the ``rows`` JSON of ``agenda_versions``)::

    {"id": "KLG-2026-042" | None, "type": "item" | "standing" | "break",
     "start": "09:30", "end": "09:50", "title": …, "presenter": …,
     "kind": "information" | "diskussion" | "beslut" | "", "minutes": 20,
     "attachments": [names], "origin": …, "written_procedure": bool,
     "carried_from": "2026-12-01" | None, "followups": [lines]}

Standing items come from ``[[standing_items]]`` (first, last or a place
number). The break goes at the boundary between two rows nearest to its
time (``schedule.break_start``, or the time a reviewer wrote in the break's
row), so it never splits an item, and only when the meeting runs past that
time.
"""

from __future__ import annotations

import re
from datetime import time

from daemon.agenda import words
from daemon.config import Schedule, StandingItem

ROW_KEYS = ("id", "type", "start", "end", "title", "presenter", "kind", "minutes", "attachments", "origin",
            "written_procedure", "carried_from", "followups")
FOLLOWUP_MINUTES = 10


def item_row(item: dict, attachments: list[str]) -> dict:
    """The row of an item (a row of the ``items`` table) with its attachment names."""
    return {"id": item["id"], "type": "item", "start": "", "end": "", "title": item["title"],
            "presenter": item["presenter"], "kind": item["kind"], "minutes": int(item["minutes"]),
            "attachments": list(attachments), "origin": item.get("origin") or "proposal",
            "written_procedure": bool(item.get("written_procedure")), "carried_from": item.get("carried_from")}


def standing_row(s: StandingItem) -> dict:
    return {"id": None, "type": "standing", "start": "", "end": "", "title": s.title, "presenter": s.presenter,
            "kind": "", "minutes": int(s.minutes), "attachments": [], "origin": "standing",
            "written_procedure": False, "carried_from": None}


def break_row(minutes: int, language: str) -> dict:
    return {"id": None, "type": "break", "start": "", "end": "", "title": words.BREAK_TITLE[language],
            "presenter": "", "kind": "", "minutes": int(minutes), "attachments": [], "origin": "break",
            "written_procedure": False, "carried_from": None}


def with_followups(rows: list[dict], lines: list[str], language: str) -> list[dict]:
    """List open action items under the standing item "Uppföljning": the configured
    one if there is one, else a new one right after the opening standing items."""
    if not lines:
        return rows
    title = words.FOLLOWUP_TITLE[language]
    for row in rows:
        if row["type"] == "standing" and row["title"].lower() == title.lower():
            return [{**r, "followups": list(lines)} if r is row else r for r in rows]
    place = next((n for n, r in enumerate(rows) if r["type"] != "standing"), len(rows))
    row = {**standing_row(StandingItem(title, FOLLOWUP_MINUTES, str(place + 1))), "followups": list(lines)}
    return rows[:place] + [row] + rows[place:]


def with_standing(items: list[dict], standing: tuple[StandingItem, ...]) -> list[dict]:
    """Item rows with the standing items put first, last or at their place number."""
    first = [standing_row(s) for s in standing if s.position == "first"]
    last = [standing_row(s) for s in standing if s.position == "last"]
    rows = first + list(items) + last
    numbered = sorted((int(s.position), i, s) for i, s in enumerate(standing) if s.position.isdigit())
    for place, _, s in numbered:
        rows.insert(max(0, min(place - 1, len(rows))), standing_row(s))
    return rows


def _minutes_of_day(at: time) -> int:
    return at.hour * 60 + at.minute


def _clock(minutes: int) -> str:
    minutes = max(0, min(minutes, 24 * 60 - 1))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def place_break(rows: list[dict], start: time, break_at: time | None, minutes: int, language: str,
                title: str | None = None) -> list[dict]:
    """``rows`` with the break at the boundary between two rows nearest to ``break_at``.

    No break when ``break_at`` is None or ``minutes`` is 0, when there are
    fewer than two rows, or when the rows end before the break would start.
    """
    rows = [r for r in rows if r["type"] != "break"]
    if break_at is None or minutes <= 0 or len(rows) < 2:
        return rows
    begin = _minutes_of_day(start)
    wanted = _minutes_of_day(break_at)
    if begin + sum(int(r["minutes"]) for r in rows) <= wanted:
        return rows
    boundaries = []
    cursor = begin
    for i, row in enumerate(rows[:-1], start=1):
        cursor += int(row["minutes"])
        boundaries.append((abs(cursor - wanted), i))
    _, at = min(boundaries)
    pause = break_row(minutes, language)
    if title:
        pause["title"] = title
    return rows[:at] + [pause] + rows[at:]


def timed(rows: list[dict], start: time) -> list[dict]:
    """Copies of ``rows`` with ``start`` and ``end`` filled in from the meeting's start."""
    cursor = _minutes_of_day(start)
    out = []
    for row in rows:
        end = cursor + int(row["minutes"])
        out.append({**{k: row.get(k) for k in ROW_KEYS}, "start": _clock(cursor), "end": _clock(end)})
        cursor = end
    return out


def draft_rows(items: list[dict], schedule: Schedule, standing: tuple[StandingItem, ...], language: str,
               followups: list[str] = ()) -> list[dict]:
    """The first version's rows: standing items (with the open action items under
    "Uppföljning"), the items in order, the break, with times."""
    rows = with_followups(with_standing(items, standing), list(followups), language)
    return timed(place_break(rows, schedule.start, schedule.break_start, schedule.break_minutes, language),
                 schedule.start)


def end_of(rows: list[dict], schedule: Schedule) -> str:
    """When the agenda ends: the last row's end, or the meeting's start when empty."""
    return rows[-1]["end"] if rows else schedule.start.strftime("%H:%M")


def warnings(rows: list[dict], schedule: Schedule, language: str) -> list[str]:
    """Plain-language warnings about the rows (today: items that do not fit the meeting's time)."""
    out = []
    if rows:
        end = int(rows[-1]["end"][:2]) * 60 + int(rows[-1]["end"][3:])
        limit = _minutes_of_day(schedule.end)
        if end > limit:
            out.append(words.overrun_warning(rows[-1]["end"], schedule.end.strftime("%H:%M"), end - limit, language))
    return out


def key(row: dict) -> tuple:
    """What makes a row the same row in two versions."""
    if row["type"] == "item":
        return ("item", row["id"])
    if row["type"] == "break":
        return ("break",)
    return ("standing", row["title"])


def _lcs(a: list, b: list) -> set:
    """The elements of the longest common subsequence of ``a`` and ``b``."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    keep, i, j = set(), 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            keep.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return keep


def changes(old: list[dict], new: list[dict], language: str, times: bool = False) -> list[dict]:
    """What changed from ``old`` rows to ``new`` rows: added, removed, moved rows and
    changed titles, presenters, kinds and minutes (and start times if ``times``)."""
    old_by = {key(r): r for r in old}
    new_by = {key(r): r for r in new}
    out: list[dict] = []
    for r in new:
        if key(r) not in old_by:
            out.append({"what": "added", "row": r})
    for r in old:
        if key(r) not in new_by:
            out.append({"what": "removed", "row": r})
    common_old = [key(r) for r in old if key(r) in new_by and r["type"] != "break"]
    common_new = [key(r) for r in new if key(r) in old_by and r["type"] != "break"]
    stay = _lcs(common_old, common_new)
    for k in common_new:
        if k not in stay:
            out.append({"what": "moved", "row": new_by[k], "old_no": common_old.index(k) + 1,
                        "new_no": common_new.index(k) + 1})
    for r in new:
        before = old_by.get(key(r))
        if before is None:
            continue
        for field in ("title", "presenter", "minutes"):
            if before.get(field) != r.get(field):
                out.append({"what": "field", "row": r, "field": field, "old": before.get(field), "new": r.get(field)})
        if words.kind_label(before, language) != words.kind_label(r, language):
            out.append({"what": "field", "row": r, "field": "kind", "old": words.kind_label(before, language),
                        "new": words.kind_label(r, language)})
        if times and before.get("start") != r.get("start") and r["type"] != "break":
            out.append({"what": "time", "row": r, "old": before.get("start"), "new": r.get("start")})
    return out


def describe_all(found: list[dict], language: str) -> list[str]:
    """The changes as lines for a mail."""
    return [words.describe(c, language) for c in found]


def parse_clock(text: str) -> time | None:
    """The first clock time in ``text`` ('10:35–11:05', '11.00', 'kl 11') or None."""
    m = re.search(r"(?<!\d)(\d{1,2})(?:[:.](\d{2}))?(?!\d)", text or "")
    if not m or int(m[1]) > 23 or (m[2] and int(m[2]) > 59):
        return None
    return time(int(m[1]), int(m[2] or 0))
