"""Telling the chair and the chancellery about item changes that happen while
an agenda is out for review (or already sent): a late proposal they might
want to take now, an item withdrawn or changed by its proposer, new documents.

The agenda itself does not change: what was approved is what goes out. The
notice says what to do (edit the document and reply) if it should.
"""

from __future__ import annotations

from datetime import date

from daemon.agenda import common, review, versions, words
from daemon.context import Ctx
from daemon.schedule import NoMeeting


def on_item_change(ctx: Ctx, item_id: str, what: str) -> None:
    """ITEM_HOOKS entry: notice changes to items on an agenda under review or sent."""
    if review.APPLYING.get():
        return  # the agenda's own changes
    item = ctx.store.item(item_id)
    if item is None or not item["meeting"]:
        return
    cal = common.calendar(ctx)
    if what == "created":
        if not item["late"]:
            return
        try:
            upcoming = cal.upcoming_meeting(ctx.now)
        except NoMeeting:
            return
        u = upcoming.isoformat()
        if u != item["meeting"] and versions.current(ctx.store, u) is not None:
            _send(ctx, upcoming, "late", item, [])
        return
    meeting = date.fromisoformat(item["meeting"])
    current = versions.current(ctx.store, item["meeting"])
    if current is None or ctx.now >= cal.start(meeting):
        return
    row = next((r for r in current["rows"] if r.get("id") == item_id), None)
    if row is None:
        return
    if what == "withdrawn" or item["state"] != "planned":
        _send(ctx, meeting, "withdrawn", item, [])
        return
    now_row = common.row_for(ctx, item)
    differences = [f for f in ("title", "presenter", "minutes") if now_row[f] != row[f]]
    if words.kind_label(now_row, ctx.language) != words.kind_label(row, ctx.language):
        differences.append("kind")
    added = [n for n in now_row["attachments"] if n not in row["attachments"]]
    if differences or added:
        _send(ctx, meeting, "amended", item, differences, added=added, row=row, now_row=now_row)


def _send(ctx: Ctx, meeting: date, what: str, item: dict, differences: list[str], **extra) -> None:
    d = meeting.isoformat()
    current = versions.current(ctx.store, d)
    sent = versions.final_version(ctx.store, d)
    ctx.send("agenda_notice", common.reviewers(ctx),
             {"meeting": common.meeting_context(ctx, meeting), "what": what, "item": item,
              "proposer": common.member_name(ctx, item["proposer"]), "differences": differences,
              "version": current["version"], "sent": sent is not None, **extra},
             kind="agenda-notice", meeting=d, item=None, ref=f"v{current['version']}",
             attachments=[common.version_attachment(ctx, d, current)])
    ctx.event(f"agenda: notice ({what}) about {item['id']}", item=item["id"], meeting=d)
