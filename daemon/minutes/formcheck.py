"""The secretary's returned form, checked. Pure: no store, no clock, no mail.

The form comes back as tables of text (``document.read_form`` makes a
``RawForm``); ``check`` reads it against the form that was sent and gives the
minutes' content (see ``content``) or a list of problems, each naming the row,
what is wrong and how to fix it, in the group's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from daemon.config import Config, Member
from daemon.fields import FIELD_NAMES, NO, YES, parse_date, too_far
from daemon.minutes.content import FORMAT, signatories
from daemon.schedule import NoMeeting

OUTCOME_WORDS = {
    "information": "information", "info": "information", "informationsärende": "information",
    "diskussion": "diskussion", "discussion": "diskussion", "diskussionsärende": "diskussion", "dialog": "diskussion",
    "beslut": "beslut", "beslutat": "beslut", "beslutsärende": "beslut", "decision": "beslut", "decided": "beslut",
    "till politiken": "politiken", "politiken": "politiken", "överlämnas till politiken": "politiken",
    "överlämnat till politiken": "politiken", "överlämnad till politiken": "politiken", "politisk": "politiken",
    "to the politicians": "politiken", "to politicians": "politiken", "politicians": "politiken",
    "referred to the politicians": "politiken", "referred": "politiken",
}
NEXT_MEETING = ("nästa möte", "nästa", "next meeting", "next", "till nästa möte")
PRESENT_WORDS = {*YES, "närvarande", "present", "närv"}
ABSENT_WORDS = {*NO, "frånvarande", "absent", "frånv", "-", "–"}
SIGNATORY_LABELS = {*FIELD_NAMES["signatory"], "justerare (fler)", "justerare (utses)", "signatories", "justerande"}


@dataclass
class RawForm:
    """What ``document.read_form`` found in a returned .docx: text only."""

    identifier: str = ""
    signatories: list[str] = field(default_factory=list)  # the text of each "Justerare" cell or line
    attendance: list[dict] = field(default_factory=list)  # {"name", "title", "present"} as written
    rows: list[dict] = field(default_factory=list)  # {"line", "id", "title", "presenter", "outcome", "notes", ...}
    followups: list[dict] = field(default_factory=list)  # {"line", "id", "done", "comment"}
    has_items_table: bool = False
    # why the document could not be read at all, or which table rows not: {"key", "detail", "table", "row"}
    unreadable: list[dict] = field(default_factory=list)


@dataclass
class Checked:
    content: dict | None
    problems: list[dict]  # {"where", "problem", "fix"}
    notes: list[str]


TEXT = {
    "sv": {
        "row": "Rad {n} ({label})",
        "attendance": "Närvaro, {name}",
        "followup": "Uppföljning {id}",
        "signatory": "Justerare",
        "form": "Formuläret",
        "no_table": ("tabellen med ärenden saknas (rubrikraden med Nr och Utfall)",
                     "skicka tillbaka formuläret du fick, ifyllt; behåll tabellerna och deras rubrikrader"),
        "unknown_outcome": ("utfallet ”{value}” känns inte igen",
                            "skriv Information, Diskussion, Beslut eller Till politiken"),
        "no_outcome": ("utfall saknas", "skriv Information, Diskussion, Beslut eller Till politiken"),
        "no_decision": ("beslutet saknas", "skriv vad som beslutades i kolumnen Anteckningar / beslut"),
        "past": ("datumet {value} har redan varit", "skriv ett kommande datum (t.ex. {example}) eller ”nästa möte”"),
        "bad_date": ("”{value}” är varken ett datum eller ”nästa möte”",
                     "skriv ett datum som 2026-12-15 eller orden ”nästa möte”, eller lämna rutan tom"),
        "bad_yes_no": ("”{value}” i kolumnen {column} är varken Ja eller Nej", "skriv Ja eller Nej"),
        "bad_presence": ("”{value}” är varken Ja eller Nej", "skriv Ja (närvarande) eller Nej (frånvarande)"),
        "unknown_id": ("ärendenumret {value} finns inte",
                       "rätta numret, eller töm rutan Nr om det är en ny punkt som togs upp på mötet"),
        "duplicate_id": ("ärendet {value} står på flera rader", "behåll en rad per ärende"),
        "missing_row": ("raden för ärende {value} saknas",
                        "lägg tillbaka raden; togs ärendet inte upp, skriv Diskussion och ”nästa möte” under Återkommer"),
        "unknown_signatory": ("”{value}” är inte medlem i gruppen",
                              "skriv justerarens namn som i medlemslistan, t.ex. {example}"),
        "unknown_followup": ("uppföljningspunkten {value} finns inte", "låt numret i kolumnen Nr stå kvar som det var"),
        "wrong_meeting": ("formuläret gäller mötet {value}", "skicka formuläret för mötet {meeting}"),
        "no_meeting_then": "Rad {n}: inget möte {value}; ärendet läggs på mötet {meeting}.",
        "communicate_default": "Rad {n} ({label}): Kommuniceras var tomt och räknas som Nej.",
        "not_member": "Rad {n}: ansvarig ”{value}” är inte medlem; ingen påminnelse skickas till hen.",
        "extra": "Rad {n}: ”{value}” är en ny punkt som inte stod på dagordningen.",
        "far_date": ("inget möte är planerat så långt fram som {value}",
                     "skriv ett datum inom de närmaste åren eller ”nästa möte”"),
        "table_row": "Tabell {table}, rad {row}",
        "table": "Tabell {table}",
        "not_docx": ("bilagan är inget Word-dokument (.docx)", "spara formuläret som Word-dokument (.docx) och skicka det igen"),
        "bomb": ("dokumentet packas upp till en orimlig storlek och öppnades inte ({detail})",
                 "skicka formuläret du fick, ifyllt i Word"),
        "too_large": ("dokumentet är alldeles för stort för ett formulär ({detail})",
                      "skicka formuläret du fick, ifyllt, utan inklistrade bilder eller bilagor"),
        "dtd": ("dokumentet innehåller en DTD (<!DOCTYPE>), som Word aldrig skriver, och öppnades inte",
                "öppna det i Word, spara det som Word-dokument (.docx) och skicka det igen"),
        "damaged": ("dokumentet är skadat ({detail})", "öppna det i Word, spara det igen och skicka det"),
        "strict": ("dokumentet är sparat som ”Strikt Open XML-dokument”, som klg inte kan läsa",
                   "spara det som Word-dokument (.docx) och skicka det igen"),
        "bad_row": ("cellerna är sammanslagna på ett sätt som inte går att läsa ({detail})",
                    "dela upp cellerna på raden (Word: Layout → Dela celler) eller skriv om raden"),
        "bad_table": ("tabellen går inte att läsa ({detail})", "skriv om tabellen, eller börja om från formuläret du fick"),
    },
    "en": {
        "row": "Row {n} ({label})",
        "attendance": "Attendance, {name}",
        "followup": "Follow-up {id}",
        "signatory": "Signatory",
        "form": "The form",
        "no_table": ("the table of items is missing (the header row with No. and Outcome)",
                     "send back the form you got, filled in; keep the tables and their header rows"),
        "unknown_outcome": ("the outcome \"{value}\" is not recognised",
                            "write Information, Discussion, Decision or To the politicians"),
        "no_outcome": ("the outcome is missing", "write Information, Discussion, Decision or To the politicians"),
        "no_decision": ("the decision is missing", "write what was decided in the Notes / decision column"),
        "past": ("the date {value} has passed", "write a coming date (e.g. {example}) or \"next meeting\""),
        "bad_date": ("\"{value}\" is neither a date nor \"next meeting\"",
                     "write a date like 2026-12-15 or the words \"next meeting\", or leave it empty"),
        "bad_yes_no": ("\"{value}\" in the column {column} is neither Yes nor No", "write Yes or No"),
        "bad_presence": ("\"{value}\" is neither Yes nor No", "write Yes (present) or No (absent)"),
        "unknown_id": ("there is no item {value}",
                       "correct the number, or empty the No. cell if it is a new point raised at the meeting"),
        "duplicate_id": ("item {value} is on several rows", "keep one row per item"),
        "missing_row": ("the row of item {value} is missing",
                        "put the row back; if the item was not dealt with, write Discussion and \"next meeting\""),
        "unknown_signatory": ("\"{value}\" is not a member of the group",
                              "write the signatory's name as in the member list, e.g. {example}"),
        "unknown_followup": ("there is no follow-up {value}", "leave the number in the No. column as it was"),
        "wrong_meeting": ("the form is for the meeting on {value}", "send the form for the meeting on {meeting}"),
        "no_meeting_then": "Row {n}: no meeting on {value}; the item goes to the meeting on {meeting}.",
        "communicate_default": "Row {n} ({label}): Communicate was empty and counts as No.",
        "not_member": "Row {n}: the responsible \"{value}\" is not a member; no reminder is mailed to them.",
        "extra": "Row {n}: \"{value}\" is a new point that was not on the agenda.",
        "far_date": ("no meeting is scheduled as far ahead as {value}",
                     "write a date within the next few years or \"next meeting\""),
        "table_row": "Table {table}, row {row}",
        "table": "Table {table}",
        "not_docx": ("the attachment is not a Word document (.docx)", "save the form as Word Document (.docx) and send it again"),
        "bomb": ("the document expands to an absurd size and was not opened ({detail})",
                 "send the form you got, filled in in Word"),
        "too_large": ("the document is far too large for a form ({detail})",
                      "send the form you got, filled in, without pasted pictures or attachments"),
        "dtd": ("the document contains a DTD (<!DOCTYPE>), which Word never writes, and was not opened",
                "open it in Word, save it as Word Document (.docx) and send it again"),
        "damaged": ("the document is damaged ({detail})", "open it in Word, save it again and send it"),
        "strict": ("the document is saved as \"Strict Open XML Document\", which klg cannot read",
                   "save it as Word Document (.docx) and send it again"),
        "bad_row": ("its cells are merged in a way that cannot be read ({detail})",
                    "split the cells of the row (Word: Layout → Split Cells) or type the row again"),
        "bad_table": ("the table cannot be read ({detail})", "type the table again, or start again from the form you got"),
    },
}


def norm(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation: how cells are compared."""
    return " ".join((text or "").split()).strip().rstrip(".:").lower()


