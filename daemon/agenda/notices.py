"""Telling the chair and the chancellery about item changes that happen while
an agenda is out for review (or already sent): a late proposal they might
want to take now, an item withdrawn or changed by its proposer, new documents.

The agenda itself does not change: what was approved is what goes out. The
notice says what to do (edit the document and reply) if it should.

Changes are gathered, not mailed one by one: the item hook stores each one in
``agenda_notices`` and the step ``agenda-notices:<date>:<id>`` mails all that
wait for a meeting in one notice. The first change after a quiet spell is told
in the same pass (the step runs right after the mail that caused it); changes
within ``GATHER`` of the last notice wait until it has passed, so thirty
amendments give one or two notices, not thirty, and none waits more than
``GATHER`` (the scheduler's safety net wakes the daemon every five minutes).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial

from daemon.agenda import common, versions, words
from daemon.context import Ctx
from daemon.hooks import ItemChange
from daemon.schedule import NoMeeting
from daemon.steps import Step
from daemon.store import from_iso, iso
from daemon.texts import plural

GATHER = timedelta(minutes=5)


def on_item_change(ctx: Ctx, change: ItemChange) -> None:
    """Item listener: notice changes to items on an agenda under review or sent."""
    if change.source == "agenda":
        return  # the agenda's own changes: the reviewers made them
    item_id, what = change.item_id, change.what
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
            _queue(ctx, upcoming, "late", item, [])
        return
    meeting = date.fromisoformat(item["meeting"])
    current = versions.current(ctx.store, item["meeting"])
    if current is None or ctx.now >= cal.start(meeting):
        return
    row = next((r for r in current["rows"] if r.get("id") == item_id), None)
    if row is None:
        return
    if what == "withdrawn" or item["state"] != "planned":
        _queue(ctx, meeting, "withdrawn", item, [])
        return
    now_row = common.row_for(ctx, item)
    differences = [f for f in ("title", "presenter", "minutes") if now_row[f] != row[f]]
    if words.kind_label(now_row, ctx.language) != words.kind_label(row, ctx.language):
        differences.append("kind")
    added = [n for n in now_row["attachments"] if n not in row["attachments"]]
    if differences or added:
        _queue(ctx, meeting, "amended", item, differences, added=added, row=row, now_row=now_row)


def _queue(ctx: Ctx, meeting: date, what: str, item: dict, differences: list[str], **extra) -> None:
    """Keep the change for the next notice about ``meeting`` (see the module docstring)."""
    d = meeting.isoformat()
    ctx.store.db["agenda_notices"].insert({
        "meeting": d, "item_id": item["id"], "what": what, "created_at": iso(ctx.now),
        "detail": json.dumps({"differences": differences, **extra}, ensure_ascii=False, default=str)})
    ctx.event(f"agenda: change to tell ({what}) about {item['id']}", item=item["id"], meeting=d)


def due(ctx: Ctx) -> list[Step]:
    """STEPS: one notice per meeting with changes waiting, once ``GATHER`` has passed since the last."""
    steps = []
    for row in ctx.store.all("SELECT meeting, MIN(id) AS first FROM agenda_notices WHERE sent_at IS NULL "
                             "GROUP BY meeting ORDER BY meeting"):
        last = ctx.store.one("SELECT MAX(sent_at) AS at FROM agenda_notices WHERE meeting = ? AND sent_at IS NOT NULL",
                             [row["meeting"]])
        if last and last["at"] and ctx.now - from_iso(last["at"]) < GATHER:
            continue
        steps.append(Step(f"agenda-notices:{row['meeting']}:{row['first']}",
                          partial(send_notices, meeting=date.fromisoformat(row["meeting"])),
                          f"tell the chair and chancellery of item changes for {row['meeting']}"))
    return steps


def send_notices(ctx: Ctx, meeting: date) -> None:
    """Mail every change waiting for ``meeting`` in one notice, with the newest version attached."""
    d = meeting.isoformat()
    pending = ctx.store.all("SELECT * FROM agenda_notices WHERE meeting = ? AND sent_at IS NULL ORDER BY id", [d])
    current = versions.current(ctx.store, d)
    if not pending:
        return
    if current is None:  # the agenda is gone (meeting carried over): nothing to tell about it
        ctx.store.db.execute("UPDATE agenda_notices SET sent_at = ? WHERE meeting = ? AND sent_at IS NULL",
                             [iso(ctx.now), d])
        return
    sent = versions.final_version(ctx.store, d)
    notices = []
    for p in pending:
        item = ctx.store.item(p["item_id"])
        notices.append({"what": p["what"], "item": item, "proposer": common.member_name(ctx, item["proposer"]),
                        **json.loads(p["detail"])})
    first = notices[0]
    message_id = ctx.send(
        "agenda_notice", common.reviewers(ctx),
        {"meeting": common.meeting_context(ctx, meeting), "notices": notices, "what": first["what"],
         "item": first["item"], "version": current["version"], "sent": sent is not None},
        kind="agenda-notice", meeting=d, item=None, ref=f"v{current['version']}",
        attachments=[common.version_attachment(ctx, d, current)])
    ids = [p["id"] for p in pending]
    ctx.store.db.execute(f"UPDATE agenda_notices SET sent_at = ?, message_id = ? WHERE id IN ({','.join('?' * len(ids))})",
                         [iso(ctx.now), message_id, *ids])
    ctx.event(f"agenda: notice of {plural(len(notices), 'change', 'changes', 'en')}", meeting=d,
              detail={"items": [n["item"]["id"] for n in notices], "message_id": message_id})
