"""Action items ("uppföljning"): a row of signed minutes with a responsible
person becomes an open follow-up; it is listed under the standing item
"Uppföljning" on later agendas and in later minutes forms until it is marked
done, by the responsible replying ``Klart`` to the follow-up notice or by a
later meeting's minutes (column Klar: Ja).
"""

from __future__ import annotations

import re

from daemon.context import Ctx
from daemon.store import iso
from daemon.texts import plural

DONE_WORDS = ("klart", "klar", "färdigt", "färdig", "avklarat", "avklarad", "utfört", "done", "finished", "completed")


def ref(followup_id: int) -> str:
    """How a follow-up is named to people: ``U7``."""
    return f"U{followup_id}"


def _public(row: dict) -> dict:
    return {"id": row["id"], "ref": ref(row["id"]), "item_id": row["item_id"], "title": row["title"],
            "responsible": row["responsible"], "responsible_email": row["responsible_email"],
            "next_step": row["next_step"], "due": row["due"], "meeting": row["meeting"],
            "communicate": bool(row["communicate"])}


def followups_for(ctx: Ctx, meeting_date) -> list[dict]:
    """Open action items decided at meetings before ``meeting_date`` (a date or
    YYYY-MM-DD), oldest first: ``id``, ``ref`` (U7), ``item_id``, ``title``,
    ``responsible``, ``responsible_email``, ``next_step``, ``due``, ``meeting``.
    The agenda lists them under its standing item "Uppföljning"."""
    day = meeting_date if isinstance(meeting_date, str) else meeting_date.isoformat()
    rows = ctx.store.all("SELECT * FROM followups WHERE state = 'open' AND meeting < ? ORDER BY meeting, id", [day])
    return [_public(r) for r in rows]


def get(ctx: Ctx, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return ctx.store.all(f"SELECT * FROM followups WHERE id IN ({marks}) ORDER BY id", ids)


def create(ctx: Ctx, meeting: str, rows: list[dict]) -> list[dict]:
    """Open a follow-up for every row with a responsible person; return them."""
    made = []
    for r in rows:
        if not r.get("responsible"):
            continue
        step = r.get("next_step") or r.get("notes") or r.get("title")
        step = " ".join(step.split())
        rowid = ctx.store.db["followups"].insert({
            "meeting": meeting, "item_id": r.get("id"), "title": r["title"], "responsible": r["responsible"],
            "responsible_email": r.get("responsible_email"), "next_step": step[:500], "due": r.get("comes_back"),
            "communicate": int(bool(r.get("communicate"))), "state": "open", "created_at": iso(ctx.now),
        }).last_pk
        made.append(ctx.store.one("SELECT * FROM followups WHERE id = ?", [rowid]))
    if made:
        ctx.event(f"minutes: {plural(len(made), 'follow-up', 'follow-ups', 'en')} opened", meeting=meeting,
                  detail={"followups": [ref(m["id"]) for m in made]})
    return made


def mark_done(ctx: Ctx, ids: list[int], *, by: str, note: str = "") -> list[dict]:
    """Close the open follow-ups among ``ids``; return those that were open."""
    closed = []
    for row in get(ctx, ids):
        if row["state"] != "open":
            continue
        ctx.store.db["followups"].update(row["id"], {"state": "done", "done_at": iso(ctx.now), "done_by": by,
                                                     "done_note": note[:500] or None})
        closed.append(row)
    if closed:
        ctx.event(f"minutes: {'follow-up' if len(closed) == 1 else 'follow-ups'} {', '.join(ref(r['id']) for r in closed)} done", actor=by,
                  detail={"note": note[:200]})
    return closed


def done_words(text: str) -> tuple[bool, list[int]]:
    """(is a 'done' reply, the follow-up numbers named in it): 'Klart', 'Klart U7 U9', 'Done: U3'."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    words = re.findall(r"[\wåäöÅÄÖ]+", first.lower())
    if not words or words[0] not in DONE_WORDS:
        return False, []
    return True, [int(n) for n in re.findall(r"\bu(\d{1,9})\b", first.lower())]  # no int() of a million digits
