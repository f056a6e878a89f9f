"""Intake: what one incoming message is, and what is done about it.

The order of questions matters and is the security model in small: our own
mail coming back, duplicates, bounces and auto-replies are recorded and never
answered; strangers are never answered (no backscatter); only then is a
member's mail read as a reply to one of our threads, a command, or a new
proposal. Everything a message causes is written in one transaction together
with its ``messages_in`` row; the mailbox move happens after the commit.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from daemon.config import Member
from daemon.context import Ctx
from daemon.faults import crash_point
from daemon.mail.message import ParsedMail, parse
from daemon.store import iso

log = logging.getLogger("klg.intake")

# Failures of the machine rather than of the mail: the message is retried, not quarantined.
TRANSIENT = (OSError, sqlite3.OperationalError)

@dataclass
class Outcome:
    classification: str
    disposition: str = "processed"  # or "quarantine"
    item: str | None = None
    detail: str | None = None


ReplyHandler = Callable[[Ctx, ParsedMail, Member, dict], Outcome]
CommandHandler = Callable[[Ctx, ParsedMail, Member], "Outcome | None"]


def tag_pattern(short: str) -> re.Pattern:
    """``[KLG-2026-042]`` in a subject."""
    return re.compile(rf"\[({re.escape(short)}-\d{{4}}-\d{{3,}})\]", re.IGNORECASE)


def handle(ctx: Ctx, raw: bytes) -> Outcome:
    """Classify and act on one message in its own transaction; return where it goes.

    A message seen before (same Message-ID) has no new effect: it only needs
    moving, which the caller does with the returned disposition.
    """
    from daemon import workflows  # the registry; imported late to avoid import cycles

    mail = parse(raw)
    seen = ctx.store.message_seen(mail.message_id)
    if seen:  # the audit log has its event already; a redelivery only needs moving
        log.info("%s from %s: duplicate of a message handled at %s -> %s", mail.message_id, mail.sender or "?",
                 seen["received_at"], seen["disposition"])
        return Outcome("duplicate", seen["disposition"], seen["item_id"], "already handled")
    try:
        with ctx.store.atomic():
            outcome = classify_and_act(ctx, mail, workflows)
            _record(ctx, mail, outcome)
            crash_point("intake.before-commit")
        crash_point("intake.after-commit")
    except TRANSIENT:
        raise  # disk full, database busy: leave the mail in the inbox and try again on the next pass
    except Exception as exc:  # a bug or a broken document: never lose the mail, never crash
        log.error("message %s from %s could not be handled: %s\n%s", mail.message_id, mail.sender, exc, traceback.format_exc())
        with ctx.store.atomic():
            outcome = Outcome("error", "quarantine", detail=f"{type(exc).__name__}: {exc}"[:500])
            member = ctx.config.member_by_address(mail.sender)
            if member and not mail.auto_reply and not mail.bounce:
                explain(ctx, mail, member, "error", {})
            _record(ctx, mail, outcome)
    log.info("%s from %s: %s -> %s%s", mail.message_id, mail.sender or "?", outcome.classification,
             outcome.disposition, f" ({outcome.item})" if outcome.item else "")
    return outcome


def _record(ctx: Ctx, mail: ParsedMail, outcome: Outcome) -> None:
    ctx.store.db["messages_in"].insert({
        "message_id": mail.message_id, "received_at": iso(ctx.now), "sender": mail.sender, "subject": mail.subject,
        "classification": outcome.classification, "disposition": outcome.disposition, "item_id": outcome.item,
        "detail": outcome.detail,
    })
    ctx.event(f"mail in: {outcome.classification} -> {outcome.disposition}", actor=mail.sender or "unknown",
              item=outcome.item, detail={"message_id": mail.message_id, "subject": mail.subject, "detail": outcome.detail})


def classify_and_act(ctx: Ctx, mail: ParsedMail, workflows) -> Outcome:
    config = ctx.config
    if ctx.store.sent_by_us([mail.message_id]):
        return Outcome("own", detail="our own mail came back")
    if mail.sender == config.group.address:
        return Outcome("spoofed-self", "quarantine", detail="claims to come from the shared mailbox itself")
    if mail.bounce:
        return on_bounce(ctx, mail)
    if mail.auto_reply:
        return Outcome("auto-reply", detail=mail.auto_reply)
    member = config.member_by_address(mail.sender)
    if member is None:
        return Outcome("stranger", "quarantine", detail=f"{mail.sender_name} <{mail.sender}>")
    for check in workflows.GATES:
        refused = check(ctx, mail, member)
        if refused:
            return refused
    if mail.size > config.intake.max_message_bytes:
        explain(ctx, mail, member, "too_large", {"limit_mb": config.intake.max_message_bytes // (1024 * 1024)})
        return Outcome("too-large", "quarantine", detail=f"{mail.size} bytes")
    if mail.encrypted:
        explain(ctx, mail, member, "encrypted", {})
        return Outcome("encrypted", "quarantine")

    thread = ctx.store.sent_by_us(mail.thread_ids)
    if thread is None:
        tagged = tag_pattern(config.group.short).search(mail.subject)
        if tagged and ctx.store.item(tagged[1].upper()):
            thread = {"kind": "item", "item_id": tagged[1].upper(), "meeting": None, "ref": None, "message_id": None}
    if thread is not None:
        handler = workflows.REPLY_HANDLERS.get(thread["kind"])
        if handler is None and thread.get("item_id"):
            handler = workflows.REPLY_HANDLERS["item"]
        if handler is not None:
            return handler(ctx, mail, member, thread)
        explain(ctx, mail, member, "not_a_reply_we_expect", {})
        return Outcome("unexpected-reply", "quarantine", detail=f"reply to {thread['kind']}")

    for command in workflows.COMMANDS:
        outcome = command(ctx, mail, member)
        if outcome is not None:
            return outcome
    return workflows.NEW_MAIL(ctx, mail, member)


def on_bounce(ctx: Ctx, mail: ParsedMail) -> Outcome:
    """A delivery report: if it is about our mail, record the failed recipients."""
    row = ctx.store.sent_by_us(mail.bounce_refs)
    if row is None:
        return Outcome("bounce", detail="delivery report for unknown mail")
    failed = sorted(set(json.loads(row["failed_recipients"] or "[]")) | set(mail.bounce_recipients))
    ctx.store.db["outbox"].update(row["id"], {"failed_recipients": json.dumps(failed)})
    ctx.event(f"delivery failed for {', '.join(mail.bounce_recipients) or 'unknown recipients'}", item=row["item_id"],
              meeting=row["meeting"], detail={"message_id": row["message_id"]})
    if row["kind"] != "delivery-failure":
        tell_delivery_failure(ctx, row, mail.bounce_recipients, "delivery report (bounce)")
    return Outcome("bounce", item=row["item_id"], detail=f"for {row['message_id']}")


def tell_delivery_failure(ctx: Ctx, row: dict, recipients: list[str], reason: str) -> None:
    """Tell the chancellery, once per outgoing mail, that it did not reach someone."""
    key = f"delivery-failure:{row['message_id']}"
    if row["kind"] == "delivery-failure" or ctx.store.step_done(key):
        return
    ctx.store.mark_step(key, ctx.now)
    ctx.send("delivery_failure", ctx.chancellery(),
             {"subject": row["subject"], "recipients": recipients, "reason": reason, "kind": row["kind"],
              "created": row["created_at"]}, kind="delivery-failure", item=row["item_id"], meeting=row["meeting"])


def answers_last_hour(ctx: Ctx, address: str, kind: str | None = None) -> int:
    """How many automatic answers (of ``kind``, or any) ``address`` got in the hour before ``ctx.now``."""
    since = iso(ctx.now - timedelta(hours=1))
    sql = "SELECT COUNT(*) FROM outbox WHERE answer_to = ? AND created_at > ?"
    return ctx.store.count(sql + " AND kind = ?" if kind else sql, [address.lower(), since, *([kind] if kind else [])])


def may_answer(ctx: Ctx, address: str) -> bool:
    """False when ``address`` already got ``[security] explanations_per_sender_per_hour``
    explanations in the last hour: a broken client must not start a mail storm."""
    return answers_last_hour(ctx, address, "explain") < ctx.config.security.explanations_per_sender_per_hour


def explain(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict) -> str | None:
    """Send the member one plain-language explanation of why their mail was not acted on."""
    if not may_answer(ctx, mail.sender):
        ctx.event("explanation suppressed (storm guard)", actor=mail.sender, detail={"reason": reason})
        return None
    return ctx.send("explain", [mail.sender], {"reason": reason, "name": member.name, "subject": mail.subject, **context},
                    kind="explain", reply_to=mail)
