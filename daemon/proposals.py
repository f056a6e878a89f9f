"""Proposals: a member's new mail becomes an agenda item; replies amend or
withdraw it.

The subject is the title, the optional body fields (see ``fields``) set
presenter, time, kind, meeting and written procedure, the rest is the
description, the attachments are the item's documents. The item is planned
for the next meeting whose proposal deadline has not passed; a proposal that
missed the deadline goes to the meeting after and is marked late.
"""

from __future__ import annotations

import re
from datetime import date

from daemon import attachments as att
from daemon import fields as fieldlib
from daemon import items
from daemon.config import Member
from daemon.context import Ctx
from daemon.answers import Outcome, explain
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.records import from_mail as records_fields
from daemon.schedule import Calendar, NoMeeting

SUBJECT_PREFIX = re.compile(r"^\s*((re|sv|aw|fw|fwd|vb|vs|wg|tr|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
MAX_TITLE = 200
ACTIVE = ("planned",)


def clean_title(subject: str, short: str) -> str:
    """The item title from a subject: no Re:/VB:/Fwd: prefixes, no [KLG-…] tag."""
    title = re.sub(rf"\[{re.escape(short)}[- ][^\]]*\]", "", subject, flags=re.IGNORECASE)
    title = SUBJECT_PREFIX.sub("", title)
    title = " ".join(title.split()).strip(" -:")
    return title[:MAX_TITLE].rstrip() + ("…" if len(title) > MAX_TITLE else "")


def unreadable_notes(mail: ParsedMail, language: str) -> list[str]:
    """One plain line per part of ``mail`` that could not be read (it is kept as it came)."""
    sv = language == "sv"
    notes = []
    for a in mail.attachments:
        if not a.unreadable:
            continue
        if a.label:
            notes.append(f"Bilagan {a.label} kunde inte läsas och har sparats som den kom ({a.name})." if sv
                         else f"The attachment {a.label} could not be read and was kept as it came ({a.name}).")
        else:
            notes.append(f"En del av mejlet kunde inte läsas och har sparats som den kom ({a.name})." if sv
                         else f"A part of the mail could not be read and was kept as it came ({a.name}).")
    return notes


def calendar(ctx: Ctx) -> Calendar:
    return ctx.calendar


def plan(ctx: Ctx, requested: date | None) -> tuple[date, bool, list[str]]:
    """(meeting, late, notes) for a proposal arriving at ``ctx.now``.

    Late means the meeting the proposer wanted, or the upcoming one, has
    already passed its proposal deadline, so the item goes to a later one.
    """
    cal = calendar(ctx)
    sv = ctx.language == "sv"
    notes: list[str] = []
    upcoming = cal.upcoming_meeting(ctx.now)
    if requested and fieldlib.too_far(requested, ctx.today):
        notes.append(f"Möte: {requested} ligger för långt fram; ärendet planerades för nästa möte." if sv
                     else f"Meeting: {requested} is too far ahead; the item was planned for the next meeting.")
        requested = None
    wanted = None
    if requested:
        try:
            wanted = cal.next_meeting(requested, inclusive=True)
        except NoMeeting:
            notes.append(f"Inget möte är planerat efter {requested}; ärendet planerades för nästa möte." if sv
                         else f"No meeting is scheduled after {requested}; the item was planned for the next meeting.")
    if wanted:
        if wanted != requested:
            reason = cal.skip_reason(requested) or ("inget möte den dagen" if sv else "no meeting that day")
            notes.append(f"Inget möte {requested} ({reason}); närmaste möte därefter är {wanted}." if sv
                         else f"No meeting on {requested} ({reason}); the next one after it is {wanted}.")
        meeting = cal.open_meeting(ctx.now, not_before=wanted)
        return meeting, meeting != wanted, notes
    meeting = cal.open_meeting(ctx.now)
    return meeting, meeting != upcoming, notes


def on_new_mail(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome:
    """A new mail from a member: a proposal."""
    config = ctx.config
    title = clean_title(mail.subject, config.group.short)
    if not title:
        explain(ctx, mail, member, "empty_subject", {})
        return Outcome("unreadable", "quarantine", detail="empty subject")
    parsed = fieldlib.parse(mail.text, ctx.today, ctx.language)
    values = parsed.values
    warnings = list(parsed.warnings)
    requested = values.get("meeting")
    meeting, late, notes = plan(ctx, requested if isinstance(requested, date) else None)
    warnings += notes
    checked = att.check(mail.attachments, config.intake.max_attachment_bytes, config.intake.max_attachments, ctx.language)
    warnings += [c.problem for c in checked if c.problem] + unreadable_notes(mail, ctx.language)
    case_number, case_warnings = records_fields.case_number(ctx, values)
    warnings += case_warnings

    item_id = items.create(
        ctx, title=title, description=parsed.description, proposer=member.email, meeting=meeting.isoformat(),
        presenter=items.resolve_presenter(ctx, values.get("presenter"), member), minutes=values.get("minutes"),
        kind=values.get("kind"), written_procedure=values.get("written_procedure") is True, late=late,
        origin="proposal", source="proposer", source_message=mail.message_id, case_number=case_number,
        announce_it=False)
    rows = att.keep(ctx.store, item_id, checked, ctx.now, mail.message_id)
    warnings += records_fields.apply_secrecy(ctx, item_id, values, member)  # after the documents it may name
    long_doc = _flag_long_documents(ctx, item_id, meeting, rows)
    ctx.event(f"proposal received: {title}", actor=member.email, item=item_id, meeting=meeting.isoformat(),
              detail={"late": late, "long_document": long_doc, "warnings": warnings})
    items.announce(ctx, item_id, "created", "proposer")  # after its documents are kept: a circulation sends them
    ctx.send("ack", [mail.sender], {"item": items.summary(ctx, item_id), "name": member.name, "late": late,
                                    "long_document": long_doc, "warnings": warnings},
             kind="ack", item=item_id, meeting=meeting.isoformat(), reply_to=mail)
    return Outcome("proposal", item=item_id, detail="late" if late else None)


def _flag_long_documents(ctx: Ctx, item_id: str, meeting: date, rows: list[dict]) -> bool:
    intake = ctx.config.intake
    long_ones = [r for r in rows if att.is_long(r, intake.long_document_pages, intake.long_document_bytes)]
    if long_ones and ctx.now > calendar(ctx).long_document_deadline(meeting):
        items.amend(ctx, item_id, {"long_document": 1}, source="proposer", announce_it=False)
        return True
    return False


def on_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """A reply about an item: withdraw it, or change fields and add attachments."""
    item = ctx.store.item(thread["item_id"])
    if item is None:
        explain(ctx, mail, member, "unknown_item", {"item_id": thread["item_id"]})
        return Outcome("unknown-item", "quarantine")
    item_id = item["id"]
    may_change = member.email == item["proposer"] or member.has("chair") or member.has("chancellery")
    if not may_change:
        explain(ctx, mail, member, "not_proposer", {"item": item})
        return Outcome("not-allowed", "quarantine", item=item_id, detail="only the proposer, chair or chancellery may change an item")
    if item["state"] != "planned":
        explain(ctx, mail, member, "item_closed", {"item": item})
        return Outcome("item-closed", "quarantine", item=item_id, detail=item["state"])
    text = latest_reply(mail.text)
    if fieldlib.is_withdrawal(text):
        items.withdraw(ctx, item_id, source="proposer", announce_it=False)
        ctx.event("item withdrawn", actor=member.email, item=item_id, meeting=item["meeting"])
        items.announce(ctx, item_id, "withdrawn", "proposer")
        ctx.send("withdrawn", [mail.sender], {"item": items.summary(ctx, item_id), "name": member.name},
                 kind="withdrawn", item=item_id, meeting=item["meeting"], reply_to=mail)
        return Outcome("withdrawal", item=item_id)

    parsed = fieldlib.parse(text, ctx.today, ctx.language)
    changes, warnings = _changes(ctx, item, parsed, member)
    checked = att.check(mail.attachments, ctx.config.intake.max_attachment_bytes,
                        ctx.config.intake.max_attachments, ctx.language)
    warnings += [c.problem for c in checked if c.problem] + unreadable_notes(mail, ctx.language)
    if not changes and "secrecy" not in parsed.values and not any(c.problem is None for c in checked):
        explain(ctx, mail, member, "amend_nothing", {"item": item, "warnings": warnings})
        return Outcome("unreadable", "quarantine", item=item_id, detail="reply with no change")
    fields = {k: v for k, v in changes.items() if k in items.AMENDABLE}
    if "meeting" in changes:
        items.plan(ctx, item_id, changes["meeting"], source="proposer", late=bool(changes["late"]), changes=fields,
                   announce_it=False)
    elif fields:
        items.amend(ctx, item_id, fields, source="proposer", announce_it=False)
    rows = att.keep(ctx.store, item_id, checked, ctx.now, mail.message_id)
    secrecy_warnings = records_fields.apply_secrecy(ctx, item_id, parsed.values, member)
    warnings += secrecy_warnings
    if "secrecy" in parsed.values and not secrecy_warnings:
        changes["secrecy"] = parsed.values["secrecy"]
    meeting = date.fromisoformat(changes.get("meeting", item["meeting"]))
    long_doc = _flag_long_documents(ctx, item_id, meeting, rows)
    ctx.event("item amended", actor=member.email, item=item_id, meeting=meeting.isoformat(),
              detail={"changes": changes, "attachments": [r["name"] for r in rows]})
    items.announce(ctx, item_id, "amended", "proposer")
    ctx.send("amended", [mail.sender], {"item": items.summary(ctx, item_id), "name": member.name, "changes": sorted(changes),
                                        "added": [r["name"] for r in rows], "warnings": warnings,
                                        "long_document": long_doc},
             kind="amended", item=item_id, meeting=meeting.isoformat(), reply_to=mail)
    return Outcome("amendment", item=item_id)


def _changes(ctx: Ctx, item: dict, parsed: fieldlib.Fields, member: Member) -> tuple[dict, list[str]]:
    values = parsed.values
    warnings = list(parsed.warnings)
    changes: dict = {}
    for key in ("title", "description", "minutes", "kind"):
        if key in values and values[key] != item[key]:
            changes[key] = values[key]
    if "presenter" in values:
        changes["presenter"] = items.resolve_presenter(ctx, values["presenter"], member)
    if isinstance(values.get("written_procedure"), bool):
        changes["written_procedure"] = int(values["written_procedure"])
    case_number, case_warnings = records_fields.case_number(ctx, values)
    warnings += case_warnings
    if case_number and case_number != item.get("case_number"):
        changes["case_number"] = case_number
    if isinstance(values.get("meeting"), date):
        meeting, late, notes = plan(ctx, values["meeting"])
        warnings += notes
        if meeting.isoformat() != item["meeting"]:
            changes.update(meeting=meeting.isoformat(), late=int(late))
    return changes, warnings
