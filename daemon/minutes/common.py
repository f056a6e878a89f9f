"""What the minutes' steps and reply handlers share: the meeting's facts, the
rows the form is pre-filled with, the rows of the table ``minutes`` and its
versions, and the documents' contexts."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import StrEnum

from daemon import followups
from daemon.agenda.versions import final_version
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.minutes.content import OUTCOME_NAMES
from daemon.minutes.settings import MinutesSettings, settings
from daemon.refs import Ref
from daemon.schedule import Calendar
from daemon.secretary import secretary_for
from daemon.store import iso
from daemon.texts import kind_name, long_date, plural

# Read for the documents' contexts alone: what asks whether a minutes step is due does not load them (issue 19).
attendance_of = Ref("daemon.attendance:attendance")
conflict_lines = Ref("daemon.records.conflicts:lines")

# Outbox kinds of the minutes' mails.
FORM_KINDS = ("minutes-form", "minutes-problems", "minutes-received", "minutes-change")
SIGN_KINDS = ("minutes-sign", "minutes-sign-answer")
FOLLOWUP_KINDS = ("minutes-followup",)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MinutesState(StrEnum):
    FORM_SENT = "form_sent"  # the secretary has the form
    SIGNING = "signing"  # a version is out to the signatories
    CHANGES_REQUESTED = "changes_requested"  # a signatory asked for a change; the secretary corrects
    SIGNED = "signed"  # (kept for old stores: signed minutes are distributed at once)
    DISTRIBUTED = "distributed"


ALLOWED = {
    MinutesState.FORM_SENT: {MinutesState.SIGNING},
    MinutesState.SIGNING: {MinutesState.SIGNING, MinutesState.CHANGES_REQUESTED, MinutesState.DISTRIBUTED},
    MinutesState.CHANGES_REQUESTED: {MinutesState.SIGNING},
    MinutesState.SIGNED: {MinutesState.DISTRIBUTED},
    MinutesState.DISTRIBUTED: set(),
}
WORDS = {
    "sv": {"standing": "Stående punkt", "agenda_kind": "På dagordningen: {kind}", "yes": "Ja", "no": "Nej",
           "auto": "Nej (autosvar)", "stand_in_for": "Ersättare för {name}", "chair": "Ordförande", "signatory": "Justerare", "appointed": "Justerare", "secretary": "Sekreterare",
           "presenter": "Föredragande", "decision": "Beslut", "notes": "Anteckningar", "next_meeting": "nästa möte",
           "done": "Klar", "open": "Pågår", "not_signed": "ej justerat", "draft": "Förslag för justering – version {n}",
           "signed": "Justerade {date}", "form_file": "Minnesanteckningar {short} {date} formulär.docx",
           "version_file": "Minnesanteckningar {short} {date} v{n}", "extra": "Övrig fråga",
           "point": ("punkt", "punkter"),
           "omitted": "Denna version omfattar inte {points} som mötet beslutade att inte kommunicera.",
           "note_draft": "Justeras genom svar på e-post till {address}. Utkastet ersätts av nästa version om ändringar "
                         "begärs.",
           "note_signed": "Justerat genom svar från respektive justerares e-postadress till {address}; tiderna ovan "
                          "är när svaren kom in.",
           "note_sealed": " Dokumentet är förseglat med {organisation}s elektroniska sigill (PAdES); kontrollera "
                          "förseglingen i en PDF-läsare eller med klg verify."},
    "en": {"standing": "Standing item", "agenda_kind": "On the agenda: {kind}", "yes": "Yes", "no": "No",
           "auto": "No (auto-reply)", "stand_in_for": "Stand-in for {name}", "chair": "Chair", "signatory": "Signatory", "appointed": "Signatory", "secretary": "Secretary",
           "presenter": "Presenter", "decision": "Decision", "notes": "Notes", "next_meeting": "next meeting",
           "done": "Done", "open": "Open", "not_signed": "not yet approved", "draft": "Draft for approval – version {n}",
           "signed": "Approved {date}", "form_file": "Minutes {short} {date} form.docx",
           "version_file": "Minutes {short} {date} v{n}", "extra": "Other business",
           "point": ("point", "points"),
           "omitted": "This version leaves out {points} that the meeting decided not to communicate.",
           "note_draft": "Approved by replying by e-mail to {address}. This draft is replaced by the next version if "
                         "changes are asked for.",
           "note_signed": "Approved by each signatory replying from their own address to {address}; the times above "
                          "are when the replies arrived.",
           "note_sealed": " The document is sealed with {organisation}'s electronic seal (PAdES); check the seal in a "
                          "PDF reader or with klg verify."},
}


def clean(text: str | None) -> str:
    """User text safe for a docxtpl context: no control characters that docxtpl
    would turn into paragraph or page breaks (\\a, \\f) or that XML forbids. (Here, not in
    ``daemon.minutes.document``: what asks whether a minutes step is due, and ``klg status``,
    load no document code; start-up, issue 19.)"""
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))


def calendar(ctx: Ctx) -> Calendar:
    return ctx.calendar


def cfg(ctx: Ctx) -> MinutesSettings:
    return settings(ctx.config)


def words(ctx: Ctx) -> dict:
    return WORDS[ctx.language]


def day(meeting: date | str) -> date:
    return meeting if isinstance(meeting, date) else date.fromisoformat(meeting)


def tag(ctx: Ctx, meeting: date | str) -> str:
    """The subject tag of a meeting's mails: ``[KLG 2026-12-01]``."""
    return f"[{ctx.config.group.short} {day(meeting).isoformat()}]"


