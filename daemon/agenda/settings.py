"""``[agenda]``: the agenda workflow's own keys, validated here.

    [agenda]
    max_mail_mb = 15        # a mail with the documents above this gets the meeting book instead
    max_book_mb = 25        # a mail with the meeting book above this carries no documents at all
    reminder = "13:00"      # on the final agenda's day, remind if not approved; "" = never
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from daemon.config import Config
from daemon.config_reader import ConfigReader, validated

DEFAULT_MAX_MAIL_MB = 15.0
DEFAULT_MAX_BOOK_MB = 25.0
DEFAULT_REMINDER = time(13, 0)
KEYS = ("max_mail_mb", "max_book_mb", "reminder")


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class AgendaSettings:
    """``[agenda]``, validated: the mail and meeting-book size limits in bytes and the reminder's time."""

    max_mail_bytes: int
    max_book_bytes: int
    reminder: time | None


def check_config(config: Config) -> list[str]:
    """Every problem with ``[agenda]``, each naming the key, the value and the fix."""
    return _parse(config)[1]


def settings(config: Config) -> AgendaSettings:
    """The validated ``[agenda]`` settings; ConfigError when a key is wrong."""
    return validated(config.path, _parse(config))


def _parse(config: Config) -> tuple[AgendaSettings, list[str]]:
    r = ConfigReader()
    p = "agenda"
    raw = r.table(config.raw, p, "", KEYS)
    mb = r.get(raw, "max_mail_mb", p, (int, float), DEFAULT_MAX_MAIL_MB, "expected a size in MB above 0, e.g. 15")
    if mb <= 0:
        r.bad(f"{p}.max_mail_mb", mb, "expected a size in MB above 0, e.g. 15")
        mb = DEFAULT_MAX_MAIL_MB

    book = r.get(raw, "max_book_mb", p, (int, float), None, "expected a size in MB above 0, e.g. 25")
    if book is None:
        book = DEFAULT_MAX_BOOK_MB if "max_book_mb" in raw else max(DEFAULT_MAX_BOOK_MB, mb)
    elif book <= 0:
        r.bad(f"{p}.max_book_mb", book, "expected a size in MB above 0, e.g. 25")
        book = DEFAULT_MAX_BOOK_MB
    elif book < mb:
        r.bad(f"{p}.max_book_mb", book, f"must be at least agenda.max_mail_mb ({mb}); "
                                        "the meeting book is for mails that would be larger than max_mail_mb")

    before = len(r.problems)
    reminder = r.clock(raw, "reminder", p, DEFAULT_REMINDER, 'expected a time like "13:00", or "" for no reminder',
                       empty=True)
    if len(r.problems) > before:
        reminder = None
    final = config.schedule.final
    if reminder is not None and reminder >= final.time:
        r.bad(f"{p}.reminder", reminder.strftime('%H:%M'), "the reminder is sent on the final agenda's day and must "
              f"come before schedule.final.time ({final.time.strftime('%H:%M')}); "
              'choose an earlier time or "" for no reminder')
    return AgendaSettings(max_mail_bytes=int(float(mb) * 1024 * 1024), max_book_bytes=int(float(book) * 1024 * 1024),
                          reminder=reminder), r.problems
