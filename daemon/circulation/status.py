"""The written procedure's section of ``klg status``: open circulations, held
ones, and compiled ones whose deciding meeting is still ahead."""

from __future__ import annotations

from daemon.circulation.records import asked, current_comments, local
from daemon.context import Ctx


def status_section(ctx: Ctx) -> tuple[str, list[dict], list[str]]:
    """STATUS: open circulations, and compiled ones whose meeting is still ahead."""
    rows = ctx.store.all("SELECT * FROM circulations WHERE state IN ('open', 'held') OR "
                         "(state = 'compiled' AND meeting >= ?) ORDER BY deadline, id", [ctx.today.isoformat()])
    out, lines = [], []
    for circ in rows:
        item = ctx.store.item(circ["item_id"])
        comments = current_comments(ctx, circ["id"])
        members = asked(circ)
        answered = len({c["member"] for c in comments} & set(members))
        deadline = local(ctx, circ["deadline"])
        out.append({"item": circ["item_id"], "title": item["title"], "proposer": circ["proposer"],
                    "deadline": deadline.isoformat(timespec="minutes"), "meeting": circ["meeting"],
                    "answered": answered, "members": len(members), "late": sum(bool(c["late"]) for c in comments),
                    "state": circ["state"]})
        if circ["state"] == "held":
            lines.append(f"  {circ['item_id']:<14} held     not sent: waits for the chancellery to start it — {item['title']}")
            continue
        lines.append(f"  {circ['item_id']:<14} {circ['state']:<8} comments until {deadline:%Y-%m-%d %H:%M}, "
                     f"{answered}/{len(members)} answered, decision {circ['meeting']} — {item['title']}")
    text = ["Written procedures:", *lines] if lines else []
    return "circulations", out, text
