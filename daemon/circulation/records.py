"""A written procedure's records: the ``circulations`` row and its state, the
comments, and what every circulation mail says about it.

A circulation is ``open`` while members comment, ``compiled`` from the
deadline until its item is decided, or ended: ``withdrawn`` (the item was
withdrawn), ``cancelled`` (``Skriftligt förfarande: nej``: the item went back
to a meeting). One that a sender's burst went over the limit is ``held``
until the chancellery starts it (then ``released``, and a new one is open).
Its state changes in :func:`transition` only.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum

from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.outgoing import OutAttachment
from daemon.schedule import Calendar
from daemon.store import from_iso, iso
from daemon.texts import day_month

# Outbox kinds whose replies come to the written procedure.
REPLY_KINDS = ("circulation", "circulation-reminder", "circulation-receipt", "circulation-started",
               "circulation-status", "circulation-compiled", "circulation-late", "circulation-withdrawn",
               "circulation-cancelled")
STANCE_NAMES = {
    "sv": {"support": "Tillstyrker", "object": "Avstyrker", "none": "Inga synpunkter", None: "–"},
    "en": {"support": "Support", "object": "Object", "none": "No comments", None: "–"},
}
UNSTATED_IN_MAIL = {"sv": "synpunkter utan ställningstagande", "en": "comments without a stated position"}


class CirculationState(StrEnum):
    OPEN = "open"
    COMPILED = "compiled"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    HELD = "held"
    RELEASED = "released"


ACTIVE = (CirculationState.OPEN, CirculationState.COMPILED)
ALLOWED = {
    CirculationState.OPEN: {CirculationState.COMPILED, CirculationState.WITHDRAWN, CirculationState.CANCELLED},
    CirculationState.COMPILED: {CirculationState.WITHDRAWN},
    CirculationState.HELD: {CirculationState.RELEASED},
    CirculationState.WITHDRAWN: set(), CirculationState.CANCELLED: set(), CirculationState.RELEASED: set(),
}


def transition(ctx: Ctx, circ: dict, to: CirculationState, **columns) -> None:
    """Move circulation ``circ`` to state ``to`` (with ``columns``); refuses a change it cannot have."""
    current = CirculationState(circ["state"])
    if to not in ALLOWED[current]:
        raise ValueError(f"the written procedure {circ['id']} of {circ['item_id']} cannot go from {current} to {to}")
    ctx.store.db["circulations"].update(circ["id"], {"state": str(to), **columns})


def calendar(ctx: Ctx) -> Calendar:
    return ctx.calendar


def get(ctx: Ctx, circ_id: int) -> dict | None:
    return ctx.store.one("SELECT * FROM circulations WHERE id = ?", [circ_id])


def active_for_item(ctx: Ctx, item_id: str) -> dict | None:
    """The item's open or compiled circulation, if any."""
    return ctx.store.one("SELECT * FROM circulations WHERE item_id = ? AND state IN ('open', 'compiled') "
                         "ORDER BY id DESC LIMIT 1", [item_id])


def latest_for_item(ctx: Ctx, item_id: str) -> dict | None:
    return ctx.store.one("SELECT * FROM circulations WHERE item_id = ? ORDER BY id DESC LIMIT 1", [item_id])


def asked(circ: dict) -> list[str]:
    return json.loads(circ["members"])


def current_comments(ctx: Ctx, circ_id: int) -> list[dict]:
    """Each member's latest comment, oldest first."""
    return ctx.store.all("SELECT * FROM comments WHERE circulation_id = ? AND replaced_by IS NULL "
                         "ORDER BY written_at, id", [circ_id])


def name_of(ctx: Ctx, email: str) -> str:
    member = ctx.config.member_by_address(email)
    return member.name if member else email


def may_manage(member: Member, circ: dict) -> bool:
    """The proposer, the chair and the chancellery may ask for status, withdraw and cancel."""
    return member.email == circ["proposer"] or member.has("chair") or member.has("chancellery")


def local(ctx: Ctx, stored: str) -> datetime:
    return from_iso(stored).astimezone(ctx.config.group.timezone)


def stamp(ctx: Ctx, stored: str) -> str:
    """A stored instant as the group reads it: '2026-12-07 09:12'."""
    return local(ctx, stored).strftime("%Y-%m-%d %H:%M")


def stance_name(ctx: Ctx, stance: str | None, in_mail: bool = False) -> str:
    """The stance as the group reads it; a comment without one is "–" in the
    compilation's table and spelled out in mails."""
    if stance is None and in_mail:
        return UNSTATED_IN_MAIL[ctx.language]
    return STANCE_NAMES[ctx.language].get(stance, "–")



def item_documents(ctx: Ctx, item_id: str) -> list[OutAttachment]:
    return [OutAttachment(a["name"], ctx.store.files.get(a["sha256"]), a["content_type"])
            for a in ctx.store.attachments(item_id)]


def comment_documents(ctx: Ctx, comment_ids: list[int]) -> list[OutAttachment]:
    out = []
    for cid in comment_ids:
        for a in ctx.store.attachments(str(cid), owner="comment"):
            out.append(OutAttachment(a["name"], ctx.store.files.get(a["sha256"]), a["content_type"]))
    return out


def mail_context(ctx: Ctx, circ: dict) -> dict:
    """What every circulation mail template gets."""
    item = ctx.store.item(circ["item_id"])
    deadline = local(ctx, circ["deadline"])
    return {
        "item": {**item, "attachments": [a["name"] for a in ctx.store.attachments(item["id"])]},
        "proposer_name": name_of(ctx, circ["proposer"]),
        "deadline": deadline,
        "deadline_short": day_month(deadline, ctx.language),
        "reminder": local(ctx, circ["reminder_at"]) if circ["reminder_at"] else None,
        "meeting": date.fromisoformat(circ["meeting"]),
        "planned_meeting": date.fromisoformat(circ["planned_meeting"]) if circ["planned_meeting"] else None,
        "asked": len(asked(circ)),
        "state": circ["state"],
    }


def answers(ctx: Ctx, circ: dict) -> tuple[list[dict], list[str]]:
    """(the current comments as rows for a mail, the names of the asked who have not answered)."""
    comments = current_comments(ctx, circ["id"])
    answered = {c["member"] for c in comments}
    rows = [{"name": name_of(ctx, c["member"]), "time": stamp(ctx, c["written_at"]),
             "stance": stance_name(ctx, c["stance"], in_mail=True), "late": bool(c["late"]), "text": c["text"]}
            for c in comments]
    return rows, [name_of(ctx, m) for m in asked(circ) if m not in answered]



def close(ctx: Ctx, circ: dict, state: CirculationState, by: str, note: str | None = None) -> None:
    """End an active circulation and tell the members asked (except ``by``) that it is cancelled."""
    transition(ctx, circ, state, closed_at=iso(ctx.now), closed_by=by)
    ctx.event(f"written procedure {state}", actor=by, item=circ["item_id"], meeting=circ["meeting"])
    to = [m for m in asked(circ) if m != by and ctx.config.member_by_address(m)]
    if to:
        ctx.send("circulation_cancelled", to, {**mail_context(ctx, get(ctx, circ["id"])), "reason": str(state),
                                               "by_name": name_of(ctx, by) if by != "klg" else None, "note": note},
                 kind="circulation-cancelled", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]))
