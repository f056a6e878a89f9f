"""klg under systemd: the unit file as systemd reads it, and the daemon's side
of the protocol (readiness, watchdog, status, stopping, journald log lines)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import MARIA, REPO, make_mail

UNIT = REPO / "systemd" / "klg@.service"
DROPIN = REPO / "systemd" / "credentials.conf.example"
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def unit_copy(tmp_path, dropin: bool = False):
    """The unit in a folder of its own, ExecStart pointing at a program that exists
    here (verify checks it), optionally with the credentials drop-in for klg@klg."""
    binary = tmp_path / "bin" / "klg"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    text = UNIT.read_text()
    assert "ExecStart=/opt/klg/bin/klg " in text
    (tmp_path / "klg@.service").write_text(text.replace("/opt/klg/bin/klg", str(binary)))
    if dropin:
        folder = tmp_path / "klg@klg.service.d"
        folder.mkdir()
        (folder / "credentials.conf").write_text(DROPIN.read_text())
    return tmp_path / "klg@klg.service"


@needs_analyze
@pytest.mark.parametrize("dropin", [False, True], ids=["unit", "unit+credentials"])
def test_unit_passes_systemd_analyze_verify(tmp_path, dropin):
    unit = unit_copy(tmp_path, dropin)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"systemd complains about the unit:\n{result.stderr}"


@needs_analyze
def test_unit_is_hardened(tmp_path):
    unit = unit_copy(tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"exposure above 2.0:\n{result.stdout}"
    text = UNIT.read_text()
    for setting in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "User=klg", "ProtectSystem=strict",
                    "StateDirectory=klg/%i", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
                    "--config /etc/klg/%i.toml run"):
        assert setting in text


def test_sysusers_file_declares_the_service_user():
    lines = [line.split() for line in (REPO / "systemd" / "klg.sysusers").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == [["u", "klg", "-", '"klg', 'meeting', 'clerk"', "/var/lib/klg"]]


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def collect(self, seconds: float) -> list[str]:
        """Everything sent during the next ``seconds``."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        self.messages += got
        return got

    def wait_for(self, predicate, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if predicate(m):
                    return m
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError(f"systemd was not told that; it got {self.messages}")


def test_run_speaks_sd_notify_and_stops_cleanly_on_sigterm(inst, tmp_path):
    inst.edit_config("poll_seconds = 5", "poll_seconds = 0.2")
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15"))
    sd = NotifySocket(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": sd.path, "WATCHDOG_USEC": "2000000", "JOURNAL_STREAM": "8:12345"}
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(inst.config_path), "run"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sd.wait_for(lambda m: m == "READY=1")
        # on the real clock the first pass may also send this week's agenda: count only the ack
        sd.wait_for(lambda m: m.startswith("STATUS=") and ": 1 message, " in m and " 0 mails sent" not in m)
        # an idle daemon keeps pinging the watchdog: a pass after each wait for mail
        assert sd.collect(1.5).count("WATCHDOG=1") >= 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    sd.wait_for(lambda m: m == "STOPPING=1")
    assert len(inst.sent_to(MARIA)) == 1
    # journald: one line per event with its syslog priority, no timestamp, the item id in it
    lines = err.splitlines()
    assert lines and all(line.startswith(("<6>", "<4>", "<3>")) for line in lines), err
    assert any(line.startswith("<6>INFO klg.intake:") and "KLG-2026-001" in line for line in lines), err
    assert not any(line[3:7].isdigit() for line in lines), "journald adds its own timestamps"


def test_tracebacks_are_one_journal_line_with_error_priority(monkeypatch, capfd):
    from daemon.systemd import setup_logging

    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    setup_logging("INFO")
    try:
        try:
            raise RuntimeError("the converter broke")
        except RuntimeError:
            logging.getLogger("klg.engine").exception("step draft:2026-12-01 failed")
    finally:
        logging.getLogger().handlers[:] = []
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("<3>ERROR klg.engine: step draft:2026-12-01 failed\\nTraceback")
    assert "RuntimeError: the converter broke" in err
