"""Conflicts of interest (jäv): a member declares one for an item; the minutes show
the member as not taking part in that point, and a written procedure on it does
not ask the member."""

from __future__ import annotations

import re

from daemon.config import Config, Member
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


# anywhere in the cell (the form's reader makes a cell one line): "Noterat. Jäv: Lena Åkesson."
_LINE = re.compile(r"(?:^|(?<=[\s.;]))(?:jäv|jav|conflict of interest)\s*:\s*([^.;\n]+)[.;]?", re.IGNORECASE)


def from_minutes_notes(config: Config, notes: str) -> tuple[str, list[Member], list[str]]:
    """A ``Jäv: Lena Åkesson`` line in a row of the minutes form: (the notes without it, the members
    named, the names that are no member's)."""
    found: list[Member] = []
    unknown: list[str] = []
    for m in _LINE.finditer(notes or ""):
        for name in (n.strip(" .") for n in re.split(r",|\boch\b|\band\b", m[1]) if n.strip(" .")):
            member = config.member_by_name(name) or config.member_by_address(name)
            first = [x for x in config.members if x.name.lower().split()[0] == name.lower()]
            member = member or (first[0] if len(first) == 1 else None)
            if member and member not in found:
                found.append(member)
            elif member is None:
                unknown.append(name)
    return " ".join(_LINE.sub("", notes or "").split()), found, unknown


def from_minutes(ctx: Ctx, content: dict, *, message_id: str | None = None) -> list[str]:
    """Record the conflicts the secretary wrote in the form's rows (taking the lines out of the notes:
    the minutes say it in their own words); the warnings for names that are no member's."""
    warnings = []
    for row in content["rows"]:
        if not row.get("id"):
            continue
        notes, members, unknown = from_minutes_notes(ctx.config, row.get("notes", ""))
        if not members and not unknown:
            continue
        row["notes"] = notes
        for member in members:
            declare(ctx, row["id"], member.email, message_id=message_id)
        warnings += [(f"Rad {row['no']}: ”Jäv: {name}” är ingen medlem; inget jäv antecknades." if ctx.language == "sv"
                      else f"Row {row['no']}: ”Jäv: {name}” is no member; no conflict was recorded.")
                     for name in unknown]
    return warnings
