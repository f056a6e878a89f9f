"""Backlog drain over real Dovecot: 1,000 proposals, each with a 200 KB PDF of its
own, already in the shared inbox when the daemon starts.

Measured in the same run, on the same messages:
  * a bare imapclient loop that only fetches them (SEARCH, then one FETCH
    BODY.PEEK[] per message, over the same STARTTLS connection settings as
    the daemon), as the yardstick: run before and after the daemon (from the
    processed folder), and averaged, because the load of a shared machine
    changes during a run. It is run twice each time: as stock imapclient
    does it (imaplib's trace on, debug = 5, which formats every fetched
    literal: the yardstick of the issue and of every earlier figure), and as
    a lean loop with the trace off, as klg's own connection has it since
    2026-12-04 (``quiet_protocol_trace``);
  * the daemon's ingest: fetch, parse, store the item and its document,
    queue the acknowledgement, move the message to processed;
  * the whole pass (ingest plus sending the 1,000 acknowledgements by SMTP);
  * the CPU time a message of everything on the machine, during the stock loop
    (before the daemon ran) and during the daemon's ingest: the threads of
    this process, the read-ahead worker, Dovecot, the rest (``CpuUse``).

    .venv/bin/python bench/backlog_drain.py [COUNT] [--rounds N]

One run's ratio moves by about a tenth from run to run on the 2-core
development machine (its speed drifts by up to half within an hour), too much
to see a change of a few per cent. ``--rounds N`` measures the same
messages N more times after the first report, each round a stock loop over
the inbox right before the daemon drains it again into a copy of the store as
it was before the first drain, and prints each round's ratio and their median.
The stores of earlier rounds are set aside, not deleted, until the end: on the
development machine's ext4 (mounted with ``discard``) deleting 200 MB of
documents slowed the file creation of the next round from about 0.02 to
0.7 ms a file.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _common import CpuUse, instance, machine, mail_servers, sample_pdf

from tests.helpers import GROUP, MEMBERS, at, make_mail


def fill(servers, count: int) -> int:
    """Append ``count`` proposals to the shared inbox, each with a PDF of its own; return the
    bytes of one. (Until 2026-12-04 every proposal carried the same PDF, which the file store
    keeps once: the daemon wrote one document instead of a thousand.)"""
    sizes = []

    def work(chunk: range) -> None:
        with servers.imap(GROUP) as client:
            for n in chunk:
                pdf = sample_pdf(200 * 1024, seed=n + 1)
                sender = MEMBERS[n % len(MEMBERS)]
                raw = make_mail(sender, f"Förslag {n + 1}", "Tid: 10 min\n\nBeskrivning av ärendet.",
                                attachments=[(f"underlag-{n + 1}.pdf", pdf, "application/pdf")])
                sizes.append(len(raw))
                client.append("INBOX", raw)

    step = max(1, count // 4)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, [range(i, min(i + step, count)) for i in range(0, count, step)]))
    return max(sizes)


def bare_fetch(inst, folder: str = "INBOX", stock: bool = True, cpu: CpuUse | None = None) -> tuple[int, float, int]:
    from daemon.backends.imap_connection import ImapConnection

    client = ImapConnection(inst.config.mailbox.settings, "mailbox").open()  # the daemon's own TLS and login
    if stock:
        client._imap.debug = 5  # what IMAPClient() sets; klg's connection turns it off
    client.select_folder(folder, readonly=True)
    with cpu or CpuUse():
        started = time.perf_counter()
        uids = client.search("ALL")
        total = 0
        for uid in uids:
            total += len(client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"])
        elapsed = time.perf_counter() - started
    client.logout()
    return len(uids), elapsed, total


class Timed:
    """Wraps the engine's mailbox to add up the time spent inside it."""

    def __init__(self, mailbox):
        self.mailbox, self.seconds = mailbox, 0.0

    def fetch(self):
        it = self.mailbox.fetch()
        while True:
            started = time.perf_counter()
            try:
                message = next(it)
            except StopIteration:
                self.seconds += time.perf_counter() - started
                return
            self.seconds += time.perf_counter() - started
            yield message

    def move(self, key, folder):
        started = time.perf_counter()
        self.mailbox.move(key, folder)
        self.seconds += time.perf_counter() - started

    def __getattr__(self, name):
        return getattr(self.mailbox, name)


def daemon_drain(inst, cpu: CpuUse | None = None) -> tuple[int, float, float, dict, float]:
    from daemon.backends import open_mailbox, open_transport
    from daemon.engine import Engine
    from daemon.store import Store

    config = inst.config
    store = Store(config.data_dir)
    mailbox = Timed(open_mailbox(config))
    engine = Engine(config, store, mailbox, open_transport(config))
    now = at("2026-11-20 09:00")
    try:
        started = time.perf_counter()
        with cpu or CpuUse():
            handled = engine.ingest(now)
        ingest = time.perf_counter() - started
        sent = engine.flush(now)
        total = time.perf_counter() - started
    finally:
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    return handled, ingest, total, sent, mailbox.seconds


