"""The agenda document: the context its template is filled with (rows, times,
the case numbers and secrecy markings read at rendering), rendering it, and
storing a new version. Apart from ``daemon.agenda.common`` so that what asks
whether an agenda step is due (and ``klg status``) does not load the document
and template code (start-up, issue 19)."""

from __future__ import annotations

from datetime import date, datetime

from daemon import docmeta
from daemon.agenda import document, layout, versions, words
from daemon.agenda.common import draft_name, end_time, final_name, member_name
from daemon.context import Ctx
from daemon.records import secrecy
from daemon.secretary import secretary_for
from daemon.texts import long_date

ROW_COLOURS = {"item": "FFFFFF", "standing": "F2F4F8", "break": "E4E7EE"}


def deadline_rule(ctx: Ctx) -> str:
    """How the proposal deadline reads in a document: 'dagen före mötet kl. 10.00'."""
    step = ctx.config.schedule.proposal_deadline
    at = step.time.strftime("%H.%M")
    if ctx.language == "sv":
        when = {0: "samma dag som mötet", 1: "dagen före mötet"}.get(step.days_before, f"{step.days_before} dagar före mötet")
        return f"{when} kl. {at}"
    when = {0: "on the day of the meeting", 1: "the day before the meeting"}.get(
        step.days_before, f"{step.days_before} days before the meeting")
    return f"by {step.time.strftime('%H:%M')} {when}"


def doc_rows(rows: list[dict], language: str) -> list[dict]:
    """The rows as the template shows them."""
    out = []
    for r in rows:
        notes = []
        if r.get("carried_from"):
            notes.append(words.carried_note(r["carried_from"], language))
        if r.get("case_number"):
            notes.append(f"{'Dnr' if language == 'sv' else 'Case'} {r['case_number']}")
        notes += r.get("secrecy") or []
        if r.get("attachments"):
            notes.append(("Bilagor: " if language == "sv" else "Attachments: ") + ", ".join(r["attachments"]))
        notes += r.get("followups") or []
        out.append({
            "time": f"{r['start']}–{r['end']}", "start": r["start"], "end": r["end"],
            "id": r["id"] or words.MARKERS[language][r["type"]], "title": r["title"], "note": " · ".join(notes),
            "presenter": r.get("presenter") or "", "kind": words.kind_label(r, language), "minutes": r["minutes"],
            "bg": ROW_COLOURS.get(r["type"], "FFFFFF"), "type": r["type"], "attachments": ", ".join(r.get("attachments") or []),
        })
    return out


def doc_context(ctx: Ctx, meeting: date, rows: list[dict], version: int, *, final: bool = False,
                approved_at: datetime | None = None, approved_by: str | None = None,
                warnings: list[str] = ()) -> dict:
    """Everything the agenda template is filled with."""
    g, s, lang = ctx.config.group, ctx.config.schedule, ctx.language
    chair = ctx.config.with_role("chair")
    approved_day = approved_at.astimezone(g.timezone).date() if approved_at else None
    return {
        "organisation": g.organisation, "group": g.name, "short": g.short, "date": meeting.isoformat(),
        "date_long": long_date(meeting, lang), "start": s.start.strftime("%H:%M"), "end": end_time(ctx, rows),
        "time_range": f"{s.start.strftime('%H:%M')}–{end_time(ctx, rows)}", "location": s.location,
        "chair": chair[0].name if chair else "", "secretary": secretary_for(ctx, meeting).name,
        "version": version, "is_final": final,
        # the routine (seed 000): the chief executive, who chairs, fixes the final agenda, whoever
        # of the chair and the chancellery answered OK (klg status names the one who did)
        "status_line": words.status_line(version, final, approved_day,
                                         chair[0].name if chair else member_name(ctx, approved_by), lang),
        "warnings": [] if final else list(warnings), "address": g.address, "deadline_rule": deadline_rule(ctx),
        "rows": doc_rows([with_records(ctx, r) for r in rows], lang),
    }


def with_records(ctx: Ctx, row: dict) -> dict:
    """``row`` with its item's case number and secrecy markings as the document shows them (read at
    rendering, so every version shows them as they are now). A row for outside the group
    (``outside``, from daemon.records.disclosure) names no secret document."""
    if row.get("type") != "item" or not row.get("id"):
        return row
    item = ctx.store.item(row["id"]) or {}
    sv = ctx.language == "sv"
    marks = []
    for m in secrecy.markings(ctx.store, row["id"]):
        if m["attachment_name"] and row.get("outside"):
            continue  # the public version lists what is withheld elsewhere, never by name
        what = f" ({m['attachment_name']})" if m["attachment_name"] else ""
        marks.append(f"{'Sekretess' if sv else 'Secret'}: {m['provision']}{what}")
    return {**row, "case_number": item.get("case_number"), "secrecy": marks}


def template_path(ctx: Ctx):
    return ctx.config.templates_dir / ctx.language / "agenda.docx"


def render(ctx: Ctx, meeting: date, rows: list[dict], version: int, **kwargs) -> bytes:
    """The agenda document for ``rows``; AgendaTemplateError names a broken tag."""
    data = document.render(template_path(ctx), doc_context(ctx, meeting, rows, version, **kwargs))
    title = final_name(ctx, meeting, "agenda") if kwargs.get("final") else draft_name(ctx, meeting, version)[:-5]
    return docmeta.label(data, lang=docmeta.locale(ctx.language), title=title, author=ctx.config.group.name)


def make_version(ctx: Ctx, meeting: date, rows: list[dict], *, source: str, author: str, changes: list[dict],
                 break_at: str | None, source_message: str | None = None, returned: bytes | None = None) -> dict:
    """Render and store the next version of ``meeting``'s agenda with ``rows`` (timed);
    ``break_at`` ('HH:MM' or None for no break) is where later versions place the break."""
    d = meeting.isoformat()
    number = ctx.store.count("SELECT COALESCE(MAX(version), 0) + 1 FROM agenda_versions WHERE meeting = ?", [d])
    warnings = layout.warnings(rows, ctx.config.schedule, ctx.language)
    docx = render(ctx, meeting, rows, number, warnings=warnings)
    version = versions.add(
        ctx.store, d, now=ctx.now, source=source, author=author, rows=rows, warnings=warnings, changes=changes,
        docx_sha256=ctx.store.files.put(docx), break_at=break_at, source_message=source_message,
        returned_sha256=ctx.store.files.put(returned) if returned else None)
    assert version["version"] == number
    return version
