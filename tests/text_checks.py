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


# Klarspråk (Språkrådet, "Myndigheternas skrivregler") as far as a machine can read it: no
# shouted prefixes or announcing phrases, short sentences, and a mail that asks for an
# answer says so at its top, not under the details.
SHOUTED = {"sv": re.compile(r"^\s*(?:OBS|Obs)[!:]|\bDet meddelas\b|\bHärmed\b|\bVänligen\b", re.MULTILINE),
           "en": re.compile(r"^\s*(?:NOTE|N\.B\.|Nota bene)[!:]|\bPlease be advised\b|\bKindly\b|\bHereby\b",
                            re.MULTILINE)}
LONGEST_SENTENCE = 25  # words; Språkrådet's advice is 15–20 on average
ASKS = {"sv": re.compile(r"\b[Ss]vara\b"), "en": re.compile(r"\b[Rr]eply\b")}


def sentences(body: str) -> list[str]:
    """The sentences of a mail's own text: paragraphs joined across their wrapped lines, list
    and table lines ("  09:30–09:50 …", "- …") each on their own, the footer left out."""
    text = body.replace("\r\n", "\n").split("\n--\n")[0]
    units: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in para.split("\n"):
            if re.match(r"\s|[-–•]\s", line) and current:
                units.append(" ".join(current))
                current = []
            current.append(line.strip())
        units.append(" ".join(current))
    return [s for u in units for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ”\"“])", u) if s.strip()]


def words(sentence: str) -> int:
    return len([w for w in sentence.split() if re.search(r"\w", w)])


def paragraphs(body: str) -> list[str]:
    text = body.replace("\r\n", "\n").split("\n--\n")[0]
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def unclear_writing(subject: str, body: str, language: str) -> list[str]:
    """What breaks the plain-language rules above in one mail."""
    found = [f"shouts or announces: {m.group(0).strip()!r}" for m in SHOUTED[language].finditer(body)]
    found += [f"a sentence of {words(s)} words: {s!r}" for s in sentences(body) if words(s) > LONGEST_SENTENCE]
    if ASKS[language].search(subject):
        top = " ".join(paragraphs(body)[1:3])  # after the greeting
        if not ASKS[language].search(top):
            found.append(f"the subject asks for an answer, but the first paragraphs do not: {top[:120]!r}")
    return found
