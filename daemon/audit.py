"""``klg log``: the audit log, as the chancellery or an auditor reads it.

Every state change and every mail in or out is a row in ``events`` (time,
actor, item, meeting, what, detail), written in the same transaction as the
change itself. SQLite triggers refuse to update or delete a row, so the log
is only ever appended to. ``klg log`` prints it oldest first; ``--item`` and
``--meeting`` narrow it, ``--json`` makes it a list for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime
from typing import Iterator

from daemon.errors import UsageError
from daemon.store import Store


def query(store: Store, item: str | None = None, meeting: str | None = None) -> Iterator[dict]:
    """The events about ``item`` and/or ``meeting`` (all when neither), oldest first,
    one at a time (ten years are a quarter of a million events).

    A meeting's events are those recorded for it and those of every item now
    planned for it, so moving an item shows up under the meeting it went to.
    """
    where, params = [], []
    if item:
        where.append("item_id = ?")
        params.append(item)
    if meeting:
        where.append("(meeting = ? OR item_id IN (SELECT id FROM items WHERE meeting = ?))")
        params += [meeting, meeting]
    sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    return store.db.query(sql, params)


def _detail(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def as_json(row: dict) -> dict:
    """One event as the ``--json`` contract: ``id``, ``at`` (UTC, ISO 8601), ``actor``,
    ``item``, ``meeting``, ``what`` and ``detail`` (an object when one was recorded)."""
    return {"id": row["id"], "at": row["at"], "actor": row["actor"], "item": row["item_id"], "meeting": row["meeting"],
            "what": row["what"], "detail": _detail(row["detail"])}


def as_text(row: dict, tz) -> str:
    """One event on one line: local time, actor, item, meeting, what happened, detail."""
    at = datetime.fromisoformat(row["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    detail = f"  {row['detail']}" if row["detail"] else ""
    return f"{at}  {row['actor']:<28} {row['item_id'] or '-':<14} {row['meeting'] or '-':<10}  {row['what']}{detail}"


def cmd_log(config, args) -> int:
    """``klg log [--item ID] [--meeting DATE] [--json]``."""
    meeting = None
    if args.meeting:
        try:
            meeting = date.fromisoformat(args.meeting.strip()).isoformat()
        except ValueError:
            raise UsageError(f"--meeting {args.meeting!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01") from None
    item = args.item.strip().upper() if args.item else None
    store = Store(config.data_dir)
    out = sys.stdout
    count = 0
    try:
        if args.json:
            out.write("[")
        for row in query(store, item, meeting):
            if args.json:
                out.write(("," if count else "") + "\n " + json.dumps(as_json(row), ensure_ascii=False))
            else:
                out.write(as_text(row, config.group.timezone) + "\n")
            count += 1
        if args.json:
            out.write("\n]\n" if count else "]\n")
        elif not count:
            out.write("(no events)\n")
    except BrokenPipeError:  # `klg log | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        store.close()
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    """Register ``klg log`` with the command line."""
    p = sub.add_parser("log", help="the audit log: every state change and every mail in or out")
    p.add_argument("--item", help="only the events of this item, e.g. KLG-2026-042")
    p.add_argument("--meeting", help="only the events of this meeting (YYYY-MM-DD) and of its items")
    p.add_argument("--json", action="store_true", help="a JSON list for scripts")
    p.set_defaults(handler=cmd_log)
