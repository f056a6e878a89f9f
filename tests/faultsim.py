"""The fault simulation: the real daemon (``klg tick --now …`` as a separate
process) driven through simulated weeks with a given clock while it is killed
with SIGKILL at random moments, the mail servers are restarted and the data
disk fills up. Afterwards it checks, from what users would see, that every
proposal became one item, every mail that should have gone out arrived exactly
once, and the shared inbox is empty; and it reports the figures.

Used by ``tests/test_faults.py`` (a short run in the normal suite) and
``bench/fault_suite.py`` (the full run, one command).

Two profiles: ``maildir`` (the embedded default; sent mail is counted in the
``sent`` Maildir) and ``imap`` (Dovecot + Postfix on loopback from
``tests/servers.py``; sent mail is counted in each member's IMAP inbox, and the
transport keeps a Sent-folder copy, which is what lets an interrupted attempt
be checked). The instance folder (config, data, Maildirs) is a small tmpfs, so
"the disk is full" is the real ENOSPC from the kernel.
"""

from __future__ import annotations

import email
import errno
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

from tests.faultsim_minutes import AUDIENCE_ADDRESSES, MinutesPlayers, configure
from tests.helpers import (CHAIR, CHANCELLERY, MEMBERS, REPO, TZ, Instance, make_mail, new_instance,
                           recipients)

CRASH_POINTS = ["intake.before-commit", "intake.after-commit", "ingest.in-batch", "ingest.after-move", "step.before-commit",
                "step.after-commit", "outbox.before-send", "outbox.after-send", "outbox.after-mark"]
SMTP_CRASH_POINTS = ["smtp.after-accept"]  # between the server's 250 and klg's record: copy_to_self settles it
DISK_MB = 64
PROPOSERS = [m for m in MEMBERS if m != CHANCELLERY]


