"""Starting a written procedure: from a proposal or an amendment that asks for
it, from the agenda review, or from a ``Skriftligt förfarande: KLG-2026-042``
mail by the chair, the chancellery or the proposer; and ending one when its
item is withdrawn elsewhere (the item listener).
"""

from __future__ import annotations

import json
from datetime import date

from daemon import items
from daemon.answers import Outcome, explain
from daemon.circulation import held as held_lib
from daemon.circulation import records
from daemon.circulation.records import CirculationState, active_for_item, get, mail_context
from daemon.circulation.settings import settings
from daemon.circulation.timing import timing
from daemon.circulation.words import start_request_ids
from daemon.config import Member
from daemon.context import Ctx
from daemon.hooks import ItemChange
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.records import conflicts
from daemon.store import iso


def start(ctx: Ctx, item_id: str, started_by: str, starter: Member | None = None) -> dict:
    """Circulate ``item_id`` now: record it, mail every member but the proposer,
    and tell the proposer (and whoever started it) the deadline and the deciding meeting.
    Beyond ``[security] mail_for_others_per_sender_per_hour`` it is held instead
    (``circulation_held``): recorded, not mailed, listed to the chancellery."""
    item = ctx.store.item(item_id)
    s = settings(ctx.config)
    cal = ctx.calendar
    planned = date.fromisoformat(item["meeting"]) if item["meeting"] else None
    t = timing(cal, s, ctx.now, planned)
    # not the proposer, nor a member with a conflict of interest in the item (jäv)
    excluded = {item["proposer"], *conflicts.of_item(ctx.store, item_id)}
    members = [m for m in ctx.config.members if m.email not in excluded]
    row = {
        "item_id": item_id, "state": "open", "proposer": item["proposer"], "started_by": started_by,
        "started_at": iso(ctx.now), "deadline": iso(t.deadline), "reminder_at": iso(t.reminder) if t.reminder else None,
        "planned_meeting": planned.isoformat() if planned else None, "meeting": t.meeting.isoformat(),
        "members": json.dumps([m.email for m in members]),
    }
    if starter is not None and held_lib.may_release(starter, item_id, ctx):
        held_lib.release(ctx, item_id, starter)
    elif held_lib.over_limit(ctx, started_by, item["proposer"]):
        return held_lib.hold(ctx, row)
    circ_id = ctx.store.db["circulations"].insert(row).last_pk
    items.circulate(ctx, item_id, t.meeting.isoformat())
    circ = get(ctx, circ_id)
    ctx.event(f"written procedure started: comments until {t.deadline.isoformat(timespec='minutes')}, "
              f"decision {t.meeting}", actor=starter.email if starter else "klg", item=item_id,
              meeting=t.meeting.isoformat(), detail={"started_by": started_by, "members": len(members),
                                                     "planned_meeting": circ["planned_meeting"]})
    context = mail_context(ctx, circ)
    documents = records.item_documents(ctx, item_id)
    for m in members:
        ctx.send("circulation", [m], {**context, "name": m.name}, kind="circulation", item=item_id,
                 meeting=circ["meeting"], ref=str(circ_id), attachments=documents)
    proposer = ctx.config.member_by_address(item["proposer"])
    cc = [starter] if starter and starter.email != item["proposer"] else []
    ctx.send("circulation_started", [item["proposer"]],
             {**context, "name": proposer.name if proposer else "", "started_by": started_by,
              "starter_name": starter.name if starter else None, "moved": planned is not None and planned != t.meeting,
              "recipients": [m.name for m in members]},
             kind="circulation-started", cc=cc, item=item_id, meeting=circ["meeting"], ref=str(circ_id))
    return circ


def on_item(ctx: Ctx, change: ItemChange) -> None:
    """Item listener: start a circulation for an item marked for written procedure;
    end it when the item is withdrawn elsewhere."""
    item_id, what = change.item_id, change.what
    item = ctx.store.item(item_id)
    if item is None:
        return
    if what == "withdrawn":
        circ = active_for_item(ctx, item_id)
        if circ:
            records.close(ctx, circ, CirculationState.WITHDRAWN, by="klg")
        return
    if what not in ("created", "amended", "written_procedure"):
        return
    if what != "written_procedure" and not item["written_procedure"]:
        return
    if item["state"] != "planned" or active_for_item(ctx, item_id) or held_lib.held(ctx, item_id):
        return  # a held one waits for the chancellery, not for the next amendment
    by = {"created": "proposal", "amended": "amendment", "written_procedure": "agenda-review"}[what]
    start(ctx, item_id, by)


def start_by_mail(ctx: Ctx, mail: ParsedMail, member: Member, ids: list[str]) -> Outcome:
    """``Skriftligt förfarande: KLG-2026-042`` from the chair, the chancellery or the proposer."""
    started, problems = [], []
    sv = ctx.language == "sv"
    for item_id in ids:
        item = ctx.store.item(item_id)
        if item is None:
            problems.append(f"{item_id}: inget sådant ärende finns" if sv else f"{item_id}: no such item")
        elif not (member.email == item["proposer"] or member.has("chair") or member.has("chancellery")):
            problems.append(f"{item_id}: bara förslagsställaren, kommundirektören eller kansliet kan begära skriftligt förfarande"
                            if sv else f"{item_id}: only the proposer, the chair or the chancellery can ask for a written procedure")
        elif active_for_item(ctx, item_id):
            problems.append(f"{item_id}: går redan ut på skriftligt förfarande" if sv
                            else f"{item_id}: is already under written procedure")
        elif item["state"] != "planned":
            problems.append(f"{item_id}: ärendet är {item['state']} och kan inte skickas ut" if sv
                            else f"{item_id}: the item is {item['state']} and cannot be circulated")
        elif start(ctx, item_id, member.email, member)["state"] == "held":
            limit = ctx.config.security.mail_for_others_per_sender_per_hour
            problems.append(f"{item_id}: väntar; du har redan startat {limit} skriftliga förfaranden den senaste "
                            "timmen, så kansliet har fått en lista och startar det" if sv else
                            f"{item_id}: waits; you already started {limit} written procedures in the last hour, so "
                            "the chancellery has been sent a list and will start it")
        else:
            started.append(item_id)
    if problems:
        item_id = (started or ids)[0]
        explain(ctx, mail, member, "start_problems", {"problems": problems, "started": started, "item_id": item_id},
                template="circulation_explain", item=item_id)
    if not started:
        return Outcome("circulation-refused", "quarantine", item=ids[0], detail="; ".join(problems)[:500])
    return Outcome("circulation-start", item=started[0], detail=", ".join(started))


def on_held_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """REPLY_HANDLERS for the list of held circulations: ``Skriftligt förfarande: KLG-…`` starts them."""
    ids = start_request_ids(ctx.config.group.short, latest_reply(mail.text, [member.name, mail.sender_name]))
    if ids:
        return start_by_mail(ctx, mail, member, ids)
    explain(ctx, mail, member, "held_howto", {}, template="circulation_explain")
    return Outcome("unreadable", "quarantine", detail="reply to the held list without an item to start")


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """COMMANDS: a new mail naming items to circulate, e.g. ``Skriftligt förfarande: KLG-2026-042``."""
    ids = start_request_ids(ctx.config.group.short, mail.text)
    return start_by_mail(ctx, mail, member, ids) if ids else None
