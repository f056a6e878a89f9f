"""``klg demo``: a whole week on the embedded default, in a new folder, with a
fast given clock. The members' mails are dropped into the Maildir inbox and the
real engine makes one pass at each moment of the script, so what the demo
shows is what the daemon does. It narrates each event in one line and leaves
the mailboxes, the database and the documents behind to look at.

The script is data (``script``); the driver (``Week``) turns each beat into a
mail, runs the engine at the beat's time and tells what came of it.
"""

from __future__ import annotations

import email
import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

from daemon import config as configlib
from daemon import pdf
from daemon.backends import open_mailbox, open_transport
from daemon.checks import load_config
from daemon.engine import Engine
from daemon.simulate import DOCX, Agenda, fill_form, member_mail, small_docx
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
}

# What came of a member's mail, by intake's classification.
OUTCOME_WORDS = {
    "stranger": "not a member: kept in quarantine, no answer",
    "auto-reply": "an automatic reply: recorded and ignored",
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
    mail: Callable[["Week", str], bytes] | None = None


def propose(subject: str, body: str, document: tuple[str, str] | None = None):
    """A new mail to the shared mailbox; ``document`` (file name, text) is attached as Word."""
    def make(week: "Week", who: str) -> bytes:
        files = [(document[0], small_docx(document[1]), DOCX)] if document else []
        return week.mail_from(who, subject, body, attachments=files)
    return make


def reply(kind: str, body: str, *, edit: Callable[[bytes, str], bytes] | None = None,
          headers: dict[str, str] | None = None, prefix: str | None = None):
    """A reply to the newest mail of ``kind`` klg sent to the member; ``edit`` changes
    its .docx (bytes, language) and the result goes back attached."""
    def make(week: "Week", who: str) -> bytes:
        original = week.newest(kind, who)
        files = []
        if edit is not None:
            name, data = week.docx_in(original)
            files.append((name, edit(data, week.language), DOCX))
        start = prefix or ("SV: " if week.language == "sv" else "Re: ")
        return week.mail_from(who, start + " ".join(str(original["Subject"]).split()), body, reply_to=original,
                              attachments=files, headers=headers)
    return make


TITLES = {
    "sv": {"budget": "Budgetuppföljning oktober", "recruit": "Rekrytering socialsekreterare",
           "transport": "Skolskjutsar, ny upphandling", "premises": "Lokalförsörjningsplan",
           "media": "Mediestrategi", "rules": "Riktlinjer för representation",
           "premises_next": "Ta fram ett förslag till KSAU"},
    "en": {"budget": "Budget follow-up October", "recruit": "Recruiting social workers",
           "transport": "School transport, new procurement", "premises": "Premises plan",
           "media": "Media strategy", "rules": "Guidelines for hospitality",
           "premises_next": "Draft a proposal for the council"},
}
FORM_COLUMNS = {
    "sv": ("Utfall", "Anteckningar / beslut", "Kommuniceras", "Ansvarig", "Nästa steg"),
    "en": ("Outcome", "Notes / decision", "Communicate", "Responsible", "Next step"),
}
NOTES = {
    "sv": [("Information från verksamheterna", "Information", "Rapporter från förvaltningarna."),
           ("Budgetuppföljning oktober", "Beslut", "KLG godkänner uppföljningen."),
           ("Rekrytering socialsekreterare", "Diskussion", "Svårt att rekrytera; annonsering i januari."),
           ("Skolskjutsar, ny upphandling", "Information", "Upphandlingen startar i januari."),
           ("Lokalförsörjningsplan", "Diskussion", "Behovet av skollokaler växer."),
           ("Mediaspaning", "Information", "Lokaltidningen skriver om vinterväghållningen.")],
    "en": [("Information från verksamheterna", "Information", "Reports from the departments."),  # standing items
           #   keep the config's (Swedish) titles in either language
           ("Budget follow-up October", "Decision", "The group approves the follow-up."),
           ("Recruiting social workers", "Discussion", "Hard to recruit; advertising in January."),
           ("School transport, new procurement", "Information", "The procurement starts in January."),
           ("Premises plan", "Discussion", "The need for school premises grows."),
           ("Mediaspaning", "Information", "The local paper writes about winter road maintenance.")],
}


def edit_agenda(data: bytes, language: str) -> bytes:
    """The chair's edits in Word: the premises plan first, school transport down to 15 minutes."""
    agenda = Agenda(data)
    agenda.move_before(TITLES[language]["premises"], TITLES[language]["budget"])
    agenda.set(TITLES[language]["transport"], 5, "15")
    return agenda.bytes()


def fill_minutes(data: bytes, language: str) -> bytes:
    """The secretary's notes in the form's table, and a co-signatory."""
    t, c = TITLES[language], FORM_COLUMNS[language]
    rows = {title: {c[0]: outcome, c[1]: notes, c[2]: "Ja" if language == "sv" else "Yes"}
            for title, outcome, notes in NOTES[language]}
    rows[t["premises"]].update({c[3]: "Ahmed Karimi", c[4]: t["premises_next"]})
    return fill_form(data, rows, signatory="Erik Sandberg", lang=language)


def script(language: str) -> list[Beat]:
    """The week before and after the meeting on Tuesday 1 December 2026."""
    sv = language == "sv"
    t = TITLES[language]

    def say(swedish: str, english: str) -> str:
        return swedish if sv else english

    return [
        Beat("2026-11-25 09:00", "Sofia Lund", f'mails a proposal for written procedure "{t["rules"]}" with a Word file',
             propose(t["rules"], say("Skriftligt förfarande: ja\nTyp: beslut\n\nFörslag till nya riktlinjer.",
                                     "Written procedure: yes\nKind: decision\n\nProposed new guidelines."),
                     (say("Riktlinjer.docx", "Guidelines.docx"), say("Riktlinjer för representation, utkast.",
                                                                     "Guidelines for hospitality, draft.")))),
        Beat("2026-11-26 09:10", "Maria Holm", f'mails a proposal "{t["budget"]}" with a Word file',
             propose(t["budget"], say("Tid: 15 min\nTyp: beslut\n\nUppföljning av oktober.",
                                      "Time: 15 min\nKind: decision\n\nThe October follow-up."),
                     (say("Budget oktober.docx", "Budget October.docx"), say("Budgetuppföljning oktober.",
                                                                              "Budget follow-up October.")))),
        Beat("2026-11-26 09:30", "Erik Sandberg", f'mails a proposal "{t["recruit"]}"',
             propose(t["recruit"], say("Tid: 30", "Time: 30"))),
        Beat("2026-11-26 10:00", "Erik Sandberg", "answers the written procedure",
             reply("circulation", say("Tillstyrker.", "Support."))),
        Beat("2026-11-26 10:15", "Johan Ek", "is away: his mail client answers the written procedure",
             reply("circulation", say("Jag är tjänstledig till och med 4 december.", "I am on leave until 4 December."),
                   headers={"Auto-Submitted": "auto-replied"},
                   prefix=say("Automatiskt svar: ", "Automatic reply: "))),
        Beat("2026-11-26 11:00", None, f"{STRANGER[0]} <{STRANGER[1]}> mails the shared mailbox an offer",
             lambda week, who: week.mail_from(None, say("Erbjudande: konferenspaket 2027", "Offer: conferences 2027"),
                                             say("Boka före jul!", "Book before Christmas!"))),
        Beat("2026-11-26 14:00", "Lena Åkesson", f'mails a proposal "{t["transport"]}" with a Word file',
             propose(t["transport"], say("Tid: 20\nTyp: information", "Time: 20\nKind: information"),
                     (say("Skolskjuts.docx", "School transport.docx"), say("Utredning om skolskjutsar.",
                                                                           "Report on school transport.")))),
        Beat("2026-11-26 16:00", None, "end of the day"),
        Beat("2026-11-27 09:00", "Ahmed Karimi", f'mails a proposal "{t["premises"]}"',
             propose(t["premises"], say("Tid: 20\nTyp: diskussion", "Time: 20\nKind: discussion"))),
        Beat("2026-11-27 10:00", "Karin Berg", "answers the written procedure",
             reply("circulation", say("Inga synpunkter.", "No comments."))),
        Beat("2026-11-27 10:30", "Lena Åkesson", "answers the written procedure",
             reply("circulation", say("Avstyrker. Beloppsgränserna är för höga.",
                                      "Object. The amounts are too high."))),
        Beat("2026-11-30 10:02", "Peter Nyström", f'mails a proposal "{t["media"]}", two minutes after the deadline',
             propose(t["media"], say("Tid: 10", "Time: 10"))),
        Beat("2026-11-30 10:05", None, "the draft agenda is due"),
        Beat("2026-11-30 11:00", "Karin Berg",
             f'moves "{t["premises"]}" up and shortens "{t["transport"]}" to 15 minutes in Word, '
             "and replies with the file",
             reply("agenda-draft", say("Här är mina ändringar.\n\n/Karin", "Here are my changes.\n\nKarin"),
                   edit=edit_agenda)),
        Beat("2026-11-30 11:30", "Johan Ek", 'replies "OK" to version 2', reply("agenda-version", "OK")),
        Beat("2026-11-30 14:00", None, "the final agenda is due"),
        Beat("2026-12-01 09:30", None, "the meeting starts (until 12:00)"),
        Beat("2026-12-01 12:00", None, "the meeting ends"),
        Beat("2026-12-01 15:00", SECRETARY, "fills in the form in Word and replies with it",
             reply("minutes-form", say("Här är anteckningarna.", "Here are the minutes."), edit=fill_minutes)),
        Beat("2026-12-01 16:00", None, "the day before the comment deadline"),
        Beat("2026-12-02 08:30", "Karin Berg", "approves the minutes",
             reply("minutes-sign", say("Justerat", "Approved"))),
        Beat("2026-12-02 08:45", "Erik Sandberg", "approves the minutes",
             reply("minutes-sign", say("Justerat, tack!", "Approved, thanks!"))),
        Beat("2026-12-02 10:00", "Maria Holm", "answers the reminder",
             reply("circulation-reminder", say("Tillstyrker.", "Support."))),
        Beat("2026-12-02 16:00", None, "the comment deadline"),
    ]


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


def make_instance(folder: Path, language: str) -> None:
    """The instance ``klg init`` writes, in ``language``, with addresses for the
    council and the union group so the signed minutes reach them too."""
    from daemon.cli import write_instance

    path = folder / "klg.toml"
    write_instance(folder, path)
    text = path.read_text(encoding="utf-8").replace('language = "sv"', f'language = "{language}"', 1)
    for audience, (address, _) in AUDIENCES.items():
        text = re.sub(rf'(name = "{audience}".*?\naddresses = )\[\]', rf'\1["{address}"]', text, count=1,
                      flags=re.DOTALL)
    path.write_text(text, encoding="utf-8")


def cmd_demo(args) -> int:
    """``klg demo [--folder DIR] [--language sv|en]``."""
    from daemon.cli import UsageError

    folder: Path = args.folder or Path(tempfile.mkdtemp(prefix="klg-demo-"))
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"--folder {folder} is not empty; name a new or empty folder")
    # the narration tells what happens; the engine's own log would repeat it in other words
    logging.getLogger("klg").setLevel(logging.CRITICAL)
    make_instance(folder, args.language)
    print(f"A week of the management group of Sjöviks kommun, played by klg in {folder}")
    print("Its members mail the shared mailbox klg@example.org; the meeting is on Tuesday 1 December 2026 "
          "(the clock runs fast).\n")
    try:
        pdf.soffice()
        has_pdf = True
    except pdf.ConversionError:
        has_pdf = False
        print("LibreOffice is not installed: the PDFs are skipped (the agenda goes out as Word only, and the "
              "signed minutes, which are PDF/A, cannot be made).\n")
    week = Week(folder, args.language)
    try:
        week.play(script(args.language))
        where(folder, has_pdf)
    except BrokenPipeError:  # `klg demo | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        week.close()
    return 0


def where(folder: Path, has_pdf: bool) -> None:
    """The closing words: where to look."""
    mailboxes, data = folder / "mailboxes", folder / "data"
    print(f"\nDone. Everything is in {folder}:")
    print(f"  {mailboxes / 'sent' / 'new'}/  every mail klg sent (open the .eml files in a mail client)")
    print(f"  {mailboxes / 'processed' / 'cur'}/  the members' mails, handled")
    print(f"  {mailboxes / 'quarantine' / 'cur'}/  the stranger's mail, kept and not answered")
    for folder_, words in ((data / "agendas" / "2026-12-01", "the final agenda as sent"),
                           (data / "intranet", "the signed minutes as published")):
        if folder_.is_dir():
            print(f"  {folder_}/  {words}: {', '.join(sorted(p.name for p in folder_.iterdir()))}")
    if not has_pdf:
        print("  No PDFs and no signed minutes: install LibreOffice (Debian: apt-get install "
              "libreoffice-writer-nogui) and run the demo again.")
    print(f"  klg --config {folder / 'klg.toml'} status --now 2026-12-02T17:00   the state of it all")
    sys.stdout.flush()
