"""Notices to the chancellery that are not part of a meeting's week: the daily
list of quarantined mail nobody was told about: from strangers, forged
(``spoofed``, ``spoofed-self``), held back by the storm guard
(``rate-limited``), or that could not be handled (``error``)."""

from __future__ import annotations

from daemon.context import Ctx
from daemon.steps import Step

LISTED = ("stranger", "spoofed-self", "spoofed", "rate-limited", "error")


def due(ctx: Ctx) -> list[Step]:
    """The stranger digest, once a day at ``intake.stranger_digest_time``, if there is anything to list."""
    at = ctx.config.intake.stranger_digest_time
    if ctx.local_now.time() < at:
        return []
    marks = ",".join("?" * len(LISTED))
    if not ctx.store.count(f"SELECT COUNT(*) FROM messages_in WHERE notified = 0 AND classification IN ({marks})", LISTED):
        return []
    return [Step(f"digest:{ctx.today.isoformat()}", send_digest, "list quarantined mail for the chancellery")]


def send_digest(ctx: Ctx) -> None:
    marks = ",".join("?" * len(LISTED))
    rows = ctx.store.all(
        f"SELECT * FROM messages_in WHERE notified = 0 AND classification IN ({marks}) ORDER BY id", LISTED)
    ctx.send("quarantine_digest", ctx.chancellery(), {"messages": rows, "count": len(rows)}, kind="digest")
    ctx.store.db.execute(f"UPDATE messages_in SET notified = 1 WHERE id IN ({','.join(str(r['id']) for r in rows)})")
