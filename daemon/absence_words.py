"""What a member's words say about coming to a meeting. Pure: text in, facts out.

Three readers, Swedish and English:

- :func:`regret` reads ``Förhinder`` / ``Frånvaro`` / ``Kan inte komma``
  (``Regrets``, ``Cannot attend``, ``Absent``) at the start of a subject or
  of the first line a member wrote, with an optional reason and
  ``Ersättare: Namn`` (``Stand-in:``, ``Substitute:``); ``Kommer ändå`` /
  ``Can attend after all`` takes a regret back.
- :func:`return_date` finds the last day away in an out-of-office text:
  "till och med 4 december", "tillbaka den 7/12", "until 4 December".
- :func:`calendar_reply` reads an iTIP REPLY (RFC 5546), the text/calendar
  part Outlook and other clients send when a member accepts or declines.

A regret must stand at the start, not anywhere: a proposal titled
"Frånvarohantering i skolan" is a proposal, not a regret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "feb": 2, "february": 2, "mars": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4, "maj": 5, "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7,
    "augusti": 8, "aug": 8, "august": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "4 december", "4:e dec", "December 4", "4/12", "2026-12-04"
_DAY = (rf"(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})|(?P<d1>\d{{1,2}})(?::?[ae]|st|nd|rd|th)?\.?\s+(?P<m1>{_MONTH})\.?"
        rf"(?:\s+(?P<y1>\d{{4}}))?|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{{4}}))?|"
        rf"(?P<d3>\d{{1,2}})/(?P<m3>\d{{1,2}})(?:[/-](?P<y3>\d{{2,4}}))?)")
DAY_RE = re.compile(rf"\b{_DAY}\b", re.IGNORECASE)
# The last day away (inclusive) ...
THROUGH = re.compile(rf"\b(?:till\s+och\s+med|t\.?\s?o\.?\s?m\.?|tom|till|fram\s+till|until|through|thru|"
                     rf"up\s+to\s+and\s+including)\s+(?:den\s+|and\s+including\s+|the\s+)?{_DAY}", re.IGNORECASE)
# ... or the first day back (the day before it is the last away).
BACK = re.compile(rf"\b(?:tillbaka|åter|på\s+plats(?:\s+igen)?|i\s+tjänst(?:\s+igen)?|back|return(?:ing)?|"
                  rf"in\s+the\s+office)\s+(?:igen\s+)?(?:den\s+|on\s+|the\s+|from\s+|från\s+(?:och\s+med\s+)?|"
                  rf"fr\.?o\.?m\.?\s+)?{_DAY}", re.IGNORECASE)

_REGRET = (r"förhinder|frånvaro|frånvarande|kan\s+(?:inte|ej)\s+(?:komma|delta|närvara)|kommer\s+(?:inte|ej)|"
           r"regrets|cannot\s+attend|can't\s+attend|can\s+not\s+attend|unable\s+to\s+attend|absent|"
           r"will\s+not\s+attend|won't\s+attend|not\s+attending")
_ATTEND = r"kommer\s+ändå|kan\s+komma\s+ändå|kan\s+komma|deltar\s+ändå|can\s+attend\s+after\s+all|attending\s+after\s+all"
# the word, then the end of the text, or a separator: "Förhinder", "Förhinder: sjuk", "Förhinder – kurs"
REGRET_RE = re.compile(rf"^\s*(?P<word>{_REGRET})(?=$|[\s:.,;!–—-])[\s:.,;!–—-]*(?P<rest>.*)$", re.IGNORECASE)
ATTEND_RE = re.compile(rf"^\s*(?P<word>{_ATTEND})(?=$|[\s:.,;!–—-])", re.IGNORECASE)
SUBSTITUTE_RE = re.compile(r"^\s*(?:ersättare|ersätts\s+av|vikarie|stand-?\s?in|substitute|deputy)\s*:\s*(?P<name>.+?)\s*$",
                           re.IGNORECASE | re.MULTILINE)
REASON_RE = re.compile(r"^\s*(?:anledning|orsak|skäl|reason)\s*:\s*(?P<reason>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
NO_SUBSTITUTE = {"ingen", "inga", "nej", "-", "–", "none", "no", "nobody", "no one"}
_LEAD = re.compile(r"^(?:(?:till|på|den|on|the|för|for|at|mötet|the meeting)\s+)+", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:sv|re|aw|vs|vb|fw|fwd|antw)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Regret:
    """A member's message about one meeting: ``absent`` False means "I come after all"."""

    absent: bool
    reason: str = ""
    substitute: str | None = None  # the name (or "Name <address>") as written; "" = explicitly none
    day: date | None = None  # a meeting named in the first line ("Förhinder 8 december")


