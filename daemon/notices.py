"""Notices to the chancellery that are not part of a meeting's week: the daily
list of mail nobody was told about: quarantined mail from strangers, forged
(``spoofed``, ``spoofed-self``) or with an ambiguous sender
(``ambiguous-sender``), held back by the storm guard (``rate-limited``), over
a reading limit (``over-limit``), possibly automatic mail from a member
(``maybe-automatic``), or mail that could not be handled (``error``); and mail
that was handled but had parts that could not be read (``unread``)."""

from __future__ import annotations

import json

from daemon.context import Ctx
from daemon.steps import Step

LISTED = ("stranger", "spoofed-self", "spoofed", "ambiguous-sender", "rate-limited", "over-limit", "maybe-automatic",
          "error")
_WAITING = f"notified = 0 AND (classification IN ({','.join('?' * len(LISTED))}) OR unread IS NOT NULL)"


def due(ctx: Ctx) -> list[Step]:
    """The digest, once a day at ``intake.stranger_digest_time``, if there is anything to list."""
    at = ctx.config.intake.stranger_digest_time
    if ctx.local_now.time() < at:
        return []
    if not ctx.store.count(f"SELECT COUNT(*) FROM messages_in WHERE {_WAITING}", LISTED):
        return []
    return [Step(f"digest:{ctx.today.isoformat()}", send_digest, "list quarantined mail for the chancellery")]


def send_digest(ctx: Ctx) -> None:
    rows = ctx.store.all(f"SELECT * FROM messages_in WHERE {_WAITING} ORDER BY id", LISTED)
    for row in rows:
        row["unread"] = json.loads(row["unread"]) if row["unread"] else []
    quarantined = [r for r in rows if r["classification"] in LISTED]
    unread = [r for r in rows if r["classification"] not in LISTED]
    ctx.send("quarantine_digest", ctx.chancellery(),
             {"messages": quarantined, "count": len(quarantined), "unread": unread}, kind="digest")
    ctx.store.db.execute(f"UPDATE messages_in SET notified = 1 WHERE id IN ({','.join(str(r['id']) for r in rows)})")
