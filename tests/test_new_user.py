"""The new-user path: the daemon on a copy of the embedded default, a mail
dropped into the inbox, the acknowledgement in sent/ within the poll interval,
the item in `klg status`; and the README's first command from a fresh clone."""

from __future__ import annotations

import email
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest

from tests.helpers import REPO, make_mail

POLL = 5.0


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def copy_default(target: Path) -> Path:
    """The checkout's own embedded default (config/, templates/, mailboxes/) in ``target``."""
    shutil.copytree(REPO / "config", target / "config")
    shutil.copytree(REPO / "templates", target / "templates")
    (target / "mailboxes").mkdir()
    return target / "config" / "klg.toml"


def test_daemon_acknowledges_a_dropped_mail_within_the_poll_interval(tmp_path):
    config = copy_default(tmp_path)
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = daemon.stdout.readline()
        assert str(tmp_path / "mailboxes") in first_line  # it says where the mailboxes are
        inbox = tmp_path / "mailboxes" / "inbox" / "new"
        # on the real clock the first pass may run this week's agenda steps (LibreOffice); wait for it
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "caught up" not in daemon.stderr.readline():
            pass
        assert inbox.is_dir()
        # drop it the way a mail server does: write elsewhere, then rename into new/
        (tmp_path / "first.eml").write_bytes(make_mail("maria.holm@example.org", "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut"))
        os.rename(tmp_path / "first.eml", inbox / "first.eml")
        dropped = time.monotonic()
        sent = tmp_path / "mailboxes" / "sent" / "new"

        def acks():
            found = (email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sent.glob("*.eml"))
            return [m for m in found if m["To"] == "maria.holm@example.org"]

        found = wait_for(acks, POLL + 3)
        elapsed = time.monotonic() - dropped
        assert found, "no acknowledgement appeared in mailboxes/sent/new"
        assert elapsed <= POLL + 1
        [ack] = found
        assert ack["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning oktober"
        assert list((tmp_path / "mailboxes" / "processed" / "cur").iterdir())
        status = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "status", "--json"],
                                capture_output=True, text=True, cwd=REPO, timeout=60)
        assert status.returncode == 0, status.stderr
        items = [i for m in json.loads(status.stdout)["meetings"] for i in m["items"]]
        assert [(i["id"], i["title"], i["minutes"], i["kind"]) for i in items] == [
            ("KLG-2026-001", "Budgetuppföljning oktober", 15, "beslut")]
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    assert code == 0  # SIGTERM is a clean stop


@pytest.mark.slow
def test_readme_first_command_from_a_fresh_clone(tmp_path):
    """`./run.sh` on a fresh clone sets everything up and starts the daemon."""
    clone = tmp_path / "klg"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    daemon = subprocess.Popen(["./run.sh"], cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")},
                              start_new_session=True)
    try:
        line = ""
        deadline = time.monotonic() + 600  # the first run installs the dependencies
        while time.monotonic() < deadline and "klg is running" not in line:
            line = daemon.stdout.readline()
            if not line and daemon.poll() is not None:
                break
        assert "klg is running" in line and str(clone / "mailboxes") in line, line
        (clone / "mailboxes" / "inbox" / "new" / "a.eml").write_bytes(make_mail("erik.sandberg@example.org", "Placeringar", "Tid: 10"))

        def ack():
            return [p for p in (clone / "mailboxes" / "sent" / "new").glob("*.eml") if b"Mottaget: Placeringar" in p.read_bytes()]

        assert wait_for(ack, 180)  # the first pass may be making this week's agenda on the real clock
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
