"""Reading the optional ``Key: value`` lines members write in a mail body.

Pure functions. Keys are Swedish or English in any case (``Föredragande:``,
``Presenter:``, ``Tid:``/``Time:``, ``Typ:``/``Kind:``, ``Möte:``/``Meeting:``,
``Skriftligt förfarande:``/``Written procedure:``, and for changes ``Titel:``/
``Title:``, ``Beskrivning:``/``Description:``; for public records ``Dnr:``/
``Diarienummer:``/``Case:``, ``Sekretess:``/``Secrecy:`` and ``Sekretesskäl:``). A field line is recognised in
the opening block of the body or anywhere on a line of its own; the rest is the
description. Unknown keys in the opening block are reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date


FIELD_NAMES = {
    "presenter": ("föredragande", "presenter", "presenteras av", "föredragshållare", "gäst", "guest",
                  "gästföredragande"),  # "Gäst: Anna Svensson <anna@…>": an invited presenter (issue 17)
    "minutes": ("tid", "time", "tidsåtgång", "minuter", "minutes", "duration", "längd"),
    "kind": ("typ", "kind", "type", "ärendetyp", "ärendetyp"),
    "meeting": ("möte", "meeting", "mötesdatum", "datum", "date"),
    "written_procedure": ("skriftligt förfarande", "written procedure"),
    "title": ("titel", "title", "rubrik"),
    "description": ("beskrivning", "description"),
    "secretary": ("sekreterare", "secretary"),
    "signatory": ("justerare", "signatory", "co-signer"),
    # public records (daemon.records): the case number and a secrecy marking under OSL
    "case_number": ("dnr", "diarienummer", "diarienr", "case", "case number", "case no"),
    "secrecy": ("sekretess", "secrecy"),
    "secrecy_reason": ("sekretesskäl", "skäl för sekretess", "secrecy reason"),
}
_KEY_TO_FIELD = {name: f for f, names in FIELD_NAMES.items() for name in names}
_LINE = re.compile(r"^\s*[*_]*([A-Za-zÅÄÖåäöÉé][\wÅÄÖåäöé \-]{0,30}?)[*_]*\s*:[*_]*\s*(.*?)\s*$")

KIND_WORDS = {
    "information": "information", "info": "information", "informationsärende": "information",
    "diskussion": "diskussion", "discussion": "diskussion", "diskussionsärende": "diskussion", "dialog": "diskussion",
    "beslut": "beslut", "decision": "beslut", "beslutsärende": "beslut",
}
YES = {"ja", "yes", "j", "y", "true", "x", "sant"}
NO = {"nej", "no", "n", "false", "falskt"}
MONTHS = {
    **{m: i + 1 for i, m in enumerate(["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
                                         "september", "oktober", "november", "december"])},
    **{m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                         "september", "october", "november", "december"])},
}
WITHDRAW_WORDS = ("återkalla", "återkallar", "withdraw", "dra tillbaka")
FAR_AHEAD_DAYS = 3 * 366  # a date further ahead than this is not planned for (Möte: 9999-12-31)
QUOTED = 60  # how much of a value a warning quotes


def too_far(day: date, today: date) -> bool:
    """True for a date so far ahead that no meeting should be looked for (the schedule
    would search for seconds and find none)."""
    return (day - today).days > FAR_AHEAD_DAYS


def _quote(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= QUOTED else value[:QUOTED] + "…"


@dataclass
class Fields:
    values: dict[str, object] = field(default_factory=dict)
    description: str = ""
    warnings: list[str] = field(default_factory=list)  # plain-language, in the group's language
    unknown: list[str] = field(default_factory=list)


def parse_minutes(text: str) -> int | None:
    """'15', '15 min', '15 minuter', '1 h', '1,5 timmar', '1h30', '1 h 30 min', '90 minutes' → minutes."""
    t = text.strip().lower().replace(",", ".")
    if len(t) > 40:  # no time is written that long; a million digits would not even convert to int
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(h|t|tim|timme|timmar|hour|hours|hr|hrs)\.?\s*(?:(\d+)\s*(m|min|minuter|minutes|mins)?\.?)?", t)
    if m:
        total = float(m[1]) * 60 + (int(m[3]) if m[3] else 0)
        return round(total)
    m = re.fullmatch(r"(\d+)\s*(m|min|minut|minuter|minutes|mins|minute)?\.?", t)
    if m:
        return int(m[1])
    return None


def parse_date(text: str, today: date) -> date | None:
    """'2026-12-01', '1/12', '1/12 2026', '1 december', '1 dec 2026', 'tisdag 1 december' → a date
    (the next such date on or after ``today`` when the year is left out)."""
    t = text.strip().lower()
    if len(t) > 60:
        return None
    t = re.sub(r"^(måndag|tisdag|onsdag|torsdag|fredag|monday|tuesday|wednesday|thursday|friday)\s*(den\s*)?", "", t)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t[:10]):
        try:
            return date.fromisoformat(t[:10])
        except ValueError:
            return None
    return _loose_date(t, today)


def _loose_date(t: str, today: date) -> date | None:
    day = month = year = None
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:[ /-](\d{4}))?", t)
    if m:
        day, month, year = int(m[1]), int(m[2]), m[3]
    m = m or re.fullmatch(r"(\d{1,2})\.?\s+([a-zåäö]+)\.?(?:\s+(\d{4}))?", t)
    if m and month is None:
        name = m[2]
        found = [n for w, n in MONTHS.items() if w.startswith(name) and len(name) >= 3]
        if not found:
            return None
        day, month, year = int(m[1]), found[0], m[3]
    if not m:
        return None
    try:
        if year:
            return date(int(year), month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def strip_signature(text: str) -> str:
    """Cut at the conventional signature marker '-- '."""
    return re.split(r"\n-- ?\n", "\n" + text, maxsplit=1)[0].strip("\n")


def parse(text: str, today: date, language: str = "sv") -> Fields:
    """Split ``text`` into known fields, warnings and the free description.

    Fields are read only from the writer's own text, above the first quoted or
    forwarded block (where :func:`daemon.mail.replies.split_quoted` says it
    begins: an Outlook, Gmail, Apple Mail or Thunderbird header block or
    separator, an attribution, a ">" line). That block stays in the
    description as it came, so a forwarded "Datum: 2026-11-10" is kept as text
    and never read as the meeting.
    """
    from daemon.mail.replies import split_quoted  # noqa: PLC0415 -- start-up (issue 19): only when mail is read

    result = Fields()
    own, quoted = split_quoted(text)
    lines = strip_signature(own).split("\n")
    description: list[str] = []
    in_opening = True
    for line in lines:
        m = _LINE.match(line)
        key = " ".join(m[1].lower().split()) if m else None
        if m and key in _KEY_TO_FIELD:
            _apply(result, _KEY_TO_FIELD[key], m[2], m[1].strip(), today, language)
            continue
        if m and in_opening and m[2] and len(key.split()) <= 2 and not re.match(r"https?$", key):
            result.unknown.append(m[1].strip())
        if line.strip():
            in_opening = in_opening and bool(m)
        elif description or result.values:
            in_opening = False  # the opening block ends at the first blank line
        description.append(line)
    result.description = "\n\n".join(p for p in ("\n".join(description).strip(), quoted.strip("\n")) if p)
    if result.unknown:
        names = ", ".join(f"”{u}”" for u in result.unknown)
        result.warnings.append(
            (f"Okänt fält {names} lämnades kvar i beskrivningen." if len(result.unknown) == 1
             else f"Okända fält {names} lämnades kvar i beskrivningen.") if language == "sv"
            else (f"Unknown field {names} was left in the description." if len(result.unknown) == 1
                  else f"Unknown fields {names} were left in the description.")
        )
    return result


def _apply(result: Fields, name: str, value: str, key: str, today: date, language: str) -> None:
    sv = language == "sv"
    if name == "minutes":
        minutes = parse_minutes(value)
        if minutes is None or not 1 <= minutes <= 240:
            result.warnings.append(
                f"”{key}: {_quote(value)}” förstods inte som en tid i minuter (1–240); standardtiden används."
                if sv else f"”{key}: {_quote(value)}” is not a time in minutes (1–240); the default is used."
            )
            return
        result.values["minutes"] = minutes
    elif name == "kind":
        kind = KIND_WORDS.get(value.strip().lower().rstrip("."))
        if kind is None:
            result.warnings.append(
                f"”{key}: {_quote(value)}” är ingen känd typ (information, diskussion, beslut); standardtypen används."
                if sv else f"”{key}: {_quote(value)}” is not a known kind (information, discussion, decision); the default is used."
            )
            return
        result.values["kind"] = kind
    elif name == "meeting":
        day = parse_date(value, today)
        if day is None:
            result.warnings.append(
                f"”{key}: {_quote(value)}” förstods inte som ett datum (skriv t.ex. 2026-12-01); nästa möte används."
                if sv else f"”{key}: {_quote(value)}” is not a date (write e.g. 2026-12-01); the next meeting is used."
            )
            return
        result.values["meeting"] = day
    elif name == "written_procedure":
        word = value.strip().lower().rstrip(".")
        if word in YES:
            result.values["written_procedure"] = True
        elif word in NO:
            result.values["written_procedure"] = False
        else:
            result.values["written_procedure"] = value.strip()  # an item id or other reference, for commands
    elif value.strip():
        result.values[name] = " ".join(value.split()) if name != "description" else value.strip()


def is_withdrawal(text: str) -> bool:
    """True when the first words of the (quote-stripped) text ask to withdraw."""
    first = next((line.strip().lower() for line in text.split("\n") if line.strip()), "")
    return any(first.startswith(w) for w in WITHDRAW_WORDS)
