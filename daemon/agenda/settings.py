"""``[agenda]``: the agenda workflow's own keys, validated here.

    [agenda]
    max_mail_mb = 15        # a mail with the documents above this gets the meeting book instead
    max_book_mb = 25        # a mail with the meeting book above this carries no documents at all
    reminder = "13:00"      # on the final agenda's day, remind if not approved; "" = never
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from daemon.config import Config, ConfigError

DEFAULT_MAX_MAIL_MB = 15.0
DEFAULT_MAX_BOOK_MB = 25.0
DEFAULT_REMINDER = time(13, 0)


@dataclass(frozen=True)
class AgendaSettings:
    max_mail_bytes: int
    max_book_bytes: int
    reminder: time | None


def check_config(config: Config) -> list[str]:
    """Every problem with ``[agenda]``, each naming the key, the value and the fix."""
    return _parse(config)[1]


def settings(config: Config) -> AgendaSettings:
    """The validated ``[agenda]`` settings; ConfigError when a key is wrong."""
    value, problems = _parse(config)
    if problems:
        raise ConfigError(config.path, problems)
    return value


def _parse(config: Config) -> tuple[AgendaSettings, list[str]]:
    raw = config.section("agenda")
    problems: list[str] = []
    known = {"max_mail_mb", "max_book_mb", "reminder"}
    for key in sorted(set(raw) - known):
        problems.append(f"agenda.{key} is not a known key: remove it (known: {', '.join(sorted(known))})")

    mb = raw.get("max_mail_mb", DEFAULT_MAX_MAIL_MB)
    if isinstance(mb, bool) or not isinstance(mb, (int, float)) or mb <= 0:
        problems.append(f"agenda.max_mail_mb = {mb!r}: expected a size in MB above 0, e.g. 15")
        mb = DEFAULT_MAX_MAIL_MB

    book = raw.get("max_book_mb", max(DEFAULT_MAX_BOOK_MB, mb))
    if isinstance(book, bool) or not isinstance(book, (int, float)) or book <= 0:
        problems.append(f"agenda.max_book_mb = {book!r}: expected a size in MB above 0, e.g. 25")
        book = DEFAULT_MAX_BOOK_MB
    elif book < mb:
        problems.append(f"agenda.max_book_mb = {book!r}: must be at least agenda.max_mail_mb ({mb}); "
                        "the meeting book is for mails that would be larger than max_mail_mb")

    reminder: time | None = DEFAULT_REMINDER
    text = raw.get("reminder", "13:00")
    if isinstance(text, time):
        reminder = text
    elif text == "":
        reminder = None
    else:
        m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text.strip()) if isinstance(text, str) else None
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            problems.append(f'agenda.reminder = {text!r}: expected a time like "13:00", or "" for no reminder')
            reminder = None
        else:
            reminder = time(int(m[1]), int(m[2]))
    final = config.schedule.final
    if reminder is not None and reminder >= final.time:
        problems.append(f"agenda.reminder = {reminder.strftime('%H:%M')!r}: the reminder is sent on the final agenda's "
                        f"day and must come before schedule.final.time ({final.time.strftime('%H:%M')}); "
                        'choose an earlier time or "" for no reminder')
    return AgendaSettings(max_mail_bytes=int(float(mb) * 1024 * 1024), max_book_bytes=int(float(book) * 1024 * 1024),
                          reminder=reminder), problems
