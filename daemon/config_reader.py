"""Reading a TOML config tree into typed values, collecting every problem.

Every part of klg that reads config uses :class:`ConfigReader`: core
(``daemon.config``), the workflows' settings modules and the mail backends'
validators. It reads typed values, clock times, days, step times and
sub-tables, and refuses what a table does not know, naming the nearest known
key (``schedule.strat is not a known key; did you mean start?``) or section
(``[shedule] is not a known section; did you mean [schedule]?``).

It never raises: each problem is one line in ``problems`` that names the key,
the bad value and the fix, and the caller raises :class:`ConfigError` with
all of them at once, so an operator fixes a config in one round.

    r = ConfigReader()
    s = r.table(raw, "schedule", "", SCHEDULE_KEYS)   # {} when absent; unknown keys refused
    start = r.clock(s, "start", "schedule", time(9, 30))
    if r.problems:
        raise ConfigError(path, r.problems)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Collection, Iterator, TypeVar

# Keys that would hold a secret: refused anywhere in the file (daemon.config),
# so the unknown-key check leaves them to that clearer refusal.
SECRET_KEYS = ("password", "secret", "client_secret", "token", "pkcs12_password")
MISSING: Any = ...  # ``default=MISSING``: the key is required
T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one line per key."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


def validated(path: Path | str, parsed: tuple[T, list[str]]) -> T:
    """The value of a settings module's ``(value, problems)`` parse; ConfigError
    naming every problem at once when there is any."""
    value, problems = parsed
    if problems:
        raise ConfigError(path, problems)
    return value


@dataclass(frozen=True)
class StepTime:
    """A step at ``time`` on the day ``days_before`` the meeting (calendar days;
    a non-working day moves the step to the previous working day)."""

    days_before: int
    time: time


def nearest(word: str, known: Collection[str]) -> str | None:
    """The known name closest to ``word`` (a typo's likely meaning), if any is close."""
    import difflib  # imported here, not at the top: start-up (issue 19): only for a config with a typo

    found = difflib.get_close_matches(word, list(known), n=1)
    if not found:
        lowered = {k.lower(): k for k in known}
        found = [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=1)]
    return found[0] if found else None


def unknown_keys(table: dict, prefix: str, known: Collection[str]) -> list[str]:
    """One line per key of ``table`` that is not in ``known``, naming the nearest
    known key. The value is never shown (a misspelt key may hold a secret).
    Secret-named keys holding text are left to the inline-secret refusal."""
    problems = []
    for key in table:
        if key in known or (key in SECRET_KEYS and isinstance(table[key], str)):
            continue
        full = f"{prefix}.{key}" if prefix else key
        guess = nearest(key, known)
        if guess:
            problems.append(f"{full} is not a known key; did you mean {guess}?")
        else:
            problems.append(f"{full} is not a known key: remove it (known keys: {', '.join(sorted(known))})")
    return problems


def unknown_sections(tree: dict, known: Collection[str]) -> list[str]:
    """One line per top-level section of ``tree`` that is not in ``known``, naming the nearest."""
    problems = []
    for name in tree:
        if name in known:
            continue
        guess = nearest(name, known)
        if guess:
            problems.append(f"[{name}] is not a known section; did you mean [{guess}]?")
        else:
            problems.append(f"[{name}] is not a known section: remove it (known sections: "
                            f"{', '.join(f'[{k}]' for k in sorted(known))})")
    return problems


