"""Shared by the benchmarks: the loopback mail servers of the tests, an
instance on them, sample documents, and a description of the machine."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import servers as srv  # noqa: E402


@contextmanager
def mail_servers():
    """Dovecot + Postfix on free loopback ports in a temporary folder (needs root)."""
    if os.geteuid() != 0:
        sys.exit("the benchmarks start Dovecot and Postfix on loopback and need root")
    root = Path(tempfile.mkdtemp(prefix="klg-bench-"))
    servers = srv.MailServers(root)
    try:
        servers.start()
        os.environ[srv.PASSWORD_ENV] = srv.PASSWORD
        os.environ[srv.SECRET_ENV] = srv.CLIENT_SECRET
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def instance(servers, **kwargs):
    """A klg instance (IMAP + SMTP on ``servers``) in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="klg-bench-inst-"))
    try:
        inst = srv.imap_instance(folder / "klg", servers, **kwargs)
        # eight members sending hundreds of proposals in minutes would trip the storm guard
        inst.edit_config("replies_per_sender_per_hour = 30", "replies_per_sender_per_hour = 100000")
        yield inst
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sample_pdf(size: int, seed: int = 0) -> bytes:
    """A valid one-page PDF of about ``size`` bytes (incompressible content)."""
    import random

    payload = random.Random(seed).randbytes(max(0, size - 600))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def machine() -> str:
    """CPU model, cores, RAM, OS and server versions, on one line."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        ram = f"{kb / 1024 / 1024:.0f} GB"
    except Exception:
        pass
    osname = platform.platform()
    try:
        osname = next(l for l in Path("/etc/os-release").read_text().splitlines()
                      if l.startswith("PRETTY_NAME")).split("=", 1)[1].strip('"')
    except Exception:
        pass

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().split()[0]
        except Exception:
            return "?"

    postfix = version(["postconf", "-h", "-d", "mail_version"])
    return (f"{cpu}, {os.cpu_count()} cores, {ram} RAM, {osname}, Python {platform.python_version()}, "
            f"Dovecot {version(['dovecot', '--version'])}, Postfix {postfix}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class CpuUse:
    """CPU time spent on the whole machine while a block runs, by whom: this process's
    threads (by name; those that ended, such as the file writer of each batch, together),
    its children that ended meanwhile (the read-ahead worker), Dovecot's processes, and
    everything else (other processes, the kernel).

    Read from ``/proc`` (Linux): each thread's and process's utime + stime before
    and after, and the machine's total from ``/proc/stat``. A process that started
    and ended inside the block is seen only if it was this process's child."""

    DOVECOT = frozenset({"imap", "imap-login", "dovecot", "auth", "config", "log", "anvil", "stats", "indexer", "dict"})

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.wall = 0.0

    @staticmethod
    def _stat(path: str) -> tuple[str, int]:
        """(name, utime + stime in ticks) from a ``/proc/…/stat`` file."""
        stat = Path(path).read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return stat[stat.index("(") + 1:stat.rindex(")")], int(fields[11]) + int(fields[12])

    @classmethod
    def _ticks(cls) -> dict[tuple[str, str], tuple[str, int]]:
        found = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    found[(pid, tid)] = cls._stat(f"/proc/{pid}/task/{tid}/stat")
            except OSError:
                continue  # ended while it was read
        return found

    @classmethod
    def _own(cls) -> int:
        """This process's ticks, its ended threads included."""
        return cls._stat("/proc/self/stat")[1]

    @staticmethod
    def _machine() -> int:
        """The machine's busy ticks: user, nice, system, irq, softirq, steal (not idle, not iowait)."""
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields[i] for i in (0, 1, 2, 5, 6, 7))

    def __enter__(self) -> Self:
        self._before, self._total, self._children = self._ticks(), self._machine(), os.times()
        self._process = self._own()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._started
        after, total, children, process = self._ticks(), self._machine(), os.times(), self._own()
        hz = os.sysconf("SC_CLK_TCK")
        me = str(os.getpid())
        names = {t.native_id: t.name for t in threading.enumerate()}
        seconds: dict[str, float] = {}
        live = 0.0  # this process's threads still running
        for (pid, tid), (comm, ticks) in after.items():
            spent = (ticks - self._before.get((pid, tid), (comm, 0))[1]) / hz
            if spent <= 0:
                continue
            if pid == me:
                who = "main thread" if tid == me else f"thread {names.get(int(tid), tid)}"
                live += spent
            elif comm in self.DOVECOT:
                who = "Dovecot"
            else:
                continue
            seconds[who] = seconds.get(who, 0.0) + spent
        ended_threads = (process - self._process) / hz - live
        if ended_threads > 0:
            seconds["ended threads"] = ended_threads
        ended = (children.children_user + children.children_system
                 - self._children.children_user - self._children.children_system)
        if ended > 0:
            seconds["ended children (the read-ahead worker)"] = ended
        seconds["everything else"] = max(0.0, (total - self._total) / hz - sum(seconds.values()))
        self.seconds = seconds

    def per_message(self, count: int) -> str:
        """The CPU time per message in ms, in all and by whom, and how busy the cores were."""
        total = sum(self.seconds.values())
        parts = ", ".join(f"{who} {s / count * 1000:.2f}" for who, s in
                          sorted(self.seconds.items(), key=lambda kv: -kv[1]) if s / count * 1000 >= 0.005)
        return (f"{total / count * 1000:.2f} ms of CPU a message ({parts}); "
                f"the cores {total / self.wall / os.cpu_count():.0%} busy")
