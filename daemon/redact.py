"""Keeping secrets out of logs and error messages.

Every secret klg reads (through ``config.read_secret``: an environment
variable or a systemd credential) is remembered here, and :func:`redact`
replaces it with ``***`` wherever it would be shown. The log handler and the
command line's error output both pass through it, so a password that a mail
server library echoes in an exception never reaches the journal or a terminal.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words; no real password is that short

_secrets: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str | None) -> str | None:
    """Note ``value`` as a secret to hide from now on, and return it unchanged."""
    if value and len(value) >= MIN_LENGTH:
        with _lock:
            _secrets.add(value)
            stripped = value.strip()
            if len(stripped) >= MIN_LENGTH:
                _secrets.add(stripped)
    return value


def forget_secrets() -> None:
    """Forget every remembered secret: for a process that reads many configs one after
    another (the tests), where one config's secret must not mask another's text."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    if not _secrets or not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first, so no secret leaves a tail
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output never contains a remembered secret."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
