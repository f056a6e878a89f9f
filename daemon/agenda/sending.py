"""What the agenda week's steps do (``daemon.agenda.workflow`` says when each
is due): the draft, the reminders, the final agenda and its updates, and
moving the items of a meeting that did not happen to the next one. Each
re-checks its conditions when it runs."""

from __future__ import annotations

from datetime import date

from daemon import attendance, items, meetings
from daemon.agenda import common, delivery, layout, rendering, versions
from daemon.agenda.settings import settings
from daemon.attachments import came_in_late
from daemon.context import Ctx
from daemon.mail.outgoing import encoded_size
from daemon.meetings import MeetingState
from daemon.schedule import NoMeeting
from daemon.store import SYSTEM, iso

# --- draft -----------------------------------------------------------------------


def send_draft(ctx: Ctx, meeting: date) -> None:
    """Version 1 from the planned items and the standing items, to the chair and the chancellery."""
    d = meeting.isoformat()
    if versions.current(ctx.store, d) is not None or ctx.now >= common.calendar(ctx).start(meeting):
        return
    planned = common.planned_items(ctx, d)
    rows = layout.draft_rows([common.row_for(ctx, i) for i in planned], ctx.config.schedule,
                             ctx.config.standing_items, ctx.language, common.followup_lines(ctx, d))
    break_at = ctx.config.schedule.break_start
    version = rendering.make_version(ctx, meeting, rows, source="draft", author=SYSTEM, changes=[],
                                  break_at=break_at.strftime("%H:%M") if break_at else None)
    meetings.transition(ctx.store, d, MeetingState.DRAFT_SENT)
    deadline = common.calendar(ctx).proposal_deadline(meeting)
    late = ctx.store.all(
        "SELECT * FROM items WHERE state = 'planned' AND late = 1 AND meeting > ? AND created_at >= ? ORDER BY id",
        [d, iso(deadline)])
    attachments = [common.version_attachment(ctx, d, version)]
    documents, omitted = _item_documents(ctx, planned, conf_limit=settings(ctx.config).max_mail_bytes
                                         - encoded_size(len(attachments[0].data)), own=[attachments[0].name])
    context = {
        "meeting": common.meeting_context(ctx, meeting), "version": version["version"],
        "rows": common.mail_rows(rows, ctx.language), "warnings": version["warnings"],
        "late": late, "long": [i for i in planned if _long_and_late(ctx, i, meeting)],
        "carried": [i for i in planned if i.get("carried_from")],
        "decisions": [i for i in planned if i["origin"] == "circulation"],
        "wheel": [i for i in planned if i["origin"] == "wheel"],
        "omitted": omitted, "absentees": attendance.absentees(ctx, d),
    }
    ctx.send("agenda_draft", common.reviewers(ctx), context, kind="agenda-draft", meeting=d,
             ref=f"v{version['version']}", attachments=attachments + documents)
    ctx.event("agenda: draft sent", meeting=d, detail={"version": version["version"], "items": [i["id"] for i in planned]})


def _long_and_late(ctx: Ctx, item: dict, meeting: date) -> bool:
    """A long document that came in after the long-document deadline of ``meeting``, the
    meeting the item is on now (the flag set at intake was for the meeting it was on then)."""
    intake = ctx.config.intake
    return came_in_late(ctx.store.attachments(item["id"]), intake.long_document_pages,
                        intake.long_document_bytes, common.calendar(ctx).long_document_deadline(meeting))


def _item_documents(ctx: Ctx, planned: list[dict], conf_limit: int, own: list[str]):
    """(attachments to mail, names left out because they would make the mail too large)."""
    rows = [a for i in planned for a in ctx.store.attachments(i["id"])]
    total = sum(encoded_size(a["size"]) for a in rows)  # as they travel in the mail, base64-encoded
    if total > conf_limit:
        return [], [a["name"] for a in rows]
    return common.member_attachments(ctx, rows, own), []


# --- reminders ---------------------------------------------------------------------


