"""``klg quarantine list`` and ``klg quarantine release ID [--as-member ADDRESS]``.

Mail that intake put in quarantine (a stranger, a forgery, a member's mail
that looked automatic, one that made something fail) is listed with its
number; the chancellery decides, and the operator releases it. A release hands
the stored bytes back to intake once (``intake.release``): read as the member
named by ``--as-member`` when it came from another address, without the gates
(the chancellery vouches for it), its Message-ID marked released in
``quarantine_releases`` rather than treated as a duplicate, and an event in the
audit log naming who released it. The answers it causes are queued in the
outbox: sent at once when no daemon runs, else by the daemon's next pass.
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import datetime, timedelta

from daemon import intake, outbox
from daemon.answers import Outcome
from daemon.backends import open_transport
from daemon.config import Config
from daemon.context import Ctx
from daemon.engine import system_clock
from daemon.errors import UsageError
from daemon.store import Store, StoreLocked, iso

LIST_DAYS = 30  # `klg quarantine list` without --all: the last month


def listing(store: Store, since: datetime | None) -> list[dict]:
    """The messages in quarantine and not released, oldest first; only those received since ``since`` if given."""
    sql = ("SELECT m.id, m.received_at, m.sender, m.subject, m.classification, m.detail, m.item_id, "
           "m.raw_sha256 IS NOT NULL AS releasable FROM messages_in m WHERE m.disposition = 'quarantine' "
           "AND NOT EXISTS (SELECT 1 FROM quarantine_releases r WHERE r.message_in = m.id)")
    params: list = []
    if since is not None:
        sql += " AND m.received_at >= ?"
        params.append(iso(since))
    return store.all(sql + " ORDER BY m.id", params)


def release(config: Config, store: Store, number: int, as_member: str | None, by: str, now: datetime) -> Outcome:
    """Hand quarantined message ``number`` back to intake once; the Outcome it got.
    UsageError (exit 2) when it cannot be released, with the reason and what to do."""
    row = store.one("SELECT * FROM messages_in WHERE id = ?", [number])
    if row is None:
        raise UsageError(f"there is no message number {number}; `klg quarantine list --all` shows the numbers")
    done = store.one("SELECT * FROM quarantine_releases WHERE message_in = ?", [number])
    if done is not None:
        raise UsageError(f"message {number} was released already, at {done['released_at']} by {done['released_by']} "
                         f"({done['outcome']}); a message is released only once")
    if row["disposition"] != "quarantine":
        raise UsageError(f"message {number} is not in quarantine: it was handled ({row['classification']})")
    if not row["raw_sha256"] or not store.files.path(row["raw_sha256"]).exists():
        raise UsageError(f"message {number} was quarantined before klg kept quarantined mail for a release; "
                         "forward it from the quarantine folder to the shared mailbox instead")
    member = None
    if as_member:
        member = config.member_by_address(as_member.strip().lower())
        if member is None:
            raise UsageError(f"--as-member {as_member!r} is not the address of a member in [members]; "
                             f"use one of: {', '.join(m.email for m in config.members)}")
    order = intake.Release(row=row, by=by, as_member=member)
    try:
        return intake.release(Ctx(config, store, now), store.files.get(row["raw_sha256"]), order)
    except intake.StillQuarantined as exc:
        hint = " (the sender is not a member: add --as-member ADDRESS)" if exc.outcome.classification == "stranger" else ""
        raise UsageError(f"message {number} would go to quarantine again: {exc}{hint}; nothing was changed") from None
    except Exception as exc:
        if intake.transient(exc):
            raise  # the machine's: the command line says so (disk full, database busy)
        raise UsageError(f"message {number} could not be handled ({type(exc).__name__}: {exc}); it stays in "
                         "quarantine, nothing was changed") from None


def _flush_if_alone(config: Config, store: Store, now: datetime) -> bool:
    """Send the queued answers now if no daemon runs on this data folder; False if one does."""
    try:
        store.lock()
    except StoreLocked:
        return False
    transport = open_transport(config)
    ctx = Ctx(config, store, now)
    try:
        outbox.flush(store, transport, now, on_failure=lambda row, to, why: intake.tell_delivery_failure(ctx, row, to, why))
    finally:
        transport.close()
    return True


def _now(config: Config, args) -> datetime:
    """The time of the command: the clock, or the hidden ``--now`` the tests give (naive: the group's zone)."""
    if not args.now:
        return system_clock()
    try:
        moment = datetime.fromisoformat(args.now)
    except ValueError:
        raise UsageError(f"--now {args.now!r} is not an ISO 8601 time; write e.g. 2026-11-30T10:05") from None
    return moment.replace(tzinfo=config.group.timezone) if moment.tzinfo is None else moment


def cmd_list(config: Config, args) -> int:
    """``klg quarantine list [--all] [--json]``."""
    now = _now(config, args)
    store = Store(config.data_dir)
    try:
        rows = listing(store, None if args.all else now - timedelta(days=LIST_DAYS))
    finally:
        store.close()
    if args.json:
        print(json.dumps([{**r, "releasable": bool(r["releasable"])} for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("(nothing in quarantine" + ("" if args.all else f" from the last {LIST_DAYS} days; --all shows older") + ")")
        return 0
    tz = config.group.timezone
    for r in rows:
        at = datetime.fromisoformat(r["received_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        why = f"{r['classification']}" + (f": {r['detail']}" if r["detail"] else "")
        print(f"{r['id']:>6}  {at}  {r['sender'] or '(no sender)'}  \"{r['subject'] or '(no subject)'}\"\n"
              f"        {why[:160]}{'' if r['releasable'] else '  [kept from before releases: forward it instead]'}")
    print("\nRelease one with: klg quarantine release NUMBER [--as-member ADDRESS]")
    return 0


def cmd_release(config: Config, args) -> int:
    """``klg quarantine release NUMBER [--as-member ADDRESS]``."""
    now = _now(config, args)
    store = Store(config.data_dir)
    try:
        outcome = release(config, store, args.number, args.as_member, getpass.getuser(), now)
        sent = _flush_if_alone(config, store, now)
    finally:
        store.close()
    what = f"{outcome.classification}" + (f" {outcome.item}" if outcome.item else "")
    print(f"message {args.number} released and handled: {what}; "
          + ("its answers were sent" if sent else "the running daemon sends its answers on its next pass"))
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    """Register ``klg quarantine list|release`` with the command line."""
    p = sub.add_parser("quarantine", help="list quarantined mail, or release one to be handled after all")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("list", help=f"quarantined mail not released, with its number (the last {LIST_DAYS} days)")
    show.add_argument("--all", action="store_true", help="all of it, not only the last 30 days")
    show.add_argument("--json", action="store_true", help="a JSON list for scripts")
    show.add_argument("--now", help=argparse.SUPPRESS)
    show.set_defaults(handler=cmd_list)
    free = actions.add_parser("release", help="hand a quarantined mail back to intake, once")
    free.add_argument("number", type=int, help="its number in `klg quarantine list`")
    free.add_argument("--as-member", metavar="ADDRESS",
                      help="read it as from this member (it came from another address of theirs)")
    free.add_argument("--now", help=argparse.SUPPRESS)
    free.set_defaults(handler=cmd_release)