@dataclass
class Figures:
    """What happened during a run and what was found afterwards."""

    profile: str = ""
    seed: int = 0
    daemon: str = "klg tick --now"  # or "klg run" (tests/faultsim_run.py)
    daemon_starts: int = 0
    sigterms: int = 0
    sigterms_clean: int = 0
    start: str = ""
    end: str = ""
    ticks: int = 0
    kills: int = 0
    kills_random: int = 0
    kills_named: Counter = field(default_factory=Counter)
    dovecot_restarts: int = 0
    postfix_restarts: int = 0
    disk_full_episodes: int = 0
    disk_full_ticks: int = 0
    disk_full_clear_message: int = 0
    disk_full_sample: str = ""
    disk: str = ""
    failed_ticks: int = 0
    proposals: int = 0
    items: int = 0
    items_duplicated: int = 0
    proposals_lost: int = 0
    comments_sent: int = 0
    comments_recorded: int = 0
    approvals_sent: int = 0
    mails_expected: int = 0
    mails_delivered: int = 0
    mails_duplicated: int = 0
    mails_lost: int = 0
    mails_unexpected: int = 0
    submitted_twice: int = 0
    server_duplicates: int = 0
    outbox_not_sent: int = 0
    interrupted_attempts: int = 0
    interrupted_checked: int = 0
    resent_unsure: int = 0
    inbox_left: int = 0
    quarantined: int = 0
    integrity: str = ""
    minutes: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    problems: list = field(default_factory=list)

    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """The figures as a short plain-text table."""
        named = ", ".join(f"{k} {v}" for k, v in sorted(self.kills_named.items())) or "none"
        rows = [
            ("profile", f"{self.profile} (seed {self.seed}), simulated {self.start} .. {self.end}"),
            ("daemon", self.daemon),
            ("passes (runs of klg tick, or moments given to klg run)",
             f"{self.ticks} ({self.failed_ticks} ended with an error while a fault was on)"),
            ("klg run started / SIGTERMs (clean exits)",
             f"{self.daemon_starts} / {self.sigterms} ({self.sigterms_clean})" if self.daemon == "klg run" else "-"),
            ("SIGKILLs", f"{self.kills}: {self.kills_random} at a random moment, "
                         f"{sum(self.kills_named.values())} at a named point ({named})"),
            ("Dovecot restarts", self.dovecot_restarts),
            ("Postfix stop+start", self.postfix_restarts),
            ("disk-full episodes", f"{self.disk_full_episodes} ({self.disk}); {self.disk_full_ticks} runs hit it, "
                                   f"{self.disk_full_clear_message} said clearly that the disk is full"),
            ("… what it said", self.disk_full_sample or "-"),
            ("proposals mailed", self.proposals),
            ("items", f"{self.items} ({self.items_duplicated} duplicated, {self.proposals_lost} proposals lost)"),
            ("approvals (OK) / comments mailed", f"{self.approvals_sent} / {self.comments_sent} "
                                                 f"({self.comments_recorded} comments recorded)"),
            ("minutes", ", ".join(f"{k} {v}" for k, v in self.minutes.items()) or "-"),
            ("mails expected (recipient × mail)", self.mails_expected),
            ("… delivered once", self.mails_delivered),
            ("… duplicated", self.mails_duplicated),
            ("… lost", self.mails_lost),
            ("… unexpected", self.mails_unexpected),
            ("mails klg submitted twice (SMTP)", self.submitted_twice if self.profile.startswith("imap") else "- (no SMTP)"),
            ("duplicates made by the servers", f"{self.server_duplicates} (submitted once, delivered twice: "
                                               "Dovecot/Postfix stopped mid-delivery)" if self.profile.startswith("imap")
                                               else "- (no servers)"),
            ("outbox left unsent", self.outbox_not_sent),
            ("interrupted send attempts", f"{self.interrupted_attempts}: {self.interrupted_checked} settled from what "
                                          "the mail left behind (the Maildir file, the copy to the shared "
                                          "mailbox, the Sent copy), "
                                          f"{self.resent_unsure} sent again without knowing"),
            ("shared inbox left", f"{self.inbox_left} (quarantined: {self.quarantined})"),
            ("store integrity", self.integrity),
            ("wall time", f"{self.wall_seconds:.0f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
        lines.append("result: " + ("OK" if self.ok() else "FAILED: " + "; ".join(self.problems[:20])))
        return "\n".join(lines)


# --- the disk ---------------------------------------------------------------------


class Disk:
    """The instance folder on a tmpfs of ``DISK_MB``; ``fill`` takes every free byte."""

    def __init__(self, path: Path):
        self.path = path
        self.mounted = False
        self.ballast = path / "ballast.bin"

    def mount(self) -> str:
        """Mount the tmpfs; return how the disk is made, for the report."""
        self.path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(self.path)],
                                capture_output=True, text=True)
        self.mounted = result.returncode == 0
        if self.mounted:
            return f"tmpfs of {DISK_MB} MB, filled to ENOSPC"
        return f"no disk-full episodes: tmpfs cannot be mounted here ({result.stderr.strip() or 'not root'})"

    def fill(self) -> None:
        """Take every free byte (down to 512-byte pieces), as a runaway log would."""
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 4096, 512):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)

    def free(self) -> None:
        """Give the space back."""
        self.ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        """Unmount the tmpfs (lazily: a stray process may still hold a file)."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False


# --- the mail side ----------------------------------------------------------------


def _headers(raw: bytes) -> EmailMessage:
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    return email.message_from_bytes(raw[: end if end >= 0 else len(raw)] + b"\r\n\r\n", policy=policy.default)


class MaildirWorld:
    """The embedded default: members' mail is dropped into inbox/new, sent mail is in sent/."""

    name = "maildir"
    smtp = False

    def __init__(self, inst: Instance):
        self.inst = inst

    def deliver(self, raw: bytes, sender: str) -> bool:
        """Put a member's mail in the shared inbox; False if it cannot be taken now."""
        # a unique name, as Maildir wants: with ``klg run`` draining inbox/new meanwhile, a name
        # from counting the files there would repeat and overwrite a mail not yet read
        self.dropped = getattr(self, "dropped", 0) + 1
        try:
            self.inst.drop(raw, name=f"{time.time_ns()}.sim{self.dropped}.eml")
            return True
        except OSError:
            return False

    def received(self) -> dict[str, list[EmailMessage]]:
        """Every delivered mail's headers, by recipient."""
        out: dict[str, list[EmailMessage]] = {}
        folder = self.inst.mailboxes / "sent"
        for sub in ("new", "cur"):
            for path in sorted((folder / sub).iterdir()):
                msg = _headers(path.read_bytes())
                for rcpt in recipients(msg):
                    out.setdefault(rcpt, []).append(msg)
        return out

    def inbox_left(self) -> int:
        """How many messages wait in the shared inbox."""
        return len(self.inst.folder("inbox"))

    def full(self, member: str, head: EmailMessage) -> EmailMessage:
        """The whole mail (attachments too) of which ``head`` is the header."""
        folder = self.inst.mailboxes / "sent"
        for sub in ("new", "cur"):
            for path in sorted((folder / sub).iterdir()):
                raw = path.read_bytes()
                if _headers(raw)["Message-ID"] == head["Message-ID"]:
                    return email.message_from_bytes(raw, policy=policy.default)
        raise KeyError(f"{head['Message-ID']} is not in the sent Maildir")

    def submissions(self) -> Counter | None:
        """How often each mail was handed over; None where that cannot be counted."""
        return None  # a Maildir delivery is a file named by the Message-ID: there is nothing to count twice

    def settle(self) -> None:
        """Wait until what was sent has arrived (a Maildir delivery is at once)."""


