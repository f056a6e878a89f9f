"""The outbox: every mail is stored (bytes on disk, row in SQLite, Message-ID
known) before one worker sends it.

``queue`` is called inside the transaction that decided to send, so the mail
exists exactly when its cause does. ``flush`` sends what is due, one message
per transaction, retrying temporary failures with backoff and marking
permanent ones failed per recipient; the chancellery is told once per failure.

Exactly once: before a mail is handed to the transport, the attempt is
committed (``attempt_started_at``). If the process dies before the mail is
marked sent, the next pass finds the attempt and asks the transport whether
the mail got through (``Transport.delivered``): the Maildir transport looks
for its file; SMTP with ``copy_to_self`` waits for the copy that came back to
the shared inbox, else looks for the copy in the Sent folder. Only when the
transport cannot tell is the mail sent again (at least once, never lost);
those resends are counted in ``resent_unsure``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from daemon.faults import crash_point
from daemon.mail import MailError, PermanentFailure, TemporaryFailure, Transport
from daemon.mail.outgoing import Outgoing, new_message_id
from daemon.refs import Ref
from daemon.store import Store, iso
from daemon.systemd import keepalive

# The bytes are built when a mail is queued: a pass that queues none loads no email package (issue 19).
build = Ref("daemon.mail.compose:build")

log = logging.getLogger("klg.outbox")

BACKOFF = [30, 60, 120, 300, 600, 1800, 3600]  # seconds; then hourly
GIVE_UP_AFTER = timedelta(hours=48)
# how long an interrupted attempt waits for its copy_to_self copy: the server delivers it within
# seconds of taking the mail unless the mailbox server is down, and then klg cannot read it either
OWN_COPY_GRACE = timedelta(minutes=10)


def queue(store: Store, out: Outgoing, *, kind: str, sender: str, sender_name: str, domain: str, now: datetime,
          item: str | None = None, meeting: str | None = None, ref: str | None = None,
          answer_to: str | None = None) -> str:
    """Store ``out`` for sending and return its Message-ID (without brackets).
    ``answer_to`` is the address whose mail this answers (the storm guard counts these)."""
    message_id = new_message_id(domain)
    raw = build(out, sender=sender, sender_name=sender_name, message_id=message_id, date=now)
    sha = store.files.put(raw)
    recipients = sorted({a.lower() for a in [*out.to, *out.cc]})
    store.db["outbox"].insert({
        "message_id": message_id, "kind": kind, "created_at": iso(now), "sender": sender,
        "recipients": json.dumps(recipients), "subject": out.subject, "raw_sha256": sha,
        "item_id": item, "meeting": meeting, "ref": ref, "state": "queued", "attempts": 0,
        "next_attempt_at": iso(now), "answer_to": answer_to.lower() if answer_to else None,
    })
    store.event(now, f"mail queued: {kind} to {', '.join(recipients)}", item=item, meeting=meeting,
                detail={"message_id": message_id, "subject": out.subject})
    return message_id


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(attempts - 1, len(BACKOFF) - 1)])


def due(store: Store, now: datetime, limit: int = 200) -> list[dict]:
    return store.all(
        "SELECT * FROM outbox WHERE state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
        [iso(now), limit],
    )


def flush(store: Store, transport: Transport, now: datetime, on_failure=None) -> dict:
    """Send every due mail. ``on_failure(row, recipients, reason)`` is called inside
    the marking transaction when a mail or some recipients failed for good.
    Returns counts of sent, retried and failed messages."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        rows = due(store, now)
        if not rows:
            return counts
        for row in rows:
            _send_one(store, transport, row, now, counts, on_failure)
            keepalive()
        if counts["retry"]:
            return counts  # the server is unwell; the rest waits for the next pass


