"""The whole week on the graph backend: members' mail arrives in the shared mailbox on the local
Graph responder (a replay of the documented Microsoft Graph API, not Microsoft 365), each pass
reads it by delta query and $value and sends by sendMail, and what arrives for each member is read
back from the responder's delivery folders: proposals and the agenda week, the minutes from the
form to the council and the union group, and a written procedure. Every mail arrives once."""

from __future__ import annotations

import collections
import io
from email.message import EmailMessage

import pytest
from docx import Document

from tests.agenda_helpers import DOCX, Agenda, docx_of, small_docx, tiny_pdf
from tests.graph_helpers import app, inst, m365, tls  # noqa: F401 (fixtures)
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, GROUP, LENA, MARIA, MEMBERS, PETER, at, attachment,
                           body, make_mail, recipients)
from tests.minutes_helpers import docx_of as form_docx_of
from tests.minutes_helpers import fill_form, form_tables, pdf_text

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]

MEETING = "2026-12-01"
TAG = f"[KLG {MEETING}]"
COUNCIL = "ksau@example.org"
UNION = "cesam@example.org"
PDF_TYPE = "application/pdf"
USERS = [*MEMBERS, COUNCIL, UNION]


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def parts(msg: EmailMessage) -> list[tuple[str, str]]:
    return [(p.get_filename(), p.get_content_type()) for p in msg.iter_attachments()]


class Inboxes:
    """What the responder delivered to each user, a pass at a time."""

    def __init__(self, m365):
        self.m365 = m365
        self.seen: dict[str, int] = collections.defaultdict(int)

    def new(self, user: str, expected: int) -> list[EmailMessage]:
        msgs = self.m365.received(user)
        fresh = msgs[self.seen[user]:]
        self.seen[user] = len(msgs)
        assert len(fresh) == expected, (user, [subject(m) for m in fresh])
        return fresh

    def one(self, user: str, text: str) -> EmailMessage:
        [msg] = self.new(user, 1)
        assert text in subject(msg), subject(msg)
        return msg

    def nothing_new(self, *users: str) -> None:
        for user in users:
            assert len(self.m365.received(user)) == self.seen[user], user


def submit(m365, *raws: bytes) -> None:
    for raw in raws:
        m365.deliver(GROUP, raw)


def tick(inst, m365, when: str) -> dict:
    """One pass at ``when``; the shared inbox is empty after it and nothing waits in the outbox."""
    result = inst.tick(at(when))
    assert m365.messages(GROUP, "Inbox") == []
    assert result["outbox"]["retry"] == 0 and result["outbox"]["failed"] == 0
    return result


def nothing_twice(m365) -> None:
    """No user got any mail twice (by Message-ID); Sent Items holds each sent mail once."""
    for user in USERS:
        ids = collections.Counter(m["Message-ID"] for m in m365.received(user))
        assert not [i for i, n in ids.items() if n > 1], (user, ids)
    sent = collections.Counter(m["Message-ID"] for m in m365.messages(GROUP, "Sent Items"))
    assert not [i for i, n in sent.items() if n > 1]


