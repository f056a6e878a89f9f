"""Playing the demo's week: an instance in a folder, the real engine, and the
narration. ``Week.play`` turns each beat of the script into a mail dropped into
the Maildir inbox, makes one engine pass at the beat's time, and tells in one
line each what came of it, read back from the store (``messages_in``,
``outbox``, ``events``): what the demo shows is what the daemon did.
"""

from __future__ import annotations

import email
import json
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

from daemon import config as configlib
from daemon.engine import Engine
from daemon.backends import open_mailbox, open_transport
from daemon.checks import load_config
from daemon.simulate import member_mail
from daemon.store import Store

STRANGER = ("Nyhetsbrev Konferens AB", "info@konferens.example.com")
SECRETARY = "(the secretary of the day)"  # a beat's ``who`` when klg's rotation chose the person
# The signed minutes also go to these (make_instance fills them in).
AUDIENCES = {"council": ("ksau@example.org", "the council"), "union": ("cesam@example.org", "the union group")}

# What each kind of outgoing mail is, in plain words.
KIND_WORDS = {
    "ack": "the acknowledgement",
    "circulation": "the item for written comments",
    "circulation-started": "word that the written procedure has started",
    "circulation-receipt": "a receipt for the comment",
    "circulation-reminder": "a reminder to answer the written procedure",
    "circulation-compiled": "the compilation of all comments (Word)",
    "agenda-draft": "the draft agenda (Word) and the items' documents",
    "agenda-version": "the next version of the agenda (Word)",
    "agenda-approved": "word that the agenda is approved",
    "agenda-final": "the final agenda",
    "agenda-reminder": "a reminder to approve the agenda",
    "agenda-notice": "a notice about the agenda",
    "digest": "the day's list of quarantined mail",
    "explain": "a plain explanation",
    "minutes-form": "the minutes form (Word, pre-filled from the final agenda)",
    "minutes-received": "a receipt for the filled form",
    "minutes-sign": "the minutes to approve (Word and PDF)",
    "minutes-sign-answer": "a receipt for the approval",
    "minutes-signed": "the signed minutes (PDF/A)",
    "minutes-report": "a report of where the signed minutes went",
    "minutes-followup": "their follow-up tasks from the minutes",
    "step-failed": "word that a step failed",
    "attendance": "a confirmation of the regrets",
    "attendance-notice": "word of the regrets",
}

# What came of a member's mail, by intake's classification.
OUTCOME_WORDS = {
    "stranger": "not a member: kept in quarantine, no answer",
    "auto-reply": "an automatic reply: recorded and ignored (a return date only marks the member probably absent)",
    "attendance": "regrets recorded",
    "comment": "registered as a comment",
    "agenda-review": "the edited table is read back",
    "agenda-approval": "the agenda is approved",
    "minutes-form": "the filled table is read back",
    "minutes-approval": "approval registered",
}


@dataclass
class Beat:
    """One moment of the week: ``who`` (a member's name; None for the clock alone)
    does ``what`` (words for the narration) by sending the mail ``mail`` makes."""

    when: str
    who: str | None
    what: str
    mail: Callable[[Week, str], bytes] | None = None