class ServersWorld:
    """Dovecot + Postfix: members submit by SMTP and read their IMAP inboxes."""

    name = "imap"
    smtp = True

    def __init__(self, inst: Instance, servers):
        self.inst = inst
        self.servers = servers
        self.postfix_up = self.dovecot_up = True

    def deliver(self, raw: bytes, sender: str) -> bool:
        """Submit a member's mail to Postfix; False while a server is down."""
        if not (self.postfix_up and self.dovecot_up):
            return False  # the member's own server would hold it; here the member sends it a little later
        self.servers.send(raw, sender)
        return True

    def received(self) -> dict[str, list[EmailMessage]]:
        """The headers of every mail in each member's IMAP inbox."""
        out: dict[str, list[EmailMessage]] = {}
        for member in [*MEMBERS, *AUDIENCE_ADDRESSES]:
            with self.servers.imap(member) as client:
                client.select_folder("INBOX", readonly=True)
                uids = client.search("ALL")
                if not uids:
                    continue
                fetched = client.fetch(uids, ["BODY.PEEK[HEADER]"])
                out[member] = [_headers(fetched[u][b"BODY[HEADER]"]) for u in sorted(fetched)]
        return out

    def full(self, member: str, head: EmailMessage) -> EmailMessage:
        """The whole mail (attachments too) in ``member``'s IMAP inbox of which ``head`` is the header."""
        with self.servers.imap(member) as client:
            client.select_folder("INBOX", readonly=True)
            [uid, *_] = client.search(["HEADER", "Message-ID", str(head["Message-ID"])])
            raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        return email.message_from_bytes(raw, policy=policy.default)

    def inbox_left(self) -> int:
        """How many messages wait in the shared IMAP inbox."""
        from tests.servers import SHARED

        return self.servers.count(SHARED)

    def submissions(self) -> Counter:
        """How often Postfix accepted each Message-ID (its cleanup log line), whatever it then delivered."""
        log = self.servers.root / "log" / "postfix.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return Counter(m.strip("<>") for m in re.findall(r"cleanup\[\d+\]: \w+: message-id=(<[^>\s]+>)", text))

    def settle(self) -> None:
        """Wait until Postfix has delivered everything queued."""
        try:
            self.servers.wait_queue_empty(timeout=60)
        except AssertionError:
            # a delivery deferred while Dovecot restarted (klg run keeps sending meanwhile):
            # ask Postfix to try again now rather than count a mail still queued as lost
            subprocess.run(["postqueue", "-c", str(self.servers.postfix_dir), "-f"], capture_output=True, check=False)
            self.servers.wait_queue_empty(timeout=120)
        time.sleep(0.5)  # LMTP has handed over; let Dovecot finish writing


# --- the driver -----------------------------------------------------------------


