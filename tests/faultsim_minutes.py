"""The minutes in the fault simulation: the secretary, the signatories and the
audiences, played under the same faults as the rest of the week.

At each meeting's end klg mails the form to the secretary of the day; here she
returns it filled in (python-docx, as Word would), naming a second signatory.
For version 1 that signatory asks for a change, so the form comes back to the
secretary, who edits it; version 2 is approved by both, and the signed minutes
go to every audience: the members, the council (KSAU), the union (Cesam) and the
intranet folder. Afterwards each meeting whose form went out must be distributed,
with exactly one signed-minutes mail per audience address (and per member) and
one file in the intranet folder.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from docx import Document

from daemon.mail.outgoing import DOCX
from daemon.simulate import fill_form
from tests.helpers import CHAIR, MEMBERS, NAMES, make_mail

COUNCIL = "ksau@example.org"
UNION = "cesam@example.org"
AUDIENCE_ADDRESSES = [COUNCIL, UNION]
SIGNED_SUBJECT = "Justerade minnesanteckningar"


def minutes_config(intranet: Path) -> str:
    """The [minutes] section with every audience (no seal: sealing has its own tests)."""
    return f'''
[minutes]

[[minutes.audiences]]
name = "members"

[[minutes.audiences]]
name = "council"
addresses = ["{COUNCIL}"]

[[minutes.audiences]]
name = "union"
addresses = ["{UNION}"]

[[minutes.audiences]]
name = "intranet"
folder = "{intranet}"
'''


def configure(inst, intranet: Path) -> None:
    """Replace the instance's [minutes] section (up to [mailbox]) with :func:`minutes_config`."""
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    inst.config_path.write_text(head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + minutes_config(intranet),
                                encoding="utf-8")


def _docx(msg: EmailMessage) -> bytes:
    for part in msg.iter_attachments():
        if (part.get_filename() or "").endswith(".docx"):
            return part.get_payload(decode=True)
    raise KeyError(f"no .docx attached to {msg['Subject']!r}")


def _numbers(data: bytes) -> list[str]:
    """The item numbers (KLG-…) in the form's items table, in order."""
    for table in Document(io.BytesIO(data)).tables:
        head = [c.text.strip() for c in table.rows[0].cells]
        if head[:1] == ["Nr"] and "Utfall" in head:
            return [n for n in (row.cells[0].text.strip() for row in table.rows[1:]) if n]
    return []


def _subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


