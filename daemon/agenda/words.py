"""The words the agenda puts in documents and mails, Swedish and English.

Kept in one place so the document, the read-back of an edited document and
the mails agree on what a kind or a marker is called.
"""

from __future__ import annotations

from datetime import date

from daemon.texts import MONTHS, long_date

KIND_LABELS = {
    "sv": {"information": "Information", "diskussion": "Diskussion", "beslut": "Beslut",
           "circulation": "Beslut efter skriftligt förfarande", "written_procedure": "Skriftligt förfarande"},
    "en": {"information": "Information", "diskussion": "Discussion", "beslut": "Decision",
           "circulation": "Decision after written procedure", "written_procedure": "Written procedure"},
}
# What a reviewer may write in the kind column (any case), in either language.
KIND_INPUT = {
    "information": "information", "info": "information", "informationsärende": "information",
    "diskussion": "diskussion", "discussion": "diskussion", "diskussionsärende": "diskussion", "dialog": "diskussion",
    "beslut": "beslut", "decision": "beslut", "beslutsärende": "beslut",
    "beslut efter skriftligt förfarande": "beslut", "decision after written procedure": "beslut",
    "skriftligt förfarande": "written_procedure", "written procedure": "written_procedure",
    "skriftligt": "written_procedure",
}
FOLLOWUP_TITLE = {"sv": "Uppföljning", "en": "Follow-up"}
MARKERS = {"sv": {"standing": "Stående", "break": "Paus"}, "en": {"standing": "Standing", "break": "Break"}}
MARKER_INPUT = {"stående": "standing", "stående punkt": "standing", "standing": "standing", "standing item": "standing",
                "paus": "break", "fika": "break", "break": "break", "rast": "break"}
BREAK_TITLE = {"sv": "Paus", "en": "Break"}


def kind_label(row: dict, language: str) -> str:
    """What the kind column shows for ``row`` (empty for standing items and the break)."""
    if row.get("type") != "item":
        return ""
    labels = KIND_LABELS[language]
    if row.get("origin") == "circulation":
        return labels["circulation"]
    if row.get("written_procedure"):
        return labels["written_procedure"]
    return labels.get(row.get("kind") or "", row.get("kind") or "")


def short_date(day: date | str, language: str) -> str:
    """'1 dec' / '1 Dec'."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    month = MONTHS[language][d.month - 1][:3]
    return f"{d.day} {month if language == 'sv' else month.capitalize()}"


def carried_note(day: date | str, language: str) -> str:
    """'(från 1 dec)' — shown beside an item carried over from an earlier meeting."""
    return f"(från {short_date(day, 'sv')})" if language == "sv" else f"(from {short_date(day, 'en')})"


def overrun_warning(end: str, limit: str, over: int, language: str) -> str:
    if language == "sv":
        return (f"Punkterna ryms inte i mötestiden: dagordningen slutar {end}, {over} minuter efter "
                f"mötets sluttid {limit}. Korta tiderna eller flytta punkter till nästa möte.")
    return (f"The items do not fit the meeting: the agenda ends at {end}, {over} minutes after the meeting's "
            f"end at {limit}. Shorten the times or move items to the next meeting.")


def status_line(version: int, final: bool, approved_at: date | None, approved_by: str | None, language: str) -> str:
    """The line under the title: draft and version, or when it was fixed and by whom."""
    if language == "sv":
        if final:
            who = f" av {approved_by}" if approved_by else ""
            return f"Fastställd {long_date(approved_at, 'sv').split(' ', 1)[1]}{who}" if approved_at else "Utskickad utan fastställelse"
        return f"UTKAST – version {version}"
    if final:
        who = f" by {approved_by}" if approved_by else ""
        return f"Approved {long_date(approved_at, 'en').split(' ', 1)[1]}{who}" if approved_at else "Sent without approval"
    return f"DRAFT – version {version}"


def row_label(row: dict) -> str:
    """'KLG-2026-042 Budget' or the title of a standing item or the break."""
    return f"{row['id']} {row['title']}" if row.get("id") else row["title"]


def describe(change: dict, language: str) -> str:
    """One change between two versions of an agenda, as a line for a mail."""
    sv = language == "sv"
    what = change["what"]
    label = row_label(change["row"])
    if what == "added":
        return f"Ny punkt: {label}" if sv else f"New item: {label}"
    if what == "removed":
        note = change.get("note")
        return (f"Borttagen: {label}{f' ({note})' if note else ''}" if sv
                else f"Removed: {label}{f' ({note})' if note else ''}")
    if what == "moved":
        return (f"Flyttad från plats {change['old_no']} till plats {change['new_no']}: {label}" if sv
                else f"Moved from place {change['old_no']} to place {change['new_no']}: {label}")
    if what == "break":
        if change.get("new") is None:
            return "Pausen är borttagen" if sv else "The break is removed"
        return (f"Pausen läggs närmast kl. {change['new']}" if sv else f"The break is placed nearest to {change['new']}")
    if what == "time":
        return (f"Ny starttid {change['new']} (var {change['old']}): {label}" if sv
                else f"New start time {change['new']} (was {change['old']}): {label}")
    field = change["field"]
    old, new = change["old"], change["new"]
    if field == "minutes":
        return (f"Tid {old} → {new} min: {label}" if sv else f"Time {old} → {new} min: {label}")
    if field == "kind":
        return (f"Typ {old} → {new}: {label}" if sv else f"Kind {old} → {new}: {label}")
    if field == "presenter":
        return (f"Föredragande {old or '–'} → {new or '–'}: {label}" if sv
                else f"Presenter {old or '–'} → {new or '–'}: {label}")
    if field == "case_number":
        return (f"Dnr {old or '–'} → {new}: {label}" if sv else f"Case number {old or '–'} → {new}: {label}")
    if field == "secrecy":
        return (f"Sekretessmarkerad ({new}): {label}" if sv else f"Marked secret ({new}): {label}")
    if field == "title":
        return (f"Ny rubrik för {change['row'].get('id') or 'punkten'}: ”{new}” (var ”{old}”)" if sv
                else f"New title for {change['row'].get('id') or 'the item'}: “{new}” (was “{old}”)")
    return f"{label}: {field} {old} → {new}"