class Simulation:
    """One run: ``Simulation(root, seed, kills, days, servers=None).run()`` returns Figures."""

    def __init__(self, root: Path, seed: int, kills: int, days: int, servers=None,
                 start: datetime = datetime(2026, 11, 2, 7, 0, tzinfo=TZ), log=None, push: bool = False):
        self.push = push and servers is not None  # klg takes Dovecot's push ([mailbox] push_listen)
        self.rng = random.Random(seed)
        self.root = Path(root)
        self.kills_wanted = kills
        self.start = start
        self.end = start + timedelta(days=days)
        self.disk = Disk(self.root / "disk")
        self.servers = servers
        self.log = log or (lambda text: None)
        self.f = Figures(profile=("imap with push" if self.push else "imap") if servers else "maildir", seed=seed, start=f"{start:%Y-%m-%d %H:%M}",
                         end=f"{self.end:%Y-%m-%d %H:%M}")
        self.proposals: dict[str, str] = {}  # Message-ID -> title
        self.comments: set[str] = set()       # Message-IDs of the comments mailed
        self.answered: set[str] = set()       # Message-IDs of our mails already answered
        self.pending: list[tuple[bytes, str, str]] = []  # (raw, sender, kind) not yet accepted by a server
        self.durations: list[float] = []
        self.fault_on = False
        self.minutes = MinutesPlayers(self)
        self.intranet = self.root / "intranat"  # off the data disk, as the real intranet share is

    # --- set-up --------------------------------------------------------------

    def _instance(self) -> Instance:
        self.f.disk = self.disk.mount()
        folder = self.disk.path / "klg"
        if self.servers is not None:
            from tests.servers import imap_instance

            push = {"push_listen": f"127.0.0.1:{self.servers.push_port}"} if self.push else None
            inst = imap_instance(folder, self.servers, mailbox=push, transport={"sent_folder": "Sent", "copy_to_self": True})
            self.world = ServersWorld(inst, self.servers)
        else:
            inst = new_instance(folder)
            self.world = MaildirWorld(inst)
        # members mail more in a simulated hour than the storm guard allows a real one
        inst.edit_config("replies_per_sender_per_hour = 30", "replies_per_sender_per_hour = 100000")
        configure(inst, self.intranet)
        return inst

    # --- one run of the daemon -------------------------------------------------

    def tick(self, now: datetime, kill: str | None = None) -> tuple[int, str]:
        """``klg tick --now`` in its own process group. ``kill``: None, "random" (SIGKILL
        after a random delay) or a crash point "name:n"."""
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if kill and kill != "random":
            env["KLG_CRASH_AT"] = kill
        cmd = [sys.executable, "-m", "daemon", "--config", str(self.inst.config_path), "tick", "--now", now.isoformat()]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        self.f.ticks += 1
        if kill == "random":
            typical = sorted(self.durations)[len(self.durations) // 2] if self.durations else 0.6
            delay = self.rng.uniform(0.05, typical * 1.1)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: LibreOffice goes with it, as under systemd
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            self.f.problems.append(f"klg tick at {now:%Y-%m-%d %H:%M} hung for 300 s")
        code = proc.returncode
        if b"could not be handled" in err:
            # intake quarantined a mail over an exception: the traceback says why (the quarantine
            # check at the end says only that it happened)
            text = err.decode("utf-8", "replace")
            self.f.problems.append(f"klg tick at {now:%Y-%m-%d %H:%M} quarantined a mail over an error: "
                                   f"{text[text.index('could not be handled'):][:1500]}")
        if code == -signal.SIGKILL:
            self.f.kills += 1
            if kill == "random":
                self.f.kills_random += 1
            else:
                self.f.kills_named[kill.partition(":")[0]] += 1
        elif code == 0:
            self.durations = (self.durations + [time.monotonic() - t0])[-50:]
        elif code != 0:
            self.f.failed_ticks += 1
            text = err.decode("utf-8", "replace")
            if "is full" in text:
                self.f.disk_full_clear_message += 1
                self.f.disk_full_sample = text.strip().splitlines()[-1][:300]
            if not self.fault_on:
                self.f.problems.append(f"klg tick at {now:%Y-%m-%d %H:%M} failed (exit {code}) with no fault on: "
                                       f"{text[-600:]}")
        return code, err.decode("utf-8", "replace")

    def kill_choice(self, remaining_ticks: float) -> str | None:
        """Whether to kill the next run, and how: None, "random" or "point:n"."""
        wanted = self.kills_wanted - self.f.kills
        if wanted <= 0:
            return None
        # a run that is killed is run again, so a kill costs more than one run of those left
        if self.rng.random() > min(0.9, max(0.05, 1.3 * wanted / max(1.0, remaining_ticks))):
            return None
        if self.rng.random() < 0.65:
            return "random"
        points = CRASH_POINTS + (SMTP_CRASH_POINTS if self.world.smtp else [])
        return f"{self.rng.choice(points)}:{self.rng.randint(1, 3)}"

    # --- what members do ---------------------------------------------------------

    def send(self, raw: bytes, sender: str, kind: str) -> None:
        """A member mails the group; held back and retried while the servers are down."""
        if self.world.deliver(raw, sender):
            self._accepted(raw, kind)
        else:
            self.pending.append((raw, sender, kind))

    def _accepted(self, raw: bytes, kind: str) -> None:
        msg = _headers(raw)
        if kind == "proposal":
            self.proposals[msg["Message-ID"]] = str(msg["Subject"])
            self.f.proposals += 1
        elif kind == "comment":
            self.comments.add(msg["Message-ID"])
            self.f.comments_sent += 1
        elif kind == "approval":
            self.f.approvals_sent += 1

    def retry_pending(self) -> None:
        """Send again what the servers could not take earlier."""
        waiting, self.pending = self.pending, []
        for raw, sender, kind in waiting:
            self.send(raw, sender, kind)

    def propose(self, now: datetime) -> None:
        """A random member mails a proposal; some ask for written procedure."""
        sender = self.rng.choice(PROPOSERS)
        n = self.f.proposals + len(self.pending) + 1
        lines = [f"Tid: {self.rng.choice([5, 10, 15, 20])} min",
                 f"Typ: {self.rng.choice(['information', 'diskussion', 'beslut'])}"]
        if self.rng.random() < 0.15:
            lines.append("Skriftligt förfarande: ja")
        raw = make_mail(sender, f"Ärende {n} från simuleringen", "\n".join(lines) + "\n\nBakgrund i korthet.",
                        date=now)
        self.send(raw, sender, "proposal")

    def answer(self, now: datetime, received: dict[str, list[EmailMessage]]) -> None:
        """The chair approves each draft agenda with "OK"; members comment on circulations."""
        for msg in received.get(CHAIR, []):
            if "Utkast till dagordning" in str(msg["Subject"]) and msg["Message-ID"] not in self.answered:
                self.answered.add(msg["Message-ID"])
                raw = make_mail(CHAIR, f"SV: {msg['Subject']}", "OK\n\n/Karin", reply_to=msg, date=now)
                self.send(raw, CHAIR, "approval")
        for member, messages in received.items():
            for msg in messages:
                key = f"{member} {msg['Message-ID']}"
                subject = str(msg["Subject"])
                if "] Skriftligt förfarande: " not in subject or key in self.answered:
                    continue
                self.answered.add(key)
                if self.rng.random() < 0.6:
                    raw = make_mail(member, f"SV: {subject}", "Jag stöder förslaget, med en kommentar om tidplanen.",
                                    reply_to=msg, date=now)
                    self.send(raw, member, "comment")
        self.minutes.answer(now, received)

    # --- faults -------------------------------------------------------------------

    def fault(self, now: datetime) -> None:
        """Perhaps break something for a tick or three, then mend it."""
        r = self.rng.random()
        if r < 0.04 and self.disk.mounted:
            self.episode(now, "disk")
        elif r < 0.08 and self.servers is not None:
            self.episode(now, "dovecot")
        elif r < 0.12 and self.servers is not None:
            self.episode(now, "postfix")

    def episode(self, now: datetime, what: str) -> None:
        self.log(f"{now:%Y-%m-%d %H:%M} fault: {what}")
        self.fault_on = True
        if what == "disk":
            self.disk.fill()
            self.f.disk_full_episodes += 1
        elif what == "dovecot":
            self.servers.stop_dovecot()
            self.world.dovecot_up = False
            self.f.dovecot_restarts += 1
        else:
            self.servers.stop_postfix()
            self.world.postfix_up = False
            self.f.postfix_restarts += 1
        try:
            for i in range(self.rng.randint(1, 3)):
                moment = now + timedelta(minutes=i)
                code, err = self.tick(moment, self.kill_choice(1e9) if self.rng.random() < 0.3 else None)
                if what == "disk" and code != -signal.SIGKILL:
                    self.f.disk_full_ticks += code != 0
        finally:
            if what == "disk":
                self.disk.free()
            elif what == "dovecot":
                self.servers.start_dovecot()
                self.world.dovecot_up = True
            else:
                self.servers.start_postfix()
                self.world.postfix_up = True
            self.fault_on = False

    # --- the month -------------------------------------------------------------------

    def moments(self) -> list[datetime]:
        """The simulated instants at which the daemon runs: daytime, every 20–120 minutes."""
        out, t = [], self.start
        while t < self.end:
            out.append(t)
            t += timedelta(minutes=self.rng.randint(20, 120))
            local = t.astimezone(TZ)
            if local.hour >= 18:
                t = (local + timedelta(days=1)).replace(hour=7, minute=self.rng.randint(0, 59))
        return out

    def run(self) -> Figures:
        """The whole run: the month, overtime until enough kills, the drain, the checks."""
        t0 = time.monotonic()
        try:
            self.inst = self._instance()
            moments = self.moments()
            for i, now in enumerate(moments):
                self.retry_pending()
                if now.astimezone(TZ).weekday() < 5:
                    for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
                        self.propose(now)
                self.fault(now)
                code, _ = self.tick(now, self.kill_choice(len(moments) - i))
                while code == -signal.SIGKILL:  # systemd restarts it; give it the same moment again
                    code, _ = self.tick(now, self.kill_choice(len(moments) - i))
                self.world.settle()
                self.answer(now, self.world.received())
                if i % 20 == 0:
                    self.log(f"{now:%Y-%m-%d %H:%M} ticks {self.f.ticks} kills {self.f.kills} "
                             f"proposals {self.f.proposals}")
            now = self.end
            while self.f.kills < self.kills_wanted:  # overtime: the month's kills fell short
                self.propose(now)
                self.tick(now, self.kill_choice(1))
                now += timedelta(minutes=10)
            self.drain()
            self.verify()
        finally:
            self.f.wall_seconds = time.monotonic() - t0
            self.disk.unmount()
        return self.f

    def drain(self) -> None:
        """After the month: no more faults; run until nothing is waiting (backoff is at most an hour)."""
        self.retry_pending()
        now = self.end
        for _ in range(12):
            code, err = self.tick(now)
            if code != 0:
                self.f.problems.append(f"the final run at {now:%Y-%m-%d %H:%M} failed: {err[-600:]}")
            self.world.settle()
            if self.world.inbox_left() == 0 and not self._queued():
                return
            now += timedelta(hours=1)

    def _queued(self) -> int:
        store = self.inst.store()
        try:
            return store.count("SELECT COUNT(*) FROM outbox WHERE state = 'queued'")
        finally:
            store.close()

    # --- what a user would see ----------------------------------------------------

    def verify(self) -> None:
        """Check what users would see and the store; record each breach in ``problems``."""
        f = self.f
        db = sqlite3.connect(self.inst.config.data_dir / "klg.sqlite")
        db.row_factory = sqlite3.Row
        try:
            f.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            if f.integrity != "ok":
                f.problems.append(f"store integrity: {f.integrity}")
            self._verify_items(db)
            self._verify_mail(db)
            self.f.minutes = self.minutes.verify(db, self.intranet)
            f.comments_recorded = db.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
            recorded = {r[0] for r in db.execute("SELECT message_id FROM comments")}
            missing = {m.strip("<>") for m in self.comments} - {m.strip("<>") for m in recorded}
            if f.comments_recorded != len(recorded):
                f.problems.append(f"{f.comments_recorded - len(recorded)} comments recorded twice")
            if missing:
                # a comment after the deadline is answered, not recorded: only those may be missing
                late = {r[0].strip("<>") for r in db.execute(
                    "SELECT message_id FROM messages_in WHERE classification != 'comment'")}
                if missing - late:
                    f.problems.append(f"{len(missing - late)} comments mailed were neither recorded nor answered")
            f.quarantined = db.execute("SELECT COUNT(*) FROM messages_in WHERE disposition = 'quarantine'").fetchone()[0]
            if f.quarantined:
                why = [f"{r[0]!r}: {r[1]}" for r in db.execute(
                    "SELECT subject, detail FROM messages_in WHERE disposition = 'quarantine' LIMIT 5")]
                f.problems.append(f"{f.quarantined} messages quarantined (members' mail should all be understood): "
                                  + "; ".join(why))
        finally:
            db.close()
        f.inbox_left = self.world.inbox_left()
        if f.inbox_left:
            f.problems.append(f"{f.inbox_left} messages left unprocessed in the shared inbox")
        if f.kills < self.kills_wanted:
            f.problems.append(f"only {f.kills} kills of the {self.kills_wanted} wanted")

    def _verify_items(self, db) -> None:
        f = self.f
        rows = db.execute("SELECT message_id, item_id FROM messages_in WHERE item_id IS NOT NULL "
                          "AND classification = 'proposal'").fetchall()
        by_message = Counter(r["message_id"].strip("<>") for r in rows)
        f.items = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        titles = Counter(r[0] for r in db.execute("SELECT title FROM items"))
        f.items_duplicated = sum(n - 1 for n in titles.values() if n > 1)
        wanted = {m.strip("<>"): t for m, t in self.proposals.items()}
        f.proposals_lost = sum(1 for m in wanted if by_message[m] == 0)
        if f.items_duplicated or f.proposals_lost or any(n > 1 for n in by_message.values()):
            f.problems.append(f"items: {f.items_duplicated} duplicated, {f.proposals_lost} proposals without an item")
        if f.items != len(wanted) or sorted(titles) != sorted(wanted.values()):
            f.problems.append(f"{f.items} items for {len(wanted)} proposals")

    def _verify_mail(self, db) -> None:
        """Every outbox mail marked sent arrived once per recipient; each item's
        acknowledgement and each meeting's final agenda are among them."""
        f = self.f
        received = self.world.received()
        got: Counter = Counter()
        for member, messages in received.items():
            for msg in messages:
                got[(member, str(msg["Message-ID"]).strip("<>"))] += 1
        expected: set[tuple[str, str]] = set()
        for row in db.execute("SELECT message_id, recipients, state, failed_recipients FROM outbox"):
            if row["state"] != "sent":
                f.outbox_not_sent += 1
                f.problems.append(f"outbox mail {row['message_id']} is {row['state']}")
                continue
            failed = set(json.loads(row["failed_recipients"] or "[]"))
            for rcpt in json.loads(row["recipients"]):
                if (rcpt in MEMBERS or rcpt in AUDIENCE_ADDRESSES) and rcpt not in failed:
                    expected.add((rcpt, row["message_id"]))
        f.mails_expected = len(expected)
        f.mails_delivered = sum(1 for k in expected if got[k] >= 1)
        f.mails_duplicated = sum(got[k] - 1 for k in expected if got[k] > 1)
        f.mails_lost = sum(1 for k in expected if got[k] == 0)
        f.mails_unexpected = sum(n for k, n in got.items() if k not in expected)
        if f.mails_lost or f.mails_unexpected:
            f.problems.append(f"mail: {f.mails_lost} lost, {f.mails_unexpected} unexpected")
        row = db.execute("SELECT COALESCE(SUM(interrupted), 0), COALESCE(SUM(resent_unsure), 0) FROM outbox").fetchone()
        f.interrupted_attempts, f.resent_unsure = row[0], row[1]
        f.interrupted_checked = f.interrupted_attempts - f.resent_unsure
        subs = self.world.submissions()
        if subs is None:
            if f.mails_duplicated:
                f.problems.append(f"mail: {f.mails_duplicated} duplicates")
        else:
            sent_ids = {mid for _, mid in expected}
            f.submitted_twice = sum(subs[m] - 1 for m in sent_ids if subs[m] > 1)
            twice = {m for m in sent_ids if subs[m] > 1}
            f.server_duplicates = sum(got[k] - 1 for k in expected if got[k] > 1 and k[1] not in twice)
            never = [m for m in sent_ids if subs[m] == 0]
            if never:
                f.problems.append(f"{len(never)} mails marked sent were never accepted by Postfix")
            # a second submission is allowed only where the outbox said it could not know (an unsure resend)
            if f.submitted_twice > f.resent_unsure:
                f.problems.append(f"klg submitted {f.submitted_twice} mails twice, more than its "
                                  f"{f.resent_unsure} unsure resends")
        acks = Counter(r[0] for r in db.execute("SELECT item_id FROM outbox WHERE kind = 'ack'"))
        items = [r[0] for r in db.execute("SELECT id FROM items")]
        if [i for i in items if acks[i] != 1]:
            f.problems.append(f"items without exactly one acknowledgement: {[i for i in items if acks[i] != 1][:5]}")
        finals = db.execute("SELECT meeting, ref, COUNT(*) FROM outbox WHERE kind = 'agenda-final' "
                            "GROUP BY meeting, ref").fetchall()
        if any(r[2] != 1 for r in finals):
            f.problems.append(f"final agendas: {[tuple(r) for r in finals]}")
