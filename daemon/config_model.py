"""What a config is: the frozen dataclasses ``daemon.config`` reads the TOML
file into, and the values core allows. Import them from ``daemon.config``,
which re-exports them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.breaks import SkipRule
from daemon.config_reader import StepTime
from daemon.redact import remember_secret

ROLES = ("chair", "chancellery", "secretary", "signatory")
KINDS = ("information", "diskussion", "beslut")
LANGUAGES = ("sv", "en")
EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True)
class Member:
    """A member of the group: name, address and aliases, roles, and who may stand in."""

    name: str
    email: str
    title: str = ""
    aliases: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()
    # ``substitute``: who may stand in, (name, address); the first comes when the member sends
    # regrets without naming anyone. Only these get the agenda, documents and invitation.
    substitutes: tuple[tuple[str, str], ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.email, *self.aliases)

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Group:
    """``[group]``: the group, its organisation, its shared mailbox, language and time zone."""

    name: str
    short: str
    organisation: str
    address: str
    language: str
    timezone: ZoneInfo

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Schedule:
    """``[schedule]``: when the group meets, the week's deadlines, breaks and holidays."""

    recurrence: str
    first_date: date
    start: time
    end: time
    break_start: time | None
    break_minutes: int
    location: str
    proposal_deadline: StepTime
    long_document_deadline: StepTime
    draft: StepTime
    final: StepTime
    skip_dates: tuple[date, ...] = ()
    skip_ranges: tuple[tuple[date, date], ...] = ()
    skip: tuple[SkipRule, ...] = ()  # breaks as rules (daemon.breaks): yearly weeks, Christmas, yearly days
    holidays: str = "SE"
    holiday_categories: tuple[str, ...] = ("public", "de_facto")
    unapproved_agenda: str = "remind"


@dataclass(frozen=True)
class StandingItem:
    """A ``[[standing_items]]`` entry: a point on every agenda."""

    title: str
    minutes: int
    position: str  # "first", "last" or a 1-based number as text
    presenter: str = ""


@dataclass(frozen=True, eq=False)  # compared by nothing (start-up, issue 19)
class Intake:
    """``[intake]``: the defaults and limits for what comes in, and how often to look."""

    default_minutes: int = 10
    default_kind: str = "diskussion"
    long_document_pages: int = 20
    long_document_bytes: int = 2_000_000
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_attachments: int = 20
    max_message_bytes: int = 50 * 1024 * 1024
    poll_seconds: float = 5.0
    stranger_digest_time: time = time(16, 0)


@dataclass(frozen=True, eq=False)  # compared by nothing (start-up, issue 19)
class Security:
    """``[security]``: sender authentication and the storm guard (see SECURITY.md)."""

    require_authentication: bool = False
    authserv_ids: tuple[str, ...] = ()  # Authentication-Results written by our own receiving server
    trusted_headers: tuple[tuple[str, str], ...] = ()  # (name, value) that mark internal mail
    replies_per_sender_per_hour: int = 30
    explanations_per_sender_per_hour: int = 3
    mail_for_others_per_sender_per_hour: int = 10  # written procedures one sender's mail may start per hour


@dataclass(frozen=True, eq=False)  # compared by nothing (start-up, issue 19)
class Backend:
    """``[mailbox]`` or ``[transport]``: the backend name and its own settings."""

    backend: str
    settings: dict[str, Any]

    def path(self, key: str, default: str | None = None) -> Path:
        return Path(self.settings.get(key, default))

    def secret(self, key: str) -> str | None:
        """The secret ``key`` from ``<key>_env`` or ``<key>_credential``, if set."""
        return read_secret(self.settings, key)


@dataclass(frozen=True, eq=False)  # compared by nothing (start-up, issue 19)
class Config:
    """The whole checked config (``daemon.checks.load_config``); ``raw`` is the TOML as read."""

    path: Path
    group: Group
    members: tuple[Member, ...]
    schedule: Schedule
    standing_items: tuple[StandingItem, ...]
    intake: Intake
    mailbox: Backend
    transport: Backend
    data_dir: Path
    templates_dir: Path
    security: Security = Security()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def member_by_address(self, address: str | None) -> Member | None:
        """The member owning ``address`` (exact, case-insensitive), else None."""
        if not address:
            return None
        wanted = address.strip().lower()
        for m in self.members:
            if wanted in (a.lower() for a in m.addresses):
                return m
        return None

    def member_by_name(self, name: str) -> Member | None:
        """The member whose name or e-mail matches ``name`` (case-insensitive)."""
        wanted = " ".join(name.split()).lower()
        for m in self.members:
            if wanted in (m.name.lower(), m.email.lower()):
                return m
        return None

    def with_role(self, role: str) -> list[Member]:
        return [m for m in self.members if m.has(role)]

    def section(self, name: str) -> dict[str, Any]:
        """A raw config section for workflow modules that validate their own keys."""
        return dict(self.raw.get(name, {}))


def read_secret(settings: dict[str, Any], key: str) -> str | None:
    """Read secret ``key`` from the environment variable named by ``<key>_env``
    or the systemd credential named by ``<key>_credential``."""
    env = settings.get(f"{key}_env")
    if env:
        return remember_secret(os.environ.get(env))
    cred = settings.get(f"{key}_credential")
    if cred:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if folder and (Path(folder) / cred).is_file():
            return remember_secret((Path(folder) / cred).read_text().strip())
    return None
