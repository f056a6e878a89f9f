"""The TOML configuration: the contract operators and their scripts rely on.

This module is core: :func:`read` reads the file into the frozen :class:`Config`
and its parts (the dataclasses of ``config_model``, re-exported here: import
them from ``daemon.config``), resolves the paths (relative to the config file's
folder) and checks the keys core owns, with
:class:`~daemon.config_reader.ConfigReader`. It
imports no workflow and no backend: ``daemon.checks.load_config`` is what every
caller uses, adding the backends' and the workflows' checks, and the refusal
of unknown sections, and raising :class:`ConfigError` with every problem at
once (each names the key, the bad value and the fix). Secrets are never read
from the file: a key ending in ``_env`` names an environment variable, one
ending in ``_credential`` a systemd credential.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from daemon import holiday_tables
from daemon.breaks import read_skip

from daemon.config_model import (EMAIL_RE, KINDS, LANGUAGES, ROLES, Backend, Config, Group, Intake, Member, Schedule,
                                 Security, StandingItem, read_secret)
from daemon.config_reader import SECRET_KEYS, ConfigError, ConfigReader, StepTime

__all__ = ["ROLES", "KINDS", "LANGUAGES", "EMAIL_RE", "SECTIONS", "SECRET_KEYS", "ConfigError", "ConfigReader",
           "StepTime", "Member", "Group", "Schedule", "StandingItem", "Intake", "Security", "Backend", "Config",
           "read_secret", "read", "parse"]

# The top-level sections core reads; the workflows declare theirs (workflows.CONFIG_SECTIONS).
SECTIONS = ("group", "members", "schedule", "standing_items", "intake", "security", "mailbox", "transport", "storage")
GROUP_KEYS = ("name", "short", "organisation", "address", "language", "timezone")
MEMBER_KEYS = ("name", "email", "title", "aliases", "roles", "substitute")
SCHEDULE_KEYS = ("recurrence", "first_date", "start", "end", "break_start", "break_minutes", "location",
                 "proposal_deadline", "long_document_deadline", "draft", "final", "skip_dates", "skip_ranges",
                 "skip", "holidays", "holiday_categories", "unapproved_agenda")
STANDING_KEYS = ("title", "minutes", "position", "presenter")
INTAKE_KEYS = ("default_minutes", "default_kind", "long_document_pages", "long_document_bytes", "max_attachment_mb",
               "max_attachments", "max_message_mb", "poll_seconds", "stranger_digest_time")
SECURITY_KEYS = ("require_authentication", "authserv_id", "trusted_headers", "replies_per_sender_per_hour",
                 "explanations_per_sender_per_hour", "mail_for_others_per_sender_per_hour")
STORAGE_KEYS = ("data", "templates")



def _default_templates_dir() -> Path:
    """The templates shipped with klg: daemon/templates (a link to the repository's
    templates/ in a checkout, a copy in an installed wheel)."""
    return Path(__file__).resolve().parent / "templates"


def read(path: str | Path) -> tuple[Config, list[str]]:
    """The config at ``path`` as core reads it, and core's problems with it.

    Raises ConfigError when the file is missing, unreadable or not TOML. The
    Config is built with defaults where a value is wrong, so that the checks
    that follow can still run: use ``daemon.checks.load_config``, which
    refuses a config with any problem."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(path, ["the config file does not exist: create it with `klg init DIR` or pass --config PATH"])
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"not valid TOML ({exc}): fix the syntax at that line"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"the config file cannot be read ({exc.strerror}): make it and its folders readable by "
                                 f"the user klg runs as, e.g. chgrp klg {path} && chmod 640 {path}"]) from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> tuple[Config, list[str]]:
    """The Config in the TOML tree ``raw`` read from ``path``, and core's problems with it."""
    r = ConfigReader()
    base = path.resolve().parent
    _reject_inline_secrets(raw, "", r)
    group = _group(r.table(raw, "group", "", GROUP_KEYS), r)
    members = _members(raw.get("members"), r, group.address)
    schedule = _schedule(r.table(raw, "schedule", "", SCHEDULE_KEYS), r)
    standing = _standing(raw.get("standing_items"), r)
    intake = _intake(r.table(raw, "intake", "", INTAKE_KEYS), r)
    security = _security(r.table(raw, "security", "", SECURITY_KEYS), r)
    # [mailbox] and [transport]: the backend's own validator checks the keys (daemon.backends.settings)
    mailbox = _backend(r.table(raw, "mailbox", "", None), "mailbox", base, r)
    transport = _backend(r.table(raw, "transport", "", None), "transport", base, r)
    storage = r.table(raw, "storage", "", STORAGE_KEYS)
    data_dir = (base / r.text(storage, "data", "storage", "data")).resolve()
    if schedule.holidays and schedule.holidays not in holiday_tables.countries(data_dir):
        r.bad("schedule.holidays", schedule.holidays, 'use a country code such as "SE", or "" for no holidays')
    templates = r.text(storage, "templates", "storage", None)
    templates_dir = (base / templates).resolve() if templates is not None else _default_templates_dir()
    if not (templates_dir / group.language).is_dir():
        r.bad("storage.templates", str(templates_dir), f"the folder must contain {group.language}/ with the templates")
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
    return config, r.problems


