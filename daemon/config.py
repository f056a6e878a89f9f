"""The TOML configuration: the contract operators and their scripts rely on.

``load(path)`` returns a frozen :class:`Config` or raises :class:`ConfigError`
listing every problem at once; each problem names the key, the bad value and
the fix. Relative paths are relative to the config file's folder. Secrets are
never read from the file: a key ending in ``_env`` names an environment
variable, one ending in ``_credential`` a systemd credential.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from daemon.redact import remember_secret

ROLES = ("chair", "chancellery", "secretary", "signatory")
KINDS = ("information", "diskussion", "beslut")
LANGUAGES = ("sv", "en")
SECRET_KEYS = ("password", "secret", "client_secret", "token", "pkcs12_password")
EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one line per key."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    title: str = ""
    aliases: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.email, *self.aliases)

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class StepTime:
    """A step at ``time`` on the day ``days_before`` the meeting (calendar days;
    a non-working day moves the step to the previous working day)."""

    days_before: int
    time: time


@dataclass(frozen=True)
class Group:
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
    holidays: str = "SE"
    holiday_categories: tuple[str, ...] = ("public", "de_facto")
    unapproved_agenda: str = "remind"


@dataclass(frozen=True)
class StandingItem:
    title: str
    minutes: int
    position: str  # "first", "last" or a 1-based number as text
    presenter: str = ""


@dataclass(frozen=True)
class Intake:
    default_minutes: int = 10
    default_kind: str = "diskussion"
    long_document_pages: int = 20
    long_document_bytes: int = 2_000_000
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_attachments: int = 20
    max_message_bytes: int = 50 * 1024 * 1024
    poll_seconds: float = 5.0
    stranger_digest_time: time = time(16, 0)


@dataclass(frozen=True)
class Security:
    """``[security]``: sender authentication and the storm guard (see SECURITY.md)."""

    require_authentication: bool = False
    authserv_ids: tuple[str, ...] = ()  # Authentication-Results written by our own receiving server
    trusted_headers: tuple[tuple[str, str], ...] = ()  # (name, value) that mark internal mail
    replies_per_sender_per_hour: int = 30
    explanations_per_sender_per_hour: int = 3
    mail_for_others_per_sender_per_hour: int = 10  # written procedures one sender's mail may start per hour


@dataclass(frozen=True)
class Backend:
    """``[mailbox]`` or ``[transport]``: the backend name and its own settings."""

    backend: str
    settings: dict[str, Any]

    def path(self, key: str, default: str | None = None) -> Path:
        return Path(self.settings.get(key, default))

    def secret(self, key: str) -> str | None:
        """The secret ``key`` from ``<key>_env`` or ``<key>_credential``, if set."""
        return read_secret(self.settings, key)


@dataclass(frozen=True)
class Config:
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


# --- reading -----------------------------------------------------------------


class _Reader:
    """Reads typed values out of the TOML tree and collects every problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, key: str, value: Any, fix: str) -> None:
        self.problems.append(f"{key} = {value!r}: {fix}")

    def missing(self, key: str, fix: str) -> None:
        self.problems.append(f"{key} is missing: {fix}")

    def get(self, table: dict, key: str, prefix: str, kind: type | tuple, default: Any = ..., fix: str = "") -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in table:
            if default is ...:
                self.missing(full, fix or f"add {full}")
                return None
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, float):
            self.bad(full, value, fix or f"expected a number, not true/false")
            return None if default is ... else default
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.bad(full, value, fix or f"expected a {names}")
            return None if default is ... else default
        return value

    def text(self, table: dict, key: str, prefix: str, default: Any = ..., fix: str = "") -> str | None:
        value = self.get(table, key, prefix, str, default, fix)
        if value is not None and value is not ... and not str(value).strip() and default is ...:
            self.bad(f"{prefix}.{key}", value, fix or "must not be empty")
        return value

    def clock(self, table: dict, key: str, prefix: str, default: Any = ...) -> time | None:
        raw = self.get(table, key, prefix, (str, time), default, 'expected a time like "09:30"')
        if raw is None or isinstance(raw, time):
            return raw
        m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", raw.strip())
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            self.bad(f"{prefix}.{key}", raw, 'expected a time like "09:30" (24-hour clock)')
            return None
        return time(int(m[1]), int(m[2]))

    def day(self, value: Any, key: str) -> date | None:
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
        full = f"{prefix}.{key}"
        if key not in table:
            return default
        raw = table[key]
        if not isinstance(raw, dict):
            self.bad(full, raw, 'expected a table like { days_before = 1, time = "10:00" }')
            return None
        days = self.get(raw, "days_before", full, int, fix="expected a whole number of days, e.g. 1")
        at = self.clock(raw, "time", full)
        if days is not None and days < 0:
            self.bad(f"{full}.days_before", days, "must be 0 or more")
            return None
        return StepTime(days, at) if days is not None and at else None


