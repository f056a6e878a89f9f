"""Copies for the registrar (registrator): each new proposal with its documents,
and documents added later, so they can be registered without delay.

With ``[records] registrar`` set, the item listener queues what came in
(``registrar_queue``, by attachment id, so a document is passed on once) and
either mails it at once (``registrar_mode = "each"``, one mail per proposal or
late change) or leaves it for the daily digest at ``registrar_digest_time``.
The registrar is outside the group: a copy shows what
:func:`daemon.records.disclosure.outside` allows, and lists what was withheld.
"""

from __future__ import annotations

import json

from daemon.context import Ctx
from daemon.hooks import ItemChange
from daemon.mail.outgoing import OutAttachment
from daemon.records.settings import settings
from daemon.refs import Ref
from daemon.steps import Step
from daemon.store import from_iso, iso

# Imported when a copy is made, not when a pass asks whether the digest is due (start-up, issue 19).
outside = Ref("daemon.records.disclosure:outside")


def on_item_change(ctx: Ctx, change: ItemChange) -> None:
    """Item listener: queue a new proposal, or documents added to an item, for the registrar."""
    s = settings(ctx.config)
    if not s.registrar:
        return
    item = ctx.store.item(change.item_id)
    if item is None:
        return
    if change.what == "created" and (change.source != "proposer" or item["origin"] != "proposal"):
        return  # carried or made by the minutes: nothing came in
    passed = {i for r in ctx.store.all("SELECT attachment_ids FROM registrar_queue WHERE item_id = ?", [item["id"]])
              for i in json.loads(r["attachment_ids"])}
    known = ctx.store.count("SELECT COUNT(*) FROM registrar_queue WHERE item_id = ?", [item["id"]])
    new = [a["id"] for a in ctx.store.attachments(item["id"]) if a["id"] not in passed]
    if known and not new:
        return
    if not known and change.what != "created":
        return  # an item from before the registrar was configured: its first copy is not due now
    row_id = ctx.store.db["registrar_queue"].insert({
        "item_id": item["id"], "what": "documents" if known else "new", "attachment_ids": json.dumps(new),
        "created_at": iso(ctx.now)}).last_pk
    if s.registrar_mode == "each":
        _send(ctx, [ctx.store.one("SELECT * FROM registrar_queue WHERE id = ?", [row_id])])


def due(ctx: Ctx) -> list[Step]:
    """STEPS: the digest, once a day at ``registrar_digest_time``, when something waits."""
    s = settings(ctx.config)
    if not s.registrar or s.registrar_mode != "digest" or ctx.local_now.time() < s.registrar_digest_time:
        return []
    if not ctx.store.count("SELECT COUNT(*) FROM registrar_queue WHERE sent_at IS NULL"):
        return []
    return [Step(f"registrar-digest:{ctx.today.isoformat()}", send_digest, "send the registrar the day's documents")]


def send_digest(ctx: Ctx) -> None:
    rows = ctx.store.all("SELECT * FROM registrar_queue WHERE sent_at IS NULL ORDER BY id")
    if rows:
        _send(ctx, rows)


def entry(ctx: Ctx, row: dict) -> tuple[dict, list[OutAttachment]]:
    """What the registrar is told of one queued row, and the documents that may go with it."""
    item = ctx.store.item(row["item_id"])
    d = outside(ctx, item["id"])
    ids = set(json.loads(row["attachment_ids"]))
    rows = [a for a in ctx.store.attachments(item["id"]) if a["id"] in ids]
    visible = [a for a in rows if d.may_see(a)]
    proposer = ctx.config.member_by_address(item["proposer"])
    arrived = max([a["added_at"] for a in rows], default=item["created_at"]) if row["what"] == "documents" \
        else item["created_at"]
    return {
        "item_id": item["id"], "title": d.title(item["title"]), "case_number": item["case_number"],
        "proposer": f"{proposer.name} <{proposer.email}>" if proposer else item["proposer"],
        "arrived": _local(ctx, arrived), "what": row["what"], "meeting": item["meeting"],
        "description": "" if d.secret else item["description"], "secret": d.secret,
        "documents": [a["name"] for a in visible], "withheld": d.withheld(rows),
    }, [OutAttachment(a["name"], ctx.store.files.get(a["sha256"]), a["content_type"]) for a in visible]


def _local(ctx: Ctx, text: str) -> str:
    return from_iso(text).astimezone(ctx.config.group.timezone).strftime("%Y-%m-%d %H:%M")


def _send(ctx: Ctx, rows: list[dict]) -> None:
    s = settings(ctx.config)
    entries, attachments = [], []
    for row in rows:
        e, atts = entry(ctx, row)
        entries.append(e)
        attachments += atts
    single = len(rows) == 1
    message_id = ctx.send("registrar_copy", list(s.registrar), {"entries": entries, "digest": not single},
                          kind="registrar", item=rows[0]["item_id"] if single else None, ref="registrar",
                          attachments=attachments)
    ids = [r["id"] for r in rows]
    ctx.store.db.execute(f"UPDATE registrar_queue SET sent_at = ?, message_id = ? "
                         f"WHERE id IN ({','.join('?' * len(ids))})", [iso(ctx.now), message_id, *ids])
    ctx.event(f"registrar: {len(rows)} copy(ies) sent", detail={"items": [r["item_id"] for r in rows],
                                                               "message_id": message_id})
