"""Shared by the benchmarks: the loopback mail servers of the tests, an
instance on them, sample documents, and a description of the machine."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

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
