"""An item's whole life, in one place: created, planned for a meeting, amended,
moved, handed to the written procedure and back, carried over, withdrawn,
handled.

Every change to the ``items`` table goes through here. States are
:class:`ItemState`; a change of state passes :func:`_transition`, which knows
which states may follow which, and every change a workflow should hear of is
announced once through :mod:`daemon.hooks` (the agenda's notices, the written
procedure). A caller that must finish its own work first (keep the
attachments, change several items) passes ``announce=False`` and calls
:func:`announce` when it is done.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from daemon import hooks
from daemon.config import Member
from daemon.context import Ctx
from daemon.store import iso


class ItemState(StrEnum):
    PLANNED = "planned"  # on a meeting's agenda (or waiting for one)
    CIRCULATING = "circulating"  # out for written comments; no agenda shows it
    WITHDRAWN = "withdrawn"
    HANDLED = "handled"  # dealt with by signed minutes


# Which states may follow which; anything else is a bug, not a user's mistake.
ALLOWED = {
    ItemState.PLANNED: {ItemState.PLANNED, ItemState.CIRCULATING, ItemState.WITHDRAWN, ItemState.HANDLED},
    ItemState.CIRCULATING: {ItemState.PLANNED, ItemState.WITHDRAWN},
    ItemState.WITHDRAWN: set(),
    ItemState.HANDLED: set(),
}
# What an amendment may change; the meeting and the state change only by the verbs below.
AMENDABLE = {"title", "description", "presenter", "minutes", "kind", "written_procedure", "late", "long_document",
             "case_number"}
MAX_TITLE = 200


def get(ctx: Ctx, item_id: str) -> dict | None:
    return ctx.store.item(item_id)


def next_position(ctx: Ctx, meeting: str) -> int:
    """The place after the last item of ``meeting``'s agenda."""
    return ctx.store.count("SELECT COALESCE(MAX(position), 0) + 1 FROM items WHERE meeting = ?", [meeting])


def resolve_presenter(ctx: Ctx, text: str | None, default: Member) -> str:
    """A presenter named in a mail or a document: a member's full name when it is
    unambiguous (a first name is enough), else the text as written."""
    if not text:
        return default.name
    member = ctx.config.member_by_name(text) or ctx.config.member_by_address(text)
    if member:
        return member.name
    first = [m for m in ctx.config.members if m.name.lower().split()[0] == text.lower().strip()]
    return first[0].name if len(first) == 1 else text


def summary(ctx: Ctx, item_id: str) -> dict:
    """Everything a mail template needs to describe an item."""
    item = ctx.store.item(item_id)
    cal = ctx.calendar
    meeting = date.fromisoformat(item["meeting"]) if item["meeting"] else None
    return {
        **item,
        "attachments": [a["name"] for a in ctx.store.attachments(item_id)],
        "meeting_date": meeting,
        "meeting_start": cal.start(meeting) if meeting else None,
        "deadline": cal.proposal_deadline(meeting) if meeting else None,
        "location": ctx.config.schedule.location,
        "written_procedure": bool(item["written_procedure"]),
        # the secrecy markings in force (daemon.records.secrecy owns them), as the mails name them
        "secrecy": [f"{r['provision']}" + (f" ({r['attachment_name']})" if r["attachment_name"] else "")
                    for r in ctx.store.all("SELECT provision, attachment_name FROM secrecy WHERE item_id = ? "
                                           "AND lifted_at IS NULL ORDER BY attachment_name IS NOT NULL, id",
                                           [item_id])],
        # the receipt's example of moving the item: a real meeting after its own, never a date gone by
        "later_meeting": cal.next_meeting(meeting) if meeting else cal.upcoming_meeting(ctx.now),
    }


# --- the one way in and the one announcement ----------------------------------------------


def _write(ctx: Ctx, item_id: str, **columns: Any) -> None:
    ctx.store.db["items"].update(item_id, {**columns, "updated_at": iso(ctx.now)})


def _transition(ctx: Ctx, item: dict, to: ItemState, **columns: Any) -> None:
    """Move ``item`` to state ``to`` (with ``columns``); refuses a change the life of an item does not have."""
    current = ItemState(item["state"])
    if to not in ALLOWED[current]:
        raise ValueError(f"item {item['id']} cannot go from {current} to {to}")
    _write(ctx, item["id"], state=str(to), **columns)