def rounds(servers, inst, count: int, n: int, snapshot: str) -> None:
    """``n`` more rounds over the same messages: back to the inbox, the store as before the first
    drain, a stock loop, the daemon's ingest; each round's ratio and the median."""
    ratios = []
    for r in range(n):
        with servers.imap(GROUP) as client:  # the processed messages back where they came from
            client.select_folder("klg.Behandlat")
            client.move(client.search("ALL"), "INBOX")
        data = str(inst.config.data_dir)
        os.rename(data, f"{data}.round-{r}")  # set aside, not deleted (see the docstring)
        shutil.copytree(snapshot, data)
        n_bare, bare, _ = bare_fetch(inst)
        handled, ingest, _, _, _ = daemon_drain(inst)
        assert n_bare == handled == count, (n_bare, handled)
        ratios.append(bare / ingest)
        print(f"  round {r + 1}: stock loop {count / bare:.1f} messages/s, daemon ingest {count / ingest:.1f} "
              f"messages/s: {bare / ingest:.0%}", flush=True)
    print(f"  {n} rounds: median {statistics.median(ratios):.0%} of the stock loop "
          f"(from {min(ratios):.0%} to {max(ratios):.0%})")


def main(count: int = 1000, more: int = 0) -> None:
    with mail_servers() as servers, instance(servers) as inst:
        print(f"filling the inbox with {count} proposals ...", flush=True)
        size = fill(servers, count)
        snapshot = f"{inst.config.data_dir}.before"
        shutil.copytree(inst.config.data_dir, snapshot)
        stock_cpu, daemon_cpu = CpuUse(), CpuUse()
        n, bare, volume = bare_fetch(inst, cpu=stock_cpu)
        _, lean, _ = bare_fetch(inst, stock=False)
        assert n == count, f"{n} messages in the inbox, expected {count}"
        handled, ingest, total, sent, in_mailbox = daemon_drain(inst, daemon_cpu)
        # the bare loops again, over the same messages where the daemon put them: the machine's load
        # may change during the run, so each yardstick is the mean of before and after
        n_after, bare_after, _ = bare_fetch(inst, "klg.Behandlat")
        _, lean_after, _ = bare_fetch(inst, "klg.Behandlat", stock=False)
        assert n_after == count
        bare_before, bare = bare, (bare + bare_after) / 2
        lean = (lean + lean_after) / 2
        left = servers.count(GROUP)
        processed = servers.count(GROUP, "klg/Behandlat")
        print(f"machine: {machine()}")
        print(f"backlog drain: {count} proposals of {size / 1024:.0f} KB each (a 200 KB PDF), {volume / 1e6:.0f} MB in all")
        print(f"  bare imapclient fetch loop: {n / bare:.1f} messages/s ({bare:.1f} s; {n / bare_before:.1f} before the "
              f"daemon ran, {n / bare_after:.1f} after)")
        print(f"  lean fetch loop (imaplib's trace off): {n / lean:.1f} messages/s ({lean:.1f} s)")
        print(f"  daemon ingest (fetch, parse, store, queue ack, move): {handled / ingest:.1f} messages/s ({ingest:.1f} s), "
              f"{handled / ingest / (n / bare):.0%} of the bare fetch (target: at least 100%), "
              f"{handled / ingest / (n / lean):.0%} of the lean loop")
        print(f"    of which in the IMAP backend (fetch, move): {in_mailbox:.1f} s = {handled / in_mailbox:.1f} messages/s, "
              f"{handled / in_mailbox / (n / bare):.1f} x the bare fetch; in intake (parse, checks, SQLite, files, "
              f"acknowledgement): {ingest - in_mailbox:.1f} s")
        print(f"  CPU, the stock loop (before the daemon ran): {stock_cpu.per_message(n)}")
        print(f"  CPU, the daemon's ingest: {daemon_cpu.per_message(handled)}")
        print(f"  daemon whole pass incl. {sent['sent']} acknowledgements sent by SMTP: {handled / total:.1f} messages/s "
              f"({total:.1f} s)")
        print(f"  left in the inbox: {left}, in processed: {processed}")
        if handled != count or left or processed != count or sent["sent"] != count:
            sys.exit("the drain was incomplete")
        if more:
            rounds(servers, inst, count, more, snapshot)


if __name__ == "__main__":
    args = sys.argv[1:]
    more = 0
    if "--rounds" in args:
        flag = args.index("--rounds")
        more = int(args[flag + 1])
        del args[flag:flag + 2]
    main(int(args[0]) if args else 1000, more)
