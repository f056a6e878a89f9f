"""Intake: what one incoming message is, and what is done about it.

The order of questions matters and is the security model in small: our own
mail coming back, an ambiguous sender, duplicates, read receipts, bounces and
auto-replies are recorded and never answered; strangers are never answered (no
backscatter); only then is a member's mail read as a reply to one of our
threads, a command, or a new proposal. Everything a message causes is written
in one transaction together with its ``messages_in`` row (within the engine's
batch a savepoint of the batch's transaction, ``Engine.ingest``); the mailbox
move happens after the commit.

One guard holds around reading, classifying and acting: whatever a message
causes (a limit, a RecursionError, a UnicodeError, a bug of ours) quarantines
that message with its reason, and the pass goes on with the next one. Only a
failure of the machine (a full disk, a locked database) leaves the message in
the inbox for the next pass.

A quarantined message is kept in the file store (``messages_in.raw_sha256``)
so that ``klg quarantine release`` can hand it back here once
(:class:`Release`): the gates are not asked again (the chancellery vouches for
it), and its row is updated and marked released instead of being a duplicate.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import sqlite3
import traceback
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from daemon import documents, workflows
from daemon.answers import Outcome, explain
from daemon.config import Member
from daemon.context import Ctx
from daemon.faults import crash_point
from daemon.mail.headers import clean_text
from daemon.mail.limits import Budget, LimitExceeded, Limits
from daemon.mail.message import ParsedMail, fallback_id, header_summary, parse
from daemon.store import iso

if TYPE_CHECKING:
    from daemon.ahead import Read

log = logging.getLogger("klg.intake")

# Failures of the machine rather than of the mail: the message is retried, not quarantined.
MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM, errno.EMFILE,
                  errno.ENFILE, errno.ENOMEM, errno.EBUSY, errno.EAGAIN, errno.ENOLCK, errno.ESTALE}
_MACHINE_SQL = re.compile(r"locked|busy|disk|full|I/O|unable to open|readonly|malformed", re.IGNORECASE)


def transient(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) is the machine's failure, not the message's:
    disk full, I/O error, database locked or damaged."""
    for _ in range(10):
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
            return True
        if isinstance(exc, sqlite3.OperationalError) and _MACHINE_SQL.search(str(exc)):
            return True
        if type(exc) is sqlite3.DatabaseError:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def tag_pattern(short: str) -> re.Pattern:
    """``[KLG-2026-042]`` in a subject."""
    return re.compile(rf"\[({re.escape(short)}-\d{{4}}-\d{{3,}})\]", re.IGNORECASE)


def limits_for(ctx: Ctx) -> Limits:
    """The reading limits, with the message size from ``[intake] max_message_mb``."""
    return Limits(max_message_bytes=ctx.config.intake.max_message_bytes)


@dataclass(frozen=True)
class Release:
    """A quarantined message handed back by ``klg quarantine release``: its
    ``messages_in`` row, who released it, and the member it is to be read as
    (``--as-member``: a member writing from another address), if any."""

    row: dict
    by: str
    as_member: Member | None = None


class StillQuarantined(Exception):
    """A released message would go to quarantine again; nothing of it was kept."""

    def __init__(self, outcome: Outcome):
        super().__init__(f"{outcome.classification}: {outcome.detail or ''}".strip(": "))
        self.outcome = outcome


def handle(ctx: Ctx, raw: bytes, read: Read | None = None) -> Outcome:
    """Read, classify and act on one message in its own transaction; return where it goes.

    Never raises for anything the message causes (see the module docstring);
    raises only when the machine fails, and then nothing of the message was kept.
    A message seen before (same Message-ID) has no new effect: it only needs
    moving, which the caller does with the returned disposition. ``read`` is what
    a second process already read of ``raw`` (``daemon.ahead``), if anything.
    """
    limits = limits_for(ctx)
    budget = Budget(limits.seconds)
    mail: ParsedMail | None = None
    try:
        with budget.alarm():
            mail = read.result() if read is not None else parse(raw, limits, budget)
        seen = ctx.store.message_seen(mail.message_id)
        if seen:  # the audit log has its event already; a redelivery only needs moving
            log.info("%s from %s: duplicate of a message handled at %s -> %s", mail.message_id, mail.sender or "?",
                     seen["received_at"], seen["disposition"])
            return Outcome("duplicate", seen["disposition"], seen["item_id"], "already handled")
        outcome = documents.run(ctx.store, ctx.now, lambda: _act(ctx, mail, budget, raw))
        crash_point("intake.after-commit")
    except Exception as exc:
        if transient(exc):
            raise  # disk full, database busy: leave the mail in the inbox and try again on the next pass
        outcome = _quarantine(ctx, raw, mail, exc)
    log.info("%s from %s: %s -> %s%s", mail.message_id if mail else fallback_id(raw), (mail and mail.sender) or "?",
             outcome.classification, outcome.disposition, f" ({outcome.item})" if outcome.item else "")
    return outcome


