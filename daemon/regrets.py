"""A member's regrets (or "coming after all") by mail or calendar reply, and the
return date in an out-of-office reply.

Where a regret comes from: a reply to the final agenda (or its update), to
klg's confirmation of an earlier regret, a new mail to the group whose
subject or first line says ``Förhinder`` (for the coming meeting, or the one
the line names: "Förhinder 8 december"), or a calendar reply (iTIP REPLY,
PARTSTAT=DECLINED or ACCEPTED) to klg's invitation, matched by its UID.

What it causes: the answer is recorded (``daemon.attendance``), the member
gets a confirmation, the chair and the secretary of the day are told, and a
configured stand-in who is named (or the member's usual one) gets the final
agenda, documents and invitation: now, when the final agenda is out, else
with it. A repeated answer that changes nothing (Outlook sends a calendar
reply and the member a mail) is recorded once and not confirmed again.

An out-of-office reply never reaches a handler (intake stops it); intake
gives it to ``on_auto_reply``, which only notes the return date.
"""

from __future__ import annotations

import re
from datetime import date

from daemon import absence_words, attendance
from daemon.agenda import common as agenda_common
from daemon.agenda import delivery, invite
from daemon.answers import Outcome
from daemon.attendance import AttendanceState
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.secretary import secretary_for

ICS_TYPES = ("text/calendar", "application/ics")
PARTSTATS = {"DECLINED": AttendanceState.ABSENT, "ACCEPTED": AttendanceState.PRESENT}


def _calendar(ctx: Ctx, mail: ParsedMail, member: Member) -> tuple[str, absence_words.Regret | None] | None:
    """(meeting, answer) from a calendar reply to one of klg's invitations, sent by the member
    about themself (the answer None: tentative, which counts as nothing); None for other mail."""
    for part in mail.attachments:
        if part.content_type.lower() not in ICS_TYPES and not part.name.lower().endswith(".ics"):
            continue
        reply = absence_words.calendar_reply(part.data)
        if reply is None or reply.attendee not in member.addresses:
            continue
        found = re.fullmatch(rf"{re.escape(ctx.config.group.short.lower())}-(\d{{4}}-\d{{2}}-\d{{2}})@"
                             rf"{re.escape(ctx.config.group.domain)}", reply.uid.lower())
        try:
            if not found or invite.uid(ctx.config, date.fromisoformat(found[1])) != reply.uid.lower():
                continue
        except ValueError:  # a UID shaped like ours with no real date in it: not ours
            continue
        if reply.partstat not in PARTSTATS:  # tentative: no answer either way, and certainly no proposal
            return found[1], None
        text = latest_reply(mail.text, [member.name, mail.sender_name])
        said = absence_words.regret(text, "", ctx.today)
        absent = PARTSTATS[reply.partstat] is AttendanceState.ABSENT
        reason = reply.comment or (said.reason if said and said.absent else "") or (
            absence_words.first_line(text) if absent else "")
        return found[1], absence_words.Regret(absent, reason[:300], said.substitute if said else None)
    return None


def _from_calendar(ctx: Ctx, mail: ParsedMail, member: Member, meeting: str,
                   said: absence_words.Regret | None) -> Outcome:
    if said is None:
        return Outcome("attendance", detail=f"{member.email}: tentative for {meeting}, nothing recorded")
    return apply(ctx, mail, member, meeting, said, "calendar")


def _words(ctx: Ctx, mail: ParsedMail, member: Member) -> absence_words.Regret | None:
    return absence_words.regret(latest_reply(mail.text, [member.name, mail.sender_name]), mail.subject, ctx.today)


def on_agenda_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome | None:
    """A reply to the final agenda or to a confirmation: a regret for that meeting, else None."""
    from_calendar = _calendar(ctx, mail, member)
    if from_calendar:
        return _from_calendar(ctx, mail, member, *from_calendar)
    said = _words(ctx, mail, member)
    meeting = thread.get("meeting")
    if said is None or not meeting:
        return None
    return apply(ctx, mail, member, said.day.isoformat() if said.day else meeting, said, "mail")


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """New mail: a calendar reply to klg's invitation, or ``Förhinder`` first; else None."""
    from_calendar = _calendar(ctx, mail, member)
    if from_calendar:
        return _from_calendar(ctx, mail, member, *from_calendar)
    said = _words(ctx, mail, member)
    if said is None:
        return None
    meeting = said.day or ctx.calendar.upcoming_meeting(ctx.now)
    return apply(ctx, mail, member, meeting.isoformat(), said, "mail")


