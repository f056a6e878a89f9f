"""Start-up (issue 19): ``klg --help`` imports nothing but the command line;
``klg status`` and ``klg tick`` with nothing due import no document, PDF,
calendar, scheduler or template library. Checked on the real command line, in
a fresh interpreter, by the modules it has loaded when it is done."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys

import pytest

from daemon import cli, instance, workflows
from daemon.quarantine import add_cli as quarantine_cli
from tests.helpers import REPO, at, make_mail, new_instance

# Loaded by the end of the command (run in-process through cli.main, then sys.modules is printed).
PROBE = ("import sys, io, contextlib\nfrom daemon import cli\nout = io.StringIO()\n"
         "with contextlib.redirect_stdout(out):\n    code = cli.main(sys.argv[1:])\n"
         "import json; print(json.dumps({'code': code, 'modules': sorted(sys.modules), 'out': out.getvalue()}))")
HEAVY = ("docx", "docxtpl", "pypdf", "pikepdf", "icalendar", "sqlite_utils", "apscheduler", "jinja2", "html2text",
         "exchangelib", "imapclient", "lxml.html")
# What only a mail, a step that is due or a document needs (issue 19): reading and parsing mail, the
# handlers of replies and commands, lxml, TLS and Babel. `klg status` and an idle `klg tick` load none.
NOT_IDLE = ("daemon.intake", "daemon.mail.message", "daemon.mail.replies", "daemon.mail.reply_shapes",
            "daemon.absence_words", "daemon.proposals", "daemon.regrets", "daemon.security",
            "daemon.agenda.review", "daemon.agenda.apply", "daemon.circulation.replies", "daemon.circulation.start",
            "daemon.minutes.replies", "daemon.records.replies", "daemon.archive.package", "daemon.instance",
            "mailparser_reply", "lxml", "ssl", "babel", "holidays", "email.parser")
# The steps' own modules: `klg status` shows, it does not ask what is due.
STEP_MODULES = ("daemon.notices", "daemon.agenda.workflow", "daemon.agenda.notices",
                "daemon.minutes.workflow", "daemon.circulation.deadline", "daemon.records.registrar")
# What the steps do, apart from what says when they are due (refs in the `due` modules): their mails,
# documents, the meeting book, the compilation, a copy for outside. Neither command loads any of it.
STEP_BODIES = ("daemon.agenda.sending", "daemon.agenda.delivery", "daemon.agenda.rendering", "daemon.agenda.document",
               "daemon.agenda.book", "daemon.agenda.guests", "daemon.agenda.invite", "daemon.minutes.mails",
               "daemon.minutes.distribute", "daemon.minutes.document", "daemon.minutes.formcheck",
               "daemon.circulation.closing", "daemon.circulation.compilation", "daemon.circulation.document",
               "daemon.records.disclosure", "daemon.officezip", "daemon.docmeta", "daemon.pdfclean", "daemon.fields",
               "daemon.records.secrecy_lines")
# Libraries (and klg's modules that pull them in) that only building a mail, a document or a file needs:
# the email package's builder, LibreOffice's plumbing (subprocess, socket), OpenSSL (hashlib), the archives
# shutil imports, tempfile and zipfile; difflib only for a config with a typo.
IDLE_LIBRARIES = ("daemon.mail.compose", "daemon.documents", "daemon.pdf", "daemon.converter", "email.message",
                  "email.headerregistry", "email.utils", "hashlib", "socket", "subprocess", "shutil", "tempfile",
                  "zipfile", "difflib")


def run_probe(*argv: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def loaded(*argv: str) -> tuple[int, set[str]]:
    found = run_probe(*argv)
    return found["code"], set(found["modules"])


def idle_faults(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_help_imports_only_the_command_line():
    code, modules = loaded("--help")
    assert code == 0
    ours = sorted(m for m in modules if m == "daemon" or m.startswith("daemon."))
    assert ours == ["daemon", "daemon.cli"]
    assert heavy(modules) == []
    assert idle_faults(modules, ("shutil", "socket", "bz2", "lzma")) == []  # cli finds the width itself
    assert idle_faults(modules, ("logging",)) == []  # set up once the command is known


def test_status_and_an_idle_tick_import_no_heavy_library(tmp_path):
    inst = new_instance(tmp_path / "klg")
    inst.drop(make_mail(subject="Ett förslag", body="Tid: 5"))
    assert inst.tick(at("2026-11-20 09:00"))["messages"] == 1  # a store with an item in it
    # The first status of an instance asks the holidays package which countries it knows (the data folder did
    # not exist when that tick read its config) and the next twelve months' holidays, and keeps them in the
    # data folder (daemon/holiday_tables.py); the commands after it read the file.
    code, first = loaded("--config", str(inst.config_path), "status")
    assert code == 0 and "holidays" in first
    for argv in (["status"], ["status", "--json"], ["tick", "--now", "2026-11-20T09:05"]):
        code, modules = loaded("--config", str(inst.config_path), *argv)
        assert code == 0, argv
        assert heavy(modules) == [], argv
        assert idle_faults(modules, NOT_IDLE) == [], argv
        assert idle_faults(modules, STEP_BODIES) == [], argv
        assert idle_faults(modules, IDLE_LIBRARIES) == [], argv
        assert "daemon.workflows" in modules  # the real thing ran: the workflows' steps and status sections
        if argv[0] == "status":
            assert idle_faults(modules, STEP_MODULES) == [], argv
            assert {"daemon.agenda.status", "daemon.minutes.status", "daemon.circulation.status"} <= modules
        else:
            assert set(STEP_MODULES) <= modules  # every step was asked whether it is due


def test_a_tick_with_mail_loads_what_it_needs_and_does_the_work(tmp_path):
    """The parsing and the handlers are imported when a mail is there: on the real command line, the
    proposal is taken in and acknowledged, as before issue 19's lazy registry."""
    inst = new_instance(tmp_path / "klg")
    inst.drop(make_mail(subject="Ett förslag", body="Tid: 5"))
    found = run_probe("--config", str(inst.config_path), "tick", "--now", "2026-11-20T09:00")
    assert found["code"] == 0
    assert found["out"].startswith("1 message handled, 0 steps run, 1 mail sent, 0 to retry, 0 failed")
    assert {"daemon.intake", "daemon.mail.message", "daemon.proposals"} <= set(found["modules"])
    [ack] = inst.sent()
    assert "KLG-2026-001" in ack["Subject"]
    status = json.loads(run_probe("--config", str(inst.config_path), "status", "--json", "--now",
                                  "2026-11-20T09:05")["out"])
    assert [i["title"] for m in status["meetings"] for i in m["items"]] == ["Ett förslag"]