def _send_one(store: Store, transport: Transport, row: dict, now: datetime, counts: dict, on_failure) -> None:
    raw = store.files.get(row["raw_sha256"])
    recipients = json.loads(row["recipients"])
    if row.get("attempt_started_at"):
        verdict = _own_copy(store, transport, row, now)
        if verdict == "wait":
            return
        if verdict == "back" or _interrupted_attempt_delivered(store, transport, row, now):
            _mark_sent(store, row, recipients, [], now, on_failure)
            counts["sent"] += 1
            return
    with store.atomic():
        store.db["outbox"].update(row["id"], {"attempt_started_at": iso(now)})
    crash_point("outbox.before-send")
    try:
        refused = transport.send(raw, row["sender"], recipients)
        crash_point("outbox.after-send")
    except TemporaryFailure as exc:
        attempts = row["attempts"] + 1
        first = datetime.fromisoformat(row["created_at"])
        with store.atomic():
            if now - first > GIVE_UP_AFTER:
                store.db["outbox"].update(row["id"], {"state": "failed", "attempts": attempts, "last_error": str(exc)[:500],
                                                      "failed_recipients": json.dumps(recipients),
                                                      "attempt_started_at": None})
                store.event(now, f"mail failed after {attempts} attempts: {exc}", item=row["item_id"], meeting=row["meeting"])
                if on_failure:
                    on_failure(row, recipients, str(exc))
                counts["failed"] += 1
            else:
                retry_at = now + backoff(attempts)
                # the transport said it did not deliver: the retry is a plain one, not a suspect
                store.db["outbox"].update(row["id"], {"attempts": attempts, "last_error": str(exc)[:500],
                                                      "next_attempt_at": iso(retry_at), "attempt_started_at": None})
                store.event(now, f"mail not sent yet (attempt {attempts}), retry at {iso(retry_at)}: {exc}",
                            item=row["item_id"], meeting=row["meeting"], detail={"message_id": row["message_id"]})
                counts["retry"] += 1
        log.warning("outbox %s (%s): temporary failure, attempt %d: %s", row["message_id"], row["kind"], attempts, exc)
        return
    except PermanentFailure as exc:
        failed = exc.recipients or recipients
        with store.atomic():
            store.db["outbox"].update(row["id"], {"state": "failed", "attempts": row["attempts"] + 1,
                                                  "last_error": str(exc)[:500], "failed_recipients": json.dumps(failed)})
            store.event(now, f"mail refused: {exc}", item=row["item_id"], meeting=row["meeting"])
            if on_failure:
                on_failure(row, failed, str(exc))
        counts["failed"] += 1
        log.error("outbox %s (%s): refused for good: %s", row["message_id"], row["kind"], exc)
        return
    _mark_sent(store, row, recipients, refused, now, on_failure)
    counts["sent"] += 1


def _mark_sent(store: Store, row: dict, recipients: list[str], refused: list[str], now: datetime, on_failure) -> None:
    with store.atomic():
        store.db["outbox"].update(row["id"], {"state": "sent", "attempts": row["attempts"] + 1, "sent_at": iso(now),
                                              "failed_recipients": json.dumps(refused) if refused else None})
        store.event(now, f"mail sent: {row['kind']}", item=row["item_id"], meeting=row["meeting"],
                    detail={"message_id": row["message_id"], "to": recipients})
        if refused and on_failure:
            on_failure(row, refused, "refused by the server")
    crash_point("outbox.after-mark")
    log.info("sent %s %s to %s", row["kind"], row["item_id"] or row["meeting"] or "", ", ".join(recipients))


def _own_copy(store: Store, transport: Transport, row: dict, now: datetime) -> str | None:
    """With ``copy_to_self`` every mail also goes to the shared mailbox in the same
    SMTP transaction, and the server queues all its recipients at once or none.
    "back": the copy of ``row``'s interrupted attempt has come back to the inbox
    (intake ran first in this pass), so the members got it too. "wait": not yet,
    but it may still be on its way; the mail waits up to OWN_COPY_GRACE for it
    before it is sent again. None: no copy to wait for."""
    if store.message_seen(row["message_id"]):
        with store.atomic():
            store.db["outbox"].update(row["id"], {"interrupted": row["interrupted"] + 1})
        log.info("outbox %s (%s): the interrupted attempt's own copy came back; not sending again",
                 row["message_id"], row["kind"])
        return "back"
    if not getattr(transport, "copy_to", None):
        return None
    until = datetime.fromisoformat(row["attempt_started_at"]) + OWN_COPY_GRACE
    if now >= until:
        return None
    with store.atomic():
        store.db["outbox"].update(row["id"], {"next_attempt_at": iso(until)})
    log.info("outbox %s (%s): an attempt was interrupted; waiting until %s for its own copy before sending again",
             row["message_id"], row["kind"], iso(until))
    return "wait"


def _interrupted_attempt_delivered(store: Store, transport: Transport, row: dict, now: datetime) -> bool:
    """An attempt to send ``row`` began and never finished (the process died, or
    the server's answer was lost). True if the transport can show the mail got
    through; otherwise the attempt is counted and the caller sends again."""
    delivered = getattr(transport, "delivered", None)
    try:
        verdict = delivered(row["message_id"]) if delivered else None
    except MailError as exc:  # cannot look: sending again is safer than losing the mail
        log.warning("outbox %s: could not check whether an interrupted attempt was delivered: %s", row["message_id"], exc)
        verdict = None
    with store.atomic():
        store.db["outbox"].update(row["id"], {"interrupted": row["interrupted"] + 1,
                                              "resent_unsure": row["resent_unsure"] + (verdict is None)})
        if verdict is None:
            store.event(now, f"mail {row['kind']}: an earlier attempt was interrupted and the transport cannot tell "
                             "whether it was delivered; sending again with the same Message-ID (at worst a duplicate)",
                        item=row["item_id"], meeting=row["meeting"], detail={"message_id": row["message_id"]})
    if verdict:
        log.info("outbox %s (%s): the interrupted attempt had been delivered; not sending again",
                 row["message_id"], row["kind"])
    elif verdict is None:
        log.warning("outbox %s (%s): an interrupted attempt may have been delivered; sending again",
                    row["message_id"], row["kind"])
    return bool(verdict)