def release(ctx: Ctx, raw: bytes, order: Release) -> Outcome:
    """Hand a quarantined message back to intake once (``klg quarantine release``).

    Read as the member of ``order.as_member`` when given, without the gates; its
    ``messages_in`` row takes the new outcome and a ``quarantine_releases`` row
    marks it released (so it is not a duplicate, and never released twice), with
    an audit event, all in one transaction. Raises :class:`StillQuarantined`
    (nothing kept, nobody answered) when it would go to quarantine again, and
    whatever else fails, so the operator sees it; the message then stays in quarantine."""
    limits = limits_for(ctx)
    budget = Budget(limits.seconds)
    with budget.alarm():
        mail = parse(raw, limits, budget)
    if order.as_member is not None:
        # the chancellery says who wrote it: their registered address, so the answer goes there and not to a stranger
        mail = replace(mail, sender=order.as_member.email, sender_problem=None)
    mail = replace(mail, maybe_automatic=None)  # the chancellery has looked: a person wrote it
    return documents.run(ctx.store, ctx.now, lambda: _act(ctx, mail, budget, raw, order))


def _act(ctx: Ctx, mail: ParsedMail, budget: Budget, raw: bytes, order: Release | None = None) -> Outcome:
    """Classify ``mail`` and make its effects, in one transaction with its ``messages_in`` row
    (and, when it goes to quarantine, its bytes kept for a release)."""
    with ctx.store.atomic():
        with budget.alarm():
            outcome = classify_and_act(ctx, mail, gates=order is None)
            budget.check()
            if order is None:
                _record(ctx, mail, outcome, _keep(ctx, raw) if outcome.disposition == "quarantine" else None)
            elif outcome.disposition == "quarantine":
                raise StillQuarantined(outcome)  # rolls back: no answer, no change
            else:
                _record_release(ctx, mail, outcome, order)
        crash_point("intake.before-commit")
    return outcome


def _quarantine(ctx: Ctx, raw: bytes, mail: ParsedMail | None, exc: Exception) -> Outcome:
    """Quarantine a message that went over a limit or made something fail, with the
    reason; never lose it, never crash. A member whose mail it certainly is gets
    one plain explanation."""
    limit = isinstance(exc, LimitExceeded)
    message_id = mail.message_id if mail else fallback_id(raw)
    if limit:
        log.warning("message %s quarantined: over a limit: %s", message_id, exc)
        outcome = Outcome("over-limit", "quarantine", detail=clean_text(f"{exc.what}: {exc}")[:500])
    else:
        log.error("message %s could not be handled: %s: %s\n%s", message_id, type(exc).__name__,
                  clean_text(str(exc))[:500], traceback.format_exc())
        outcome = Outcome("error", "quarantine", detail=clean_text(f"{type(exc).__name__}: {exc}")[:500])
    seen = ctx.store.message_seen(message_id)
    if seen:
        return Outcome("duplicate", seen["disposition"], seen["item_id"], "already handled")
    record = mail or header_summary(raw)
    raw_sha = _keep(ctx, raw)
    try:
        with ctx.store.atomic():
            member = _answerable_member(ctx, mail)
            if member is not None:
                try:
                    with ctx.store.atomic():  # a savepoint: a failing answer must not cost the record
                        context = {"limit": exc.what} if limit else {}
                        explain(ctx, mail, member, "over_limit" if limit else "error", context)
                except Exception as again:
                    if transient(again):
                        raise
                    log.error("no explanation could be sent for %s: %s", message_id, again)
            _record(ctx, record, outcome, raw_sha)
    except Exception as again:
        if transient(again):
            raise
        # the last resort: the message still leaves the inbox for the quarantine folder, and the log says why
        log.error("message %s goes to quarantine unrecorded: %s: %s", message_id, type(again).__name__, again)
    return outcome


