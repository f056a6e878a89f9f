"""``klg run``: the daemon in the foreground, until SIGTERM or SIGINT.

Its own module so that the other commands never import the scheduler
(APScheduler brings asyncio and multiprocessing: a tenth of a second of
start-up for ``klg status`` and ``klg tick``).
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import datetime
from pathlib import Path

from daemon import __version__
from daemon.commands import make_engine, open_store
from daemon.engine import system_clock
from daemon.scheduler import Waker
from daemon.systemd import notify

log = logging.getLogger("klg")

# The fault suite's one hook into ``klg run`` (tests/faultsim_run.py): a file that holds
# "now". Read here, in the face, and nowhere deeper; unset in every real deployment.
TEST_CLOCK_ENV = "KLG_TEST_CLOCK"


class FileClock:
    """``KLG_TEST_CLOCK=/path/now.txt``: ``klg run`` takes "now" from that file
    (ISO 8601 with an offset) at each pass, and a change of the file counts as a
    wake-up, since the scheduler's clock times are real time and would never come
    in a simulated week. A file that cannot be read or parsed stops the daemon
    with a message that says so: a test clock that silently fell back to the real
    one would make a simulation lie."""

    def __init__(self, path: Path):
        self.path = path
        self._seen = ""

    def _text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"klg: {TEST_CLOCK_ENV}={self.path}: cannot read the test clock ({exc}); "
                             "write an ISO 8601 time into it or unset the variable") from None

    def now(self) -> datetime:
        text = self._text()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise SystemExit(f"klg: {TEST_CLOCK_ENV}={self.path} holds {text!r}, not an ISO 8601 time; "
                             "write e.g. 2026-11-30T10:05+01:00") from None
        if moment.tzinfo is None:
            raise SystemExit(f"klg: {TEST_CLOCK_ENV}={self.path} holds {text!r} without an offset; add one, e.g. +01:00")
        return moment

    def take(self) -> bool:
        """True (once) when the file changed since the last call: the simulated time moved."""
        text = self._text()
        changed, self._seen = text != self._seen, text
        return changed

    def shutdown(self) -> None:
        pass


def cmd_run(config, args) -> int:
    store = open_store(config, lock=True)
    engine = make_engine(config, store)

    def stop(signum, frame):
        log.info("signal %s: finishing the current message, then stopping", signum)
        engine.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.mailbox.backend == "maildir":
        root = Path(config.mailbox.settings["root"])
        print(f"klg is running. Mailboxes: {root} — drop .eml files into {root / 'inbox' / 'new'}; "
              f"sent mail appears in {root / 'sent' / 'new'}. Stop with Ctrl-C.", flush=True)
    log.info("klg %s started for %s (config %s, data %s)", __version__, config.group.name, config.path, config.data_dir)
    test_clock = os.environ.get(TEST_CLOCK_ENV)
    if test_clock:
        file_clock = FileClock(Path(test_clock))
        log.warning("test clock: now is read from %s (%s is set; never in production)", test_clock, TEST_CLOCK_ENV)
        waker, clock = file_clock, file_clock.now
    else:
        waker, clock = Waker(config).start(), system_clock
    try:
        engine.run(clock=clock, waker=waker, notify=notify)
    finally:
        waker.shutdown()
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    log.info("klg stopped")
    return 0
