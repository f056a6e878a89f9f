"""Conflicts of interest (jäv): a member declares one for an item; the minutes show
the member as not taking part in that point, and a written procedure on it does
not ask the member."""

from __future__ import annotations

from daemon.context import Ctx
from daemon.store import Store, iso


def declare(ctx: Ctx, item_id: str, member: str, *, message_id: str | None = None) -> bool:
    """Record ``member``'s conflict of interest in ``item_id``; False if it was recorded before."""
    member = member.lower()
    if ctx.store.one("SELECT id FROM conflicts WHERE item_id = ? AND member = ?", [item_id, member]):
        return False
    ctx.store.db["conflicts"].insert({"item_id": item_id, "member": member, "declared_at": iso(ctx.now),
                                      "source_message": message_id})
    ctx.event("conflict of interest declared (jäv)", actor=member, item=item_id, detail={"member": member})
    return True


def of_item(store: Store, item_id: str | None) -> list[str]:
    """The e-mail addresses of the members with a conflict of interest in ``item_id``."""
    if not item_id:
        return []
    return [r["member"] for r in store.all("SELECT member FROM conflicts WHERE item_id = ? ORDER BY id", [item_id])]


def line(name: str, language: str) -> str:
    """The minutes' sentence for a member who did not take part."""
    if language == "sv":
        return f"{name} deltog inte i handläggningen på grund av jäv."
    return f"{name} did not take part in this item because of a conflict of interest."


def lines(ctx: Ctx, item_id: str | None) -> list[str]:
    """The minutes' sentences for every member with a conflict in ``item_id``."""
    out = []
    for email in of_item(ctx.store, item_id):
        member = ctx.config.member_by_address(email)
        out.append(line(member.name if member else email, ctx.language))
    return out
