"""What the agenda's steps and handlers share: who reviews, which items a
meeting has, names, times and attachments (the document's context and making a
new version are in ``daemon.agenda.rendering``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from daemon.agenda import layout, versions, words
from daemon.config import Member
from daemon.context import Ctx
from daemon.files import member_file_names
from daemon.followups import followups_for
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.schedule import Calendar
from daemon.secretary import secretary_for
from daemon.store import from_iso

# Outbox kinds of the agenda's mails; a reply to any of them comes to the agenda.
KINDS = ("agenda-draft", "agenda-version", "agenda-approved", "agenda-reminder", "agenda-final", "agenda-answer",
         "agenda-notice")


def calendar(ctx: Ctx) -> Calendar:
    return ctx.calendar


def day(meeting: date | str) -> date:
    return meeting if isinstance(meeting, date) else date.fromisoformat(meeting)


def tag(ctx: Ctx, meeting: date | str) -> str:
    """The subject tag of a meeting's mails: ``[KLG 2026-12-01]``."""
    return f"[{ctx.config.group.short} {day(meeting).isoformat()}]"


def reviewers(ctx: Ctx) -> list[Member]:
    """The chair and the chancellery: who gets the draft and may change or approve it."""
    out: list[Member] = []
    for m in [*ctx.config.with_role("chair"), *ctx.config.with_role("chancellery")]:
        if m not in out:
            out.append(m)
    return out


def may_review(member: Member) -> bool:
    return member.has("chair") or member.has("chancellery")


def planned_items(ctx: Ctx, meeting: str) -> list[dict]:
    """The items on ``meeting``'s agenda (state planned), in agenda order."""
    return ctx.store.all("SELECT * FROM items WHERE meeting = ? AND state = 'planned' ORDER BY position, id", [meeting])


def attachment_names(ctx: Ctx, item_id: str) -> list[str]:
    return [a["name"] for a in ctx.store.attachments(item_id)]


def followup_lines(ctx: Ctx, meeting: str) -> list[str]:
    """The open action items from earlier minutes, one line each, for "Uppföljning"."""
    lines = []
    for f in followups_for(ctx, meeting):
        due = f" ({'senast' if ctx.language == 'sv' else 'by'} {f['due']})" if f.get("due") else ""
        lines.append(f"{f['ref']} {f['responsible']}: {f['next_step']}{due}")
    return lines


def row_for(ctx: Ctx, item: dict) -> dict:
    return layout.item_row(item, attachment_names(ctx, item["id"]))


def member_name(ctx: Ctx, address: str | None) -> str | None:
    if not address:
        return None
    member = ctx.config.member_by_address(address)
    return member.name if member else address


def end_time(ctx: Ctx, rows: list[dict]) -> str:
    """The meeting's end: the configured end, or later when the agenda runs over."""
    scheduled = ctx.config.schedule.end.strftime("%H:%M")
    return max(scheduled, layout.end_of(rows, ctx.config.schedule))


def draft_name(ctx: Ctx, meeting: date | str, version: int) -> str:
    d = day(meeting).isoformat()
    if ctx.language == "sv":
        return f"Dagordning {ctx.config.group.short} {d} utkast v{version}.docx"
    return f"Agenda {ctx.config.group.short} {d} draft v{version}.docx"


def final_name(ctx: Ctx, meeting: date | str, what: str) -> str:
    """File names of what goes to the members: what is agenda, book or invite; the suffix follows."""
    d = day(meeting).isoformat()
    short = ctx.config.group.short
    names = {"sv": {"agenda": "Dagordning", "book": "Mötesbok", "invite": "Kallelse"},
             "en": {"agenda": "Agenda", "book": "Meeting book", "invite": "Invitation"}}[ctx.language]
    return f"{names[what]} {short} {d}"


