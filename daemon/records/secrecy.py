"""Secrecy markings under OSL (offentlighets- och sekretesslagen) on an item or
on one of its documents.

A marking names the provision, the date and the authority, and who set it;
setting and lifting are the marking's two transitions (:func:`mark`,
:func:`lift`), each written to the audit log in the caller's transaction. A
marked document is known by its name within the item, so a new version of it
sent later is secret too.
"""

from __future__ import annotations

import re
from enum import StrEnum

from daemon.context import Ctx
from daemon.store import Store, iso

class SecrecyState(StrEnum):
    MARKED = "marked"
    LIFTED = "lifted"


def markings(store: Store, item_id: str) -> list[dict]:
    """The item's markings in force, the whole item's first."""
    return store.all("SELECT * FROM secrecy WHERE item_id = ? AND lifted_at IS NULL "
                     "ORDER BY attachment_name IS NOT NULL, id", [item_id])


def item_marking(store: Store, item_id: str | None) -> dict | None:
    """The marking in force on the whole item, or None."""
    if not item_id:
        return None
    return store.one("SELECT * FROM secrecy WHERE item_id = ? AND attachment_name IS NULL AND lifted_at IS NULL "
                     "ORDER BY id LIMIT 1", [item_id])


def document_markings(store: Store, item_id: str) -> dict[str, dict]:
    """{document name (lower case): marking} for the item's secret documents."""
    return {r["attachment_name"].lower(): r for r in markings(store, item_id) if r["attachment_name"]}


def any_secret(store: Store, item_id: str | None) -> bool:
    return bool(item_id) and bool(markings(store, item_id))


def authority(ctx: Ctx) -> str:
    """The authority a marking names: the organisation and the group."""
    g = ctx.config.group
    return f"{g.organisation}, {g.name}" if g.organisation and g.organisation != g.name else g.name


def state(row: dict) -> SecrecyState:
    return SecrecyState.LIFTED if row.get("lifted_at") else SecrecyState.MARKED


def mark(ctx: Ctx, item_id: str, provision: str, *, by: str, reason: str = "", document: str | None = None) -> bool:
    """Mark the item (or its ``document``) secret under ``provision``; False when a marking
    with that provision is already in force (nothing changes)."""
    for row in markings(ctx.store, item_id):
        same_target = (row["attachment_name"] or "").lower() == (document or "").lower()
        if same_target and row["provision"] == provision:
            return False
    ctx.store.db["secrecy"].insert({
        "item_id": item_id, "attachment_name": document, "provision": provision, "reason": reason,
        "authority": authority(ctx), "marked_on": ctx.today.isoformat(), "set_by": by, "set_at": iso(ctx.now)})
    ctx.event(f"secrecy: {'document ' + repr(document) if document else 'item'} marked secret ({provision})",
              actor=by, item=item_id, detail={"to": str(SecrecyState.MARKED), "provision": provision,
                                              "reason": reason, "document": document, "authority": authority(ctx)})
    return True


def lift(ctx: Ctx, item_id: str, *, by: str, document: str | None = None) -> int:
    """Lift the markings in force on the item (or only its ``document``); how many were lifted."""
    rows = [r for r in markings(ctx.store, item_id)
            if (document is None) or (r["attachment_name"] or "").lower() == document.lower()]
    for row in rows:
        if state(row) is not SecrecyState.MARKED:
            raise ValueError(f"secrecy marking {row['id']} of {item_id} is already lifted")
        ctx.store.db["secrecy"].update(row["id"], {"lifted_by": by, "lifted_at": iso(ctx.now)})
        ctx.event(f"secrecy: {'document ' + repr(row['attachment_name']) if row['attachment_name'] else 'item'} "
                  f"marking lifted ({row['provision']})", actor=by, item=item_id,
                  detail={"to": str(SecrecyState.LIFTED), "provision": row["provision"],
                          "document": row["attachment_name"], "marked_by": row["set_by"]})
    return len(rows)


def label(row: dict, language: str) -> str:
    """The marking as a document shows it: provision, date, authority."""
    if language == "sv":
        return f"Sekretess enligt {row['provision']}, {row['authority']}, {row['marked_on']}"
    return f"Secret under {row['provision']}, {row['authority']}, {row['marked_on']}"


def short(provision: str) -> str:
    """"OSL 39 kap. 3 §" as "OSL 39:3", the short form of a citation, for subjects: the mark comes
    first and a long one would push the subject's own words out of a mail client's list."""
    m = re.fullmatch(r"OSL (\d+) kap\. (.+) §", provision)
    return f"OSL {m[1]}:{m[2]}" if m else provision


def subject_mark(ctx: Ctx, item_id: str | None, meeting: str | None) -> str | None:
    """The mark put before the subject of a member's mail about a secret item (or an agenda
    with one), so that it is not forwarded by mistake; None when nothing is secret."""
    sv = ctx.language == "sv"
    if item_id:
        found = markings(ctx.store, item_id)  # the whole item's first; one statement, as every mail about an item asks
        if found and found[0]["attachment_name"] is None:
            row = found[0]
            return f"[SEKRETESS {short(row['provision'])}]" if sv else f"[SECRET {short(row['provision'])}]"
        if found:
            return "[Innehåller sekretess]" if sv else "[Contains secret documents]"
        return None
    if meeting and ctx.store.count(
            "SELECT COUNT(*) FROM secrecy s JOIN items i ON i.id = s.item_id WHERE i.meeting = ? "
            "AND s.lifted_at IS NULL", [meeting]):
        return "[Innehåller sekretess]" if sv else "[Contains secret items]"
    return None
