"""Peak memory while the daemon handles one proposal with a 25 MB attachment,
fetched over IMAP from Dovecot (one pass: fetch, parse, store, acknowledge, move).

The idle size is the process after a first small proposal went through the
same path (everything imported, connections open). The peak is the kernel's
high-water mark of resident memory (VmHWM), reset just before the big one.
Target: the peak above idle under 3 times the attachment's size.

    .venv/bin/python bench/memory_25mb.py [MEGABYTES]
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from _common import instance, machine, mail_servers, sample_pdf

from tests.helpers import GROUP, MARIA, at, make_mail


def status(field: str) -> int:
    """A VmRSS/VmHWM line of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(megabytes: float = 25) -> None:
    from daemon.engine import Engine
    from daemon.backends import open_mailbox, open_transport
    from daemon.store import Store

    size = int(megabytes * 1_000_000)
    with mail_servers() as servers, instance(servers) as inst:
        big = make_mail(MARIA, "Stort underlag", "Tid: 20 min",
                        attachments=[("underlag.pdf", sample_pdf(size), "application/pdf")])
        raw_size = len(big)
        config = inst.config
        store = Store(config.data_dir)
        engine = Engine(config, store, open_mailbox(config), open_transport(config))
        try:
            servers.append(make_mail(MARIA, "Litet förslag", attachments=[("a.pdf", sample_pdf(50_000), "application/pdf")]))
            engine.tick(at("2026-11-20 09:00"))  # warm up: imports, connections, SQLite
            servers.append(big)
            del big
            gc.collect()
            idle = status("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            result = engine.tick(at("2026-11-20 09:05"))
            peak = status("VmHWM")
        finally:
            engine.mailbox.close()
            engine.transport.close()
            store.close()
        assert result["messages"] == 1 and result["outbox"]["sent"] == 1, result
        assert servers.count(GROUP, "klg/Behandlat") == 2
    above = peak - idle
    print(f"machine: {machine()}")
    print(f"peak memory handling one proposal with a {size / 1e6:.0f} MB attachment ({raw_size / 1e6:.1f} MB as mail):")
    print(f"  idle {idle / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB, above idle {above / 1e6:.0f} MB = "
          f"{above / size:.2f} x the attachment (target: under 3 x)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 25)
