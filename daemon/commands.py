"""What the ``klg`` commands do, and how their failures become an exit status.

``daemon/cli.py`` parses the command line without importing any of this (so
``klg --help`` starts at once) and then calls :func:`run`, which loads the
config, finds the command's handler and turns every failure into a plain
message and an exit status: 0 done, 1 failure at run time, 2 bad config or
arguments.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon import checks, config as configlib
from daemon.backends import open_mailbox, open_transport
from daemon.checks import load_config
from daemon.context import Ctx
from daemon.engine import Engine, system_clock
from daemon.errors import UsageError
from daemon.mail import MailError
from daemon.redact import redact
from daemon.store import Store, StoreLocked, StoreOwnership, disk_full, disk_full_message
from daemon.texts import plural

log = logging.getLogger("klg")


def default_config_path() -> Path:
    return Path("config/klg.toml")


def run(args, handler, needs_config: bool = True) -> int:
    """Run ``handler(config, args)`` (or ``handler(args)`` when the command needs no
    config) and turn what it raises into a message and an exit status."""
    config = None
    try:
        if not needs_config:
            return handler(args)
        config = load_config(args.config or default_config_path())
        code = handler(config, args)
        sys.stdout.flush()  # a closed pipe shows here, inside this guard, not at exit
        return code
    except configlib.ConfigError as exc:
        print(redact(f"klg: the configuration cannot be used:\n{exc}"), file=sys.stderr)
        return 2
    except UsageError as exc:
        print(redact(f"klg: {exc}"), file=sys.stderr)
        return 2
    except (StoreLocked, StoreOwnership) as exc:
        print(f"klg: {exc}", file=sys.stderr)
        return 1
    except MailError as exc:
        print(redact(f"klg: mail: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    except BrokenPipeError:
        # `klg status | head`: the reader has seen enough. Point stdout at /dev/null so
        # the interpreter's own flush at exit does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if disk_full(exc, config.data_dir if config else None):  # not a bug: the machine's, and the operator's to fix
            print(f"klg: {disk_full_message(config.data_dir if config else Path('.'))}", file=sys.stderr)
            return 1
        # a bug: say so through the log, which masks secrets
        log.critical("klg stopped on an unexpected error, a bug; please report it with this message: %s", exc,
                     exc_info=True)
        return 1


def parse_now(text: str | None, tz: ZoneInfo) -> datetime:
    """``--now``: ISO 8601; a naive time is in the group's time zone."""
    if not text:
        return system_clock()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time; write e.g. 2026-11-30T10:05") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


# --- commands ------------------------------------------------------------------


def cmd_init(args) -> int:
    """``klg init DIR [--backend …] [--force]``; with ``--config FILE`` the config goes to FILE."""
    from daemon import instance  # noqa: PLC0415 -- start-up (issue 19): the defaults' files only for klg init

    return instance.init(args.dir, args.config or args.dir / "klg.toml", args.backend, args.force)


def open_store(config, lock: bool) -> Store:
    store = Store(config.data_dir)
    if lock:
        store.lock()
    return store


def make_engine(config, store):
    return Engine(config, store, open_mailbox(config, store, system_clock), open_transport(config))


def cmd_tick(config, args) -> int:
    now = parse_now(args.now, config.group.timezone)
    store = open_store(config, lock=True)
    try:
        engine = make_engine(config, store)
        result = engine.tick(now)
        o = result["outbox"]
        print(f"{plural(result['messages'], 'message', 'messages', 'en')} handled, "
              f"{plural(len(result['steps']), 'step', 'steps', 'en')} run, {plural(o['sent'], 'mail', 'mails', 'en')} "
              f"sent, {o['retry']} to retry, {o['failed']} failed")
    finally:
        store.close()
    return 0


def cmd_status(config, args) -> int:
    store = Store(config.data_dir)
    try:
        ctx = Ctx(config, store, parse_now(args.now, config.group.timezone))
        from daemon import status  # noqa: PLC0415 -- start-up (issue 19): the sections only for klg status

        data, sections = status.collect(ctx)
        print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else status.render_text(data, sections))
    finally:
        store.close()
    return 0


def cmd_check_config(config, args) -> int:
    problems = checks.templates(config)
    if problems:
        raise configlib.ConfigError(config.path, problems)
    print(f"{config.path}: configuration and templates are valid")
    for warning in checks.image_warnings(config):
        print(f"warning: {warning}")
    if not config.security.require_authentication and config.mailbox.backend != "maildir":
        print("warning: [security] require_authentication is off, so anyone who forges a member's From address "
              "can propose, change or withdraw items; see SECURITY.md")
    for name, check in (("mailbox", lambda: open_mailbox(config)), ("transport", lambda: open_transport(config))):
        backend = check()
        try:
            backend.check()
        finally:
            backend.close()
        print(f"{name} ({getattr(config, name).backend}): connection works")
    return 0