def first_line(text: str) -> str:
    return next((line.strip() for line in (text or "").split("\n") if line.strip()), "")


def regret(text: str, subject: str = "", today: date | None = None) -> Regret | None:
    """The regret (or the "coming after all") in ``text`` (what the member wrote, quotes
    removed) or in ``subject``, else None."""
    line = first_line(text)
    subject_line = _REPLY_PREFIX.sub("", subject or "")
    for candidate in (line, subject_line):
        if ATTEND_RE.match(candidate):
            return Regret(absent=False, day=_named_day(candidate, today))
    found = REGRET_RE.match(line) or REGRET_RE.match(subject_line)
    if not found:
        return None
    rest = found["rest"].strip()
    reason_line = REASON_RE.search(text or "")
    substitute_line = SUBSTITUTE_RE.search(text or "")
    named = _named_day(rest, today)
    reason = reason_line["reason"] if reason_line else _reason_from(rest)
    substitute = None
    if substitute_line:
        name = substitute_line["name"].strip().rstrip(".")
        substitute = "" if name.lower() in NO_SUBSTITUTE else name
    return Regret(absent=True, reason=reason[:300], substitute=substitute, day=named)


def _reason_from(rest: str) -> str:
    """The reason written after the word: "Förhinder: kurs i Umeå" -> "kurs i Umeå"; a bare
    date ("Förhinder 8 december") is no reason."""
    if SUBSTITUTE_RE.match(rest):
        return ""
    stripped = _LEAD.sub("", rest.strip())
    found = DAY_RE.match(stripped)
    text = stripped[found.end():] if found else rest
    return text.strip(" :.,;–—-")


def _named_day(text: str, today: date | None) -> date | None:
    if today is None:
        return None
    stripped = _LEAD.sub("", text.strip())
    found = DAY_RE.match(stripped)
    return resolve(found, today) if found else None


def resolve(found: re.Match, today: date) -> date | None:
    """The date a DAY_RE match means: a date without a year is the next one on or after
    ``today`` (a return date is never in the past)."""
    g = found.groupdict()
    try:
        if g.get("iso"):
            return date.fromisoformat(g["iso"])
        if g.get("d1"):
            d, m, y = int(g["d1"]), MONTHS[g["m1"].lower()], g.get("y1")
        elif g.get("d2"):
            d, m, y = int(g["d2"]), MONTHS[g["m2"].lower()], g.get("y2")
        else:
            d, m, y = int(g["d3"]), int(g["m3"]), g.get("y3")
        if y:
            year = int(y) + (2000 if len(y) == 2 else 0)
            return date(year, m, d)
        candidate = date(today.year, m, d)
        return candidate if candidate >= today - timedelta(days=7) else date(today.year + 1, m, d)
    except (ValueError, KeyError):
        return None


def return_date(text: str, today: date) -> date | None:
    """The last day away an out-of-office ``text`` names, or None. "tillbaka den 7/12"
    (back on the 7th) means away through the 6th."""
    for pattern, back in ((THROUGH, False), (BACK, True)):
        for found in pattern.finditer(text or ""):
            day = resolve(found, today)
            if day is not None:
                return day - timedelta(days=1) if back else day
    return None


# --- calendar replies (iTIP) -------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarReply:
    uid: str
    attendee: str  # the address, lowercased
    partstat: str  # ACCEPTED, DECLINED, TENTATIVE, ...
    comment: str = ""


def calendar_reply(data: bytes) -> CalendarReply | None:
    """The first VEVENT REPLY in iCalendar ``data``, or None when it is none or unreadable."""
    try:
        import icalendar  # the library; kept out of the import of this module for `klg --help`

        cal = icalendar.Calendar.from_ical(data)
    except Exception:  # a client's broken calendar part is no reply
        return None
    if str(cal.get("method", "")).upper() != "REPLY":
        return None
    for event in cal.walk("VEVENT"):
        attendee = event.get("attendee")
        if isinstance(attendee, list):
            attendee = attendee[0] if attendee else None
        if attendee is None or not event.get("uid"):
            continue
        address = str(attendee)
        address = address[7:] if address.lower().startswith("mailto:") else address
        partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
        return CalendarReply(str(event["uid"]), address.strip().lower(), partstat, str(event.get("comment", "")))
    return None
