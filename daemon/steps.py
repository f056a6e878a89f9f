"""A step: something a workflow does once, at or after a moment.

Workflows list the steps due at ``now`` (``due(ctx) -> list[Step]``); the
engine runs each in a transaction together with the marker that it ran, so a
step that was due while the daemon was down runs when it comes back, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from daemon.context import Ctx


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Step:
    """One thing a workflow does once: ``run(ctx)``, known forever by its ``key``."""

    key: str  # unique forever, e.g. "draft:2026-12-01"
    run: Callable[[Ctx], None]
    what: str  # for the log, in plain words
