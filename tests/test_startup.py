"""Start-up (issue 19): ``klg --help`` imports nothing but the command line;
``klg status`` and ``klg tick`` with nothing due import no document, PDF,
calendar, scheduler or template library. Checked on the real command line, in
a fresh interpreter, by the modules it has loaded when it is done."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from daemon import cli, instance, workflows
from daemon.quarantine import add_cli as quarantine_cli
from tests.helpers import REPO, at, make_mail, new_instance

# Loaded by the end of the command (run in-process through cli.main, then sys.modules is printed).
PROBE = ("import sys, io, contextlib\nfrom daemon import cli\nout = io.StringIO()\n"
         "with contextlib.redirect_stdout(out):\n    code = cli.main(sys.argv[1:])\n"
         "import json; print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))")
HEAVY = ("docx", "docxtpl", "pypdf", "pikepdf", "icalendar", "sqlite_utils", "apscheduler", "jinja2", "html2text",
         "exchangelib", "imapclient", "lxml.html")


def loaded(*argv: str) -> tuple[int, set[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return found["code"], set(found["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_help_imports_only_the_command_line():
    code, modules = loaded("--help")
    assert code == 0
    ours = sorted(m for m in modules if m == "daemon" or m.startswith("daemon."))
    assert ours == ["daemon", "daemon.cli", "daemon.redact", "daemon.systemd"]
    assert heavy(modules) == []


def test_status_and_an_idle_tick_import_no_heavy_library(tmp_path):
    inst = new_instance(tmp_path / "klg")
    inst.drop(make_mail(subject="Ett förslag", body="Tid: 5"))
    assert inst.tick(at("2026-11-20 09:00"))["messages"] == 1  # a store with an item in it
    for argv in (["status"], ["status", "--json"], ["tick", "--now", "2026-11-20T09:05"]):
        code, modules = loaded("--config", str(inst.config_path), *argv)
        assert code == 0, argv
        assert heavy(modules) == [], argv
        assert "daemon.workflows" in modules  # the real thing ran: the workflows' steps and status sections


def test_the_command_table_names_every_registered_command_with_its_help():
    """cli.COMMANDS names the workflows' commands by string (so --help imports none of them);
    each must be there, with the help its module gives."""
    registered = argparse.ArgumentParser().add_subparsers()
    for add in (*workflows.COMMANDS_CLI, quarantine_cli):
        add(registered)
    choices = {a.dest: a.help for a in registered._choices_actions}
    for name, text in choices.items():
        assert name in cli.COMMANDS, f"{name} is registered but not in cli.COMMANDS"
        assert cli.COMMANDS[name][0] == text, name
    assert cli.BACKENDS == instance.BACKENDS


@pytest.mark.parametrize("argv", [["init", "DIR"], ["demo"], ["run"], ["tick", "--now", "2026-11-20T09:00"],
                                  ["status", "--json"], ["check-config"], ["log", "--item", "KLG-2026-001"],
                                  ["verify", "x.pdf"], ["quarantine", "list"], ["quarantine", "release", "3"]])
def test_each_command_parses_with_the_full_and_the_lazy_parser(argv):
    full = cli.build_parser().parse_args(argv)
    lazy = cli.build_parser(cli.command_in(argv), lazy=True).parse_args(argv)
    assert vars(full).keys() == vars(lazy).keys() and full.command == lazy.command == argv[0]


def test_the_command_is_found_after_the_options_of_klg():
    assert cli.command_in(["--config", "status", "tick"]) == "tick"
    assert cli.command_in(["--log-level", "DEBUG", "status", "--json"]) == "status"
    assert cli.command_in(["--help"]) is None and cli.command_in(["nonsense"]) is None


def test_the_holiday_table_is_the_packages_without_all_its_countries():
    """daemon/holiday_tables.py loads one country's module alone; the table is what the package's
    own country_holidays gives (each made in a fresh interpreter)."""
    years = "for y in range(2025, 2031): h.get(datetime.date(y, 1, 1))\n"
    ours = ("import sys, datetime\nfrom daemon.holiday_tables import country_table\n"
            "h = country_table('SE', ('public',))\n" + years +
            "print(len([m for m in sys.modules if m.startswith('holidays.countries.')]))\nprint(sorted(h.items()))")
    theirs = ("import datetime, holidays\nh = holidays.country_holidays('SE', categories=('public',), language='sv')\n"
              + years + "print(sorted(h.items()))")
    got = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
           for code in (ours, theirs)]
    assert all(r.returncode == 0 for r in got), [r.stderr for r in got]
    count, table = got[0].stdout.strip().split("\n")
    assert count == "1" and "Juldagen" in table
    assert table == got[1].stdout.strip()