def _reject_inline_secrets(tree: Any, prefix: str, r: ConfigReader) -> None:
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        full = f"{prefix}.{key}" if prefix else key
        if key in SECRET_KEYS and isinstance(value, str):
            r.bad(full, "***", f"secrets never go in the file: set {key}_env = \"VARIABLE\" or {key}_credential = \"name\" (systemd LoadCredential=)")
        elif isinstance(value, dict):
            _reject_inline_secrets(value, full, r)


def _group(g: dict, r: ConfigReader) -> Group:
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
    return Group(
        name=r.text(g, "name", "group", fix='e.g. "Kommunledningsgruppen"') or "",
        short=short.upper(),
        organisation=r.text(g, "organisation", "group", fix='e.g. "Sjöviks kommun"') or "",
        address=address.lower(),
        language=language,
        timezone=tz,
    )


def _substitutes(raw: Any, r: ConfigReader, key: str, members: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """``substitute = "Anna Ek <anna.ek@kommun.se>"`` (or a list of them, the first the usual one)."""
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list):
        r.bad(f"{key}.substitute", raw, 'expected "Name <address>" or a list of them, e.g. "Anna Ek <anna.ek@kommun.se>"')
        return ()
    from email.utils import parseaddr  # imported here, not at the top: start-up (issue 19), socket and all

    out: list[tuple[str, str]] = []
    for value in values:
        name, address = parseaddr(value) if isinstance(value, str) else ("", "")
        address = address.lower()
        if not name or not EMAIL_RE.match(address):
            r.bad(f"{key}.substitute", value, 'expected "Name <address>", e.g. "Anna Ek <anna.ek@kommun.se>"')
        elif address in members:
            r.bad(f"{key}.substitute", value, f"{members[address]} is a member and gets every mail anyway; "
                  "name someone outside the group")
        else:
            out.append((" ".join(name.split()), address))
    return tuple(out)


def _members(raw: Any, r: ConfigReader, group_address: str) -> tuple[Member, ...]:
    if not isinstance(raw, list) or not raw:
        r.missing("members", "add at least one [[members]] table with name, email and roles")
        return ()
    members: list[Member] = []
    seen: dict[str, str] = {}
    for key, m in r.each(raw, "members", MEMBER_KEYS, "each member is a [[members]] table"):
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
        members.append(Member(name=name, email=email, title=str(m.get("title", "")), aliases=aliases,
                              roles=frozenset(x for x in roles if x in ROLES),
                              substitutes=_substitutes(m.get("substitute"), r, key, seen)))
    for role in ("chair", "chancellery"):
        if members and not any(role in m.roles for m in members):
            r.missing(f"members (role {role})", f'give one member roles = ["{role}"]')
    return tuple(members)


def _schedule(s: dict, r: ConfigReader) -> Schedule:
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
    country = r.text(s, "holidays", p, "SE")  # checked in parse(), where the data folder keeps what holidays knows
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
        skip=read_skip(s.get("skip"), r),
        holidays=country or "",
        holiday_categories=tuple(r.get(s, "holiday_categories", p, list, ["public", "de_facto"])),
        unapproved_agenda=policy,
    )


def _standing(raw: Any, r: ConfigReader) -> tuple[StandingItem, ...]:
    if raw is None:
        return (
            StandingItem("Information från verksamheterna", 20, "first"),
            StandingItem("Mediaspaning", 10, "last"),
        )
    if not isinstance(raw, list):
        r.bad("standing_items", raw, "expected [[standing_items]] tables")
        return ()
    items = []
    for key, s in r.each(raw, "standing_items", STANDING_KEYS, "expected a [[standing_items]] table"):
        position = str(s.get("position", "last"))
        if position not in ("first", "last") and not position.isdigit():
            r.bad(f"{key}.position", position, 'use "first", "last" or a place number such as 2')
        items.append(StandingItem(r.text(s, "title", key) or "", r.get(s, "minutes", key, int, 10) or 10, position,
                                  str(s.get("presenter", ""))))
    return tuple(items)


def _intake(s: dict, r: ConfigReader) -> Intake:
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


def _security(s: dict, r: ConfigReader) -> Security:
    p = "security"
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


def _backend(s: dict, section: str, base: Path, r: ConfigReader) -> Backend:
    """``[mailbox]``/``[transport]`` with its paths resolved; the backend's own
    validator (``daemon.backends.settings``) checks the name and the keys."""
    name = r.text(s, "backend", section, "maildir") or "maildir"
    settings = {k: v for k, v in s.items() if k != "backend"}
    if name == "maildir":
        root = settings.get("root", "mailboxes")
        if isinstance(root, str):
            settings["root"] = str((base / root).resolve())
    elif name in ("imap", "smtp"):  # *_file paths are relative to the config
        for key, value in list(settings.items()):
            if key.endswith("_file") and isinstance(value, str) and value:
                settings[key] = str((base / value).resolve())
    return Backend(name, settings)
