"""What a written procedure's steps do (``daemon.circulation.deadline`` says when):
one reminder to the silent before the deadline, and at the deadline the
compilation, with the item put on the deciding meeting as a decision item."""

from __future__ import annotations

from datetime import date

from daemon import items
from daemon.circulation import records
from daemon.circulation.compilation import counts, store_compilation
from daemon.circulation.records import (
    CirculationState,
    asked,
    current_comments,
    get,
    mail_context,
)
from daemon.context import Ctx
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.records import conflicts
from daemon.store import from_iso, iso


def remind(ctx: Ctx, circ_id: int) -> None:
    """One reminder to each member asked who has not answered (none after the deadline)."""
    circ = get(ctx, circ_id)
    if circ is None or circ["state"] != "open" or ctx.now >= from_iso(circ["deadline"]):
        return
    answered = {c["member"] for c in current_comments(ctx, circ_id)}
    context = mail_context(ctx, circ)
    answered |= set(conflicts.of_item(ctx.store, circ["item_id"]))  # jäv declared since: not reminded
    silent = [m for m in (ctx.config.member_by_address(e) for e in asked(circ) if e not in answered) if m]
    for m in silent:
        ctx.send("circulation_reminder", [m], {**context, "name": m.name}, kind="circulation-reminder",
                 item=circ["item_id"], meeting=circ["meeting"], ref=str(circ_id))
    ctx.event(f"reminder sent to {len(silent)} members", item=circ["item_id"], meeting=circ["meeting"],
              detail={"to": [m.email for m in silent]})


def close_comments(ctx: Ctx, circ_id: int) -> None:
    """At the deadline: compile, put the item on the deciding meeting as a decision
    item with the compilation attached, and send the compilation to the proposer."""
    circ = get(ctx, circ_id)
    if circ is None or circ["state"] != "open":
        return
    item = ctx.store.item(circ["item_id"])
    if item["state"] != "circulating":  # changed by something else meanwhile: nothing to put up
        records.close(ctx, circ, CirculationState.WITHDRAWN, by="klg")
        return
    cal = ctx.calendar
    meeting = date.fromisoformat(circ["meeting"])
    moved_from = None
    if not cal.is_meeting(meeting) or cal.proposal_deadline(meeting) <= ctx.now:
        new = cal.open_meeting(ctx.now, not_before=meeting)  # the daemon was down, or the meeting was cancelled
        if new != meeting:
            moved_from, meeting = meeting, new
    records.transition(ctx, circ, CirculationState.COMPILED, compiled_at=iso(ctx.now), meeting=meeting.isoformat())
    items.plan(ctx, item["id"], meeting.isoformat(), source="circulation", origin="circulation",
               changes={"kind": "beslut"}, announce_it=False)
    circ = get(ctx, circ_id)
    name, data = store_compilation(ctx, circ)
    ctx.event(f"written procedure compiled; decision item on {meeting}", item=item["id"], meeting=meeting.isoformat())
    items.announce(ctx, item["id"], "amended", "circulation")
    rows, silent = records.answers(ctx, circ)
    comments = current_comments(ctx, circ_id)
    proposer = ctx.config.member_by_address(circ["proposer"])
    ctx.send("circulation_compiled", [circ["proposer"]],
             {**mail_context(ctx, circ), "name": proposer.name if proposer else "", "answers": rows,
              "silent": silent, "moved_from": moved_from, "counts": counts(comments, circ),
              "compilation": name},
             kind="circulation-compiled", item=item["id"], meeting=meeting.isoformat(), ref=str(circ_id),
             attachments=[OutAttachment(name, data, DOCX),
                          *records.comment_documents(ctx, [c["id"] for c in comments])])