def _answerable_member(ctx: Ctx, mail: ParsedMail | None) -> Member | None:
    """The member who certainly sent ``mail`` and may be answered, else None:
    a strict sender, no sign of a machine, and every gate (authentication,
    storm guard) passed."""
    if mail is None or mail.sender_problem or mail.auto_reply or mail.maybe_automatic or mail.bounce or mail.receipt:
        return None
    member = ctx.config.member_by_address(mail.sender)
    if member is None or mail.sender == ctx.config.group.address:
        return None
    try:
        if any(check(ctx, mail, member) for check in workflows.GATES):
            return None
    except Exception:
        return None
    return member


MACHINE_MAIL = ("own", "auto-reply", "bounce", "read-receipt")


def _keep(ctx: Ctx, raw: bytes) -> str | None:
    """Keep a quarantined message's bytes for ``klg quarantine release``; None if they could not be."""
    try:
        return ctx.store.files.put(raw)
    except OSError as exc:
        if transient(exc):
            raise
        log.error("the quarantined message could not be kept for a release: %s", exc)
        return None


def _record(ctx: Ctx, mail: ParsedMail, outcome: Outcome, raw_sha: str | None = None) -> None:
    detail = clean_text(outcome.detail)[:2000] if outcome.detail else None
    unread = [a.label or a.name for a in mail.attachments if a.unreadable]
    ctx.store.db["messages_in"].insert({
        "message_id": mail.message_id, "received_at": iso(ctx.now), "sender": mail.sender, "subject": mail.subject,
        "classification": outcome.classification, "disposition": outcome.disposition, "item_id": outcome.item,
        "detail": detail,
        "unread": json.dumps(unread, ensure_ascii=False) if unread and outcome.classification not in MACHINE_MAIL else None,
        "raw_sha256": raw_sha,
    })
    ctx.event(f"mail in: {outcome.classification} -> {outcome.disposition}", actor=mail.sender or "unknown",
              item=outcome.item, detail={"message_id": mail.message_id, "subject": mail.subject, "detail": outcome.detail})


def _record_release(ctx: Ctx, mail: ParsedMail, outcome: Outcome, order: Release) -> None:
    """The released message's row takes its new outcome; the release is recorded once, with an audit event."""
    row = order.row
    ctx.store.db.execute(
        "INSERT INTO quarantine_releases (message_in, message_id, released_at, released_by, as_member, was, outcome, "
        "item_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [row["id"], row["message_id"], iso(ctx.now), order.by, order.as_member.email if order.as_member else None,
         row["classification"], outcome.classification, outcome.item])
    ctx.store.db.execute(
        "UPDATE messages_in SET classification = ?, disposition = ?, item_id = ?, detail = ? WHERE id = ?",
        [outcome.classification, outcome.disposition, outcome.item,
         clean_text(outcome.detail)[:2000] if outcome.detail else None, row["id"]])
    ctx.event(f"mail released from quarantine: {row['classification']} -> {outcome.classification}",
              actor=order.by, item=outcome.item,
              detail={"message_id": row["message_id"], "subject": mail.subject, "from": row["sender"],
                      "as_member": order.as_member.email if order.as_member else None})


