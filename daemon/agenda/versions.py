"""Versions of a meeting's agenda in the store (table ``agenda_versions``).

Every version is kept: the draft (version 1) and each version a reviewer's
edited document made. ``final_version`` is the version that went to the
members last, the one the minutes are pre-filled from.
"""

from __future__ import annotations

import json
from typing import Any

from daemon import meetings
from daemon.store import Store, iso

JSON_FIELDS = ("rows", "warnings", "changes")


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in JSON_FIELDS:
        out[key] = json.loads(out[key]) if out.get(key) else []
    return out


def all_versions(store: Store, meeting: str) -> list[dict]:
    """Every version of the agenda of ``meeting`` (YYYY-MM-DD), oldest first."""
    return [_decode(r) for r in store.all("SELECT * FROM agenda_versions WHERE meeting = ? ORDER BY version", [meeting])]


def get(store: Store, meeting: str, version: int) -> dict | None:
    return _decode(store.one("SELECT * FROM agenda_versions WHERE meeting = ? AND version = ?", [meeting, version]))


def current(store: Store, meeting: str) -> dict | None:
    """The newest version, approved or not."""
    return _decode(store.one("SELECT * FROM agenda_versions WHERE meeting = ? ORDER BY version DESC LIMIT 1", [meeting]))


def latest_approved(store: Store, meeting: str) -> dict | None:
    return _decode(store.one(
        "SELECT * FROM agenda_versions WHERE meeting = ? AND approved_at IS NOT NULL ORDER BY version DESC LIMIT 1",
        [meeting]))


def final_version(store: Store, meeting: str) -> dict | None:
    """The version last sent to all members as the (updated) final agenda, or None.

    Its ``rows`` (a list of dicts: id, type, start, end, title, presenter,
    kind, minutes, attachments, …) are the agenda as the members got it.
    """
    return _decode(store.one(
        "SELECT * FROM agenda_versions WHERE meeting = ? AND final_sent_at IS NOT NULL ORDER BY version DESC LIMIT 1",
        [meeting]))


def add(store: Store, meeting: str, *, now, source: str, author: str, rows: list[dict], warnings: list[str],
        changes: list[dict], docx_sha256: str, break_at: str | None, source_message: str | None = None,
        returned_sha256: str | None = None) -> dict:
    """Store the next version of ``meeting``'s agenda and make it the meeting's current one."""
    store.meeting(meeting)  # the meetings row exists from here on
    number = store.count("SELECT COALESCE(MAX(version), 0) + 1 FROM agenda_versions WHERE meeting = ?", [meeting])
    store.db["agenda_versions"].insert({
        "meeting": meeting, "version": number, "created_at": iso(now), "source": source, "author": author,
        "source_message": source_message, "returned_sha256": returned_sha256, "docx_sha256": docx_sha256,
        "rows": json.dumps(rows, ensure_ascii=False), "warnings": json.dumps(warnings, ensure_ascii=False),
        "changes": json.dumps(changes, ensure_ascii=False, default=str), "break_at": break_at,
    })
    meetings.set_agenda_version(store, meeting, number)
    return get(store, meeting, number)


def update(store: Store, meeting: str, version: int, **changes: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in changes)
    store.db.execute(f"UPDATE agenda_versions SET {sets} WHERE meeting = ? AND version = ?",
                     [*changes.values(), meeting, version])


def next_invite_sequence(store: Store, meeting: str) -> int:
    """SEQUENCE for the next invitation of ``meeting``: 0 first, then one more each time."""
    row = store.one("SELECT MAX(invite_sequence) AS s FROM agenda_versions WHERE meeting = ?", [meeting])
    return 0 if row is None or row["s"] is None else row["s"] + 1
