"""Living under systemd: the sd_notify protocol (readiness, status, watchdog,
stopping) in its few lines, and a log format journald keeps.

The watchdog. ``klg@.service`` sets ``WatchdogSec=5min``; systemd kills and
restarts the daemon when no ``WATCHDOG=1`` came for that long. A ping proves
that the main loop moves, so it is sent from the loop itself, never from a
helper thread that would keep pinging while the loop hangs. Work that takes
long is a series of bounded operations (one message, one step, one mail sent,
one LibreOffice conversion of at most ``pdf.DEFAULT_TIMEOUT`` = 3 minutes), and
:func:`keepalive` is called between them, so a long pass keeps the watchdog fed
while a hung one (a network call without a timeout, a deadlock) is restarted
within five minutes. Rule for new code: any blocking call needs a timeout well
under ``WatchdogSec``, and loops over many such calls call :func:`keepalive`.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from daemon.redact import RedactingFormatter

KEEPALIVE_MIN_INTERVAL = 1.0  # seconds between two pings, at most one datagram a second
_last_ping = 0.0


def notify(state: str) -> None:
    """Send ``state`` (e.g. "READY=1") to systemd if it is listening."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    import socket  # imported here, not at the top: start-up (issue 19), only under systemd

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        pass


def watchdog_seconds() -> float | None:
    """The watchdog interval systemd asks for (``WatchdogSec=``), or None when there is none."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None


def keepalive() -> None:
    """Tell systemd's watchdog the daemon still makes progress (cheap; call it often)."""
    global _last_ping
    if not os.environ.get("NOTIFY_SOCKET") or watchdog_seconds() is None:
        return
    now = time.monotonic()
    if now - _last_ping >= KEEPALIVE_MIN_INTERVAL:
        _last_ping = now
        notify("WATCHDOG=1")


# syslog priorities for the "<N>" prefix journald understands on stderr lines
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(RedactingFormatter):
    """One journal entry per event: the syslog priority as ``<N>`` (so
    ``journalctl -p err`` works) and the whole message, traceback included,
    on one line (newlines written as ``\\n``)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\r", "").replace("\n", "\\n")
        return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr: under journald one line per event with its priority and no
    timestamp (journald adds its own); at a terminal with timestamps. Secrets
    the config read are replaced by ``***`` either way."""
    under_journal = bool(os.environ.get("JOURNAL_STREAM"))
    handler = logging.StreamHandler(sys.stderr)
    if under_journal:
        handler.setFormatter(JournalFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "exchangelib", "imapclient", "pyhanko", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
