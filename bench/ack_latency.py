"""Acknowledgement latency over real Dovecot + Postfix, with the daemon idling in IMAP IDLE.

200 proposals are sent by SMTP one at a time; for each, the time from Postfix
accepting it (the 250 after DATA) to its acknowledgement landing in the
sender's IMAP inbox. The arrival is watched by polling STATUS every 5 ms
from a second client, not with IDLE: Dovecot delays IDLE notices by about
half a second, which would add to the figure what is only the watcher's.
Prints p50, p95, max, and the daemon's CPU share while it then waits 20 s
for mail that does not come (the bench process holds only the daemon then),
and where the time goes, as medians from Postfix's 250 (the daemon runs in
this process, so its phases are timed on the same clock): until the daemon's
fetch hands the message out (seen), until the pass's ingest returned
(committed), until Postfix accepted the acknowledgement (sent), and until it
was in the member's inbox.

    .venv/bin/python bench/ack_latency.py [COUNT] [CHECK_SECONDS | push]

With CHECK_SECONDS (e.g. 0.1) the daemon runs with ``[mailbox] check_seconds``:
within office hours (its clock starts on a Friday at 09:00) it searches the
inbox that often instead of waiting in IDLE. With ``push`` it waits in IDLE
and takes Dovecot's push notification (``[mailbox] push_listen``; the test
Dovecot pushes to ``servers.push_port``).
"""

from __future__ import annotations

import smtplib
import sys
import time

from _common import instance, machine, mail_servers, percentile

from tests.helpers import GROUP, MARIA, at, make_mail
from tests.servers import Daemon


IDLE_SECONDS = 20


class Phases:
    """When the daemon saw, committed and sent each message of a pass (time.monotonic)."""

    def __init__(self):
        self.seen: list[float] = []
        self.committed: list[float] = []
        self.sent: list[float] = []

    def install(self) -> None:
        from daemon.backends.smtp import SmtpTransport
        from daemon.engine import Engine

        phases, ingest, send = self, Engine.ingest, SmtpTransport.send

        def timed_ingest(engine, now):
            fetch = engine.mailbox.fetch

            def seen():
                for message in fetch():
                    phases.seen.append(time.monotonic())
                    yield message
            engine.mailbox.fetch = seen
            try:
                handled = ingest(engine, now)
            finally:
                del engine.mailbox.fetch
            phases.committed += [time.monotonic()] * handled
            return handled

        def timed_send(transport, raw, sender, recipients):
            refused = send(transport, raw, sender, recipients)
            phases.sent.append(time.monotonic())
            return refused

        Engine.ingest, SmtpTransport.send = timed_ingest, timed_send


def main(count: int = 200, check: float = 0, push: bool = False) -> None:
    mailbox = {"check_seconds": check} if check else None
    with mail_servers() as servers, instance(servers, mailbox=mailbox) as inst:  # IDLE (or the check) wakes it
        if push:
            inst.edit_config("[mailbox]\n", f'[mailbox]\npush_listen = "127.0.0.1:{servers.push_port}"\n')
        inst.edit_config("poll_seconds = 1", "poll_seconds = 5")
        latencies: list[float] = []
        watcher = servers.imap(MARIA)
        smtp = smtplib.SMTP("127.0.0.1", servers.smtp_port, timeout=30)
        phases = Phases()
        phases.install()
        accepted_at: list[float] = []
        with Daemon(inst, at("2026-11-20 09:00")):
            time.sleep(1.0)  # connected and idling
            seen = 0
            for n in range(1, count + 1):
                smtp.sendmail(MARIA, [GROUP], make_mail(MARIA, f"Förslag {n}", "Tid: 5 min\n\nBeskrivning."))
                accepted = time.monotonic()
                accepted_at.append(accepted)
                deadline = accepted + 30
                while seen < n:
                    seen = watcher.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
                    time.sleep(0.005)
                    if time.monotonic() > deadline:
                        sys.exit(f"acknowledgement {n} did not arrive within 30 s")
                latencies.append(time.monotonic() - accepted)
            cpu0, wall0 = time.process_time(), time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        smtp.quit()
        watcher.logout()
    ms = [x * 1000 for x in latencies]
    print(f"machine: {machine()}")
    print(f"acknowledgement latency, {count} proposals sent one at a time (SMTP accepted -> ack in the sender's "
          f"IMAP inbox), poll_seconds = 5, " + (f"check_seconds = {check}:" if check else
                                                "daemon in IDLE with Dovecot's push:" if push else "daemon in IDLE:"))
    print(f"  p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms "
          f"(target: p95 under 200 ms)")
    if len(phases.seen) == len(phases.committed) == len(phases.sent) == count:
        def median_ms(times):
            return percentile([(t - a) * 1000 for t, a in zip(times, accepted_at)], 50)
        print(f"  from Postfix's 250, medians: seen by the daemon {median_ms(phases.seen):.0f} ms, committed "
              f"{median_ms(phases.committed):.0f} ms, acknowledgement accepted by Postfix {median_ms(phases.sent):.0f} ms,"
              f" in the member's inbox {percentile(ms, 50):.0f} ms")
    else:
        print(f"  (phases not shown: {len(phases.seen)} seen, {len(phases.committed)} committed, "
              f"{len(phases.sent)} sent for {count} proposals)")
    print(f"  idle CPU while waiting {IDLE_SECONDS} s: {idle_cpu * 100:.2f} % of a core (target: under 0.5 %)")


if __name__ == "__main__":
    mode = sys.argv[2] if len(sys.argv) > 2 else "0"
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, 0 if mode == "push" else float(mode), mode == "push")