def local(ctx: Ctx, moment: datetime | str) -> str:
    """A stored instant as the group's local 'YYYY-MM-DD HH:MM'."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ctx.config.group.timezone).strftime("%Y-%m-%d %H:%M")


def chair(ctx: Ctx) -> Member | None:
    chairs = ctx.config.with_role("chair")
    return chairs[0] if chairs else None


def member_name(ctx: Ctx, email: str | None) -> str:
    m = ctx.config.member_by_address(email) if email else None
    return m.name if m else (email or "")


def meeting_context(ctx: Ctx, meeting: date | str, secretary: Member | None = None) -> dict:
    """The facts of a meeting every minutes mail and document shows."""
    d = day(meeting)
    cal = calendar(ctx)
    c = chair(ctx)
    secretary = secretary or secretary_for(ctx, d)
    return {
        "date": d.isoformat(), "date_long": long_date(d, ctx.language), "tag": tag(ctx, d),
        "time_range": f"{cal.start(d):%H:%M}–{cal.end(d):%H:%M}", "location": ctx.config.schedule.location,
        "chair": c.name if c else "", "secretary": secretary.name, "secretary_email": secretary.email,
    }


# --- the rows of the form -------------------------------------------------------------


def _final_agenda(ctx: Ctx, meeting: str) -> dict | None:
    """The agenda as sent to the members, or None."""
    version = final_version(ctx.store, meeting)
    if version is None:
        return None
    rows = version["rows"]
    if isinstance(rows, str):
        rows = json.loads(rows)
    return {**version, "rows": rows}


def form_rows(ctx: Ctx, meeting: str) -> tuple[list[dict], str]:
    """The rows the form is pre-filled with (the final agenda's, without the break) and
    where they came from."""
    agenda = _final_agenda(ctx, meeting)
    rows = [{"id": r.get("id"), "type": "item" if r.get("id") else "standing", "title": r.get("title", ""),
             "presenter": r.get("presenter") or "", "kind": r.get("kind") or ""}
            for r in agenda["rows"] if r.get("type") != "break" and (r.get("id") or r.get("title"))]
    return rows, f"final agenda v{agenda.get('version')}"


def has_meeting_content(ctx: Ctx, meeting: str) -> bool:
    """Whether a meeting was held with an agenda, so it needs minutes: when its final
    agenda went out (a meeting that started without one has its items moved on by the agenda)."""
    return _final_agenda(ctx, meeting) is not None


# --- the minutes rows --------------------------------------------------------------------


def minutes_row(ctx: Ctx, meeting: str) -> dict | None:
    return ctx.store.one("SELECT * FROM minutes WHERE meeting = ?", [meeting])


def version_row(ctx: Ctx, meeting: str, version: int) -> dict | None:
    row = ctx.store.one("SELECT * FROM minutes_versions WHERE meeting = ? AND version = ?", [meeting, version])
    if row:
        row["content"] = json.loads(row["content"])
        row["signatories"] = json.loads(row["signatories"])
    return row


def approvals(ctx: Ctx, meeting: str, version: int) -> dict[str, dict]:
    rows = ctx.store.all("SELECT * FROM minutes_approvals WHERE meeting = ? AND version = ? ORDER BY id",
                         [meeting, version])
    return {r["signatory"]: r for r in rows}


def pending(ctx: Ctx, version: dict) -> list[str]:
    """Signatories (e-mails) of ``version`` who have not approved it."""
    done = approvals(ctx, version["meeting"], version["version"])
    return [e for e in version["signatories"] if e not in done]


def transition(ctx: Ctx, meeting: str, to: MinutesState, **columns) -> None:
    """Move the minutes of ``meeting`` to state ``to`` (with ``columns``); refuses a step they do not have."""
    current = MinutesState(minutes_row(ctx, meeting)["state"])
    if to not in ALLOWED[current]:
        raise ValueError(f"the minutes of {meeting} cannot go from {current} to {to}")
    ctx.store.db["minutes"].update(meeting, {"state": str(to), **columns, "updated_at": iso(ctx.now)})


def set_secretary(ctx: Ctx, meeting: str, email: str) -> None:
    """Another secretary writes these minutes (``Sekreterare: …``)."""
    ctx.store.db["minutes"].update(meeting, {"secretary": email, "updated_at": iso(ctx.now)})


def sign_ref(meeting: str, version: int, sha: str) -> str:
    """The outbox ``ref`` of a signing mail: ``minutes:<date>:v<N>:<sha256>``."""
    return f"minutes:{meeting}:v{version}:{sha}"


def parse_sign_ref(ref: str | None) -> tuple[str, int, str] | None:
    parts = (ref or "").split(":")
    if len(parts) == 4 and parts[0] == "minutes" and parts[2].startswith("v") and parts[2][1:].isdigit():
        return parts[1], int(parts[2][1:]), parts[3]
    return None


# --- document contexts ----------------------------------------------------------------------


def attendance_rows(ctx: Ctx, meeting: str) -> list[dict]:
    """The form's attendance table: members with regrets "Nej", probably away by an
    out-of-office reply "Nej (autosvar)", each stand-in after the members (issue 17)."""
    w = words(ctx)
    out = []
    for a in attendance_of(ctx, meeting):
        present = w["yes"] if a.present else (w["auto"] if a.note == "autosvar" else w["no"])
        title = w["stand_in_for"].format(name=a.title) if a.note == "ersättare" else a.title
        out.append({"name": a.name, "title": title, "present": present})
    return out


def form_context(ctx: Ctx, meeting: str, rows: list[dict], open_followups: list[dict], secretary: Member) -> dict:
    w = words(ctx)
    c = chair(ctx)
    extra = [m.name for m in ctx.config.with_role("signatory") if not c or m.email != c.email]
    return {
        **ctx.base_context(), **meeting_context(ctx, meeting, secretary),
        "identifier": f"klg-minutes:{meeting}", "doc_title": words(ctx)["form_file"].format(
            short=ctx.config.group.short, date=meeting).removesuffix(".docx"),
        "signatories": ", ".join(extra),
        "attendance": attendance_rows(ctx, meeting),
        "rows": [{"id": r["id"] or "", "title": clean(r["title"]), "presenter": clean(r["presenter"]),
                  "hint": (w["agenda_kind"].format(kind=kind_name(r["kind"], ctx.language).capitalize())
                           if r.get("id") and r.get("kind") else (w["standing"] if not r.get("id") else ""))}
                 for r in rows],
        "followups": [{"ref": f["ref"], "task": clean(f["next_step"]), "title": clean(f["title"]),
                       "responsible": clean(f["responsible"]), "meeting": f["meeting"]}
                      for f in open_followups],
    }


def document_context(ctx: Ctx, content: dict, *, version: int, signing: list[dict], signed_at: datetime | None,
                     omitted: int = 0, sealed: bool = False, published: bool = False) -> dict:
    """The minutes document's context: the draft for signing (``signed_at`` None) or the signed minutes.

    A point says "Kommuniceras: Nej" (``show_communicate``) only in the group's own copies; a
    ``published`` copy (council, union, intranet) never does, and "Ja" is never written: it is the rule."""
    w = words(ctx)
    lang = ctx.language
    meeting = content["meeting"]
    secretary = ctx.config.member_by_address(content["secretary"]["email"]) or Member(
        content["secretary"]["name"], content["secretary"]["email"])
    members = [a for a in content["attendance"] if a["member"]]
    guests = [a for a in content["attendance"] if not a["member"] and a["present"]]
    rows = []
    for r in content["rows"]:
        meta = [r["id"] or (w["standing"] if r["type"] == "standing" else w["extra"])]
        case_number = (ctx.store.item(r["id"]) or {}).get("case_number") if r.get("id") else None
        if case_number:
            meta.append(f"{'Dnr' if lang == 'sv' else 'Case'} {case_number}")
        if r.get("presenter"):
            meta.append(f"{w['presenter']}: {r['presenter']}")
        if r.get("outcome"):
            meta.append(OUTCOME_NAMES[lang][r["outcome"]])
        comes_back = ""
        if r.get("comes_back"):
            comes_back = long_date(date.fromisoformat(r["comes_back"]), lang)
        if r.get("masked"):
            meta = [r["id"]]  # a secret item outside the group: its number and marking, nothing more
        # a member with a conflict of interest did not take part (daemon.records.conflicts)
        not_taking_part = [] if r.get("masked") else conflict_lines(ctx, r.get("id"))
        notes = "\n".join([*not_taking_part, r["notes"]] if r["notes"] else not_taking_part)
        rows.append({
            "no": r["no"], "title": clean(r["title"]), "meta": " · ".join(meta),
            "notes": clean(notes), "notes_label": w["decision"] if r.get("outcome") == "beslut" else "",
            "responsible": clean(r["responsible"]), "next_step": clean(r["next_step"]),
            "comes_back": comes_back, "communicate": w["yes"] if r["communicate"] else w["no"],
            "show_communicate": not published and not r["communicate"],
        })
    address = ctx.config.group.address
    note = w["note_signed" if signed_at else "note_draft"].format(address=address)
    if sealed:
        note += w["note_sealed"].format(organisation=ctx.config.group.organisation)
    doc_title = (cfg(ctx).pdf_name(ctx.config.group.short, meeting).removesuffix(".pdf") if signed_at else
                 w["version_file"].format(short=ctx.config.group.short, date=meeting, n=version))
    return {
        **ctx.base_context(), **meeting_context(ctx, meeting, secretary),
        "identifier": f"klg-minutes-document:{meeting}:v{version}", "doc_title": doc_title,
        "signatories": ", ".join(s["name"] for s in content["signatories"]),
        "signed": signed_at is not None,
        "status_line": (w["signed"].format(date=local(ctx, signed_at)[:10]) if signed_at
                        else w["draft"].format(n=version)),
        "omitted": omitted,
        "omitted_note": w["omitted"].format(points=plural(omitted, *w["point"], ctx.language)) if omitted else "",
        "present": ", ".join(a["name"] for a in members if a["present"]) or "–",
        "absent": ", ".join(a["name"] for a in members if not a["present"]),
        "guests": ", ".join(clean(a["name"] + (f" ({a['title']})" if a.get("title") else "")) for a in guests),
        "rows": rows,
        "followups": [{"ref": followups.ref(f["id"]), "task": clean(f["next_step"]),
                       "title": clean(f["title"]), "responsible": clean(f["responsible"]),
                       "status": w["done"] + (f": {f['comment']}" if f.get("comment") else "") if f["done"]
                       else w["open"] + (f": {f['comment']}" if f.get("comment") else "")}
                      for f in content["followups"]],
        "signing": signing,
        "signing_note": note,
    }


def signing_rows(ctx: Ctx, content: dict, approved: dict[str, dict]) -> list[dict]:
    """The signing block: each signatory's name, role and time of approval (or 'not yet')."""
    w = words(ctx)
    return [{"name": s["name"], "role": w[s["role"]] + (f", {s['title']}" if s.get("title") else ""),
             "approved": local(ctx, approved[s["email"]]["approved_at"]) if s["email"] in approved else w["not_signed"]}
            for s in content["signatories"]]


def version_attachments(ctx: Ctx, version: dict) -> list[OutAttachment]:
    """The .docx and PDF of a version, as signatories get them."""
    base = words(ctx)["version_file"].format(short=ctx.config.group.short, date=version["meeting"], n=version["version"])
    out = [OutAttachment(base + ".docx", ctx.store.files.get(version["docx_sha256"]), DOCX)]
    if version.get("pdf_sha256"):
        out.append(OutAttachment(base + ".pdf", ctx.store.files.get(version["pdf_sha256"]), "application/pdf"))
    return out