@dataclass
class Week:
    """The driver: an instance in ``folder``, the engine, and what has been told so far."""

    folder: Path
    language: str
    seen_in: int = 0  # the last messages_in and outbox rows told about
    seen_out: int = 0
    dropped: int = 0
    now: datetime = field(init=False)
    config: configlib.Config = field(init=False)

    def __post_init__(self) -> None:
        self.config = load_config(self.folder / "klg.toml")
        self.store = Store(self.config.data_dir)
        self.engine = Engine(self.config, self.store, open_mailbox(self.config), open_transport(self.config))
        self.names = {m.email: m.name for m in self.config.members}
        self.names.update({address: f"{label} ({address})" for address, label in AUDIENCES.values()})

    def close(self) -> None:
        self.engine.mailbox.close()
        self.engine.transport.close()
        self.store.close()

    # --- what members send ----------------------------------------------------------

    def member(self, name: str):
        return next(m for m in self.config.members if m.name == name)

    def mail_from(self, who: str | None, subject: str, body: str, **kwargs) -> bytes:
        sender, name = (self.member(who).email, who) if who else (STRANGER[1], STRANGER[0])
        return member_mail(sender, name, self.config.group.address, subject, body, date=self.now, **kwargs)

    def newest(self, kind: str, who: str) -> EmailMessage:
        """The newest mail of ``kind`` klg sent to ``who``."""
        row = self.store.one("SELECT raw_sha256 FROM outbox WHERE kind = ? AND recipients LIKE ? ORDER BY id DESC",
                             [kind, f'%"{self.member(who).email}"%'])
        return email.message_from_bytes(self.store.files.get(row["raw_sha256"]), policy=policy.default)

    @staticmethod
    def docx_in(msg: EmailMessage) -> tuple[str, bytes]:
        part = next(p for p in msg.iter_attachments() if (p.get_filename() or "").endswith(".docx"))
        return part.get_filename(), part.get_payload(decode=True)

    # --- the driver -----------------------------------------------------------------------

    def play(self, beats: list[Beat]) -> None:
        """Each beat: drop its mail into the inbox, make one engine pass at its time, tell what came of it."""
        for beat in beats:
            self.now = datetime.fromisoformat(beat.when).replace(tzinfo=self.config.group.timezone)
            who = beat.who
            if who == SECRETARY:
                who = self.names[json.loads(self._newest_row("minutes-form")["recipients"])[0]]
            message_id = None
            if beat.mail is not None:
                raw = beat.mail(self, who)
                message_id = email.message_from_bytes(raw)["Message-ID"].strip("<>")
                self._drop(raw)
            self.engine.tick(self.now)
            self.tell(beat, who, message_id)

    def _newest_row(self, kind: str) -> dict:
        return self.store.one("SELECT * FROM outbox WHERE kind = ? ORDER BY id DESC", [kind])

    def _drop(self, raw: bytes) -> None:
        """Deliver into inbox/ as a mail server does: write in tmp/, then rename into new/."""
        inbox = Path(self.config.mailbox.settings["root"]) / "inbox"
        self.dropped += 1
        name = f"demo-{self.dropped:03d}.eml"
        (inbox / "tmp" / name).write_bytes(raw)
        (inbox / "tmp" / name).rename(inbox / "new" / name)

    # --- the narration ---------------------------------------------------------------------

    def stamp(self) -> str:
        return f"{self.now:%a %d %b %H:%M}"

    def tell(self, beat: Beat, who: str | None, message_id: str | None) -> None:
        incoming = self.store.all("SELECT * FROM messages_in WHERE id > ? ORDER BY id", [self.seen_in])
        outgoing = self.store.all("SELECT * FROM outbox WHERE id > ? ORDER BY id", [self.seen_out])
        self.seen_in = max([self.seen_in, *(r["id"] for r in incoming)])
        self.seen_out = max([self.seen_out, *(r["id"] for r in outgoing)])
        mails = [(row, email.message_from_bytes(self.store.files.get(row["raw_sha256"]), policy=policy.default))
                 for row in outgoing]
        answers = [(row, msg) for row, msg in mails
                   if message_id and (msg["In-Reply-To"] or "").strip("<>") == message_id]
        if beat.mail is not None:
            mine = next((r for r in incoming if r["message_id"] == message_id), None)
            self.line(f"{who + ' ' if who else ''}{beat.what} → {self.outcome(mine, answers)}")
        elif not mails:
            self.line(beat.what)
        for group in self.groups([m for m in mails if m not in answers]):
            self.line(self.describe(group))

    def outcome(self, row: dict | None, answers: list) -> str:
        if row is None:
            return "still in the inbox"
        words = OUTCOME_WORDS.get(row["classification"], row["classification"].replace("-", " "))
        if row["classification"] == "proposal":
            item = self.store.item(row["item_id"])
            words = f"acknowledged as {item['id']}, planned for the meeting on {day(item['meeting'])}"
            if item["late"]:
                words += " (after the deadline)"
        if answers:
            words += "; klg answers with " + " and ".join(self.what(row_) for row_, _ in answers)
        return words

    @staticmethod
    def groups(mails: list) -> list[list]:
        """Mails of one kind made in one pass are one event (e.g. the item to seven members)."""
        out: dict[str, list] = {}
        for row, msg in mails:
            out.setdefault(row["kind"], []).append((row, msg))
        return list(out.values())

    def what(self, row: dict) -> str:
        return KIND_WORDS.get(row["kind"], row["kind"].replace("-", " "))

    def describe(self, group: list) -> str:
        addresses = sorted({a for row, _ in group for a in json.loads(row["recipients"])})
        members = {m.email for m in self.config.members}
        everyone = members <= set(addresses)
        others = [self.names.get(a, a) for a in addresses if not (everyone and a in members)]
        to = ", ".join(([f"all {len(members)} members"] if everyone else []) + others)
        each = f" ({len(group)} mails)" if len(group) > 1 else ""
        files = [p.get_filename() for p in group[0][1].iter_attachments()]
        attached = f" [{', '.join(files)}]" if files else ""
        row = group[0][0]
        then = ""
        if row["kind"] == "step-failed":
            failed = self.store.one("SELECT what FROM events WHERE what LIKE 'step failed:%' ORDER BY id DESC")
            then = f" ({failed['what'].removeprefix('step failed: ').split(', ')[0]})" if failed else ""
        if row["kind"] == "circulation-compiled":
            then = f"; {row['item_id']} goes on the agenda of {day(self.store.item(row['item_id'])['meeting'])} " \
                   "as a decision after written procedure"
        return f"klg mails {self.what(row)} to {to}{each}{attached}{then}"

    def line(self, text: str) -> None:
        print(f"{self.stamp()}  {text}", flush=True)


def day(iso_date: str) -> str:
    """'2026-12-08' as 'Tue 8 Dec'."""
    d = datetime.fromisoformat(iso_date)
    return f"{d:%a} {d.day} {d:%b}"