def test_the_operators_counts_follow_the_plural_rule(tmp_path):
    """"1 message handled", never "1 messages": klg tick's line and klg status's text."""
    inst = new_instance(tmp_path / "klg")
    found = run_probe("--config", str(inst.config_path), "tick", "--now", "2026-11-20T09:00")
    assert found["out"].startswith("0 messages handled, 0 steps run, 0 mails sent, ")
    inst.drop(make_mail(sender="stranger@elsewhere.example", subject="Hej", body="x"))
    inst.drop(make_mail(subject="Ett förslag", body="Tid: 5"))
    found = run_probe("--config", str(inst.config_path), "tick", "--now", "2026-11-20T09:00")
    assert found["out"].startswith("2 messages handled, 0 steps run, 1 mail sent, ")
    text = run_probe("--config", str(inst.config_path), "status", "--now", "2026-11-20T09:05")["out"]
    assert "Quarantine: 1 message (1 in the last 7 days)" in text


@pytest.mark.parametrize("n", [0, 1, 2, 11, 21, 101, 1000, 1001, 123456789, -1])
def test_the_english_plural_without_babel_is_babels(n):
    from babel import Locale
    from babel.numbers import format_decimal

    from daemon.texts import plural

    babel_word = "item" if Locale.parse("en").plural_form(n) == "one" else "items"
    assert plural(n, "item", "items", "en") == f"{format_decimal(n, locale='en')} {babel_word}"


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


def test_every_name_in_the_registry_is_a_function_there():
    """daemon.workflows names its handlers, steps and sections by "module:function" (imported at the first
    call); each must resolve to a callable, and the constants it writes out are the modules' own."""
    from daemon import wheel
    from daemon.circulation import records as circulation_records

    def refs(value) -> list:
        if isinstance(value, workflows.Ref):
            return [value]
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            return [r for v in value for r in refs(v)]
        return []

    found = refs([getattr(workflows, name) for name in dir(workflows) if name.isupper()])
    assert len(found) > 50
    for entry in found:
        assert callable(entry.resolve()), entry
    circulation_kinds = {k for k in workflows.REPLY_ROUTES if k.startswith("circulation") and k != "circulation-held"}
    assert circulation_kinds == set(circulation_records.REPLY_KINDS)
    assert wheel.SECTION in workflows.CONFIG_SECTIONS


