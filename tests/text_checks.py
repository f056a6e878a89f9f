"""What a reader must never find in a mail or a document klg made: the checks the
whole-week tests (``test_texts_week.py``) and the downtime test share."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from tests.helpers import TZ

MONTHS = {"sv": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
                 "november", "december"],
          "en": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                 "november", "december"]}
# "senast onsdag 2 december 2026 kl. 16:00", "svar senast 2 december", "reply by Monday 14:00", "by 14:00"
DEADLINE = {
    "sv": re.compile(r"\b(?:senast|före|Sista dag:)\s+(?:(?:mån|tis|ons|tors|fre|lör|sön)dag\s+)?"
                     r"(?:(\d{1,2}) (\w+)(?: (\d{4}))?)?(?:\s*(?:kl\.)?\s*(\d\d:\d\d))?", re.IGNORECASE),
    "en": re.compile(r"\b(?:by|before|Last day:)\s+(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s+)?"
                     r"(?:(\d{1,2}) (\w+)(?: (\d{4}))?)?(?:\s*(?:at)?\s*(\d\d:\d\d))?", re.IGNORECASE),
}
# a plural made by hand, "punkt(er)", "point(s)"
PLURAL_HACK = re.compile(r"\w\((?:er|ar|or|s|n|na|en|e)\)")


def sent_at(msg) -> datetime:
    return parsedate_to_datetime(str(msg["Date"])).astimezone(TZ)


def deadlines(text: str, language: str, when: datetime) -> list[tuple[str, datetime]]:
    """Every deadline ``text`` names, as a local time (a date alone counts to its end of day;
    a time alone is on the day of ``when``, or on the weekday it names, after ``when``)."""
    found = []
    for m in DEADLINE[language].finditer(text):
        day, month, year, clock = m.groups()
        if not (day or clock) or (month and month.lower() not in MONTHS[language]):
            continue
        if day:
            moment = datetime(int(year or when.year), MONTHS[language].index(month.lower()) + 1, int(day),
                              23, 59, tzinfo=TZ)
        else:
            moment = when.replace(second=0, microsecond=0)
            if re.search(r"day\s", m.group(0), re.IGNORECASE) or re.search(r"dag\s", m.group(0)):
                continue  # "tisdag 09:00": a named weekday; the body says the date in full
        if clock:
            hour, minute = map(int, clock.split(":"))
            moment = moment.replace(hour=hour, minute=minute)
        found.append((m.group(0).strip(), moment))
    return found


def past_deadlines(subject: str, body: str, language: str, when: datetime) -> list[str]:
    """The deadlines a mail sent at ``when`` names that had passed by then."""
    return [f"{words!r} (sent {when:%a %d %b %H:%M})" for words, moment in
            deadlines(subject + "\n" + body, language, when) if moment < when]
