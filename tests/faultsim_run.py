"""The fault simulation with the real daemon, ``klg run``, instead of ``klg tick``.

One long-lived ``klg run`` process (its own process group, as under systemd)
is given the simulated time through its one test hook, ``KLG_TEST_CLOCK``
(a file holding "now"; read in ``daemon/running.py`` only), and reports each
finished pass through the sd_notify socket it already speaks to systemd
(``NOTIFY_SOCKET``: ``STATUS=`` after a pass that did something, ``WATCHDOG=1``
after every pass). A moment is done when a pass that began after the clock
moved did nothing. Meanwhile it is killed with SIGKILL at random moments and
at named crash points, and stopped with SIGTERM in the middle of a pass (it
must finish the message at hand and exit 0); each time it is started again,
as ``Restart=always`` would. The checks afterwards are the same as for
``klg tick`` (:class:`tests.faultsim.Simulation`).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

from tests.faultsim import Simulation
from tests.helpers import REPO

PASS_TIMEOUT = 180.0  # seconds for one simulated moment to settle; a LibreOffice run is the slowest part
POLL_SECONDS = 0.3    # the daemon's inbox poll: a simulated moment is a few of these


class RunSimulation(Simulation):
    """``RunSimulation(root, seed, kills, days, sigterms=…).run()``: like Simulation, with ``klg run``."""

    def __init__(self, *args, sigterms: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        self.f.daemon = "klg run"
        self.sigterms_wanted = sigterms
        self.proc: subprocess.Popen | None = None
        self.crash_env: str | None = None
        self.clock = self.root / "now.txt"   # outside the tmpfs: filling the disk must not stop the clock
        self.logs = self.root / "daemon-logs"
        self.sock_path = self.root / "notify.sock"
        self.sock: socket.socket | None = None
        self.heard: queue.Queue[str] = queue.Queue()  # datagrams read by the listener thread
        self.full_seen = (0, 0)  # (daemon start, "is full" lines in its log already counted)

    def _instance(self):
        inst = super()._instance()
        text = inst.config_path.read_text(encoding="utf-8")  # 5 s by default, 1 s on the test servers
        inst.config_path.write_text(re.sub(r"(?m)^poll_seconds = [0-9.]+", f"poll_seconds = {POLL_SECONDS}", text),
                                    encoding="utf-8")
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.sock_path))
        self.sock.settimeout(0.5)
        threading.Thread(target=self._listen, args=(self.sock,), daemon=True).start()
        return inst

    def _listen(self, sock: socket.socket) -> None:
        """Read every datagram at once, as systemd does: a full socket queue would block
        the daemon's next ``notify`` while the simulation is busy elsewhere."""
        while self.sock is sock:
            try:
                self.heard.put(sock.recv(4096).decode("utf-8", "replace"))
            except TimeoutError:
                continue
            except OSError:
                return

    def run(self):
        try:
            return super().run()
        finally:
            self._stop_for_good()

    # --- the process ---------------------------------------------------------------

    def _start(self, now: datetime, crash: str | None) -> None:
        self._write_clock(now)
        env = {**os.environ, "PYTHONPATH": str(REPO), "KLG_TEST_CLOCK": str(self.clock),
               "NOTIFY_SOCKET": str(self.sock_path)}
        env.pop("KLG_CRASH_AT", None)
        if crash:
            env["KLG_CRASH_AT"] = crash
        self.crash_env = crash
        self.f.daemon_starts += 1
        log = (self.logs / f"run-{self.f.daemon_starts:04d}.log").open("wb")
        cmd = [sys.executable, "-m", "daemon", "--config", str(self.inst.config_path), "run"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self._datagrams(until="READY=1", timeout=60)

    def _log_tail(self) -> str:
        path = self.logs / f"run-{self.f.daemon_starts:04d}.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")[-800:]
        except OSError:
            return ""

    def _ended(self, code: int, now: datetime) -> None:
        """The daemon is gone with ``code``: count it, or record it as a problem."""
        self.proc = None
        if code == -signal.SIGKILL:
            self.f.kills += 1
            if self.crash_env:
                self.f.kills_named[self.crash_env.partition(":")[0]] += 1
            else:
                self.f.kills_random += 1
        elif not self.fault_on or code != 1:
            self.f.problems.append(f"klg run ended with exit {code} at {now:%Y-%m-%d %H:%M}: {self._log_tail()}")
        self.crash_env = None

    def _sigterm(self, now: datetime) -> None:
        """SIGTERM in the middle of a pass: the daemon finishes the message at hand and exits 0."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:  # it died on its own (an armed crash point) just before
            self._ended(self.proc.wait(), now)
            return
        self.f.sigterms += 1
        try:
            code = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
            self.f.problems.append(f"klg run did not stop within 120 s of SIGTERM at {now:%Y-%m-%d %H:%M}")
        if code == 0:
            self.f.sigterms_clean += 1
        elif code == -signal.SIGKILL and self.crash_env:
            self._ended(code, now)  # its crash point came first
            return
        else:
            self.f.problems.append(f"klg run exited {code} after SIGTERM at {now:%Y-%m-%d %H:%M}: {self._log_tail()}")
        self.proc = None
        self.crash_env = None

    def _stop_for_good(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.sock is not None:
            sock, self.sock = self.sock, None  # the listener sees it gone and ends
            sock.close()

    # --- the clock and the passes -------------------------------------------------------

    def _write_clock(self, now: datetime) -> None:
        tmp = self.clock.with_suffix(".tmp")
        tmp.write_text(now.isoformat(), encoding="utf-8")
        tmp.replace(self.clock)  # atomic: the daemon never reads half a time

    def _datagrams(self, until: str, timeout: float) -> bool:
        """Read the daemon's sd_notify datagrams until ``until`` ("READY=1", or
        "quiet": two passes ended and the last did nothing). False if the daemon
        died or the time ran out."""
        deadline = time.monotonic() + timeout
        passes, active = 0, False
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                text = self.heard.get(timeout=0.2)
            except queue.Empty:
                continue
            if until == "READY=1" and text == "READY=1":
                return True
            if text.startswith("STATUS="):
                active = True
            elif text == "WATCHDOG=1":
                passes += 1
                if until == "quiet" and passes >= 2 and not active:
                    return True
                active = False
        return False

    def _drain_socket(self) -> None:
        """Forget what was heard before now: only passes after the clock moved count."""
        try:
            while True:
                self.heard.get_nowait()
        except queue.Empty:
            pass

    def tick(self, now: datetime, kill: str | None = None) -> tuple[int, str]:
        """Give ``klg run`` the moment ``now`` and wait until it has done what is due.
        ``kill``: None, "random" (SIGKILL after a random delay) or a crash point "name:n"
        (the daemon is restarted with it). Returns -9 when the daemon was killed, as
        ``Simulation.tick`` does, so the caller gives the same moment again."""
        self.f.ticks += 1
        if self.proc is not None and self.proc.poll() is not None:
            self._ended(self.proc.returncode, now)  # a crash point from an earlier start came later
        named = kill if kill and kill != "random" else None
        if named and self.proc is not None:
            self._sigterm(now)  # a new start is needed to arm the crash point: stop it the polite way
        if self.proc is None:
            self._start(now, named)
        assert self.proc is not None
        self._drain_socket()
        t0 = time.monotonic()
        self._write_clock(now)
        if kill == "random":
            typical = sorted(self.durations)[len(self.durations) // 2] if self.durations else 1.0
            time.sleep(self.rng.uniform(0.05, typical * 1.1))
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: LibreOffice goes with it
            except ProcessLookupError:
                pass  # already gone (a crash point came first): its code says how
            self.proc.wait()
            self._ended(self.proc.returncode, now)
            return -signal.SIGKILL, ""
        if self.sigterms_wanted > self.f.sigterms and not named and self.rng.random() < 0.15:
            time.sleep(self.rng.uniform(0.05, 1.0))
            self._sigterm(now)
            return self.tick(now)  # restarted: the same moment again
        settled = self._datagrams(until="quiet", timeout=PASS_TIMEOUT)
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self._ended(code, now)
            return code, self._log_tail()
        if not settled:
            self.f.problems.append(f"klg run did not settle at {now:%Y-%m-%d %H:%M} within {PASS_TIMEOUT:.0f} s")
        self.durations = (self.durations + [time.monotonic() - t0])[-50:]
        return (1, "") if self._said_disk_full() else (0, "")

    def _said_disk_full(self) -> bool:
        """Whether the daemon logged a full disk since the last look (it goes on; ``klg tick`` would exit 1)."""
        if not self.fault_on:
            return False
        text = self._log_tail_all()
        lines = [line for line in text.splitlines() if "is full" in line]
        start, seen = self.full_seen
        seen = seen if start == self.f.daemon_starts else 0
        self.full_seen = (self.f.daemon_starts, len(lines))
        if len(lines) <= seen:
            return False
        self.f.failed_ticks += 1
        self.f.disk_full_clear_message += 1
        self.f.disk_full_sample = lines[-1][:300]
        return True

    def _log_tail_all(self) -> str:
        path = self.logs / f"run-{self.f.daemon_starts:04d}.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

