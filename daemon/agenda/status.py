"""The agenda's section of ``klg status``: per coming meeting with an agenda,
its versions, who approved which, what went to the members and where the
files lie (``<data>/agendas/<date>/``)."""

from __future__ import annotations

from datetime import datetime

from daemon import meetings
from daemon.agenda import common, versions
from daemon.context import Ctx


def _local(ctx: Ctx, text: str | None) -> str | None:
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(ctx.config.group.timezone).strftime("%Y-%m-%d %H:%M")


def section(ctx: Ctx) -> tuple[str, list, list[str]]:
    """STATUS entry: ("agendas", JSON list, text lines)."""
    out, lines = [], []
    for day in meetings.coming(ctx):
        current = versions.current(ctx.store, day)
        if current is None:
            continue
        approved = versions.latest_approved(ctx.store, day)
        sent = versions.final_version(ctx.store, day)
        folder = ctx.config.data_dir / "agendas" / day
        entry = {
            "date": day, "version": current["version"],
            "approved_version": approved["version"] if approved else None,
            "approved_by": approved["approved_by"] if approved else None,
            "approved_at": _local(ctx, approved["approved_at"]) if approved else None,
            "sent_version": sent["version"] if sent else None, "sent_at": _local(ctx, sent["final_sent_at"]) if sent else None,
            "final_at": common.calendar(ctx).final_at(common.day(day)).isoformat(timespec="minutes"),
            "folder": str(folder) if sent else None, "warnings": current["warnings"],
        }
        out.append(entry)
        text = f"Agenda {day}: version {current['version']}"
        text += (f", version {entry['approved_version']} approved by {common.member_name(ctx, entry['approved_by'])} "
                 f"at {entry['approved_at']}") if approved else ", not approved"
        text += (f", version {entry['sent_version']} sent at {entry['sent_at']} (files in {folder})" if sent
                 else f", goes out at {_local(ctx, entry['final_at'])} once approved")
        lines.append(text)
        lines += [f"  warning: {w}" for w in current["warnings"]]
    return "agendas", out, lines
