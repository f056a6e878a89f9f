"""The agenda week as steps: draft, reminders, final agenda, updates, and
moving items on from meetings that did not happen.

Whether a step is due is decided from the store and ``ctx.now`` only, so a
step missed while the daemon was down runs when it comes back, once, and in
order (the engine asks ``due`` again after each round):

- ``draft:<date>`` at the draft time, when the meeting has no agenda yet and
  has not started: version 1 goes to the chair and the chancellery.
- ``reminder:<date>`` at ``[agenda] reminder`` on the final agenda's day, when
  a draft went out but nothing is approved.
- ``final:<date>`` at the final time once a version is approved (or, with
  ``unapproved_agenda = "send_draft"``, the newest version as it is).
- ``unapproved:<date>`` at the final time with nothing approved (policy
  ``remind``): the chair and chancellery are told; the final agenda follows
  as soon as they approve.
- ``update:<date>:v<N>`` when version N is approved after the final agenda
  went out: "Uppdaterad dagordning" with what changed.
- ``carry:<date>:<n>`` when a meeting is no longer held (config changed) or
  started without a final agenda: its items move to the next meeting.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from daemon import attendance, items, meetings
from daemon.agenda import common, delivery, layout, versions
from daemon.agenda.settings import settings
from daemon.attachments import came_in_late
from daemon.context import Ctx
from daemon.meetings import MeetingState
from daemon.mail.compose import encoded_size
from daemon.schedule import NoMeeting
from daemon.steps import Step
from daemon.store import SYSTEM, iso

LOOKAHEAD = 6  # meetings whose draft time may have passed at once (monthly groups with early drafts)


def wake_times(config) -> list:
    """Extra clock times for the scheduler: the reminder."""
    reminder = settings(config).reminder
    return [reminder] if reminder else []


def _meetings_in_play(ctx: Ctx) -> list[date]:
    """Meetings that have not started and whose draft time has come."""
    cal = common.calendar(ctx)
    out = []
    try:
        meeting = cal.upcoming_meeting(ctx.now)
        for _ in range(LOOKAHEAD):
            if cal.draft_at(meeting) > ctx.now:
                break
            out.append(meeting)
            meeting = cal.next_meeting(meeting)
    except NoMeeting:
        pass
    return out


def due(ctx: Ctx) -> list[Step]:
    """The agenda steps due at ``ctx.now``, in the order they must run."""
    steps = carry_steps(ctx)
    cal = common.calendar(ctx)
    conf = settings(ctx.config)
    policy = ctx.config.schedule.unapproved_agenda
    for meeting in _meetings_in_play(ctx):
        d = meeting.isoformat()
        current = versions.current(ctx.store, d)
        if current is None:
            steps.append(Step(f"draft:{d}", partial(send_draft, meeting=meeting), f"send the draft agenda of {d}"))
            continue
        sent = versions.final_version(ctx.store, d)
        approved = versions.latest_approved(ctx.store, d)
        final_at = common.answer_by(ctx, meeting)  # later than configured when the draft went out late
        if sent is None:
            if ctx.now >= cal.final_at(meeting) and approved is not None:  # approved: it goes at the set time
                steps.append(Step(f"final:{d}", partial(send_final, meeting=meeting),
                                  f"send the final agenda of {d} (version {approved['version']})"))
            elif ctx.now >= final_at and policy == "send_draft":
                steps.append(Step(f"final:{d}", partial(send_final, meeting=meeting, unapproved=True),
                                  f"send the unapproved agenda of {d} (version {current['version']})"))
            elif ctx.now >= final_at:
                steps.append(Step(f"unapproved:{d}", partial(send_reminder, meeting=meeting, reason="not_approved"),
                                  f"tell the chair and chancellery that the agenda of {d} is not approved"))
            elif (approved is None and conf.reminder and ctx.now >= cal.local(final_at.date(), conf.reminder)
                  and cal.local(final_at.date(), conf.reminder) > common.draft_sent_at(ctx, meeting)):
                # (a reminder whose time came before the draft went out would arrive with it)
                steps.append(Step(f"reminder:{d}", partial(send_reminder, meeting=meeting, reason="before_final"),
                                  f"remind the chair and chancellery to approve the agenda of {d}"))
        elif approved is not None and approved["version"] > sent["version"]:
            steps.append(Step(f"update:{d}:v{approved['version']}",
                              partial(send_update, meeting=meeting, version=approved["version"]),
                              f"send the updated agenda of {d} (version {approved['version']})"))
    return steps


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
    version = common.make_version(ctx, meeting, rows, source="draft", author=SYSTEM, changes=[],
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


def _stranded(ctx: Ctx) -> list[tuple[date, str]]:
    """(meeting, why) for each date with planned items that will not get an agenda."""
    cal = common.calendar(ctx)
    out = []
    for row in ctx.store.all("SELECT DISTINCT meeting FROM items WHERE state = 'planned' AND meeting IS NOT NULL"):
        meeting = date.fromisoformat(row["meeting"])
        if not cal.is_meeting(meeting):
            out.append((meeting, "not_held"))
        elif cal.start(meeting) <= ctx.now and versions.final_version(ctx.store, row["meeting"]) is None:
            out.append((meeting, "no_final"))
    return sorted(out)


def carry_steps(ctx: Ctx) -> list[Step]:
    steps = []
    for meeting, why in _stranded(ctx):
        d = meeting.isoformat()
        n = ctx.store.count("SELECT COUNT(*) FROM steps WHERE key LIKE ?", [f"carry:{d}:%"]) + 1
        steps.append(Step(f"carry:{d}:{n}", partial(carry_over, meeting=meeting, why=why),
                          f"move the items of {d} to the next meeting ({why.replace('_', ' ')})"))
    return steps


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
