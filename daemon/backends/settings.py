"""The keys of ``[mailbox]`` and ``[transport]``: each backend's validator.

``daemon.checks.load_config`` calls :func:`check` on every load; the backends
call their own validator again when they are made directly. Validating imports
none of the client libraries (imapclient, smtplib, exchangelib: the last alone
takes 0.3 s), so a config loads fast whatever its backend.

Every validator returns one line per problem, naming the key, the bad value
and the fix; an unknown key is refused with the nearest known one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import time
from pathlib import Path
from typing import Any

from daemon.backends.exchange_settings import check_settings as exchange
from daemon.backends.graph_settings import check_settings as graph
from daemon.config import Backend, Config
from daemon.config_reader import unknown_keys

MAILBOXES = ("maildir", "imap", "exchange", "graph")
TRANSPORTS = ("maildir", "smtp", "exchange", "graph")
MAILDIR_KEYS = {"mailbox": ("root", "inbox", "processed", "quarantine"), "transport": ("root", "folder")}

# IMAP and SMTP: the connection keys they share, and each one's own
SECURITY = ("tls", "starttls", "none")
AUTH = ("password", "xoauth2", "none")
TOKEN_SOURCES = ("token_env", "token_credential", "token_command", "token_url")
CONNECTION_KEYS = (
    "host", "port", "security", "tls_ca_file", "username", "auth", "password_env", "password_credential",
    "token_env", "token_credential", "token_command", "token_url", "client_id", "client_secret_env",
    "client_secret_credential", "scope", "timeout_seconds",
)
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
IMAP_KEYS = (*CONNECTION_KEYS, "inbox", "processed", "quarantine", "create_folders", "idle_minutes",
             "reconnect_max_seconds", "fetch_batch_mb", "check_seconds", "check_hours", "push_listen")
IMAP_FOLDERS = {"inbox": "INBOX", "processed": "klg/Behandlat", "quarantine": "klg/Karantän"}


def parse_hours(value) -> tuple[time, time] | None:
    """``"07:00-18:00"`` as (start, end), or None if it is not written so."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not m or int(m[1]) > 23 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
        return None
    start = time(int(m[1]), int(m[2]))
    end = time(23, 59, 59) if int(m[3]) == 24 else time(int(m[3]), int(m[4]))
    return (start, end) if start < end else None


def parse_listen(value) -> tuple[str, int] | None:
    """``"127.0.0.1:8011"`` (or ``"[::1]:8011"``) as (host, port), or None if it is not written so."""
    if not isinstance(value, str):
        return None
    host, sep, port = value.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


MAX_IDLE_MINUTES = 25  # servers may drop a client idle for 30 minutes (RFC 2177: re-issue before 29)
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
SMTP_KEYS = (*CONNECTION_KEYS, "sent_folder", "helo_name", "copy_to_self")


def check(config: Config) -> tuple[Backend, Backend, list[str]]:
    """The config's ``[mailbox]`` and ``[transport]`` as their backends will use
    them (Exchange and Graph fill in their defaults, and a ``[transport]`` takes
    the connection of an Exchange or Graph ``[mailbox]`` of the same backend),
    and every problem with them."""
    base = config.path.parent
    problems: list[str] = []
    address = config.group.address
    mailbox = _check(config.mailbox, "mailbox", MAILBOXES, base, problems, address)
    same = mailbox.backend in ("exchange", "graph") and config.transport.backend == mailbox.backend
    inherit = mailbox.settings if same else None
    transport = _check(config.transport, "transport", TRANSPORTS, base, problems, address, inherit)
    return mailbox, transport, problems


def _check(backend: Backend, section: str, allowed: tuple[str, ...], base: Path, problems: list[str],
           address: str, inherit: dict[str, Any] | None = None) -> Backend:
    name = backend.backend
    if name not in allowed:
        problems.append(f"{section}.backend = {name!r}: use one of {', '.join(allowed)}")
        return backend
    if name == "maildir":
        problems += maildir(backend.settings, section)
    elif name == "imap":
        problems += imap(backend.settings, section)
    elif name == "smtp":
        problems += smtp(backend.settings, section)
    elif name == "exchange":
        return replace(backend, settings=exchange(backend.settings, section, base, problems, inherit))
    elif name == "graph":
        return replace(backend, settings=graph(backend.settings, section, base, problems, address, inherit))
    return backend


def maildir(settings: dict[str, Any], section: str) -> list[str]:
    """Problems with the Maildir backend's keys (folder names under ``root``)."""
    p = unknown_keys(settings, section, MAILDIR_KEYS[section])
    for key, value in settings.items():
        if key in MAILDIR_KEYS[section] and not isinstance(value, str):
            p.append(f"{section}.{key} = {value!r}: expected a folder name or path, e.g. \"mailboxes\"")
    return p


