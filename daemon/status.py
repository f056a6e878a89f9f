"""``klg status``: what is coming, what is waiting, what is stuck.

The JSON form is a contract for outside scripts: ``meetings`` (each with
``date``, ``state``, ``agenda_version`` and ``items``: ``id``, ``title``,
``presenter``, ``minutes``, ``kind``, ``state``, ``attachments``, ``case_number``
and ``secrecy``: the markings in force, ``[{"provision", "document", "marked_on",
"set_by"}]``, ``document`` null for the whole item),
``quarantine.count`` and ``outbox`` (``queued``, ``sent``, ``failed``), plus
the sections workflows add (``circulations``, ``minutes``).
"""

from __future__ import annotations

from datetime import timedelta

from daemon import workflows
from daemon.meetings import coming
from daemon.context import Ctx
from daemon.records import secrecy
from daemon.texts import plural

MEETING_STATES = {"collecting": "collecting proposals", "draft_sent": "draft sent for review",
                  "approved": "agenda approved", "final_sent": "final agenda sent"}


def meeting_items(ctx: Ctx, day: str) -> list[dict]:
    rows = ctx.store.all("SELECT * FROM items WHERE meeting = ? ORDER BY position, id", [day])
    names: dict[str, list[str]] = {}
    # CROSS JOIN keeps SQLite from reading every attachment ever kept (10 ms a meeting after ten years)
    for a in ctx.store.all(
        "SELECT a.item_id, a.name FROM items i CROSS JOIN attachments a ON a.item_id = i.id "
        "WHERE i.meeting = ? AND a.owner = 'item' AND a.removed = 0 ORDER BY a.id", [day]):
        names.setdefault(a["item_id"], []).append(a["name"])
    return [{"id": r["id"], "title": r["title"], "presenter": r["presenter"], "minutes": r["minutes"],
             "kind": r["kind"], "state": r["state"], "written_procedure": bool(r["written_procedure"]),
             "late": bool(r["late"]), "attachments": names.get(r["id"], []), "case_number": r["case_number"],
             "secrecy": [{"provision": m["provision"], "document": m["attachment_name"], "marked_on": m["marked_on"],
                          "set_by": m["set_by"]} for m in secrecy.markings(ctx.store, r["id"])]} for r in rows]


def collect(ctx: Ctx) -> tuple[dict, list[list[str]]]:
    """The whole status as a JSON-ready dict, and the workflows' text sections."""
    store = ctx.store
    meetings = []
    for day in coming(ctx):
        row = store.one("SELECT * FROM meetings WHERE date = ?", [day]) or {"state": "collecting", "agenda_version": 0}
        meetings.append({"date": day, "state": row["state"], "agenda_version": row["agenda_version"],
                         "items": meeting_items(ctx, day)})
    counts = {r["state"]: r["n"] for r in store.all("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")}
    since = (ctx.now - timedelta(days=7)).isoformat()
    result = {
        "group": ctx.config.group.name,
        "now": ctx.local_now.isoformat(timespec="seconds"),
        "meetings": meetings,
        "quarantine": {
            "count": store.count("SELECT COUNT(*) FROM messages_in WHERE disposition = 'quarantine'"),
            "last_7_days": store.count("SELECT COUNT(*) FROM messages_in WHERE disposition = 'quarantine' AND received_at >= ?", [since]),
        },
        "outbox": {"queued": counts.get("queued", 0), "sent": counts.get("sent", 0), "failed": counts.get("failed", 0)},
    }
    texts = []
    for section in workflows.STATUS:
        name, value, text = section(ctx)
        result[name] = value
        texts.append(text)
    return result, texts


def render_text(data: dict, sections: list[list[str]]) -> str:
    """The status for a person at a terminal."""
    lines = [f"{data['group']} — {data['now']}", ""]
    for m in data["meetings"]:
        state = MEETING_STATES.get(m["state"], m["state"].replace("_", " "))
        lines.append(f"Meeting {m['date']}  [{state}, agenda version {m['agenda_version']}]")
        if not m["items"]:
            lines.append("  (no items yet)")
        for it in m["items"]:
            flags = "".join([" late" if it["late"] else "", " written-procedure" if it["written_procedure"] else ""])
            n = len(it["attachments"])
            att = f"  ({plural(n, 'attachment', 'attachments', 'en')})" if n else ""
            lines.append(f"  {it['id']:<14} {it['minutes']:>3} min  {it['kind']:<11} {it['state']:<9} "
                         f"{it['title']} — {it['presenter']}{att}{flags}")
        lines.append("")
    for text in sections:
        if text:
            lines += [*text, ""]
    o = data["outbox"]
    lines.append(f"Outbox: {o['queued']} queued, {o['sent']} sent, {o['failed']} failed")
    q = data["quarantine"]
    lines.append(f"Quarantine: {plural(q['count'], 'message', 'messages', 'en')} "
                 f"({q['last_7_days']} in the last 7 days)")
    return "\n".join(lines)
