"""Unknown config keys and sections are refused, naming the nearest known one,
and `klg check-config` exits 2 with that one line; loading the config imports
no workflow and no backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daemon import cli
from daemon.checks import load_config
from daemon.instance import instance_config
from tests.helpers import REPO, new_instance

HEADER = "klg: the configuration cannot be used:"


def check_config(inst, capsys) -> tuple[int, list[str]]:
    """`klg check-config` on ``inst``, in-process: the exit status and the lines on stderr."""
    code = cli.main(["--config", str(inst.config_path), "check-config"])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("old, new, problem", [
    ('timezone = "Europe/Stockholm"', 'timezon = "Europe/Stockholm"',
     "group.timezon is not a known key; did you mean timezone?"),
    ('title = "Kanslichef"', 'titel = "Kanslichef"', "members[1].titel is not a known key; did you mean title?"),
    ('start = "09:30"', 'strat = "09:30"', "schedule.strat is not a known key; did you mean start?"),
    ('position = "first"', 'postion = "first"', "standing_items[0].postion is not a known key; did you mean position?"),
    ("poll_seconds = 5", "poll_second = 5", "intake.poll_second is not a known key; did you mean poll_seconds?"),
    ("explanations_per_sender_per_hour = 3", "explanation_per_sender_per_hour = 3",
     "security.explanation_per_sender_per_hour is not a known key; did you mean explanations_per_sender_per_hour?"),
    ("templates = ", "template = ", "storage.template is not a known key; did you mean templates?"),
    ("max_book_mb = 25", "max_bok_mb = 25", "agenda.max_bok_mb is not a known key; did you mean max_book_mb?"),
    ("reminder_hours = 24", "reminder_hour = 24", "minutes.reminder_hour is not a known key; did you mean reminder_hours?"),
    ('omit_not_communicated = true          # leave out', 'omit_not_communicate = true          # leave out',
     "minutes.audiences[2].omit_not_communicate is not a known key; did you mean omit_not_communicated?"),
    ('root = "mailboxes"                    # inbox/', 'rot = "mailboxes"                    # inbox/',
     "mailbox.rot is not a known key; did you mean root?"),
    ('root = "mailboxes"                    # delivers', 'rot = "mailboxes"                    # delivers',
     "transport.rot is not a known key; did you mean root?"),
    ("[schedule]", "[shedule]", "[shedule] is not a known section; did you mean [schedule]?"),
    ("[[standing_items]]", "[[standing_item]]", "[standing_item] is not a known section; did you mean [standing_items]?"),
    ("[intake]", "[frobnicate]\nx = 1\n\n[intake]",
     "[frobnicate] is not a known section: remove it (known sections: [agenda], [annual_items], [archive], [circulation], [group], "
     "[intake], [mailbox], [members], [minutes], [records], [schedule], [security], [standing_items], [storage], "
     "[transport])"),
])
def test_a_typo_is_refused_with_the_nearest_key(inst, capsys, old, new, problem):
    inst.edit_config(old, new)
    code, err = check_config(inst, capsys)
    assert code == 2
    assert err == [HEADER, f"{inst.config_path}: {problem}"]


def test_a_typo_in_a_step_time_names_the_key_inside_it(inst, capsys):
    inst.edit_config('draft = { days_before = 1, time = "10:05" }', 'draft = { days_before = 1, tme = "10:05" }')
    code, err = check_config(inst, capsys)
    assert code == 2
    assert err == [HEADER, f"{inst.config_path}: schedule.draft.tme is not a known key; did you mean time?",
                   f'{inst.config_path}: schedule.draft.time is missing: expected a time like "09:30"']


@pytest.mark.parametrize("backend, old, new, problem", [
    ("imap", "idle_minutes = 10", "idle_minute = 10", "mailbox.idle_minute is not a known key; did you mean idle_minutes?"),
    ("imap", "copy_to_self = true", "copy_to_slef = true",
     "transport.copy_to_slef is not a known key; did you mean copy_to_self?"),
    ("exchange", "timeout = 120", "timout = 120", "mailbox.timout is not a known key; did you mean timeout?"),
    ("exchange", "save_sent = true", "save_send = true", "transport.save_send is not a known key; did you mean save_sent?"),
])
def test_a_backend_refuses_a_typo_in_its_own_keys(tmp_path, capsys, backend, old, new, problem):
    """Checked before any connection is tried: no server is needed to be told."""
    inst = new_instance(tmp_path / "klg", backend=backend)
    inst.edit_config(old, new)
    code, err = check_config(inst, capsys)
    assert code == 2
    assert err == [HEADER, f"{inst.config_path}: {problem}"]


def test_the_command_line_exits_2_and_never_shows_a_misspelt_keys_value(inst):
    """A misspelt key may hold a secret: its value is never echoed."""
    inst.edit_config('root = "mailboxes"                    # inbox/',
                     'passwrd = "hunter2"\nroot = "mailboxes"                    # inbox/')
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        HEADER, f"{inst.config_path}: mailbox.passwrd is not a known key: remove it (known keys: inbox, processed, "
                "quarantine, root)"]
    assert "hunter2" not in result.stderr


def test_every_problem_is_told_at_once(inst, capsys):
    inst.edit_config('start = "09:30"', 'strat = "09:30"')
    inst.edit_config("[intake]", "[intak]")
    inst.edit_config('language = "sv"', 'language = "de"')
    code, err = check_config(inst, capsys)
    assert code == 2
    assert err[1:] == [f"{inst.config_path}: group.language = 'de': use \"sv\" or \"en\"",
                       f"{inst.config_path}: schedule.strat is not a known key; did you mean start?",
                       f"{inst.config_path}: [intak] is not a known section; did you mean [intake]?"]


@pytest.mark.parametrize("path", [
    REPO / "config" / "klg.toml", REPO / "config" / "imap-example.toml", REPO / "config" / "exchange-example.toml",
    REPO / "config" / "graph-example.toml", REPO / "daemon" / "defaults" / "klg.toml",
])
def test_every_shipped_config_loads(path):
    config = load_config(path)
    assert config.members and config.mailbox.backend in ("maildir", "imap", "exchange", "graph")


@pytest.mark.parametrize("backend", ["maildir", "imap", "exchange", "graph"])
def test_every_config_klg_init_writes_loads(tmp_path, backend):
    (tmp_path / "klg.toml").write_text(instance_config(backend, templates=str(REPO / "templates")), encoding="utf-8")
    assert load_config(tmp_path / "klg.toml").mailbox.backend == backend


def test_loading_the_config_imports_no_workflow_and_no_backend():
    code = "import json, sys, daemon.config; print(json.dumps(sorted(m for m in sys.modules if m.startswith('daemon'))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["daemon", "daemon.breaks", "daemon.config", "daemon.config_model",
                                         "daemon.config_reader", "daemon.holiday_tables", "daemon.redact"]
