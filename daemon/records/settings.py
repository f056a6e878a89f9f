"""``[records]``: case numbers and the registrar.

    [records]
    case_number_pattern = '^(?:[A-ZÅÄÖ]{1,6} ?)?\\d{4}/\\d{1,6}$'  # a regular expression; default accepts
                                      # "KS 2026/123", "KS2026/0123" and "2026/123"
    registrar = ["registrator@kommun.se"]  # who registers incoming documents; empty: nobody is sent copies
    registrar_mode = "each"           # each: one mail per proposal or new document; digest: one a day
    registrar_digest_time = "16:00"   # when the digest goes (registrar_mode = "digest")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Any

from daemon.config import EMAIL_RE, Config
from daemon.config_reader import ConfigReader, validated

DEFAULT_PATTERN = r"^(?:[A-ZÅÄÖ]{1,6} ?)?\d{4}/\d{1,6}$"
KEYS = ("case_number_pattern", "registrar", "registrar_mode", "registrar_digest_time")
MODES = ("each", "digest")


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Settings:
    """``[records]``, read and checked."""

    case_number_pattern: re.Pattern = re.compile(DEFAULT_PATTERN)
    registrar: tuple[str, ...] = ()
    registrar_mode: str = "each"
    registrar_digest_time: time = time(16, 0)


def read_settings(section: Any) -> tuple[Settings, list[str]]:
    """The settings in a raw ``[records]`` table, and every problem with it."""
    r = ConfigReader()
    p = "records"
    if not isinstance(section, dict):
        return Settings(), [f"records = {section!r}: expected a [records] table"]
    r.known(section, p, KEYS)
    text = r.get(section, "case_number_pattern", p, str, DEFAULT_PATTERN,
                 "expected a regular expression in quotes, e.g. '^KS \\d{4}/\\d+$'")
    try:
        pattern = re.compile(text or DEFAULT_PATTERN)
    except re.error as exc:
        r.bad(f"{p}.case_number_pattern", text, f"is not a regular expression ({exc}); e.g. '^KS \\d{{4}}/\\d+$'")
        pattern = re.compile(DEFAULT_PATTERN)
    raw = section.get("registrar", [])
    if isinstance(raw, str):
        raw = [raw]
    addresses: list[str] = []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        r.bad(f"{p}.registrar", raw, 'expected a list of e-mail addresses, e.g. ["registrator@kommun.se"]')
    else:
        for x in raw:
            if EMAIL_RE.match(x.strip()):
                addresses.append(x.strip().lower())
            else:
                r.problems.append(f"{p}.registrar: {x!r} is not an e-mail address; write it like registrator@kommun.se")
    mode = r.get(section, "registrar_mode", p, str, "each", 'expected "each" or "digest"')
    if mode not in MODES:
        r.bad(f"{p}.registrar_mode", mode, 'use "each" (one mail per proposal) or "digest" (one a day)')
        mode = "each"
    at = r.clock(section, "registrar_digest_time", p, time(16, 0))
    return Settings(pattern, tuple(addresses), mode, at or time(16, 0)), r.problems


def check_config(config: Config) -> list[str]:
    """Problems in ``[records]`` (through workflows.CONFIG_CHECKS)."""
    return read_settings(config.section("records"))[1]


def settings(config: Config) -> Settings:
    return validated(config.path, read_settings(config.section("records")))


def wake_times(config: Config) -> list[time]:
    """The digest's clock time, when there is a digest."""
    s = settings(config)
    return [s.registrar_digest_time] if s.registrar and s.registrar_mode == "digest" else []
