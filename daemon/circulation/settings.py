"""``[circulation]``: how long members have to comment, and when they are reminded.

    [circulation]
    comment_days = 5            # working days from the start (holidays respected)
    deadline_time = "16:00"     # the comment period ends at this local time
    reminder_days_before = 1    # working days before the deadline; 0: no reminder
    reminder_time = "16:00"     # default: deadline_time
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from daemon.config import Config
from daemon.config_reader import ConfigReader, validated


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Settings:
    """``[circulation]``: how long members have, and when they are reminded."""

    comment_days: int = 5  # working days from the start
    deadline_time: time = time(16, 0)  # local clock time the comment period ends
    reminder_days_before: int = 1  # working days before the deadline; 0: no reminder
    reminder_time: time | None = None  # None: the deadline's clock time


KEYS = ("comment_days", "deadline_time", "reminder_days_before", "reminder_time")


def read_settings(section: Any) -> tuple[Settings, list[str]]:
    """The settings in a raw ``[circulation]`` table, and every problem with it."""
    r = ConfigReader()
    p = "circulation"
    if not isinstance(section, dict):
        return Settings(), [f"circulation = {section!r}: expected a [circulation] table"]
    r.known(section, p, KEYS)
    days = r.get(section, "comment_days", p, int, 5, "expected a whole number of working days, e.g. 5")
    if days is not None and not 1 <= days <= 60:
        r.bad(f"{p}.comment_days", days, "use 1 to 60 working days")
    deadline = r.clock(section, "deadline_time", p, time(16, 0))
    before = r.get(section, "reminder_days_before", p, int, 1,
                   "expected a whole number of working days before the deadline, e.g. 1 (0: no reminder)")
    if before is not None and before < 0:
        r.bad(f"{p}.reminder_days_before", before, "use 0 (no reminder) or more")
    elif before and days and before >= days:
        r.bad(f"{p}.reminder_days_before", before,
              f"must be less than circulation.comment_days ({days}), or the reminder would come before the mail")
    reminder = r.clock(section, "reminder_time", p, None)
    settings = Settings(days if isinstance(days, int) and days >= 1 else 5, deadline or time(16, 0),
                        before if isinstance(before, int) and before >= 0 else 1, reminder)
    return settings, r.problems


def check_config(config: Config) -> list[str]:
    """Problems in ``[circulation]`` (config.parse calls this through workflows.CONFIG_CHECKS)."""
    return read_settings(config.section("circulation"))[1]


def settings(config: Config) -> Settings:
    return validated(config.path, read_settings(config.section("circulation")))


def wake_times(config: Config) -> list[time]:
    """Clock times at which a reminder or a deadline may fall due."""
    s = settings(config)
    return [s.deadline_time] + ([s.reminder_time] if s.reminder_time else [])