def test_the_week_from_proposals_to_signed_minutes(inst, m365):
    inst.edit_config("addresses = []", f'addresses = ["{COUNCIL}"]')
    inst.edit_config("addresses = []", f'addresses = ["{UNION}"]')
    box = Inboxes(m365)

    budget = tiny_pdf("Budget oktober", pages=2)
    skolskjuts = small_docx("Utredning om skolskjutsar")
    submit(m365,
           make_mail(MARIA, "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut\n\nUppföljning.",
                     attachments=[("Budget oktober.pdf", budget, PDF_TYPE)]),
           make_mail(LENA, "Skolskjutsar", "Tid: 20\nTyp: information",
                     attachments=[("Skolskjuts.docx", skolskjuts, DOCX)]),
           make_mail(ERIK, "Rekrytering socialsekreterare", "Tid: 30"))
    tick(inst, m365, "2026-11-27 09:00")
    ack = box.one(MARIA, "Mottaget")
    assert subject(ack) == "[KLG-2026-001] Mottaget: Budgetuppföljning oktober"
    assert recipients(ack) == [MARIA] and ack["From"].addresses[0].addr_spec == GROUP
    assert subject(box.one(LENA, "Mottaget")) == "[KLG-2026-002] Mottaget: Skolskjutsar"
    assert subject(box.one(ERIK, "Mottaget")) == "[KLG-2026-003] Mottaget: Rekrytering socialsekreterare"

    assert tick(inst, m365, "2026-11-30 10:05")["steps"] == [f"draft:{MEETING}"]
    draft = box.one(CHAIR, "Utkast till dagordning")
    assert subject(box.one(CHANCELLERY, "Utkast till dagordning")) == subject(draft)
    assert parts(draft) == [("Dagordning KLG 2026-12-01 utkast v1.docx", DOCX), ("Budget oktober.pdf", PDF_TYPE),
                            ("Skolskjuts.docx", DOCX)]
    assert attachment(draft, "Budget oktober.pdf") == budget

    v1 = Agenda(docx_of(draft))
    v1.remove("KLG-2026-003")
    v1.set("KLG-2026-002", 5, "30")
    submit(m365, make_mail(CHAIR, f"SV: {subject(draft)}", "Mina ändringar.\n\n/Karin", reply_to=draft,
                           attachments=[("Dagordning KLG 2026-12-01 utkast v1.docx", v1.bytes(), DOCX)]))
    tick(inst, m365, "2026-11-30 11:00")
    version = box.one(CHAIR, "Dagordning version 2")
    box.one(CHANCELLERY, "Dagordning version 2")
    assert "Tid 20 → 30 min: KLG-2026-002 Skolskjutsar" in body(version)
    assert "tisdag 8 december 2026" in body(box.one(ERIK, "Flyttat till nästa möte"))

    submit(m365, make_mail(CHAIR, f"SV: {subject(version)}", "OK\n\nKarin", reply_to=version))
    tick(inst, m365, "2026-11-30 11:30")
    box.one(CHAIR, "godkänd")
    box.one(CHANCELLERY, "godkänd")

    assert tick(inst, m365, "2026-11-30 14:00")["steps"] == [f"final:{MEETING}"]
    finals = {m: box.one(m, "Dagordning tisdag 1 december 2026") for m in MEMBERS}
    final = finals[MARIA]
    assert len({f["Message-ID"] for f in finals.values()}) == 1  # one mail to all, with klg's Message-ID
    assert recipients(final) == sorted(MEMBERS)
    assert parts(final) == [("Dagordning KLG 2026-12-01.docx", DOCX), ("Dagordning KLG 2026-12-01.pdf", PDF_TYPE),
                            ("Kallelse KLG 2026-12-01.ics", "text/calendar"), ("Budget oktober.pdf", PDF_TYPE),
                            ("Skolskjuts.docx", DOCX)]
    assert attachment(final, "Skolskjuts.docx") == skolskjuts
    assert [r[1] for r in Agenda(docx_of(final)).rows()] == ["Stående", "KLG-2026-001", "KLG-2026-002", "Paus",
                                                              "Stående"]

    assert "minutes-form:2026-12-01" in tick(inst, m365, "2026-12-01 12:00")["steps"]
    form = box.one(AHMED, "Formulär för minnesanteckningar")
    tables = form_tables(form_docx_of(form))
    assert [r[:3] for r in tables["items"][1:] if r[0]] == [["KLG-2026-001", "Budgetuppföljning oktober", "Maria Holm"],
                                                           ["KLG-2026-002", "Skolskjutsar", "Lena Åkesson"]]
    filled = fill_form(form_docx_of(form), {
        "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter.",
                                            "Kommuniceras": "Ja"},
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "KLG godkänner uppföljningen.",
                         "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Information", "Anteckningar / beslut": "Upphandlingen startar i januari.",
                         "Kommuniceras": "Nej"},
    }, absent=("Peter Nyström",), signatory="Erik Sandberg")
    submit(m365, make_mail(AHMED, f"SV: {subject(form)}", "Här är anteckningarna.", reply_to=form,
                           attachments=[("Minnesanteckningar KLG.docx", filled, DOCX)]))
    tick(inst, m365, "2026-12-01 15:00")
    box.one(AHMED, "Minnesanteckningarna är mottagna")
    to_sign = {m: box.one(m, "Justering av minnesanteckningar, version 1") for m in (CHAIR, ERIK)}

    submit(m365,
           make_mail(CHAIR, f"SV: {subject(to_sign[CHAIR])}", "Justerat\n\nKarin", reply_to=to_sign[CHAIR]),
           make_mail(ERIK, f"Re: {subject(to_sign[ERIK])}", "Godkänt, tack!", reply_to=to_sign[ERIK]))
    result = tick(inst, m365, "2026-12-02 09:00")
    assert "minutes-signed:2026-12-01:v1" in result["steps"]
    signed_subject = f"{TAG} Justerade minnesanteckningar tisdag 1 december 2026"
    name = "Minnesanteckningar KLG 2026-12-01.pdf"
    others = {CHAIR, ERIK, CHANCELLERY, AHMED}
    members_copy = None
    for m in MEMBERS:
        fresh = box.new(m, 2 if m in others else 1)
        [signed] = [f for f in fresh if subject(f) == signed_subject]
        assert recipients(signed) == sorted(MEMBERS) and parts(signed) == [(name, PDF_TYPE)]
        members_copy = attachment(signed, name)
    council = box.one(COUNCIL, "Justerade minnesanteckningar")
    union = box.one(UNION, "Justerade minnesanteckningar")
    # the council gets every point, published: without the line "Kommuniceras: Nej" the members see
    assert "Kommuniceras: Nej" in " ".join(pdf_text(members_copy).split())
    assert "Kommuniceras" not in pdf_text(attachment(council, name))
    assert attachment(union, name) != members_copy  # without the item marked "Kommuniceras: Nej"

    box.nothing_new(*USERS)
    nothing_twice(m365)
    assert len(m365.messages(GROUP, "Inbox/Behandlat")) == 3 + 1 + 1 + 1 + 2  # every mail handled once


