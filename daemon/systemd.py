"""The sd_notify protocol (readiness, watchdog, stopping) in its few lines,
and a log format journald keeps."""

from __future__ import annotations

import logging
import os
import socket
import sys


def notify(state: str) -> None:
    """Send ``state`` (e.g. "READY=1") to systemd if it is listening."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        pass


def setup_logging(level: str = "INFO") -> None:
    """One line per event on stderr; journald adds its own timestamps."""
    under_journal = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journal else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "exchangelib", "imapclient", "pyhanko", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