class MinutesPlayers:
    """The people of the minutes, for one Simulation ``sim`` (its rng, world, send and figures)."""

    def __init__(self, sim):
        self.sim = sim
        self.forms = 0          # forms the secretary returned
        self.changes = 0        # change requests made
        self.edits = 0          # edited forms returned
        self.approvals = 0      # "Justerat" answers
        self.signatory: dict[str, str] = {}  # meeting tag -> the second signatory's address

    def answer(self, now: datetime, received: dict[str, list[EmailMessage]]) -> None:
        """Answer each minutes mail once: the form, a change request, a version to sign."""
        sim = self.sim
        for member, messages in received.items():
            if member not in MEMBERS:
                continue
            for head in messages:
                key = f"minutes {member} {head['Message-ID']}"
                subject = _subject(head)
                if key in sim.answered or "Minnesanteckningar" not in subject and "minnesanteckningar" not in subject \
                        and "Formulär" not in subject and "Formuläret" not in subject:
                    continue
                if not subject.startswith("[KLG "):
                    # klg's own answer about a mail (an explanation quoting its subject) is no form
                    # to return; if klg could not handle a reply, the quarantine check reports it
                    continue
                tag = subject.partition("]")[0] + "]"
                if "Formulär för minnesanteckningar" in subject:
                    sim.answered.add(key)
                    self._return_form(now, member, sim.world.full(member, head), tag)
                elif "Formuläret behöver rättas" in subject:
                    sim.answered.add(key)
                    sim.f.problems.append(f"the secretary's form was refused: {subject}")
                elif "Ändring begärd i minnesanteckningarna" in subject:
                    sim.answered.add(key)
                    self._edit_form(now, member, sim.world.full(member, head))
                elif "Justering av minnesanteckningar, version" in subject:
                    sim.answered.add(key)
                    self._sign(now, member, head, tag, subject)

    def _return_form(self, now: datetime, secretary: str, form: EmailMessage, tag: str) -> None:
        rows = {number: {"Utfall": "Information", "Anteckningar / beslut": f"Noterat om {number}.",
                         "Kommuniceras": self.sim.rng.choice(["Ja", "Ja", "Nej"])} for number in _numbers(_docx(form))}
        others = [m for m in MEMBERS if m not in (CHAIR, secretary)]
        second = self.sim.rng.choice(others)
        self.signatory[tag] = second
        filled = fill_form(_docx(form), rows, signatory=NAMES[second])
        raw = make_mail(secretary, "Re: " + _subject(form), "Här är anteckningarna.", reply_to=form, date=now,
                        attachments=[("Minnesanteckningar KLG.docx", filled, DOCX)])
        self.forms += 1
        self.sim.send(raw, secretary, "minutes")

    def _edit_form(self, now: datetime, secretary: str, change: EmailMessage) -> None:
        data = _docx(change)
        first = _numbers(data)[:1]
        edited = fill_form(data, {n: {"Anteckningar / beslut": f"Noterat om {n}. Tidplanen läggs till."} for n in first})
        raw = make_mail(secretary, "Re: " + _subject(change), "Ändrat.", reply_to=change, date=now,
                        attachments=[("Minnesanteckningar KLG.docx", edited, DOCX)])
        self.edits += 1
        self.sim.send(raw, secretary, "minutes")

    def _sign(self, now: datetime, member: str, head: EmailMessage, tag: str, subject: str) -> None:
        version = re.search(r"version (\d+)", subject)
        if version and version.group(1) == "1" and member != CHAIR:
            raw = make_mail(member, "Re: " + subject, "Lägg till en rad om tidplanen.", reply_to=head, date=now)
            self.changes += 1
        else:
            raw = make_mail(member, "Re: " + subject, "Justerat", reply_to=head, date=now)
            self.approvals += 1
        self.sim.send(raw, member, "minutes")

    # --- afterwards ------------------------------------------------------------------

    def verify(self, db, intranet: Path) -> dict:
        """Each meeting whose form went out is distributed, once to each audience."""
        f = self.sim.f
        forms = [r[0] for r in db.execute("SELECT DISTINCT meeting FROM outbox WHERE kind = 'minutes-form'")]
        signed = db.execute("SELECT meeting, ref, recipients, state FROM outbox WHERE kind = 'minutes-signed'").fetchall()
        by_ref = Counter(r["ref"] for r in signed)
        if any(n != 1 for n in by_ref.values()):
            f.problems.append(f"signed minutes queued more than once: {[k for k, n in by_ref.items() if n != 1]}")
        received = self.sim.world.received()
        got: Counter = Counter()
        for rcpt, messages in received.items():
            for msg in messages:
                if SIGNED_SUBJECT in _subject(msg):
                    got[(rcpt, _subject(msg).partition("]")[0].partition(" ")[2])] += 1
        audiences = {"members": MEMBERS, "council": [COUNCIL], "union": [UNION]}
        lost = duplicated = delivered = 0
        for meeting in forms:
            for name, addresses in audiences.items():
                if f"minutes-signed:{meeting}:{name}" not in by_ref:
                    f.problems.append(f"minutes {meeting}: never sent to {name}")
                for address in addresses:
                    n = got[(address, meeting)]
                    lost += n == 0
                    duplicated += max(0, n - 1)
                    delivered += n == 1
            files = sorted(p.name for p in intranet.glob(f"*{meeting}*")) if intranet.exists() else []
            if files != [f"Minnesanteckningar KLG {meeting}.pdf"]:
                f.problems.append(f"minutes {meeting}: intranet folder holds {files}")
                lost += not files
        if lost or duplicated:
            f.problems.append(f"signed minutes: {lost} lost, {duplicated} duplicated (per audience address)")
        states = dict(db.execute("SELECT meeting, state FROM minutes").fetchall()) if _has(db, "minutes") else {}
        undone = [m for m in forms if states.get(m) != "distributed"]
        if undone:
            f.problems.append(f"minutes not distributed: {[(m, states.get(m)) for m in undone]}")
        return {"meetings": len(forms), "forms returned": self.forms, "change requests": self.changes,
                "edited forms": self.edits, "approvals": self.approvals,
                "signed mails delivered once": delivered, "lost": lost, "duplicated": duplicated}


def _has(db, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None
