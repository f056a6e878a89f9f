"""Waking the daemon at the configured times (APScheduler 3.x).

The scheduler decides nothing: it only sets a flag at each configured clock
time (deadlines, sends, meeting start and end, digests) and every few minutes
as a safety net. Whether a step is due, and whether it already ran, is decided
from the store by the workflows.
"""

from __future__ import annotations

import threading
from datetime import time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from daemon import workflows
from daemon.config import Config

SAFETY_NET_MINUTES = 5


def wake_times(config: Config) -> list[time]:
    """Every clock time at which some step may become due."""
    s = config.schedule
    times = {s.proposal_deadline.time, s.long_document_deadline.time, s.draft.time, s.final.time, s.start, s.end,
             config.intake.stranger_digest_time}
    for extra in workflows.WAKE_TIMES:
        times.update(extra(config))
    return sorted(times)


class Waker:
    def __init__(self, config: Config):
        self._flag = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=config.group.timezone)
        for at in wake_times(config):
            self.scheduler.add_job(self._flag.set, CronTrigger(hour=at.hour, minute=at.minute, timezone=config.group.timezone),
                                   coalesce=True, misfire_grace_time=None)
        self.scheduler.add_job(self._flag.set, "interval", minutes=SAFETY_NET_MINUTES, coalesce=True)

    def start(self) -> "Waker":
        self.scheduler.start()
        return self

    def take(self) -> bool:
        """True (once) if a wake-up came since the last call."""
        if self._flag.is_set():
            self._flag.clear()
            return True
        return False

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
