"""The secretary of the day: who writes the minutes of a meeting.

``[minutes] secretaries`` says who takes turns: ``"all"`` (every member, in
config order) or a list of member names; without the key, the members with
the ``secretary`` role take turns (everyone when nobody has it). The turn is
the number of meetings held from ``schedule.first_date`` up to the meeting, so
it is stable however often it is asked and whatever the daemon did before. A
secretary set on the meeting itself (``meetings.secretary``, an e-mail) wins.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from daemon.config import Config, ConfigError, Member
from daemon.config_reader import ConfigReader
from daemon.context import Ctx
from daemon.schedule import Calendar


def rotation(config: Config) -> list[Member]:
    """The members who take turns as secretary, in turn order; ConfigError if the key is wrong."""
    r = ConfigReader()
    members = _rotation(config, r)
    if r.problems:
        raise ConfigError(config.path, r.problems)
    return members


def check_config(config: Config) -> list[str]:
    """Problems with ``[minutes] secretaries`` (for `klg check-config` and start-up)."""
    r = ConfigReader()
    _rotation(config, r)
    return r.problems


def _rotation(config: Config, r: ConfigReader) -> list[Member]:
    # [minutes] itself (a table, its other keys, no unknown ones) is checked by daemon.minutes.settings
    minutes = config.raw.get("minutes")
    raw: Any = minutes.get("secretaries") if isinstance(minutes, dict) else None
    if raw is None:
        return config.with_role("secretary") or list(config.members)
    if raw == "all":
        return list(config.members)
    if not isinstance(raw, list) or not raw:
        r.bad("minutes.secretaries", raw, 'use "all" or a list of member names, e.g. ["Johan Ek", "Maria Holm"]')
        return list(config.members)
    chosen: list[Member] = []
    for i, name in enumerate(raw):
        member = config.member_by_name(name) if isinstance(name, str) else None
        if member is None:
            r.bad(f"minutes.secretaries[{i}]", name, "not the name or e-mail of a member; write it as in [[members]] name")
        elif member in chosen:
            r.bad(f"minutes.secretaries[{i}]", name, "listed twice; list each member once")
        else:
            chosen.append(member)
    return chosen or list(config.members)


def turn(calendar: Calendar, first_date: date, meeting: date) -> int:
    """How many meetings were held from ``first_date`` up to (not including) ``meeting``."""
    if meeting <= first_date:
        return 0
    return len(calendar.meetings(first_date, meeting - timedelta(days=1)))


def secretary_for(ctx: Ctx, meeting_date: date) -> Member:
    """The secretary of the meeting on ``meeting_date``: the one set on the meeting, else the rotation's turn."""
    row = ctx.store.one("SELECT secretary FROM meetings WHERE date = ?", [meeting_date.isoformat()])
    if row and row["secretary"]:
        member = ctx.config.member_by_address(row["secretary"])
        if member:
            return member
    people = rotation(ctx.config)
    cal = ctx.calendar
    return people[turn(cal, ctx.config.schedule.first_date, meeting_date) % len(people)]