def announce(ctx: Ctx, item_id: str, what: str, source: str) -> None:
    """Tell the workflows that ``item_id`` changed (see :mod:`daemon.hooks`)."""
    hooks.item_changed(ctx, hooks.ItemChange(item_id, what, source))


# --- the life of an item ------------------------------------------------------------------


def create(ctx: Ctx, *, title: str, presenter: str, proposer: str, meeting: str, origin: str, source: str,
           description: str = "", minutes: int | None = None, kind: str | None = None,
           written_procedure: bool = False, late: bool = False, source_message: str | None = None,
           position: int | None = None, carried_from: str | None = None, case_number: str | None = None,
           announce_it: bool = True) -> str:
    """A new planned item on ``meeting``; return its id (``KLG-2026-042``)."""
    year = ctx.local_now.year
    item_id, seq = ctx.store.next_item_id(ctx.config.group.short, year)
    intake = ctx.config.intake
    ctx.store.db["items"].insert({
        "id": item_id, "year": year, "seq": seq, "title": title[:MAX_TITLE], "description": description,
        "presenter": presenter, "proposer": proposer, "minutes": intake.default_minutes if minutes is None else minutes,
        "kind": kind or intake.default_kind, "written_procedure": int(written_procedure), "meeting": meeting,
        "position": next_position(ctx, meeting) if position is None else position, "state": str(ItemState.PLANNED),
        "late": int(late), "origin": origin, "source_message": source_message, "carried_from": carried_from,
        "case_number": case_number, "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    })
    if announce_it:
        announce(ctx, item_id, "created", source)
    return item_id


def amend(ctx: Ctx, item_id: str, changes: dict, *, source: str, what: str = "amended",
          announce_it: bool = True) -> None:
    """Change the item's own fields (``AMENDABLE``); the meeting changes with :func:`plan`."""
    wrong = set(changes) - AMENDABLE
    if wrong:
        raise ValueError(f"an amendment cannot change {', '.join(sorted(wrong))} of item {item_id}")
    if changes:
        _write(ctx, item_id, **changes)
    if announce_it:
        announce(ctx, item_id, what, source)


def plan(ctx: Ctx, item_id: str, meeting: str, *, source: str, late: bool | None = None,
         carried_from: str | None = None, position: int | None = None, origin: str | None = None,
         changes: dict | None = None, what: str = "amended", announce_it: bool = True) -> None:
    """Put the item on ``meeting``'s agenda (planned), at the end unless ``position`` says;
    also from the written procedure. ``changes`` are amendments made in the same step."""
    item = ctx.store.item(item_id)
    columns: dict[str, Any] = {"meeting": meeting,
                               "position": next_position(ctx, meeting) if position is None else position}
    if late is not None:
        columns["late"] = int(late)
    if carried_from is not None:
        columns["carried_from"] = carried_from
    if origin is not None:
        columns["origin"] = origin
    wrong = set(changes or {}) - AMENDABLE
    if wrong:
        raise ValueError(f"planning cannot change {', '.join(sorted(wrong))} of item {item_id}")
    _transition(ctx, item, ItemState.PLANNED, **{**(changes or {}), **columns})
    if announce_it:
        announce(ctx, item_id, what, source)


def reorder(ctx: Ctx, item_ids: list[str]) -> None:
    """The agenda's order: ``item_ids`` get places 1, 2, … (nobody needs to hear of it)."""
    for position, item_id in enumerate(item_ids, start=1):
        ctx.store.db.execute("UPDATE items SET position = ? WHERE id = ?", [position, item_id])


def circulate(ctx: Ctx, item_id: str, deciding_meeting: str) -> None:
    """Hand the item to the written procedure: off every agenda until it is decided on ``deciding_meeting``."""
    _transition(ctx, ctx.store.item(item_id), ItemState.CIRCULATING, written_procedure=1, kind="beslut",
                meeting=deciding_meeting)


def withdraw(ctx: Ctx, item_id: str, *, source: str, announce_it: bool = True) -> None:
    """The proposer (or the chair, the chancellery) withdraws the item."""
    _transition(ctx, ctx.store.item(item_id), ItemState.WITHDRAWN)
    if announce_it:
        announce(ctx, item_id, "withdrawn", source)


def handled(ctx: Ctx, item_id: str) -> None:
    """Signed minutes dealt with the item and it does not come back."""
    _transition(ctx, ctx.store.item(item_id), ItemState.HANDLED)
