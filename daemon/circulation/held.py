"""The limit on written procedures one sender can start: mail klg sends to
others because of one member's mail.

A written procedure mails the item and its documents to every other member,
so one sender's forty proposals with ``Skriftligt förfarande: ja`` would make
klg send hundreds of mails in their name. ``[security]
mail_for_others_per_sender_per_hour`` (10) bounds how many circulations one
sender's mail may start in an hour: the proposer's, for a proposal or an
amendment; the sender's, for a ``Skriftligt förfarande: KLG-…`` mail. A
circulation beyond it is *held*: a ``circulations`` row in state ``held``, no
mail to the members. Held ones are not started later by themselves (a burst
like that is not what a member does; a forged or looping sender would
otherwise still reach everyone, only slower): the step ``circulation-held:<id>``
lists them to the chancellery, and tells each proposer, in one mail each; the
chancellery (or the chair) starts one by mailing ``Skriftligt förfarande:
KLG-2026-042``, which releases it whatever the count. Circulations the chair
or the chancellery set in the agenda document are their own decision and are
not counted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import groupby

from daemon.circulation import records
from daemon.circulation.records import CirculationState
from daemon.config import Member
from daemon.context import Ctx
from daemon.steps import Step
from daemon.store import iso

BY_ITEM = ("proposal", "amendment")  # started_by values whose cause is the item's proposer


def cause_of(started_by: str, proposer: str) -> str | None:
    """Whose mail a circulation start counts against (None: not counted)."""
    if "@" in started_by:
        return started_by
    return proposer if started_by in BY_ITEM else None


def started_last_hour(ctx: Ctx, cause: str) -> int:
    """Circulations (that mailed the members) ``cause``'s mail started in the hour before ``ctx.now``."""
    return ctx.store.count(
        "SELECT COUNT(*) FROM circulations WHERE state != 'held' AND started_at > ? AND "
        "(started_by = ? OR (started_by IN ('proposal', 'amendment') AND proposer = ?))",
        [iso(ctx.now - timedelta(hours=1)), cause, cause])


def over_limit(ctx: Ctx, started_by: str, proposer: str) -> bool:
    cause = cause_of(started_by, proposer)
    return cause is not None and started_last_hour(ctx, cause) >= ctx.config.security.mail_for_others_per_sender_per_hour


def held(ctx: Ctx, item_id: str) -> dict | None:
    """The item's held circulation, if it has one."""
    return ctx.store.one("SELECT * FROM circulations WHERE item_id = ? AND state = 'held' ORDER BY id DESC LIMIT 1",
                         [item_id])


def hold(ctx: Ctx, row: dict) -> dict:
    """Record ``row`` (a circulation as ``start`` would make it) as held: nothing is mailed."""
    if held(ctx, row["item_id"]):
        return held(ctx, row["item_id"])
    circ_id = ctx.store.db["circulations"].insert({**row, "state": "held"}).last_pk
    limit = ctx.config.security.mail_for_others_per_sender_per_hour
    ctx.event(f"written procedure held back: {cause_of(row['started_by'], row['proposer'])} already started "
              f"{limit} in the last hour ([security] mail_for_others_per_sender_per_hour)",
              item=row["item_id"], meeting=row["planned_meeting"], detail={"circulation": circ_id})
    return ctx.store.one("SELECT * FROM circulations WHERE id = ?", [circ_id])


def release(ctx: Ctx, item_id: str, by: Member) -> None:
    """The item's held circulation is started by hand: close the held row."""
    row = held(ctx, item_id)
    if row:
        records.transition(ctx, row, CirculationState.RELEASED, closed_at=iso(ctx.now), closed_by=by.email)


def may_release(member: Member, item_id: str, ctx: Ctx) -> bool:
    """The chair or the chancellery starting a held circulation: not counted against the limit."""
    return (member.has("chair") or member.has("chancellery")) and held(ctx, item_id) is not None


def _untold(ctx: Ctx) -> list[dict]:
    rows = ctx.store.all("SELECT * FROM circulations WHERE state = 'held' ORDER BY id")
    return [r for r in rows if not ctx.store.step_done(f"circulation-held-told:{r['id']}")]


def due(ctx: Ctx) -> list[Step]:
    """STEPS: one list of newly held circulations for the chancellery (and each proposer)."""
    rows = _untold(ctx)
    if not rows:
        return []
    return [Step(f"circulation-held:{rows[0]['id']}", tell, "list held-back written procedures for the chancellery")]


def tell(ctx: Ctx) -> None:
    """The chancellery gets the list of held circulations, each proposer the list of theirs."""
    rows = _untold(ctx)
    if not rows:
        return
    limit = ctx.config.security.mail_for_others_per_sender_per_hour
    entries = []
    for r in rows:
        item = ctx.store.item(r["item_id"])
        proposer = ctx.config.member_by_address(r["proposer"])
        entries.append({"id": r["item_id"], "title": item["title"] if item else "",
                        "proposer": proposer.name if proposer else r["proposer"], "proposer_email": r["proposer"],
                        "members": len(json.loads(r["members"]))})
    ctx.send("circulation_held", ctx.chancellery(), {"entries": entries, "limit": limit, "audience": "chancellery"},
             kind="circulation-held")
    for email, theirs in groupby(sorted(entries, key=lambda e: e["proposer_email"]), key=lambda e: e["proposer_email"]):
        member = ctx.config.member_by_address(email)
        if member and member not in ctx.chancellery():
            ctx.send("circulation_held", [member], {"entries": list(theirs), "limit": limit, "audience": "proposer",
                                                    "name": member.name}, kind="circulation-held")
    for r in rows:
        ctx.store.mark_step(f"circulation-held-told:{r['id']}", ctx.now)
