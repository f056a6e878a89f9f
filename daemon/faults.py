"""Crash points for the crash tests: the process really dies (SIGKILL) at a
named boundary, so tests can prove that nothing is lost and nothing is done
twice. Inactive unless ``KLG_CRASH_AT`` is set, which only tests do.

``KLG_CRASH_AT=outbox.after-send`` dies the first time that point is reached;
``outbox.after-send:3`` the third time.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get("KLG_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
