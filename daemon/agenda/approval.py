"""Answering a reviewer and approving a version of the agenda."""

from __future__ import annotations

from datetime import date, timedelta

from daemon import meetings
from daemon.agenda import common, versions
from daemon.answers import Outcome
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.meetings import MeetingState
from daemon.store import iso

ANSWERS_PER_HOUR = 5


def answer(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict, meeting: str | None = None,
           attachments=()) -> None:
    """One plain answer about an agenda reply (at most a few an hour per sender)."""
    since = iso(ctx.now - timedelta(hours=1))
    sent = ctx.store.count("SELECT COUNT(*) FROM outbox WHERE kind = 'agenda-answer' AND created_at >= ? AND recipients = ?",
                           [since, f'["{mail.sender}"]'])
    if sent >= ANSWERS_PER_HOUR:
        ctx.event("agenda answer suppressed (storm guard)", actor=mail.sender, meeting=meeting, detail={"reason": reason})
        return
    ctx.send("agenda_answer", [mail.sender], {"reason": reason, "name": member.name, "subject": mail.subject, **context},
             kind="agenda-answer", meeting=meeting, reply_to=mail, attachments=attachments)


def approve_version(ctx: Ctx, mail: ParsedMail, member: Member, meeting: date, version: dict,
                    changed: bool = False) -> Outcome:
    """Approve ``version`` (the current one) and confirm when it goes out."""
    d = meeting.isoformat()
    sent = versions.final_version(ctx.store, d)
    if version["approved_at"] and not changed:
        answer(ctx, mail, member, "already_approved",
               {"meeting": common.meeting_context(ctx, meeting), "version": version["version"],
                "by": common.member_name(ctx, version["approved_by"]), "sent": sent is not None}, meeting=d)
        return Outcome("agenda-approval", detail=f"version {version['version']} was already approved")
    versions.update(ctx.store, d, version["version"], approved_at=iso(ctx.now), approved_by=member.email)
    if sent is None:
        meetings.transition(ctx.store, d, MeetingState.APPROVED)
    ctx.event(f"agenda: version {version['version']} approved", actor=member.email, meeting=d)
    if not changed:
        cal = common.calendar(ctx)
        goes_now = ctx.now >= cal.final_at(meeting)
        ctx.send("agenda_approved", common.reviewers(ctx),
                 {"meeting": common.meeting_context(ctx, meeting), "version": version["version"], "by": member.name,
                  "now": goes_now, "update": sent is not None and sent["version"] < version["version"],
                  "already_sent": sent is not None and sent["version"] == version["version"]},
                 kind="agenda-approved", meeting=d, ref=f"v{version['version']}", reply_to=mail)
    return Outcome("agenda-approval", detail=f"version {version['version']}")