def send_reminder(ctx: Ctx, meeting: date, reason: str) -> None:
    """Remind the chair and the chancellery that the newest version waits for approval."""
    d = meeting.isoformat()
    current = versions.current(ctx.store, d)
    if current is None:
        return
    context = {"meeting": common.meeting_context(ctx, meeting), "version": current["version"], "reason": reason,
               "rows": common.mail_rows(current["rows"], ctx.language), "warnings": current["warnings"],
               "policy": ctx.config.schedule.unapproved_agenda}
    ctx.send("agenda_reminder", common.reviewers(ctx), context, kind="agenda-reminder", meeting=d,
             ref=f"v{current['version']}", attachments=[common.version_attachment(ctx, d, current)])
    ctx.event(f"agenda: reminder ({reason})", meeting=d, detail={"version": current["version"]})


# --- final and updates ---------------------------------------------------------------


def send_final(ctx: Ctx, meeting: date, unapproved: bool = False) -> None:
    """The final agenda to every member: the newest approved version, or with the
    ``send_draft`` policy the newest version as it is."""
    d = meeting.isoformat()
    if versions.final_version(ctx.store, d) is not None:
        return
    version = versions.latest_approved(ctx.store, d)
    if version is None and unapproved:
        version = versions.current(ctx.store, d)
    if version is None:
        return
    delivery.send(ctx, meeting, version, previous=None)
    if version["approved_at"] is None:
        send_reminder(ctx, meeting, "sent_unapproved")


def send_update(ctx: Ctx, meeting: date, version: int) -> None:
    """A version approved after the final agenda went out: "Uppdaterad dagordning"."""
    d = meeting.isoformat()
    chosen = versions.get(ctx.store, d, version)
    previous = versions.final_version(ctx.store, d)
    if chosen is None or previous is None or previous["version"] >= version:
        return
    delivery.send(ctx, meeting, chosen, previous=previous)



# --- items of meetings that did not happen --------------------------------------------


def target_meeting(ctx: Ctx, after: date) -> date:
    """The first meeting after ``after`` that has not started and has no agenda yet."""
    cal = common.calendar(ctx)
    meeting = cal.next_meeting(max(after, ctx.today), inclusive=after < ctx.today)
    for _ in range(100):
        if cal.start(meeting) > ctx.now and versions.current(ctx.store, meeting.isoformat()) is None:
            return meeting
        meeting = cal.next_meeting(meeting)
    raise NoMeeting(f"no meeting after {after} can take the items: check [schedule]")


def carry_over(ctx: Ctx, meeting: date, why: str) -> None:
    """Move every planned item of ``meeting`` to the next meeting that can take it; tell each
    proposer and the chancellery."""
    d = meeting.isoformat()
    planned = common.planned_items(ctx, d)
    if not planned:
        return
    target = target_meeting(ctx, meeting)
    t = target.isoformat()
    position = ctx.store.count("SELECT COALESCE(MAX(position), 0) FROM items WHERE meeting = ?", [t])
    for offset, item in enumerate(planned, start=1):
        items.plan(ctx, item["id"], t, source="agenda", position=position + offset,
                   carried_from=item.get("carried_from") or d, announce_it=False)
        ctx.event(f"agenda: item carried over from {d} ({why})", item=item["id"], meeting=t)
        items.announce(ctx, item["id"], "amended", source="agenda")
        proposer = ctx.config.member_by_address(item["proposer"])
        if proposer:
            ctx.send("agenda_moved", [proposer], {"item": items.summary(ctx, item["id"]), "name": proposer.name,
                                                  "from_date": meeting, "why": why},
                     kind="agenda-moved", item=item["id"], meeting=t)
    cal = common.calendar(ctx)
    if why == "not_held":
        delivery.send_cancellation(ctx, meeting, target, cal.skip_reason(meeting) or "")
    ctx.send("agenda_carried", ctx.chancellery(),
             {"from_date": meeting, "to_date": target, "why": why, "reason": cal.skip_reason(meeting) or "",
              "items": [ctx.store.item(i["id"]) for i in planned]},
             kind="agenda-notice", meeting=t)