def apply(ctx: Ctx, mail: ParsedMail, member: Member, meeting: str, said: absence_words.Regret,
          source: str) -> Outcome:
    """Record ``said`` for ``meeting``, confirm, tell the chair and the secretary, and send a
    configured stand-in what the members got."""
    day = date.fromisoformat(meeting)
    cal = ctx.calendar
    context = {"name": member.name, "absent": said.absent, "reason": said.reason, "wanted": meeting}
    if not cal.is_meeting(day) or cal.start(day) <= ctx.now:
        why = "past" if cal.is_meeting(day) else "no_meeting"
        upcoming = cal.upcoming_meeting(ctx.now)
        ctx.send("attendance_ack", [mail.sender], {**context, "problem": why, "day": day,
                                                   "meeting": agenda_common.meeting_context(ctx, upcoming)},
                 kind="attendance", meeting=upcoming.isoformat(), reply_to=mail)
        return Outcome("attendance", detail=f"{why}: {meeting}")
    state = AttendanceState.ABSENT if said.absent else AttendanceState.PRESENT
    stand_in = attendance.stand_in(member, said.substitute) if said.absent else None
    before = attendance.record(ctx, meeting, member, state, reason=said.reason, substitute=stand_in, source=source,
                               message_id=mail.message_id)
    if before and before["state"] == state.value and (before["substitute_name"] or None) == (
            stand_in[0] if stand_in else None):
        return Outcome("attendance", detail=f"{member.email} {state.value} on {meeting} (unchanged, {source})")
    if not before and state is AttendanceState.PRESENT and not attendance.away_through(ctx, member.email, meeting):
        return Outcome("attendance", detail=f"{member.email} present on {meeting} ({source}, as expected)")
    sent_now = False
    if before and before["substitute_email"] and (stand_in is None or stand_in[1] != before["substitute_email"]) \
            and before["substitute_email"] not in (a for _, a in attendance.substitutes(ctx, meeting)):
        # the stand-in is no longer needed: tell them if they already had the agenda
        if delivery.sent_final(ctx, meeting):
            ctx.send("attendance_stand_in_off", [before["substitute_email"]],
                     {"meeting": agenda_common.meeting_context(ctx, day), "name": before["substitute_name"],
                      "principal": member.name}, kind="attendance-notice", meeting=meeting)
    if stand_in and stand_in[1]:
        sent_now = delivery.send_to_stand_in(ctx, day, stand_in[0], stand_in[1])
    meeting_ctx = agenda_common.meeting_context(ctx, day)
    context.update({"meeting": meeting_ctx, "problem": "", "source": source,
                    "stand_in": stand_in[0] if stand_in else "", "stand_in_mailed": bool(stand_in and stand_in[1]),
                    "stand_in_sent_now": sent_now,
                    "configured": [n for n, _ in member.substitutes]})
    ctx.send("attendance_ack", [mail.sender], context, kind="attendance", meeting=meeting, reply_to=mail)
    secretary = secretary_for(ctx, day)
    told = [m for m in (*ctx.config.with_role("chair"), secretary) if m.email != member.email]
    ctx.send("attendance_notice", told or ctx.chancellery(),
             {**context, "absentees": attendance.absentees(ctx, meeting)}, kind="attendance-notice", meeting=meeting)
    return Outcome("attendance", detail=f"{member.email} {state.value} on {meeting} ({source})")


def on_auto_reply(ctx: Ctx, mail: ParsedMail, member: Member) -> None:
    """An out-of-office reply from a member: note the return date it names, if any. It is
    never an answer, an approval or a comment."""
    through = absence_words.return_date(f"{mail.subject}\n{mail.text}", ctx.today)
    if through is not None and through >= ctx.today:
        attendance.note_away(ctx, member, through, mail.message_id)
