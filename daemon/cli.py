"""The ``klg`` command line. Exit status: 0 done, 1 failure at run time,
2 bad config or arguments."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon import __version__, checks, config as configlib, instance, status, workflows
from daemon.backends import open_mailbox, open_transport
from daemon.checks import load_config
from daemon.context import Ctx
from daemon.demo import cmd_demo
from daemon.engine import Engine, system_clock
from daemon.errors import UsageError
from daemon.mail import MailError
from daemon.redact import redact
from daemon.scheduler import Waker
from daemon.store import Store, StoreLocked, StoreOwnership, disk_full, disk_full_message
from daemon.systemd import notify, setup_logging

log = logging.getLogger("klg")

def default_config_path() -> Path:
    return Path("config/klg.toml")


def parse_now(text: str | None, tz: ZoneInfo) -> datetime:
    """``--now``: ISO 8601; a naive time is in the group's time zone."""
    if not text:
        return system_clock()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time; write e.g. 2026-11-30T10:05") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="klg", description="The clerk of a municipal management group, in a shared mailbox.")
    p.add_argument("--config", type=Path, default=None, help="config file (default: config/klg.toml)")
    p.add_argument("--version", action="version", version=f"klg {__version__}")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="write a self-contained instance into DIR")
    init.add_argument("dir", type=Path)
    init.add_argument("--backend", choices=instance.BACKENDS, default="maildir")
    init.add_argument("--force", action="store_true", help="overwrite an existing klg.toml")

    demo = sub.add_parser("demo", help="play a whole week on the embedded default in a new folder, and leave "
                                       "the mails and documents there to look at")
    demo.add_argument("--folder", type=Path, help="where (a new or empty folder; default: a new temporary folder)")
    demo.add_argument("--language", choices=("sv", "en"), default="sv", help="of the mails and documents")

    sub.add_parser("run", help="the daemon, in the foreground")
    tick = sub.add_parser("tick", help="one full pass at --now, then exit")
    tick.add_argument("--now", help="ISO 8601; naive times are in the group's time zone")
    show = sub.add_parser("status", help="meetings, items, written procedures, minutes, outbox, quarantine")
    show.add_argument("--json", action="store_true")
    show.add_argument("--now", help=argparse.SUPPRESS)
    sub.add_parser("check-config", help="validate the config and templates, try the mailbox connection")

    for add in getattr(workflows, "COMMANDS_CLI", []):
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    setup_logging(args.log_level)
    os.umask(0o077)  # everything klg writes (data, mailboxes, documents) is for the service user only
    config = None
    try:
        if args.command == "init":
            return cmd_init(args)
        if args.command == "demo":
            return cmd_demo(args)
        handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
        path = args.config or default_config_path()
        config = load_config(path)
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


# --- commands ------------------------------------------------------------------


def cmd_init(args) -> int:
    """``klg init DIR [--backend …] [--force]``; with ``--config FILE`` the config goes to FILE."""
    return instance.init(args.dir, args.config or args.dir / "klg.toml", args.backend, args.force)


def open_store(config, lock: bool) -> Store:
    store = Store(config.data_dir)
    if lock:
        store.lock()
    return store


def make_engine(config, store):
    return Engine(config, store, open_mailbox(config), open_transport(config))


def cmd_tick(config, args) -> int:
    now = parse_now(args.now, config.group.timezone)
    store = open_store(config, lock=True)
    try:
        engine = make_engine(config, store)
        result = engine.tick(now)
        o = result["outbox"]
        print(f"{result['messages']} messages handled, {len(result['steps'])} steps run, "
              f"{o['sent']} mails sent, {o['retry']} to retry, {o['failed']} failed")
    finally:
        store.close()
    return 0


def cmd_run(config, args) -> int:
    store = open_store(config, lock=True)
    engine = make_engine(config, store)

    def stop(signum, frame):
        log.info("signal %s: finishing the current message, then stopping", signum)
        engine.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.mailbox.backend == "maildir":
        root = Path(config.mailbox.settings["root"])
        print(f"klg is running. Mailboxes: {root} — drop .eml files into {root / 'inbox' / 'new'}; "
              f"sent mail appears in {root / 'sent' / 'new'}. Stop with Ctrl-C.", flush=True)
    log.info("klg %s started for %s (config %s, data %s)", __version__, config.group.name, config.path, config.data_dir)
    waker = Waker(config).start()
    try:
        engine.run(waker=waker, notify=notify)
    finally:
        waker.shutdown()
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    log.info("klg stopped")
    return 0


def cmd_status(config, args) -> int:
    store = Store(config.data_dir)
    try:
        ctx = Ctx(config, store, parse_now(args.now, config.group.timezone))
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


COMMANDS = {"run": cmd_run, "tick": cmd_tick, "status": cmd_status, "check-config": cmd_check_config}
