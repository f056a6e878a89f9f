"""Review in Word: the chair or the chancellery answers an agenda mail with the
edited .docx, or with "OK" / "Godkänd" / "Approved".

The item table is read back: the new order, changed titles, presenters, kinds
and minutes; a removed item row postpones the item to the next meeting (its
proposer is told); a row without a number becomes a new item; a row with
the number of an item planned for another meeting brings it here. Standing
items and the break are rows like the others (marked "Stående"/"Paus" in the
number column) and may be moved, changed or removed for this meeting.

This module routes the replies (``on_reply``, ``on_command``): ``reading``
reads the document, ``apply`` applies it, ``approval`` approves. Nothing
changes unless the whole table can be read: otherwise the reviewer gets one
answer naming every row and cell that could not be read. Every version is
kept; an edited document with "Godkänd" in the reply makes the new version
and approves it in one go.
"""

from __future__ import annotations

import re
from datetime import date

from daemon.agenda import common, versions
from daemon.agenda.apply import apply_document
from daemon.agenda.approval import answer, approve_version
from daemon.agenda.reading import is_approval, is_calendar_reply
from daemon.answers import Outcome
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.mail.outgoing import DOCX
from daemon.mail.replies import latest_reply

MEETING_TAG = re.compile(r"\[([A-Za-z][A-Za-z0-9]{0,11}) (\d{4}-\d{2}-\d{2})\]")
OTHER_DOCUMENTS = (".doc", ".odt", ".pdf", ".rtf", ".pages")


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """New mail (no thread headers) that belongs to the agenda: a calendar client's
    answer to an invitation, or a mail whose subject has a meeting tag ``[KLG 2026-12-01]``."""
    status = is_calendar_reply(mail)
    if status:
        ctx.event(f"calendar answer: {status}", actor=mail.sender, detail={"subject": mail.subject})
        return Outcome("calendar-reply", detail=status)
    m = MEETING_TAG.search(mail.subject)
    if not m or m[1].upper() != ctx.config.group.short:
        return None
    meeting = m[2]
    if versions.current(ctx.store, meeting) is None:
        return None
    thread = {"kind": "agenda-draft", "meeting": meeting, "ref": None, "item_id": None, "message_id": None}
    return on_reply(ctx, mail, member, thread)


def on_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """A reply to one of the agenda's mails: an edited document, an approval, or neither."""
    status = is_calendar_reply(mail)
    if status:
        ctx.event(f"calendar answer: {status}", actor=mail.sender, meeting=thread.get("meeting"))
        return Outcome("calendar-reply", detail=status)
    d = thread.get("meeting")
    current = versions.current(ctx.store, d) if d else None
    if current is None:
        answer(ctx, mail, member, "no_agenda", {})
        return Outcome("agenda-reply", "quarantine", detail="no agenda for this thread")
    meeting = date.fromisoformat(d)
    context = {"meeting": common.meeting_context(ctx, meeting)}
    if not common.may_review(member):
        answer(ctx, mail, member, "not_reviewer", context, meeting=d)
        return Outcome("agenda-reply", detail="not a reviewer")
    if ctx.now >= common.calendar(ctx).start(meeting):
        answer(ctx, mail, member, "started", context, meeting=d)
        return Outcome("agenda-reply", detail="meeting started")

    text = latest_reply(mail.text)
    approve = is_approval(text)
    docs = [a for a in mail.attachments if a.name.lower().endswith(".docx") or a.content_type == DOCX]
    base_number = _ref_version(thread.get("ref")) or current["version"]
    if base_number < current["version"]:
        answer(ctx, mail, member, "stale", {**context, "base": base_number, "current": current["version"],
                                            "author": common.member_name(ctx, current["author"]) or current["author"]},
               meeting=d, attachments=[common.version_attachment(ctx, d, current)])
        return Outcome("agenda-reply", "quarantine", detail=f"based on version {base_number}, current {current['version']}")
    if docs:
        return apply_document(ctx, mail, member, meeting, current, docs, approve)
    if approve:
        return approve_version(ctx, mail, member, meeting, current)
    others = [a.name for a in mail.attachments if a.name.lower().endswith(OTHER_DOCUMENTS)]
    answer(ctx, mail, member, "wrong_format" if others else "not_understood", {**context, "names": others,
                                                                                "version": current["version"]},
           meeting=d)
    return Outcome("agenda-reply", "quarantine", detail="neither a .docx nor an approval")


def _ref_version(ref: str | None) -> int | None:
    return int(ref[1:]) if ref and re.fullmatch(r"v\d+", ref) else None