def imap(settings: dict[str, Any], section: str = "mailbox") -> list[str]:
    """Every problem with the ``[mailbox]`` settings of the IMAP backend, one line each."""
    p = connection(settings, section, IMAP_PORTS, IMAP_KEYS)
    names = {}
    for key in IMAP_FOLDERS:
        value = settings.get(key, IMAP_FOLDERS[key])
        if not isinstance(value, str) or not value.strip():
            p.append(f"{section}.{key} = {value!r}: name an IMAP folder, e.g. {IMAP_FOLDERS[key]!r}")
        elif value.upper() in names:
            p.append(f"{section}.{key} = {value!r}: the same folder as {section}.{names[value.upper()]}; "
                     f"use a folder of its own")
        else:
            names[value.upper()] = key
    minutes = settings.get("idle_minutes", 10)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_IDLE_MINUTES:
        p.append(f"{section}.idle_minutes = {minutes!r}: use a number of minutes above 0 and at most "
                 f"{MAX_IDLE_MINUTES}; servers drop idle clients after about 30")
    check = settings.get("check_seconds", 0)
    if isinstance(check, bool) or not isinstance(check, (int, float)) or not (check == 0 or 0.05 <= check <= 60):
        p.append(f"{section}.check_seconds = {check!r}: use 0 (IDLE only) or a number of seconds between 0.05 and 60, "
                 "e.g. 0.1")
    hours = settings.get("check_hours", "07:00-18:00")
    if parse_hours(hours) is None:
        p.append(f"{section}.check_hours = {hours!r}: write the office hours as \"HH:MM-HH:MM\", e.g. \"07:00-18:00\"")
    if "push_listen" in settings and parse_listen(settings["push_listen"]) is None:
        p.append(f"{section}.push_listen = {settings['push_listen']!r}: write the address and port klg listens at "
                 f"for Dovecot's push, e.g. \"127.0.0.1:8011\" (README: Push from Dovecot)")
    cap = settings.get("reconnect_max_seconds", 60)
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 1 <= cap <= 3600:
        p.append(f"{section}.reconnect_max_seconds = {cap!r}: use a number of seconds between 1 and 3600")
    if not isinstance(settings.get("create_folders", True), bool):
        p.append(f"{section}.create_folders = {settings['create_folders']!r}: use true or false")
    batch = settings.get("fetch_batch_mb", 8)
    if isinstance(batch, bool) or not isinstance(batch, (int, float)) or not 0 < batch <= 256:
        p.append(f"{section}.fetch_batch_mb = {batch!r}: use a number of megabytes between 1 and 256")
    return p


def smtp(settings: dict[str, Any], section: str = "transport") -> list[str]:
    """Every problem with the ``[transport]`` settings of the SMTP backend, one line each."""
    settings = {"auth": "password", **settings}
    p = connection(settings, section, SMTP_PORTS, SMTP_KEYS)
    sent = settings.get("sent_folder")
    if sent is not None and (not isinstance(sent, str) or not sent.strip()):
        p.append(f"{section}.sent_folder = {sent!r}: name an IMAP folder such as \"Sent\", or leave the key out")
    if not isinstance(settings.get("copy_to_self", False), bool):
        p.append(f"{section}.copy_to_self = {settings['copy_to_self']!r}: write true or false")
    helo = settings.get("helo_name")
    if helo is not None and (not isinstance(helo, str) or not helo.strip() or " " in helo):
        p.append(f"{section}.helo_name = {helo!r}: use this machine's DNS name, e.g. \"klg.kommun.se\"")
    return p


def _bad(problems: list[str], key: str, value: Any, fix: str) -> None:
    problems.append(f"{key} = {value!r}: {fix}")


def connection(settings: dict[str, Any], section: str, default_ports: dict[str, int],
               known: tuple[str, ...]) -> list[str]:
    """Problems with the connection keys IMAP and SMTP share, and any key not in ``known``."""
    s = settings
    p = unknown_keys(s, section, known)
    host = s.get("host")
    if not isinstance(host, str) or not host.strip():
        p.append(f"{section}.host is missing: add the server's name, e.g. host = \"mail.kommun.se\"")
    security = s.get("security", "tls")
    if security not in SECURITY:
        _bad(p, f"{section}.security", security, 'use "tls" (implicit TLS), "starttls" or "none" (loopback only)')
    port = s.get("port", default_ports.get(security, default_ports["tls"]))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        _bad(p, f"{section}.port", port, f"use a port number, usually {default_ports.get(security, default_ports['tls'])}")
    auth = s.get("auth", "password")
    if auth not in AUTH:
        _bad(p, f"{section}.auth", auth, 'use "password", "xoauth2" (Microsoft 365, Google) or "none"')
    if auth in ("password", "xoauth2") and not isinstance(s.get("username"), str):
        p.append(f"{section}.username is missing: add the login name, usually the shared mailbox's address")
    if auth == "password" and not (s.get("password_env") or s.get("password_credential")):
        p.append(f"{section}.password_env is missing: name the environment variable holding the password "
                 f"(or use password_credential with systemd LoadCredential=)")
    if auth == "xoauth2":
        sources = [k for k in TOKEN_SOURCES if s.get(k)]
        if len(sources) != 1:
            p.append(f"{section}: auth = \"xoauth2\" needs exactly one token source, found "
                     f"{', '.join(sources) or 'none'}: set token_url (+ client_id, client_secret_env, scope), "
                     f"token_command, token_env or token_credential")
        if s.get("token_url"):
            for key in ("client_id", "scope"):
                if not isinstance(s.get(key), str) or not s.get(key):
                    p.append(f"{section}.{key} is missing: the client-credentials grant at token_url needs it")
            if not (s.get("client_secret_env") or s.get("client_secret_credential")):
                p.append(f"{section}.client_secret_env is missing: name the variable holding the app's client secret "
                         f"(or use client_secret_credential)")
        command = s.get("token_command")
        if command is not None and not (isinstance(command, str) and command.strip()
                                        or isinstance(command, list) and all(isinstance(x, str) for x in command) and command):
            _bad(p, f"{section}.token_command", command, 'use a command line such as "/usr/local/bin/klg-token imap"')
    ca = s.get("tls_ca_file")
    if ca is not None and not (isinstance(ca, str) and Path(ca).is_file()):
        _bad(p, f"{section}.tls_ca_file", ca, "name a PEM file with the CA that signed the server's certificate")
    if security == "none" and auth != "none" and isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1"):
        _bad(p, f"{section}.security", security, "passwords and tokens never travel unencrypted: use tls or starttls")
    value = s.get("timeout_seconds", 30)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 600:
        _bad(p, f"{section}.timeout_seconds", value, "use a number of seconds between 1 and 600")
    return p
