"""Replies in a written procedure: a member's comment (the latest counts), and
from the proposer, the chair or the chancellery ``STATUS``, ``ÅTERKALLA``
(withdraw) and ``Skriftligt förfarande: nej`` (back to an ordinary meeting).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from daemon import attachments as att
from daemon import fields as fieldlib
from daemon import items
from daemon.answers import Outcome, explain
from daemon.circulation import records
from daemon.circulation.compilation import pass_late_comment
from daemon.circulation.records import (ACTIVE, CirculationState, active_for_item, asked, get, latest_for_item,
                                        mail_context, may_manage, stance_name)
from daemon.circulation.start import start_by_mail
from daemon.circulation.words import is_cancel_request, is_courtesy, is_status_request, start_request_ids
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply, read_stance
from daemon.store import from_iso, iso


def _explain(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict) -> None:
    explain(ctx, mail, member, reason, context, template="circulation_explain", item=context.get("item_id"))


def on_item_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome | None:
    """A reply to an item's mail (the acknowledgement, …) that is the written procedure's
    business: it names items to circulate, or its item is out for comments. None: not ours."""
    item_id = thread.get("item_id")
    item = ctx.store.item(item_id) if item_id else None
    if item is None:
        return None
    text = latest_reply(mail.text, [member.name, mail.sender_name])
    ids = start_request_ids(ctx.config.group.short, text)
    if ids:
        return start_by_mail(ctx, mail, member, ids)
    circ = active_for_item(ctx, item["id"])
    if circ and (item["state"] == "circulating" or (circ["state"] == "compiled" and not may_manage(member, circ))):
        return _handle(ctx, mail, member, circ, text)
    return None


def on_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """REPLY_HANDLERS for every circulation mail: a comment, or STATUS / ÅTERKALLA."""
    circ = get(ctx, int(thread["ref"])) if (thread.get("ref") or "").isdigit() else None
    circ = circ or (latest_for_item(ctx, thread["item_id"]) if thread.get("item_id") else None)
    if circ is None:
        _explain(ctx, mail, member, "unknown", {"item_id": thread.get("item_id")})
        return Outcome("unknown-circulation", "quarantine", item=thread.get("item_id"))
    return _handle(ctx, mail, member, circ, latest_reply(mail.text, [member.name, mail.sender_name]))


def _handle(ctx: Ctx, mail: ParsedMail, member: Member, circ: dict, text: str) -> Outcome:
    item_id = circ["item_id"]
    manager = may_manage(member, circ)
    context = {**mail_context(ctx, circ), "item_id": item_id}
    if is_status_request(text):
        if not manager:
            _explain(ctx, mail, member, "status_not_allowed", context)
            return Outcome("not-allowed", "quarantine", item=item_id, detail="STATUS from a member who may not ask")
        _send_status(ctx, circ, mail, member)
        return Outcome("circulation-status", item=item_id)
    if manager and circ["state"] in ACTIVE and fieldlib.is_withdrawal(text):
        _withdraw(ctx, circ, mail, member)
        return Outcome("withdrawal", item=item_id)
    if manager and circ["state"] == "open" and is_cancel_request(text):
        _cancel_to_meeting(ctx, circ, mail, member)
        return Outcome("circulation-cancelled", item=item_id)
    if circ["state"] not in ACTIVE:
        _explain(ctx, mail, member, "closed", context)
        return Outcome("circulation-closed", "quarantine", item=item_id, detail=circ["state"])
    if member.email == circ["proposer"]:
        _explain(ctx, mail, member, "proposer", context)
        return Outcome("unreadable", "quarantine", item=item_id, detail="the proposer's reply is not a comment")
    return _comment(ctx, mail, member, circ, text)


def _written_at(ctx: Ctx, mail: ParsedMail, circ: dict) -> datetime:
    """When the member wrote the reply: its Date when that lies between the start and
    now (a reply sent in time while the daemon was down is not late), else now."""
    if mail.date is not None and mail.date.tzinfo is not None:
        if from_iso(circ["started_at"]) <= mail.date <= ctx.now:
            return mail.date
    return ctx.now


def _comment(ctx: Ctx, mail: ParsedMail, member: Member, circ: dict, text: str) -> Outcome:
    item_id = circ["item_id"]
    intake = ctx.config.intake
    checked = att.check(mail.attachments, intake.max_attachment_bytes, intake.max_attachments, ctx.language)
    if not text and not any(c.problem is None for c in checked):
        _explain(ctx, mail, member, "empty", {**mail_context(ctx, circ), "item_id": item_id,
                                              "problems": [c.problem for c in checked if c.problem]})
        return Outcome("unreadable", "quarantine", item=item_id, detail="no comment found in the reply")
    stance = read_stance(text)
    previous = ctx.store.one("SELECT * FROM comments WHERE circulation_id = ? AND member = ? AND replaced_by IS NULL",
                             [circ["id"], member.email])
    if previous and stance is None and is_courtesy(text) and not any(c.problem is None for c in checked):
        ctx.event("a thank-you after a comment; the comment stands", actor=member.email, item=item_id)
        return Outcome("courtesy", item=item_id, detail="not a new comment")
    written = _written_at(ctx, mail, circ)
    late = circ["state"] == "compiled" or written > from_iso(circ["deadline"])
    comment_id = ctx.store.db["comments"].insert({
        "circulation_id": circ["id"], "member": member.email, "message_id": mail.message_id,
        "written_at": iso(written), "received_at": iso(ctx.now), "stance": stance, "text": text, "late": int(late),
    }).last_pk
    if previous:
        ctx.store.db["comments"].update(previous["id"], {"replaced_by": comment_id})
    if member.email not in asked(circ):  # a member who joined after the start still counts
        ctx.store.db["circulations"].update(circ["id"], {"members": json.dumps(asked(circ) + [member.email])})
    rows = att.keep(ctx.store, item_id, checked, ctx.now, mail.message_id, owner="comment", owner_id=str(comment_id))
    ctx.event(f"comment{' (late)' if late else ''}{' replacing an earlier one' if previous else ''}: "
              f"{stance or 'no stated stance'}", actor=member.email, item=item_id, meeting=circ["meeting"],
              detail={"comment": comment_id, "attachments": [r["name"] for r in rows]})
    circ = get(ctx, circ["id"])
    if circ["state"] == "compiled":
        pass_late_comment(ctx, circ, comment_id)
    ctx.send("circulation_receipt", [mail.sender],
             {**mail_context(ctx, circ), "name": member.name, "text": text, "stance": stance_name(ctx, stance, True),
              "late": late, "replaced": bool(previous), "added": [r["name"] for r in rows],
              "problems": [c.problem for c in checked if c.problem]},
             kind="circulation-receipt", item=item_id, meeting=circ["meeting"], ref=str(circ["id"]), reply_to=mail)
    return Outcome("comment", item=item_id, detail=("late, " if late else "") + (stance or "no stated stance"))


def _send_status(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    rows, silent = records.answers(ctx, circ)
    ctx.send("circulation_status", [mail.sender],
             {**mail_context(ctx, circ), "name": member.name, "answers": rows, "silent": silent},
             kind="circulation-status", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]),
             reply_to=mail)


# --- ending early ------------------------------------------------------------------


def _withdraw(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    """ÅTERKALLA: the item is withdrawn, the members are told, the sender gets a confirmation."""
    item = ctx.store.item(circ["item_id"])
    records.close(ctx, circ, CirculationState.WITHDRAWN, by=member.email)
    if item["state"] in ("circulating", "planned"):
        items.withdraw(ctx, item["id"], source="circulation", announce_it=False)
        ctx.event("item withdrawn", actor=member.email, item=item["id"], meeting=item["meeting"])
        items.announce(ctx, item["id"], "withdrawn", "circulation")
    cc = [circ["proposer"]] if circ["proposer"] != member.email else []
    ctx.send("circulation_withdrawn", [mail.sender], {**mail_context(ctx, get(ctx, circ["id"])), "name": member.name,
                                                      "cancelled_only": False},
             kind="circulation-withdrawn", cc=cc, item=item["id"], meeting=circ["meeting"], ref=str(circ["id"]),
             reply_to=mail)


def _cancel_to_meeting(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    """``Skriftligt förfarande: nej``: no written procedure after all; the item goes
    back on the first meeting still open for proposals, as an ordinary item."""
    item = ctx.store.item(circ["item_id"])
    wanted = date.fromisoformat(circ["planned_meeting"]) if circ["planned_meeting"] else None
    meeting = ctx.calendar.open_meeting(ctx.now, not_before=wanted)
    items.plan(ctx, item["id"], meeting.isoformat(), source="circulation", changes={"written_procedure": 0},
               announce_it=False)
    records.close(ctx, circ, CirculationState.CANCELLED, by=member.email, note=meeting.isoformat())
    items.announce(ctx, item["id"], "amended", "circulation")
    cc = [circ["proposer"]] if circ["proposer"] != member.email else []
    ctx.send("circulation_withdrawn", [mail.sender],
             {**mail_context(ctx, get(ctx, circ["id"])), "name": member.name, "cancelled_only": True,
              "new_meeting": meeting},
             kind="circulation-withdrawn", cc=cc, item=item["id"], meeting=meeting.isoformat(), ref=str(circ["id"]),
             reply_to=mail)
