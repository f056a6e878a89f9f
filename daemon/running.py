"""``klg run``: the daemon in the foreground, until SIGTERM or SIGINT.

Its own module so that the other commands never import the scheduler
(APScheduler brings asyncio and multiprocessing: a tenth of a second of
start-up for ``klg status`` and ``klg tick``).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from daemon import __version__
from daemon.commands import make_engine, open_store
from daemon.scheduler import Waker
from daemon.systemd import notify

log = logging.getLogger("klg")


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
    waker = Waker(config).start()
    try:
        engine.run(waker=waker, notify=notify)
    finally:
        waker.shutdown()
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    log.info("klg stopped")
    return 0
