"""The ``minutes`` section of `klg status`: minutes waiting for the secretary,
for signatures, and distributed (the last 30 days), plus open follow-ups.

JSON: ``minutes`` is a list, newest meeting first, of ``meeting``, ``state``,
``waiting_for`` (``secretary`` | ``signatures`` | null), ``secretary``
(``name``, ``email``), ``version``, ``signatories`` (``name``, ``email``,
``approved_at`` or null), ``distributed`` (``audience``, ``channel``,
``target``, ``at``, ``omitted``); and ``followups_open`` (the count).
"""

from __future__ import annotations

import json
from datetime import timedelta

from daemon.context import Ctx
from daemon.minutes import common
from daemon.store import iso
from daemon.texts import plural

RECENT_DAYS = 30
WAITING = {"form_sent": "secretary", "changes_requested": "secretary", "signing": "signatures"}


def section(ctx: Ctx) -> tuple[str, dict, list[str]]:
    since = iso(ctx.now - timedelta(days=RECENT_DAYS))
    rows = ctx.store.all(
        "SELECT * FROM minutes WHERE state != 'distributed' OR distributed_at >= ? ORDER BY meeting DESC", [since])
    out = []
    lines = ["Minutes:"] if rows else []
    for row in rows:
        m = row["meeting"]
        item = {"meeting": m, "state": row["state"], "waiting_for": WAITING.get(row["state"]),
                "secretary": {"name": common.member_name(ctx, row["secretary"]), "email": row["secretary"]},
                "version": row["version"], "signatories": [], "distributed": []}
        version = common.version_row(ctx, m, row["version"]) if row["version"] else None
        if version:
            approved = common.approvals(ctx, m, version["version"])
            item["signatories"] = [{"name": s["name"], "email": s["email"],
                                    "approved_at": common.local(ctx, approved[s["email"]]["approved_at"])
                                    if s["email"] in approved else None} for s in version["content"]["signatories"]]
        for d in ctx.store.all("SELECT * FROM minutes_deliveries WHERE meeting = ? ORDER BY id", [m]):
            target = json.loads(d["target"]) if d["channel"] == "mail" else d["target"]
            item["distributed"].append({"audience": d["audience"], "channel": d["channel"], "target": target,
                                        "at": common.local(ctx, d["at"]), "omitted": d["omitted"]})
        out.append(item)
        lines.append(f"  {m}  {_describe(ctx, row, item)}")
        for d in item["distributed"]:
            where = (plural(len(d["target"]), "address", "addresses", "en") if d["channel"] == "mail" else
                     d["target"] if d["channel"] == "folder" else f"skipped: {d['target']}")
            lines.append(f"      {d['audience']:<10} {d['channel']:<8} {where}"
                         + (f" ({plural(d['omitted'], 'point', 'points', 'en')} left out)" if d["omitted"] else ""))
    open_count = ctx.store.count("SELECT COUNT(*) FROM followups WHERE state = 'open'")
    if open_count:
        lines.append(f"  Open follow-ups: {open_count}")
    return "minutes", {"meetings": out, "followups_open": open_count}, lines


def _describe(ctx: Ctx, row: dict, item: dict) -> str:
    state = row["state"]
    if state == "form_sent":
        return f"waiting for the secretary ({item['secretary']['name']}), form sent {common.local(ctx, row['form_sent_at'])}"
    if state == "changes_requested":
        return f"waiting for the secretary ({item['secretary']['name']}): a change was asked for in version {row['version']}"
    if state == "signing":
        done = [f"{s['name']} {s['approved_at']}" for s in item["signatories"] if s["approved_at"]]
        waiting = [s["name"] for s in item["signatories"] if not s["approved_at"]]
        return (f"waiting for signatures on version {row['version']}: approved by {', '.join(done) or 'nobody yet'}; "
                f"pending {', '.join(waiting)}")
    return f"{state} {common.local(ctx, row['distributed_at'] or row['updated_at'])} (version {row['version']})"
