"""Where intake's time goes in a backlog, step by step: the same drain as
``backlog_drain.py`` (proposals with a 200 KB PDF of their own, real Dovecot),
with ``perf_counter`` around each step of intake. No profiler: cProfile and a
sampling profiler both moved the shares (a sampler put 8 % on creating files,
which timed directly is 0.03 ms). The steps nest, so the lines do not add up;
"SQLite statements" is spread through the others.

    .venv/bin/python bench/intake_breakdown.py [COUNT]
"""

from __future__ import annotations

import collections
import sys
import time

import backlog_drain
from _common import instance, mail_servers

SPENT: collections.Counter = collections.Counter()


def timed(owner, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper that adds its time to ``SPENT[label]``."""
    function = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main(count: int = 1000) -> None:
    from daemon import (
        attachments,
        context,
        database,
        files,
        intake,
        items,
        proposals,
        store,
    )
    from daemon.mail import compose

    # wrapped before the first pass: the workflows' references (daemon.refs) keep what they first found
    for owner, name, label in [
        (intake, "handle", "all of intake"), (intake, "parse", "parsing"),
        (proposals, "on_new_mail", "the proposal's workflow"),
        (attachments, "count_pages", "counting the PDF's pages"), (attachments, "keep", "keeping the document"),
        (items, "create", "creating the item"), (items, "announce", "telling the workflows"),
        (items, "summary", "the item's summary"), (context.Ctx, "send", "the acknowledgement"),
        (context.Ctx, "text", "  its template"), (compose, "build", "  its bytes"),
        (files.FileStore, "put", "files written (document, acknowledgement)"),
        (store.Store, "event", "audit events"), (store.Store, "commit", "each batch's commit"),
        (database.Database, "execute", "SQLite statements")]:
        timed(owner, name, label)
    with mail_servers() as servers, instance(servers) as inst:
        backlog_drain.fill(servers, 30)
        backlog_drain.daemon_drain(inst)  # everything imported, connections made
        backlog_drain.fill(servers, count)
        SPENT.clear()
        handled, ingest, *_ = backlog_drain.daemon_drain(inst)
    print(f"{handled} proposals, ingest {ingest / handled * 1000:.2f} ms a proposal (with the timing's own cost)")
    for label, seconds in SPENT.most_common():
        print(f"  {seconds / handled * 1000:6.2f} ms  {label}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
