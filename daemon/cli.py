"""The ``klg`` command line. Exit status: 0 done, 1 failure at run time,
2 bad config or arguments.

Start-up is part of the contract (``klg --help``, ``klg status`` and ``klg
tick`` with nothing due in a quarter of a second, issue 19), so this module
imports nothing of the workflows: :data:`COMMANDS` names every command's
arguments and handler by string, and only the command given is imported —
its arguments are added, its handler found, and ``daemon.commands`` runs it.
``klg --help`` imports nothing but this (not even logging).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from daemon import __version__

# Options of `klg` itself that take a value (to find the command's name before parsing).
GLOBAL_VALUES = ("--config", "--log-level")
BACKENDS = ("maildir", "imap", "exchange", "graph")  # klg init --backend; daemon/instance.py writes them (a test checks)


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, as argparse asks it, without importing shutil
    (which imports bz2, lzma and zlib: 3 ms of every start, issue 19)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        columns = size.columns or 80
    return columns


class _Formatter(argparse.HelpFormatter):
    """argparse's own formatter, its width found as argparse finds it (:func:`_columns`)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """Every parser of ``klg`` and its commands (the subcommands' parsers are of the same class)."""

    def __init__(self, *args, formatter_class=_Formatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def _init(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path)
    p.add_argument("--backend", choices=BACKENDS, default="maildir")
    p.add_argument("--force", action="store_true", help="overwrite an existing klg.toml")


def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", type=Path, help="where (a new or empty folder; default: a new temporary folder)")
    p.add_argument("--language", choices=("sv", "en"), default="sv", help="of the mails and documents")


def _tick(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", help="ISO 8601; naive times are in the group's time zone")


def _status(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")
    p.add_argument("--now", help=argparse.SUPPRESS)


def _nothing(p: argparse.ArgumentParser) -> None:
    pass


# name -> (help, arguments, handler). The arguments are a function here, or "module:function"
# that registers the whole subcommand itself (``add_cli(subparsers)``, with set_defaults(handler=…):
# the commands of workflows.COMMANDS_CLI and the quarantine; tests/test_startup.py checks that this
# table names every one of them, with the same help). A handler "module:function" takes
# (config, args), or only (args) for the commands that need no config (NO_CONFIG).
COMMANDS: dict[str, tuple[str, object, str | None]] = {
    "init": ("write a self-contained instance into DIR", _init, "daemon.commands:cmd_init"),
    "demo": ("play a whole week on the embedded default in a new folder, and leave the mails and documents there "
             "to look at", _demo, "daemon.demo:cmd_demo"),
    "run": ("the daemon, in the foreground", _nothing, "daemon.running:cmd_run"),
    "tick": ("one full pass at --now, then exit", _tick, "daemon.commands:cmd_tick"),
    "status": ("meetings, items, written procedures, minutes, outbox, quarantine", _status,
               "daemon.commands:cmd_status"),
    "check-config": ("validate the config and templates, try the mailbox connection", _nothing,
                     "daemon.commands:cmd_check_config"),
    "quarantine": ("list quarantined mail, or release one to be handled after all", "daemon.quarantine:add_cli", None),
    "log": ("the audit log: every state change and every mail in or out", "daemon.audit:add_cli", None),
    "verify": ("check the seal (PAdES signature) of signed minutes", "daemon.minutes.sealcheck:add_cli", None),
    "records": ("public records: hand out what a request for a meeting needs", "daemon.records.export:add_cli", None),
    "archive": ("make a meeting's archive package (E-ARK SIP, FGS 2.0)", "daemon.archive.package:add_cli", None),
}
NO_CONFIG = ("init", "demo")


def _resolve(reference: str):
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def command_in(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not an option of ``klg``), or None."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in GLOBAL_VALUES:
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(chosen: str | None = None, lazy: bool = False) -> argparse.ArgumentParser:
    """The parser. ``lazy``: with only the ``chosen`` command (None: every command by name and
    help, none's arguments, for ``klg --help``); else every command's arguments (docs, tests)."""
    p = _Parser(prog="klg", description="The clerk of a municipal management group, in a shared mailbox.")
    p.add_argument("--config", type=Path, default=None, help="config file (default: config/klg.toml)")
    p.add_argument("--version", action="version", version=f"klg {__version__}")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, arguments, _) in COMMANDS.items():
        if lazy and chosen is not None and name != chosen:
            continue  # the command is known: the others' parsers (5 ms each) would only be thrown away
        if lazy and name != chosen:
            sub.add_parser(name, help=text)  # for `klg --help`: named and described; its arguments are not needed
        elif isinstance(arguments, str):
            _resolve(arguments)(sub)
        else:
            arguments(sub.add_parser(name, help=text))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = command_in(argv)
    parser = build_parser(chosen, lazy=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from daemon.systemd import setup_logging  # noqa: PLC0415 -- start-up (issue 19): logging not for --help

    setup_logging(args.log_level)
    os.umask(0o077)  # everything klg writes (data, mailboxes, documents) is for the service user only
    reference = COMMANDS[args.command][2]
    handler = _resolve(reference) if reference else args.handler
    commands = importlib.import_module("daemon.commands")  # the handlers and the exit statuses: only now
    return commands.run(args, handler, needs_config=args.command not in NO_CONFIG)
