"""The operator's contract: `klg init`, `klg check-config`, exit codes, and the
config keys with errors that name the key, the bad value and the fix."""

from __future__ import annotations

import json
import subprocess
import sys

from daemon.instance import instance_config
from tests.helpers import REPO, at, make_mail


def klg(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_checkout_config_is_the_embedded_default():
    expected = instance_config("maildir", root="../mailboxes", data="../data", templates="../templates")
    assert (REPO / "config" / "klg.toml").read_text(encoding="utf-8") == expected


def test_init_writes_a_self_contained_instance(tmp_path):
    result = klg("init", str(tmp_path / "kommun"))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "kommun"
    for folder in ("inbox", "processed", "quarantine", "sent"):
        assert {p.name for p in (root / "mailboxes" / folder).iterdir()} == {"tmp", "new", "cur"}
    assert (root / "data").is_dir()
    assert (root / "templates" / "sv" / "mail" / "ack.txt").is_file()
    assert "Mailboxes:" in result.stdout
    check = klg("--config", str(root / "klg.toml"), "check-config")
    assert check.returncode == 0, check.stderr
    assert klg("init", str(root)).returncode == 2  # never overwrites silently


def test_default_group_follows_the_routine(tmp_path):
    klg("init", str(tmp_path / "k"))
    from daemon.checks import load_config

    config = load_config(tmp_path / "k" / "klg.toml")
    assert len(config.members) == 8
    assert [m.name for m in config.with_role("chair")] == ["Karin Berg"]
    assert [m.name for m in config.with_role("chancellery")] == ["Johan Ek"]
    s = config.schedule
    assert (s.recurrence, str(s.start), str(s.end), s.break_minutes) == ("FREQ=WEEKLY;BYDAY=TU", "09:30:00", "12:00:00", 30)
    assert (s.proposal_deadline.days_before, str(s.proposal_deadline.time)) == (1, "10:00:00")
    assert (s.long_document_deadline.days_before, s.draft.time.strftime("%H:%M"), s.final.time.strftime("%H:%M")) == (7, "10:05", "14:00")
    assert config.group.timezone.key == "Europe/Stockholm"
    assert [i.title for i in config.standing_items] == ["Information från verksamheterna", "Mediaspaning"]


def test_bad_config_names_key_value_and_fix(inst):
    inst.edit_config('start = "09:30"', 'start = "9.75"')
    inst.edit_config('language = "sv"', 'language = "de"')
    inst.edit_config('recurrence = "FREQ=WEEKLY;BYDAY=TU"', 'recurrence = "EVERY TUESDAY"')
    inst.edit_config('email = "maria.holm@example.org"', 'email = "maria.holm"')
    result = inst.klg("check-config")
    assert result.returncode == 2
    err = result.stderr
    assert "schedule.start = '9.75'" in err and '"09:30"' in err
    assert "group.language = 'de'" in err and 'use "sv" or "en"' in err
    assert "schedule.recurrence = 'EVERY TUESDAY'" in err and "RRULE" in err
    assert "members[2].email = 'maria.holm'" in err
    assert inst.klg("tick").returncode == 2  # every command refuses a bad config


def test_secrets_in_the_file_are_refused(inst):
    inst.edit_config('backend = "maildir"\nroot = "mailboxes"                    # inbox/',
                     'backend = "maildir"\npassword = "hunter2"\nroot = "mailboxes"                    # inbox/')
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert "mailbox.password" in result.stderr and "password_env" in result.stderr
    assert "hunter2" not in result.stderr


def test_missing_config_file_is_a_usage_error(tmp_path):
    result = klg("--config", str(tmp_path / "nope.toml"), "status")
    assert result.returncode == 2 and "klg init" in result.stderr


def test_bad_arguments_exit_2(inst):
    assert inst.klg("tick", "--now", "next tuesday").returncode == 2
    assert klg("frobnicate").returncode == 2


def test_broken_mail_template_is_reported(inst):
    path = inst.root / "templates" / "sv" / "mail" / "ack.txt"
    import shutil

    shutil.copytree(REPO / "templates", inst.root / "templates")
    inst.edit_config(f'templates = "{REPO / "templates"}"', 'templates = "templates"')
    path.write_text(path.read_text(encoding="utf-8").replace("{{ item.id }}", "{{ item.id }", 1), encoding="utf-8")
    result = inst.klg("check-config")
    assert result.returncode == 2 and "ack.txt, line 1" in result.stderr


def test_status_json_contract(inst):
    inst.drop(make_mail("maria.holm@example.org", "Budget", "Tid: 15", attachments=[("a.pdf", b"%PDF-1.4", "application/pdf")]))
    inst.drop(make_mail("stranger@elsewhere.example", "Hej", "x"))
    inst.tick(at("2026-11-20 09:00"))
    status = inst.status(at("2026-11-20 09:00"))
    meeting = status["meetings"][0]
    assert meeting["date"] == "2026-11-24" and {"state", "agenda_version", "items"} <= set(meeting)
    assert {k: meeting["items"][0][k] for k in ("id", "title", "presenter", "minutes", "kind", "state", "attachments")} == {
        "id": "KLG-2026-001", "title": "Budget", "presenter": "Maria Holm", "minutes": 15, "kind": "diskussion",
        "state": "planned", "attachments": ["a.pdf"]}
    assert status["quarantine"]["count"] == 1
    assert status["outbox"] == {"queued": 0, "sent": 1, "failed": 0}
    text = inst.klg("status", "--now", at("2026-11-20 09:00").isoformat())
    assert "KLG-2026-001" in text.stdout and "Quarantine: 1 message (" in text.stdout


def test_tick_with_now_in_group_time(inst):
    inst.drop(make_mail("maria.holm@example.org", "Sent", "x"))
    # 10:30 on Monday 23 November is after the deadline for Tuesday 24: the item is late
    result = inst.klg("tick", "--now", "2026-11-23T10:30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 message handled, ")  # the plural rule: one message, not "1 messages"
    item = json.loads(inst.klg("status", "--json", "--now", "2026-11-23T10:30").stdout)["meetings"][1]["items"][0]
    assert item["late"] is True


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`klg status | head`: the reader stops reading; klg stops writing, says nothing, exits 0."""
    klg("init", str(tmp_path / "k"))
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(tmp_path / "k" / "klg.toml"), "status"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    proc.stdout.close()  # before klg writes a line: every write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "bug" not in err and "Traceback" not in err and "BrokenPipe" not in err, err