def test_the_holidays_kept_in_the_data_folder_are_the_packages(tmp_path):
    """daemon/holiday_tables.py keeps the years asked for in holidays.json: the same names on the same
    days as the package's own table; a file from another version of the package, or a broken one, is
    not believed but written anew."""
    from daemon.holiday_tables import CACHE_NAME, CachedTable, country_table

    days = [datetime.date(2026, 1, 1) + datetime.timedelta(days=n) for n in range(0, 3 * 365, 1)]
    theirs = country_table("SE", ("public", "de_facto"), "sv")
    expected = [(d, theirs.get(d)) for d in days]
    assert sum(1 for _, name in expected if name) > 30
    fresh = CachedTable("SE", ("public", "de_facto"), "sv", tmp_path)
    assert [(d, fresh.get(d)) for d in days] == expected
    kept = json.loads((tmp_path / CACHE_NAME).read_text(encoding="utf-8"))
    assert sorted(kept["tables"]["SE|public,de_facto|sv"]) == ["2026", "2027", "2028"]
    again = CachedTable("SE", ("public", "de_facto"), "sv", tmp_path)
    assert [(d, again.get(d)) for d in days] == expected and again._table is None  # read from the file alone
    kept["package"] = "another version"
    kept["tables"]["SE|public,de_facto|sv"]["2026"] = [["2026-03-03", "Not a holiday"]]
    (tmp_path / CACHE_NAME).write_text(json.dumps(kept), encoding="utf-8")
    stale = CachedTable("SE", ("public", "de_facto"), "sv", tmp_path)
    assert stale.get(datetime.date(2026, 3, 3)) is None and stale.get(datetime.date(2026, 12, 25)) == "Juldagen"
    (tmp_path / CACHE_NAME).write_text("{not json", encoding="utf-8")
    assert CachedTable("SE", ("public",), "sv", tmp_path).get(datetime.date(2026, 6, 6)) == "Nationaldagen"
    assert json.loads((tmp_path / CACHE_NAME).read_text(encoding="utf-8"))["package"] != "another version"


def test_a_country_holidays_does_not_know_is_refused_with_or_without_the_kept_list(tmp_path):
    from daemon.checks import load_config
    from daemon.config import ConfigError
    from daemon.holiday_tables import CACHE_NAME

    inst = new_instance(tmp_path / "klg")
    inst.store().close()  # the data folder, where the list is kept
    text = inst.config_path.read_text(encoding="utf-8")
    assert '\nholidays = "SE"' in text
    assert load_config(inst.config_path).schedule.holidays == "SE"
    assert "SE" in json.loads((inst.config.data_dir / CACHE_NAME).read_text(encoding="utf-8"))["countries"]
    for _ in range(2):  # the list from the package, then from holidays.json
        inst.config_path.write_text(text.replace('\nholidays = "SE"', '\nholidays = "XX"', 1), encoding="utf-8")
        with pytest.raises(ConfigError, match="schedule.holidays"):
            load_config(inst.config_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="root's rule: run as root")
def test_root_writes_no_holidays_into_the_service_users_data_folder(tmp_path):
    """As the store refuses root on the service user's data (a file root made would lock the daemon
    out), the holidays are asked of the package and nothing is kept."""
    from daemon.holiday_tables import CACHE_NAME, CachedTable

    folder = tmp_path / "data"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    assert CachedTable("SE", ("public",), "sv", folder).get(datetime.date(2026, 12, 25)) == "Juldagen"
    assert not (folder / CACHE_NAME).exists() and list(folder.iterdir()) == []


def test_every_step_body_a_due_module_names_is_a_function_there():
    """The `due` modules (and what they share with the bodies) name what their steps do by "module:function"
    (daemon.refs.Ref, imported when a step runs), so asking what is due loads no document code; each name
    must resolve to a callable of that name."""
    import importlib

    from daemon.refs import Ref

    names = ("daemon.agenda.workflow", "daemon.minutes.workflow", "daemon.circulation.deadline",
             "daemon.records.registrar", "daemon.agenda.ahead", "daemon.minutes.common", "daemon.outbox")
    found = [v for name in names for v in vars(importlib.import_module(name)).values() if isinstance(v, Ref)]
    assert len(found) >= 16
    for entry in found:
        assert callable(entry.resolve()), entry
        assert entry.resolve().__name__ == entry.name.partition(":")[2], entry
