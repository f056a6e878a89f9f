"""Reading the agenda document a reviewer returns, and what a reviewer's reply
says. Pure: the table read from the .docx in, the rows it means (or the
problems naming row and cell) out; items are looked up through the function
the caller passes, and nothing is changed here (``apply`` does that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from daemon import fields as fieldlib
from daemon.agenda import document, words
from daemon.mail.message import ParsedMail

APPROVE_WORDS = {"ok", "okay", "okej", "godkänd", "godkänt", "godkänner", "godkännes", "approved",
                 "approve", "i approve"}
FILLER = {"tack", "thanks", "thank", "you", "från", "mig", "by", "me", "hälsningar", "mvh", "/", "-", "och", "skicka",
          "send", "it", "ut", "den", "så", "kan", "du", "version"}


def is_approval(text: str) -> bool:
    """True when the reply's first line is an approval word, alone or with a thank-you."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    tokens = re.findall(r"[\wåäöÅÄÖ/]+", first.lower())
    if not tokens:
        return False
    if tokens[0] not in APPROVE_WORDS and " ".join(tokens[:2]) not in APPROVE_WORDS:
        return False
    rest = tokens[2:] if " ".join(tokens[:2]) in APPROVE_WORDS else tokens[1:]
    return all(t in FILLER or t in APPROVE_WORDS or t.isdigit() for t in rest)


def is_calendar_reply(mail: ParsedMail) -> str | None:
    """The attendance answer (ACCEPTED, DECLINED, …) when ``mail`` is a calendar client's reply to an invitation."""
    for att in mail.attachments:
        if att.content_type == "text/calendar" or att.name.lower().endswith(".ics"):
            text = att.data[:20000].decode("utf-8", "replace").upper()
            if "METHOD:REPLY" in text:
                m = re.search(r"PARTSTAT=([A-Z-]+)", text)
                return m[1] if m else "REPLY"
    return None


@dataclass
class Reading:
    rows: list[dict] = field(default_factory=list)  # rows in document order, fields as read
    problems: list[str] = field(default_factory=list)


def _where(language: str, number: int, column: str | None = None, label: str = "") -> str:
    names = document.COLUMN_NAMES[language]
    about = f" ({label})" if label else ""
    if language == "sv":
        return f"Rad {number}{about}" + (f", kolumnen {names[column]}" if column else "")
    return f"Row {number}{about}" + (f", column {names[column]}" if column else "")


def interpret(table: document.Table, *, short: str, language: str,
              item_of: Callable[[str], dict | None]) -> Reading:
    """The document's rows as agenda rows (not yet timed), or the problems naming row and cell;
    ``short`` is the group's tag (KLG), ``item_of`` finds an item by its id."""
    lang = language
    sv = lang == "sv"
    out = Reading()
    id_re = re.compile(rf"^{re.escape(short)}\s*-\s*(\d{{4}})\s*-\s*(\d{{3,}})$", re.IGNORECASE)
    seen: dict[str, int] = {}
    for row in table.rows:
        cells = row.cells
        if not any(v.strip() for k, v in cells.items() if k != "time"):
            continue
        raw_id = cells.get("id", "").strip()
        title = cells.get("title", "").strip()
        label = f"{raw_id} {title}".strip()[:60]
        problems: list[str] = []
        marker = words.MARKER_INPUT.get(raw_id.lower().strip(" .:"))
        m = id_re.match(raw_id)
        entry: dict = {"number": row.number}
        if m:
            item_id = f"{short}-{m[1]}-{m[2]}"
            item = item_of(item_id)
            if item_id in seen:
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"ärendet {item_id} står redan på rad {seen[item_id]}; ta bort den ena raden" if sv
                    else f"item {item_id} is already on row {seen[item_id]}; delete one of the rows"))
            elif item is None:
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"det finns inget ärende {item_id}; lämna cellen tom för en ny punkt" if sv
                    else f"there is no item {item_id}; leave the cell empty for a new item"))
            elif item["state"] != "planned":
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"ärende {item_id} är {item['state']} och kan inte stå på dagordningen; ta bort raden" if sv
                    else f"item {item_id} is {item['state']} and cannot be on the agenda; delete the row"))
            seen[item_id] = row.number
            entry.update(type="item", id=item_id, item=item)
        elif marker:
            entry.update(type=marker, id=None)
        elif not raw_id and words.MARKER_INPUT.get(title.lower().strip(" .:")) == "break":
            entry.update(type="break", id=None)
        elif not raw_id:
            entry.update(type="new", id=None)
            if not title:
                problems.append(f"{_where(lang, row.number, 'title', label)}: " + (
                    "en ny punkt behöver en rubrik" if sv else "a new item needs a title"))
        else:
            problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                f"”{raw_id}” är inget ärendenummer (som {short}-2026-042); "
                "lämna cellen tom för en ny punkt" if sv
                else f"“{raw_id}” is not an item number (like {short}-2026-042); "
                     "leave the cell empty for a new item"))
        entry["title"] = title
        entry["time"] = cells.get("time", "")
        minutes_text = cells.get("minutes", "").strip()
        if minutes_text:
            minutes = fieldlib.parse_minutes(minutes_text)
            if minutes is None or not 1 <= minutes <= 240:
                problems.append(f"{_where(lang, row.number, 'minutes', label)}: " + (
                    f"”{minutes_text}” är inget antal minuter mellan 1 och 240; skriv t.ex. 15" if sv
                    else f"“{minutes_text}” is not a number of minutes from 1 to 240; write e.g. 15"))
            entry["minutes"] = minutes
        kind_text = cells.get("kind", "").strip()
        if kind_text and entry.get("type") in ("item", "new"):
            kind = words.KIND_INPUT.get(" ".join(kind_text.lower().split()).strip(" ."))
            if kind is None:
                problems.append(f"{_where(lang, row.number, 'kind', label)}: " + (
                    f"”{kind_text}” är ingen typ; skriv Information, Diskussion, Beslut eller Skriftligt förfarande" if sv
                    else f"“{kind_text}” is not a kind; write Information, Discussion, Decision or Written procedure"))
            entry["kind"] = kind
        entry["presenter"] = cells.get("presenter", "").strip()
        entry["notes"] = cells.get("title_notes", "")
        out.problems += problems
        out.rows.append(entry)
    if not out.rows and not out.problems:
        out.problems.append("Tabellen har inga rader; skicka tillbaka dagordningen med minst en punkt" if sv
                            else "The table has no rows; send the agenda back with at least one row")
    return out