class ConfigReader:
    """Reads typed values out of a TOML tree and collects every problem.

    The reading methods take the table, the key and the ``prefix`` naming the
    table in messages (``"schedule"``, ``"members[2]"``; ``""`` at the top);
    ``default=MISSING`` makes the key required. A value of the wrong type is
    reported and the default (or None when required) returned, so reading goes
    on and every problem is found in one pass."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    # --- problems ----------------------------------------------------------------

    def bad(self, key: str, value: Any, fix: str) -> None:
        """Report ``key = value`` as wrong, with the fix."""
        self.problems.append(f"{key} = {value!r}: {fix}")

    def missing(self, key: str, fix: str) -> None:
        """Report a required ``key`` as missing, with the fix."""
        self.problems.append(f"{key} is missing: {fix}")

    # --- structure ---------------------------------------------------------------

    def known(self, table: dict, prefix: str, keys: Collection[str]) -> None:
        """Refuse every key of ``table`` not in ``keys``, naming the nearest known one."""
        self.problems += unknown_keys(table, prefix, keys)

    def sections(self, tree: dict, known: Collection[str]) -> None:
        """Refuse every top-level section of ``tree`` not in ``known``, naming the nearest."""
        self.problems += unknown_sections(tree, known)

    def table(self, parent: dict, key: str, prefix: str, keys: Collection[str] | None) -> dict:
        """``parent[key]`` as a table ({} when absent), its unknown keys refused
        (``keys=None``: the caller checks them, as a backend does for its own)."""
        full = f"{prefix}.{key}" if prefix else key
        value = parent.get(key, {})
        if not isinstance(value, dict):
            self.bad(full, value, f"expected a [{full}] table" if not prefix else "expected a table")
            return {}
        if keys is not None:
            self.known(value, full, keys)
        return value

    def each(self, items: list, prefix: str, keys: Collection[str], fix: str) -> Iterator[tuple[str, dict]]:
        """``(name, table)`` for each table of an array of tables (``[[members]]``),
        named ``members[0]``…; an entry that is no table is reported with ``fix``,
        and the unknown keys of each table are refused."""
        for i, entry in enumerate(items):
            name = f"{prefix}[{i}]"
            if not isinstance(entry, dict):
                self.bad(name, entry, fix)
                continue
            self.known(entry, name, keys)
            yield name, entry

    # --- values ------------------------------------------------------------------

    def get(self, table: dict, key: str, prefix: str, kind: type | tuple, default: Any = MISSING,
            fix: str = "") -> Any:
        """``table[key]`` if it is a ``kind`` (a type or a tuple of types; true/false
        is no number; an int is read as a float where a float is wanted), else
        reported with ``fix`` and ``default`` returned."""
        full = f"{prefix}.{key}" if prefix else key
        if key not in table:
            if default is MISSING:
                self.missing(full, fix or f"add {full}")
                return None
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds and (int in kinds or float in kinds):
            self.bad(full, value, fix or "expected a number, not true/false")
            return None if default is MISSING else default
        if kinds == (float,) and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.bad(full, value, fix or f"expected a {names}")
            return None if default is MISSING else default
        return value

    def text(self, table: dict, key: str, prefix: str, default: Any = MISSING, fix: str = "") -> str | None:
        """A string; a required one must not be blank."""
        value = self.get(table, key, prefix, str, default, fix)
        if value is not None and value is not MISSING and not str(value).strip() and default is MISSING:
            self.bad(f"{prefix}.{key}", value, fix or "must not be empty")
        return value

    def clock(self, table: dict, key: str, prefix: str, default: Any = MISSING, fix: str = "",
              empty: bool = False) -> time | None:
        """A clock time, ``"09:30"`` (or ``"9.30"``, or a TOML time); ``empty``: ``""`` means None."""
        raw = self.get(table, key, prefix, (str, time), default, fix or 'expected a time like "09:30"')
        if raw is None or isinstance(raw, time):
            return raw
        if empty and raw == "":
            return None
        m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", raw.strip())
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            self.bad(f"{prefix}.{key}", raw, fix or 'expected a time like "09:30" (24-hour clock)')
            return None
        return time(int(m[1]), int(m[2]))

    def day(self, value: Any, key: str) -> date | None:
        """A calendar day, ``"2026-12-24"`` or a TOML date; ``key`` names it in the message."""
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.bad(key, value, 'expected a date like "2026-12-24"')
        return None

    def step(self, table: dict, key: str, prefix: str, default: StepTime) -> StepTime | None:
        """A step time, ``{ days_before = 1, time = "10:00" }``; None if it is wrong."""
        full = f"{prefix}.{key}"
        if key not in table:
            return default
        raw = table[key]
        if not isinstance(raw, dict):
            self.bad(full, raw, 'expected a table like { days_before = 1, time = "10:00" }')
            return None
        self.known(raw, full, ("days_before", "time"))
        days = self.get(raw, "days_before", full, int, fix="expected a whole number of days, e.g. 1")
        at = self.clock(raw, "time", full)
        if days is not None and days < 0:
            self.bad(f"{full}.days_before", days, "must be 0 or more")
            return None
        return StepTime(days, at) if days is not None and at else None