def classify_and_act(ctx: Ctx, mail: ParsedMail, gates: bool = True) -> Outcome:
    """What ``mail`` is, and its effects (see the module docstring for the order).
    ``gates=False`` for a message the chancellery released from quarantine."""
    config = ctx.config
    if ctx.store.sent_by_us([mail.message_id]):
        return Outcome("own", detail="our own mail came back")
    if mail.sender_problem:
        return Outcome("ambiguous-sender", "quarantine", detail=f"{mail.sender_problem}: From: {mail.raw_from}")
    if mail.sender == config.group.address:
        return Outcome("spoofed-self", "quarantine", detail="claims to come from the shared mailbox itself")
    if mail.receipt:
        return Outcome("read-receipt", detail="a read receipt, not a delivery report")
    if mail.bounce:
        return on_bounce(ctx, mail)
    if mail.auto_reply:
        member = config.member_by_address(mail.sender)
        if member is not None:  # a return date in a member's out-of-office reply (noted, never answered)
            for listener in workflows.AUTO_REPLY_LISTENERS:
                listener(ctx, mail, member)
        return Outcome("auto-reply", detail=mail.auto_reply)
    member = config.member_by_address(mail.sender)
    if member is None:
        if mail.maybe_automatic:  # list or bulk mail from outside: recorded, never answered
            return Outcome("auto-reply", detail=mail.maybe_automatic)
        guest = workflows.GUEST_OF(ctx, mail)  # an invited presenter answering their own invitation
        if guest is not None:
            for check in workflows.GATES:
                refused = check(ctx, mail, guest[0])
                if refused:
                    return refused
            return workflows.GUEST_REPLY(ctx, mail, *guest)
        return Outcome("stranger", "quarantine", detail=f"{mail.sender_name} <{mail.sender}>")
    for check in workflows.GATES if gates else ():
        refused = check(ctx, mail, member)
        if refused:
            return refused
    if mail.size > config.intake.max_message_bytes:
        explain(ctx, mail, member, "too_large", {"limit_mb": config.intake.max_message_bytes // (1024 * 1024)})
        return Outcome("too-large", "quarantine", detail=f"{mail.size} bytes")
    if mail.over_limit is not None:
        explain(ctx, mail, member, "over_limit", {"limit": mail.over_limit.what})
        return Outcome("over-limit", "quarantine", detail=f"{mail.over_limit.what}: {mail.over_limit}")
    if mail.maybe_automatic:  # a member's mail that may be automatic: the chancellery decides, nobody is answered
        return Outcome("maybe-automatic", "quarantine", detail=mail.maybe_automatic)
    if mail.encrypted:
        explain(ctx, mail, member, "encrypted", {})
        return Outcome("encrypted", "quarantine")

    thread = ctx.store.sent_by_us(mail.thread_ids)
    if thread is None:
        tagged = tag_pattern(config.group.short).search(mail.subject)
        if tagged and ctx.store.item(tagged[1].upper()):
            thread = {"kind": "item", "item_id": tagged[1].upper(), "meeting": None, "ref": None, "message_id": None}
    if thread is not None:
        handlers = workflows.REPLY_ROUTES.get(thread["kind"])
        if handlers is None and thread.get("item_id"):
            handlers = workflows.REPLY_ROUTES["item"]
        for handler in handlers or ():
            outcome = handler(ctx, mail, member, thread)
            if outcome is not None:
                return outcome
        explain(ctx, mail, member, "not_a_reply_we_expect", {})
        return Outcome("unexpected-reply", "quarantine", detail=f"reply to {thread['kind']}")

    for command in workflows.COMMANDS:
        outcome = command(ctx, mail, member)
        if outcome is not None:
            return outcome
    return workflows.NEW_MAIL(ctx, mail, member)


def on_bounce(ctx: Ctx, mail: ParsedMail) -> Outcome:
    """A delivery report: if it is about a mail we sent and names recipients that
    mail had, record them as failed and tell the chancellery. Anything else
    (unknown mail, recipients the mail never had: a forgery) changes nothing."""
    row = ctx.store.sent_by_us(mail.bounce_refs)
    if row is None:
        return Outcome("bounce", detail="delivery report for unknown mail")
    had = set(json.loads(row["recipients"] or "[]"))
    named = sorted(set(mail.bounce_recipients) & had)
    if not named:
        return Outcome("bounce", item=row["item_id"],
                       detail=f"for {row['message_id']}, naming none of its recipients: ignored")
    failed = sorted(set(json.loads(row["failed_recipients"] or "[]")) | set(named))
    ctx.store.db["outbox"].update(row["id"], {"failed_recipients": json.dumps(failed)})
    ctx.event(f"delivery failed for {', '.join(named)}", item=row["item_id"],
              meeting=row["meeting"], detail={"message_id": row["message_id"]})
    if row["kind"] != "delivery-failure":
        tell_delivery_failure(ctx, row, named, "delivery report (bounce)")
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