def outcome_of(text: str) -> str | None:
    return OUTCOME_WORDS.get(norm(text))


def yes_no(text: str) -> bool | None:
    word = norm(text)
    if word in YES or word in ("ja.",):
        return True
    if word in NO:
        return False
    return None



def split_names(text: str) -> list[str]:
    """'Maria Holm, Erik Sandberg och Lena Åkesson' -> three names."""
    parts = re.split(r",|;|\n|\s+och\s+|\s+and\s+|\s*&\s*", text or "")
    return [" ".join(p.split()) for p in parts if p.strip()]


def resolve_member(config: Config, text: str) -> Member | None:
    """A member named by full name, e-mail, or an unambiguous first name."""
    text = " ".join((text or "").split())
    if not text:
        return None
    found = config.member_by_name(text) or config.member_by_address(text)
    if found:
        return found
    first = [m for m in config.members if m.name.lower().split()[0] == text.lower()]
    return first[0] if len(first) == 1 else None


def check(raw: RawForm, *, config: Config, meeting: date, today: date, form_rows: list[dict],
          form_followups: list[dict], secretary: Member, next_meeting: Callable[[date, bool], date],
          item_exists: Callable[[str], bool], language: str) -> Checked:
    """Read the returned form ``raw`` against the form that was sent.

    ``next_meeting(day, inclusive)`` gives the first held meeting after (or on)
    ``day``; ``item_exists(id)`` says whether an item id is known at all.
    """
    t = TEXT[language]
    problems: list[dict] = []
    notes: list[str] = []

    def problem(where: str, key: str, **values) -> None:
        what, fix = t[key]
        problems.append({"where": where, "problem": what.format(**values), "fix": fix.format(**values)})

    if raw.unreadable:
        for u in raw.unreadable:
            where = (t["table_row"].format(**u) if u.get("row") else t["table"].format(**u) if u.get("table")
                     else t["form"])
            problem(where, u["key"], detail=u.get("detail", ""))
        return Checked(None, problems, notes)
    if raw.identifier and raw.identifier.startswith("klg-minutes:") and raw.identifier != f"klg-minutes:{meeting}":
        problem(t["form"], "wrong_meeting", value=raw.identifier.split(":", 1)[1], meeting=meeting.isoformat())
        return Checked(None, problems, notes)
    if not raw.has_items_table:
        problem(t["form"], "no_table")
        return Checked(None, problems, notes)

    # signatories appointed for this meeting
    appointed: list[Member] = []
    for cell in raw.signatories:
        for name in split_names(cell):
            member = resolve_member(config, name)
            if member is None:
                problem(t["signatory"], "unknown_signatory", value=name, example=config.members[-1].name)
            elif member not in appointed:
                appointed.append(member)

    # attendance
    attendance: list[dict] = []
    for a in raw.attendance:
        name = " ".join(a.get("name", "").split())
        if not name:
            continue
        # "Nej (autosvar)": klg's pre-filled guess from an out-of-office reply still reads as "Nej"
        value = norm(re.sub(r"\(.*?\)", "", a.get("present", "")))
        if value in PRESENT_WORDS:
            present = True
        elif value in ABSENT_WORDS:
            present = False
        else:
            problem(t["attendance"].format(name=name), "bad_presence", value=a.get("present", ""))
            continue
        member = resolve_member(config, name)
        attendance.append({"name": member.name if member else name, "title": (member.title if member else
                           " ".join(a.get("title", "").split())), "present": present, "member": member is not None})

    # items
    by_id = {r["id"]: r for r in form_rows if r.get("id")}
    standing = {norm(r["title"]): r for r in form_rows if not r.get("id")}
    seen_ids: set[str] = set()
    rows: list[dict] = []
    this_meeting = meeting
    for raw_row in raw.rows:
        cells = {k: (v or "").strip() for k, v in raw_row.items() if k != "line"}
        item_id = (cells.get("id") or "").strip().upper()
        title = " ".join((cells.get("title") or "").split())
        if not any(cells.get(k) for k in ("id", "title", "outcome", "notes", "responsible", "next_step", "comes_back")):
            continue  # an empty row
        n = len(rows) + 1
        if item_id:
            if item_id in seen_ids:
                problem(t["row"].format(n=n, label=item_id), "duplicate_id", value=item_id)
                continue
            seen_ids.add(item_id)
            if item_id not in by_id and not item_exists(item_id):
                problem(t["row"].format(n=n, label=item_id), "unknown_id", value=item_id)
                continue
            base = by_id.get(item_id, {})
            kind = "item"
            title = title or base.get("title", "")
        elif norm(title) in standing:
            base = standing[norm(title)]
            kind = "standing"
        else:
            base = {}
            kind = "extra"
            notes.append(t["extra"].format(n=n, value=title or "?"))
        label = f"{item_id} {title}".strip() if item_id else (title or "?")
        where = t["row"].format(n=n, label=label[:60])

        outcome_text = cells.get("outcome", "")
        outcome = outcome_of(outcome_text) if outcome_text else None
        notes_text = (raw_row.get("notes") or "").strip()
        if outcome_text and outcome is None:
            problem(where, "unknown_outcome", value=outcome_text)
        elif outcome is None and kind != "standing":
            problem(where, "no_outcome")
        if outcome == "beslut" and not notes_text:
            problem(where, "no_decision")

        comes_back = None
        comes_back_text = cells.get("comes_back", "")
        if comes_back_text:
            if norm(comes_back_text) in NEXT_MEETING:
                comes_back = next_meeting(this_meeting, False)
            else:
                day = parse_date(comes_back_text, today)
                if day is None:
                    problem(where, "bad_date", value=comes_back_text)
                elif day < today or day <= this_meeting:
                    example = next_meeting(max(today, this_meeting), False).isoformat()
                    problem(where, "past", value=day.isoformat(), example=example)
                elif too_far(day, today) or (comes_back := _meeting_on_or_after(next_meeting, day)) is None:
                    problem(where, "far_date", value=day.isoformat())
                else:
                    if comes_back != day:
                        notes.append(t["no_meeting_then"].format(n=n, value=day.isoformat(),
                                                                 meeting=comes_back.isoformat()))

        communicate_text = cells.get("communicate", "")
        empty_standing = kind == "standing" and not outcome_text and not notes_text
        communicate = yes_no(communicate_text) if communicate_text else empty_standing
        if communicate_text and communicate is None:
            problem(where, "bad_yes_no", value=communicate_text, column="Kommuniceras" if language == "sv" else
                    "Communicate")
            communicate = False
        if not communicate_text and (outcome or notes_text):
            notes.append(t["communicate_default"].format(n=n, label=label[:60]))

        responsible_text = " ".join(cells.get("responsible", "").split())
        responsible = resolve_member(config, responsible_text) if responsible_text else None
        if responsible_text and responsible is None:
            notes.append(t["not_member"].format(n=n, value=responsible_text))

        rows.append({
            "no": n, "id": item_id or None, "type": kind, "title": title, "presenter": base.get("presenter") or
            " ".join(cells.get("presenter", "").split()), "outcome": outcome, "notes": notes_text,
            "responsible": responsible.name if responsible else responsible_text,
            "responsible_email": responsible.email if responsible else None,
            "next_step": (raw_row.get("next_step") or "").strip(), "comes_back": comes_back.isoformat() if comes_back
            else None, "communicate": bool(communicate),
        })

    for item_id, base in by_id.items():
        if item_id not in seen_ids:
            problem(t["row"].format(n="–", label=item_id), "missing_row", value=f"{item_id} {base.get('title', '')}")

    # follow-ups from earlier meetings
    known = {str(f["id"]): f for f in form_followups}
    followups: list[dict] = []
    for f in raw.followups:
        ref = (f.get("id") or "").strip().upper().lstrip("U")
        if not ref:
            continue
        if ref not in known:
            problem(t["followup"].format(id=f.get("id")), "unknown_followup", value=f.get("id"))
            continue
        done_text = f.get("done", "")
        done = yes_no(done_text) if done_text.strip() else False
        if done is None:
            problem(t["followup"].format(id=f.get("id")), "bad_yes_no", value=done_text,
                    column="Klar" if language == "sv" else "Done")
            done = False
        base = known[ref]
        followups.append({"id": int(ref), "title": base["title"], "responsible": base["responsible"],
                          "next_step": base["next_step"], "done": bool(done),
                          "comment": " ".join((f.get("comment") or "").split()),
                          "communicate": bool(base.get("communicate", True))})

    if problems:
        return Checked(None, problems, notes)
    content = {
        "format": FORMAT,
        "meeting": meeting.isoformat(),
        "secretary": {"name": secretary.name, "email": secretary.email},
        "signatories": signatories(config, appointed),
        "attendance": attendance,
        "rows": rows,
        "followups": followups,
    }
    return Checked(content, [], notes)


def _meeting_on_or_after(next_meeting: Callable[[date, bool], date], day: date) -> date | None:
    """The first meeting on or after ``day``, or None when the schedule has none (9999-12-31)."""
    try:
        return next_meeting(day, True)
    except NoMeeting:
        return None