def _default_templates_dir() -> Path:
    """The templates shipped with klg: daemon/templates (a link to the repository's
    templates/ in a checkout, a copy in an installed wheel)."""
    return Path(__file__).resolve().parent / "templates"


def load(path: str | Path) -> Config:
    """Read and validate the config at ``path``; raise ConfigError with every problem."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(path, [f"the config file does not exist: create it with `klg init DIR` or pass --config PATH"])
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"not valid TOML ({exc}): fix the syntax at that line"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"the config file cannot be read ({exc.strerror}): make it and its folders readable by "
                                 f"the user klg runs as, e.g. chgrp klg {path} && chmod 640 {path}"]) from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> Config:
    """Validate the TOML tree ``raw`` read from ``path``."""
    r = _Reader()
    base = path.resolve().parent
    _reject_inline_secrets(raw, "", r)

    g = raw.get("group", {})
    tz_name = r.text(g, "timezone", "group", "Europe/Stockholm")
    try:
        tz = ZoneInfo(tz_name or "Europe/Stockholm")
    except (ZoneInfoNotFoundError, ValueError):
        r.bad("group.timezone", tz_name, 'expected an IANA time zone such as "Europe/Stockholm"')
        tz = ZoneInfo("Europe/Stockholm")
    short = r.text(g, "short", "group", fix='a short tag such as "KLG"') or "KLG"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,11}", short):
        r.bad("group.short", short, "use 1-12 letters or digits starting with a letter, e.g. KLG")
    address = r.text(g, "address", "group", fix='the shared mailbox, e.g. "klg@kommun.se"') or ""
    if address and not EMAIL_RE.match(address):
        r.bad("group.address", address, "expected an e-mail address like klg@kommun.se")
    language = r.text(g, "language", "group", "sv")
    if language not in LANGUAGES:
        r.bad("group.language", language, 'use "sv" or "en"')
        language = "sv"
    group = Group(
        name=r.text(g, "name", "group", fix='e.g. "Kommunledningsgruppen"') or "",
        short=short.upper(),
        organisation=r.text(g, "organisation", "group", fix='e.g. "Sjöviks kommun"') or "",
        address=address.lower(),
        language=language,
        timezone=tz,
    )

    members = _members(raw.get("members"), r, address.lower())
    schedule = _schedule(raw.get("schedule", {}), r)
    standing = _standing(raw.get("standing_items"), r)
    intake = _intake(raw.get("intake", {}), r)
    security = _security(raw.get("security", {}), r)

    mailbox = _backend(raw.get("mailbox", {}), "mailbox", ("maildir", "imap", "exchange"), base, r)
    transport = _backend(raw.get("transport", {}), "transport", ("maildir", "smtp", "exchange"), base, r,
                         inherit=mailbox.settings if mailbox.backend == "exchange" else None)
    storage = raw.get("storage", {})
    data_dir = (base / r.text(storage, "data", "storage", "data")).resolve()
    templates_dir = (base / storage["templates"]).resolve() if "templates" in storage else _default_templates_dir()
    if not (templates_dir / group.language).is_dir():
        r.bad("storage.templates", str(templates_dir), f"the folder must contain {group.language}/ with the templates")

    if r.problems:
        raise ConfigError(path, r.problems)
    config = Config(
        path=path.resolve(),
        group=group,
        members=members,
        schedule=schedule,
        standing_items=standing,
        intake=intake,
        mailbox=mailbox,
        transport=transport,
        data_dir=data_dir,
        templates_dir=templates_dir,
        security=security,
        raw=raw,
    )
    from daemon import workflows  # workflow sections check themselves (imported late: no cycle)

    problems = [problem for check in workflows.CONFIG_CHECKS for problem in check(config)]
    if problems:
        raise ConfigError(path, problems)
    return config


def _reject_inline_secrets(tree: Any, prefix: str, r: _Reader) -> None:
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        full = f"{prefix}.{key}" if prefix else key
        if key in SECRET_KEYS and isinstance(value, str):
            r.bad(full, "***", f"secrets never go in the file: set {key}_env = \"VARIABLE\" or {key}_credential = \"name\" (systemd LoadCredential=)")
        elif isinstance(value, dict):
            _reject_inline_secrets(value, full, r)


def _members(raw: Any, r: _Reader, group_address: str) -> tuple[Member, ...]:
    if not isinstance(raw, list) or not raw:
        r.missing("members", "add at least one [[members]] table with name, email and roles")
        return ()
    members: list[Member] = []
    seen: dict[str, str] = {}
    for i, m in enumerate(raw):
        key = f"members[{i}]"
        if not isinstance(m, dict):
            r.bad(key, m, "each member is a [[members]] table")
            continue
        name = r.text(m, "name", key) or ""
        email = (r.text(m, "email", key) or "").lower()
        if email and not EMAIL_RE.match(email):
            r.bad(f"{key}.email", email, "expected an e-mail address like anna.berg@kommun.se")
        aliases = tuple(a.lower() for a in (r.get(m, "aliases", key, list, []) or []) if isinstance(a, str))
        roles = r.get(m, "roles", key, list, []) or []
        for role in roles:
            if role not in ROLES:
                r.bad(f"{key}.roles", role, f"use any of {', '.join(ROLES)} (everyone is a member)")
        for a in (email, *aliases):
            if a == group_address:
                r.bad(f"{key}.email", a, "a member cannot use the group's own address")
            if a in seen:
                r.bad(f"{key}.email", a, f"this address also belongs to {seen[a]}; each address belongs to one member")
            seen[a] = name
        members.append(Member(name=name, email=email, title=str(m.get("title", "")), aliases=aliases, roles=frozenset(x for x in roles if x in ROLES)))
    for role in ("chair", "chancellery"):
        if members and not any(role in m.roles for m in members):
            r.missing(f"members (role {role})", f'give one member roles = ["{role}"]')
    return tuple(members)


def _schedule(s: dict, r: _Reader) -> Schedule:
    p = "schedule"
    recurrence = r.text(s, "recurrence", p, "FREQ=WEEKLY;BYDAY=TU")
    first = r.day(s.get("first_date", "2026-01-06"), "schedule.first_date") or date(2026, 1, 6)
    try:
        rrulestr(recurrence, dtstart=first)
    except (ValueError, TypeError) as exc:
        r.bad("schedule.recurrence", recurrence, f'expected an RFC 5545 RRULE such as "FREQ=WEEKLY;BYDAY=TU" ({exc})')
    start = r.clock(s, "start", p, time(9, 30))
    end = r.clock(s, "end", p, time(12, 0))
    if start and end and end <= start:
        r.bad("schedule.end", end.strftime("%H:%M"), "must be later than schedule.start")
    break_start = r.clock(s, "break_start", p, None)
    break_minutes = r.get(s, "break_minutes", p, int, 0)
    skip_dates = tuple(d for d in (r.day(v, "schedule.skip_dates") for v in r.get(s, "skip_dates", p, list, [])) if d)
    ranges: list[tuple[date, date]] = []
    for i, pair in enumerate(r.get(s, "skip_ranges", p, list, [])):
        if not (isinstance(pair, list) and len(pair) == 2):
            r.bad(f"schedule.skip_ranges[{i}]", pair, 'expected ["first day", "last day"], e.g. ["2026-06-22", "2026-08-09"]')
            continue
        a, b = r.day(pair[0], f"schedule.skip_ranges[{i}]"), r.day(pair[1], f"schedule.skip_ranges[{i}]")
        if a and b:
            if b < a:
                r.bad(f"schedule.skip_ranges[{i}]", pair, "the last day comes before the first")
            ranges.append((a, b))
    policy = r.text(s, "unapproved_agenda", p, "remind")
    if policy not in ("remind", "send_draft"):
        r.bad("schedule.unapproved_agenda", policy, 'use "remind" (wait for approval) or "send_draft"')
    country = r.text(s, "holidays", p, "SE")
    if country:
        if country not in _holiday_countries():
            r.bad("schedule.holidays", country, 'use a country code such as "SE", or "" for no holidays')
    return Schedule(
        recurrence=recurrence,
        first_date=first,
        start=start or time(9, 30),
        end=end or time(12, 0),
        break_start=break_start,
        break_minutes=break_minutes or 0,
        location=r.text(s, "location", p, ""),
        proposal_deadline=r.step(s, "proposal_deadline", p, StepTime(1, time(10, 0))) or StepTime(1, time(10, 0)),
        long_document_deadline=r.step(s, "long_document_deadline", p, StepTime(7, time(9, 30))) or StepTime(7, time(9, 30)),
        draft=r.step(s, "draft", p, StepTime(1, time(10, 5))) or StepTime(1, time(10, 5)),
        final=r.step(s, "final", p, StepTime(1, time(14, 0))) or StepTime(1, time(14, 0)),
        skip_dates=skip_dates,
        skip_ranges=tuple(ranges),
        holidays=country or "",
        holiday_categories=tuple(r.get(s, "holiday_categories", p, list, ["public", "de_facto"])),
        unapproved_agenda=policy,
    )


def _holiday_countries() -> set[str]:
    """The country codes ``holidays`` knows, read from its registry: asking
    ``list_supported_countries()`` imports every country (a tenth of a second
    on each ``klg`` command)."""
    try:
        from holidays.registry import COUNTRIES

        return {code for entry in COUNTRIES.values() for code in entry[1:] if code.isupper() and len(code) <= 3}
    except (ImportError, AttributeError, IndexError, TypeError):
        import holidays

        return set(holidays.list_supported_countries())


def _standing(raw: Any, r: _Reader) -> tuple[StandingItem, ...]:
    if raw is None:
        return (
            StandingItem("Information från verksamheterna", 20, "first"),
            StandingItem("Mediaspaning", 10, "last"),
        )
    if not isinstance(raw, list):
        r.bad("standing_items", raw, "expected [[standing_items]] tables")
        return ()
    items = []
    for i, s in enumerate(raw):
        key = f"standing_items[{i}]"
        position = str(s.get("position", "last"))
        if position not in ("first", "last") and not position.isdigit():
            r.bad(f"{key}.position", position, 'use "first", "last" or a place number such as 2')
        items.append(StandingItem(r.text(s, "title", key) or "", r.get(s, "minutes", key, int, 10) or 10, position, str(s.get("presenter", ""))))
    return tuple(items)


def _intake(s: dict, r: _Reader) -> Intake:
    p = "intake"
    kind = r.text(s, "default_kind", p, "diskussion")
    if kind not in KINDS:
        r.bad("intake.default_kind", kind, f"use one of {', '.join(KINDS)}")
    mb = 1024 * 1024
    return Intake(
        default_minutes=r.get(s, "default_minutes", p, int, 10),
        default_kind=kind if kind in KINDS else "diskussion",
        long_document_pages=r.get(s, "long_document_pages", p, int, 20),
        long_document_bytes=r.get(s, "long_document_bytes", p, int, 2_000_000),
        max_attachment_bytes=int(r.get(s, "max_attachment_mb", p, float, 25.0) * mb),
        max_attachments=r.get(s, "max_attachments", p, int, 20),
        max_message_bytes=int(r.get(s, "max_message_mb", p, float, 50.0) * mb),
        poll_seconds=r.get(s, "poll_seconds", p, float, 5.0),
        stranger_digest_time=r.clock(s, "stranger_digest_time", p, time(16, 0)) or time(16, 0),
    )


def _security(s: dict, r: _Reader) -> Security:
    p = "security"
    if not isinstance(s, dict):
        r.bad(p, s, "expected a [security] table")
        return Security()
    known = {"require_authentication", "authserv_id", "trusted_headers", "replies_per_sender_per_hour",
             "explanations_per_sender_per_hour", "mail_for_others_per_sender_per_hour"}
    for key in s:
        if key not in known:
            r.bad(f"{p}.{key}", s[key], f"unknown key; the keys are {', '.join(sorted(known))}")
    required = r.get(s, "require_authentication", p, bool, False, "expected true or false")
    ids = r.get(s, "authserv_id", p, (str, list), [], 'expected the authserv-id of your receiving server, e.g. "mx.kommun.se", or a list of them')
    ids = [ids] if isinstance(ids, str) else ids
    authserv: list[str] = []
    for value in ids:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]*", value.strip()):
            r.bad(f"{p}.authserv_id", value, "expected a host name such as mx.kommun.se (the first word of the "
                                              "Authentication-Results header your own server adds)")
        else:
            authserv.append(value.strip().lower())
    trusted: list[tuple[str, str]] = []
    for value in r.get(s, "trusted_headers", p, list, [], 'expected a list like ["X-MS-Exchange-Organization-AuthAs: Internal"]'):
        name, colon, wanted = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not colon or not re.fullmatch(r"[!-9;-~]+", name.strip()) or not wanted.strip():
            r.bad(f"{p}.trusted_headers", value, 'each entry is "Header-Name: value", e.g. "X-MS-Exchange-Organization-AuthAs: Internal"')
        else:
            trusted.append((name.strip(), wanted.strip()))
    if required and not authserv and not trusted:
        r.missing(f"{p}.authserv_id", "require_authentication = true needs the authserv-id of your receiving server "
                                      '(e.g. authserv_id = "mx.kommun.se") or trusted_headers for internal mail')
    limits = {}
    for key, default in (("replies_per_sender_per_hour", 30), ("explanations_per_sender_per_hour", 3),
                         ("mail_for_others_per_sender_per_hour", 10)):
        value = r.get(s, key, p, int, default, "expected a whole number, e.g. 30")
        if value is not None and value < 1:
            r.bad(f"{p}.{key}", value, "must be 1 or more (it caps how much automatic mail one sender causes per hour)")
            value = default
        limits[key] = value if value is not None else default
    return Security(require_authentication=bool(required), authserv_ids=tuple(authserv), trusted_headers=tuple(trusted),
                    **limits)


def _backend(s: dict, section: str, allowed: tuple[str, ...], base: Path, r: _Reader,
             inherit: dict[str, Any] | None = None) -> Backend:
    name = r.text(s, "backend", section, "maildir")
    if name not in allowed:
        r.bad(f"{section}.backend", name, f"use one of {', '.join(allowed)}")
    settings = {k: v for k, v in s.items() if k != "backend"}
    if name == "maildir":
        root = settings.get("root", "mailboxes")
        settings["root"] = str((base / root).resolve())
    elif name == "exchange":
        from daemon.mail.exchange_settings import check_settings

        settings = check_settings(settings, section, base, r.problems, inherit)
    elif name in ("imap", "smtp"):  # network backends validate their own keys; *_file paths are relative to the config
        for key, value in list(settings.items()):
            if key.endswith("_file") and isinstance(value, str) and value:
                settings[key] = str((base / value).resolve())
        if name == "imap":
            from daemon.mail.imap import validate
        else:
            from daemon.mail.smtp import validate
        r.problems += validate(settings, section)
    return Backend(name or "maildir", settings)