def member_attachments(ctx: Ctx, docs: list[dict], own: list[str]) -> list[OutAttachment]:
    """Members' documents (attachment rows) for a mail that also carries klg's files ``own``:
    each under a distinct name that cannot pass for one of klg's (``files.member_file_names``);
    a calendar file goes as a plain file, so no mail client offers it as the meeting's invitation."""
    # klg's own item documents (the compilation of a written procedure) have no source mail and keep their names
    names = member_file_names([(a["item_id"] if a.get("source_message") else None, a["name"]) for a in docs],
                              ctx.config.group.short, own)
    return [OutAttachment(name, ctx.store.files.get(a["sha256"]),
                          "application/octet-stream" if a["content_type"] == "text/calendar" else a["content_type"])
            for name, a in zip(names, docs)]


def version_attachment(ctx: Ctx, meeting: date | str, version: dict) -> OutAttachment:
    """The version's review document as a mail attachment."""
    return OutAttachment(draft_name(ctx, meeting, version["version"]), ctx.store.files.get(version["docx_sha256"]),
                         DOCX)


def mail_rows(rows: list[dict], language: str) -> list[dict]:
    """The rows for a mail text: time, label, presenter and kind."""
    out = []
    for r in rows:
        out.append({"time": f"{r['start']}–{r['end']}", "id": r.get("id"), "title": r["title"],
                    "label": words.row_label(r), "presenter": r.get("presenter") or "",
                    "kind": words.kind_label(r, language), "minutes": r["minutes"], "type": r["type"],
                    "note": words.carried_note(r["carried_from"], language) if r.get("carried_from") else "",
                    "attachments": r.get("attachments") or []})
    return out


# A draft that goes out late (the daemon was down at the draft time) gives the chair and the
# chancellery this long to answer, instead of an answer time that has passed; never later than
# LAST_ANSWER before the meeting starts.
LATE_ANSWER = timedelta(hours=2)
LAST_ANSWER = timedelta(minutes=30)


def draft_sent_at(ctx: Ctx, meeting: date) -> datetime | None:
    """When version 1 of the meeting's agenda, the draft, was made (and mailed)."""
    first = versions.get(ctx.store, meeting.isoformat(), 1)
    return from_iso(first["created_at"]) if first else None


def answer_by(ctx: Ctx, meeting: date) -> datetime:
    """When the reviewers' answer to the draft is due: the configured final time, or, for a
    draft that went out too late to leave LATE_ANSWER before it, LATE_ANSWER after the draft
    (rounded up to the quarter hour) and at the latest LAST_ANSWER before the meeting. The
    final agenda, the reminder and the notice that it is not approved all wait for this."""
    cal = calendar(ctx)
    final_at = cal.final_at(meeting)
    sent = draft_sent_at(ctx, meeting) or ctx.now
    if sent + LATE_ANSWER <= final_at:
        return final_at
    later = (sent + LATE_ANSWER).astimezone(final_at.tzinfo).replace(second=0, microsecond=0)
    later += timedelta(minutes=-later.minute % 15)
    return max(final_at, min(later, cal.start(meeting) - LAST_ANSWER))


def meeting_context(ctx: Ctx, meeting: date) -> dict:
    """What every agenda mail says about the meeting. ``answer_by`` is when the draft's answer is
    due (``final_at`` unless the draft went out late); ``draft_late`` says the draft missed its time."""
    cal = calendar(ctx)
    sent = draft_sent_at(ctx, meeting) or ctx.now
    return {"date": meeting, "iso": meeting.isoformat(), "tag": tag(ctx, meeting), "start": cal.start(meeting),
            "end": cal.end(meeting), "location": ctx.config.schedule.location,
            "secretary": secretary_for(ctx, meeting).name, "final_at": cal.final_at(meeting),
            "draft_at": cal.draft_at(meeting), "answer_by": answer_by(ctx, meeting),
            "draft_late": sent - cal.draft_at(meeting) > timedelta(hours=1),
            "final_passed": ctx.now >= cal.final_at(meeting)}