TITLE = "Riktlinjer för representation"
ITEM = "KLG-2026-001"


def test_written_procedure_on_graph(inst, m365):
    box = Inboxes(m365)
    asked = [m for m in MEMBERS if m != MARIA]
    submit(m365, make_mail(MARIA, TITLE, "Skriftligt förfarande: ja\nTyp: beslut\n\nFörslag till riktlinjer.",
                           attachments=[("Riktlinjer.pdf", tiny_pdf("Riktlinjer"), PDF_TYPE)],
                           date=at("2026-12-02 09:00")))
    tick(inst, m365, "2026-12-02 09:00")
    assert sorted(subject(m).split(":")[0] for m in box.new(MARIA, 2)) == [f"[{ITEM}] Mottaget",
                                                                           f"[{ITEM}] Skriftligt förfarande startat"]
    circulation = {m: box.one(m, "Skriftligt förfarande:") for m in asked}
    assert all(recipients(circulation[m]) == [m] for m in asked)

    submit(m365,
           make_mail(ERIK, f"SV: {subject(circulation[ERIK])}", "Tillstyrker.", reply_to=circulation[ERIK],
                     date=at("2026-12-03 09:10")),
           make_mail(CHAIR, f"SV: {subject(circulation[CHAIR])}", "Se bifogad promemoria.",
                     reply_to=circulation[CHAIR], date=at("2026-12-03 09:30"),
                     attachments=[("Promemoria.docx", small_docx("Språkliga ändringar"), DOCX)]),
           make_mail(LENA, f"[{ITEM}] Synpunkter", "Avstyrker. Beloppsgränserna är för höga.",
                     date=at("2026-12-03 09:50")))
    tick(inst, m365, "2026-12-03 12:00")
    for member in (ERIK, CHAIR, LENA):
        box.one(member, "mottagen")

    tick(inst, m365, "2026-12-08 16:00")
    silent = [m for m in asked if m not in (ERIK, CHAIR, LENA)]
    reminders = {m: box.one(m, "Påminnelse") for m in silent}
    submit(m365, make_mail(PETER, f"Sv: {subject(reminders[PETER])}", "Tillstyrker\n\nPeter",
                           reply_to=reminders[PETER], date=at("2026-12-09 10:00")))
    tick(inst, m365, "2026-12-09 10:00")
    box.one(PETER, "mottagen")

    tick(inst, m365, "2026-12-09 16:00")
    compiled = box.one(MARIA, "Sammanställning")
    name = f"Sammanställning synpunkter {ITEM}.docx"
    assert parts(compiled) == [(name, DOCX), ("Promemoria.docx", DOCX)]
    doc = Document(io.BytesIO(attachment(compiled, name)))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Namn")
    assert [[c.text for c in row.cells][:3] for row in table.rows[1:]] == [
        ["Erik Sandberg", "2026-12-03 09:10", "Tillstyrker"],
        ["Karin Berg", "2026-12-03 09:30", "–"],
        ["Lena Åkesson", "2026-12-03 09:50", "Avstyrker"],
        ["Peter Nyström", "2026-12-09 10:00", "Tillstyrker"],
    ]
    box.nothing_new(*USERS)
    nothing_twice(m365)
