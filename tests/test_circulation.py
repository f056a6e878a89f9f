"""Written procedure end to end on the embedded default (Maildir + SQLite), with a given clock.

The week: Maria proposes an item for written procedure on Wednesday 2 December
2026 (planned for 8 December). Comments are due five working days later,
Wednesday 9 December 16:00, so the decision goes to 15 December; the silent
are reminded on Tuesday 8 December 16:00.
"""

from __future__ import annotations

import io
from contextlib import closing

from docx import Document

from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, GROUP, LENA, MARIA, MEMBERS, PETER, SOFIA, at,
                           attachment, attachment_names, body, make_mail, recipients)

TITLE = "Riktlinjer för representation"
ITEM = "KLG-2026-001"
ASKED = [m for m in MEMBERS if m != MARIA]
PROPOSAL = (
    "Skriftligt förfarande: ja\n"
    "Typ: beslut\n"
    "\n"
    "Förslag till nya riktlinjer för representation.\n"
    "Gäller från 1 januari 2027.\n"
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def propose(inst, when="2026-12-02 09:00"):
    inst.drop(make_mail(MARIA, TITLE, PROPOSAL, attachments=[("Riktlinjer.pdf", PDF, "application/pdf")],
                        date=at(when)))
    inst.tick(at(when))


def circulation_mail(inst, member):
    [mail] = [m for m in inst.sent_to(member) if "Skriftligt förfarande:" in m["Subject"]]
    return mail


def mails(inst, address, word):
    return [m for m in inst.sent_to(address) if word in m["Subject"]]


def quoted(msg) -> str:
    return "\n".join("> " + line if line else ">" for line in body(msg).split("\n"))


def comments_table(docx: bytes) -> list[list[str]]:
    doc = Document(io.BytesIO(docx))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text in ("Namn", "Name"))
    return [[c.text for c in row.cells] for row in table.rows[1:]]


def counts_table(docx: bytes) -> dict[str, str]:
    doc = Document(io.BytesIO(docx))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Tillstyrker")
    return {row.cells[0].text: row.cells[1].text for row in table.rows}


def silent_names(docx: bytes) -> list[str]:
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    start = paragraphs.index("Har inte svarat")
    return [p for p in paragraphs[start + 1:] if p]


def test_full_circulation(inst):
    # --- Wednesday: the proposal goes out to the seven other members -------------------------
    propose(inst)
    for member in ASKED:
        mail = circulation_mail(inst, member)
        assert recipients(mail) == [member]
        assert mail["Subject"] == f"[{ITEM}] Skriftligt förfarande: {TITLE} (svar senast 9 december)"
        assert attachment_names(mail) == ["Riktlinjer.pdf"]
        text = body(mail)
        assert "senast onsdag 9 december 2026 kl. 16:00" in text
        assert "mötet tisdag 15 december 2026" in text
        assert "Förslag till nya riktlinjer för representation." in text
        assert "Inga synpunkter" in text and "Tillstyrker" in text and "Avstyrker" in text
    assert not [m for m in inst.sent_to(MARIA) if "Skriftligt förfarande:" in m["Subject"]]
    [started] = mails(inst, MARIA, "startat")
    assert "planerat till mötet tisdag 8 december 2026" in body(started)  # the proposer is told it moved
    assert "Beslutet fattas därför på mötet tisdag 15 december 2026" in body(started)
    assert "STATUS" in body(started) and "ÅTERKALLA" in body(started)
    status = inst.status(at("2026-12-02 09:05"))
    assert status["circulations"] == [{"item": ITEM, "title": TITLE, "proposer": MARIA,
                                       "deadline": "2026-12-09T16:00+01:00", "meeting": "2026-12-15",
                                       "answered": 0, "members": 7, "late": 0, "state": "open"}]
    assert not any(it["id"] == ITEM and it["state"] == "planned" for m in status["meetings"] for it in m["items"])

    # --- Thursday: replies of every kind --------------------------------------------------------
    to = {m: circulation_mail(inst, m) for m in ASKED}
    # plain
    inst.drop(make_mail(ERIK, f"SV: {to[ERIK]['Subject']}", "Tillstyrker.", reply_to=to[ERIK],
                        date=at("2026-12-03 09:10")))
    # HTML only, Gmail style with a blockquote
    inst.drop(make_mail(AHMED, f"Re: {to[AHMED]['Subject']}", None, reply_to=to[AHMED], date=at("2026-12-03 09:20"),
                        html='<div dir="ltr">Inga synpunkter.</div><br><div class="gmail_quote">'
                             '<div class="gmail_attr">Den ons 2 dec. 2026 kl 09:00 skrev Kommunledningsgruppen '
                             '&lt;klg@example.org&gt;:<br></div><blockquote class="gmail_quote">Hej Ahmed!<br>'
                             'Tillstyrker<br>Avstyrker</blockquote></div>'))
    # with an attachment and no stated stance
    inst.drop(make_mail(CHAIR, f"SV: {to[CHAIR]['Subject']}", "Se bifogad promemoria med ett par språkliga ändringar.",
                        reply_to=to[CHAIR], date=at("2026-12-03 09:30"),
                        attachments=[("Promemoria.pdf", PDF, "application/pdf")]))
    # with a signature
    inst.drop(make_mail(SOFIA, f"SV: {to[SOFIA]['Subject']}",
                        "Tillstyrker, men kommunikationsplanen behöver en tidplan.\n\nMed vänliga hälsningar\n"
                        "Sofia Lund\nHR-chef\nSjöviks kommun\n", reply_to=to[SOFIA], date=at("2026-12-03 09:40")))
    # Outlook, top-posted, Swedish quoted header without '>' quoting
    inst.drop(make_mail(LENA, f"SV: {to[LENA]['Subject']}",
                        "Avstyrker. Beloppsgränserna är för höga.\n\n/Lena\n\n"
                        "________________________________\nFrån: Kommunledningsgruppen <klg@example.org>\n"
                        "Skickat: den 2 december 2026 09:00\nTill: Lena Åkesson <lena.akesson@example.org>\n"
                        f"Ämne: {to[LENA]['Subject']}\n\n{body(to[LENA])}", reply_to=to[LENA],
                        date=at("2026-12-03 09:50")))
    # an out-of-office answer is not a comment
    inst.drop(make_mail(CHANCELLERY, f"Automatiskt svar: {to[CHANCELLERY]['Subject']}",
                        "Jag är tjänstledig till och med 9 december.", reply_to=to[CHANCELLERY],
                        headers={"Auto-Submitted": "auto-replied"}, date=at("2026-12-03 09:55")))
    # a reply from someone who is not a member (a forwarded copy) is not a comment
    inst.drop(make_mail("assistent@example.org", f"SV: {to[ERIK]['Subject']}", "Avstyrker å Eriks vägnar.",
                        reply_to=to[ERIK], date=at("2026-12-03 10:00")))
    inst.tick(at("2026-12-03 12:00"))
    [receipt] = mails(inst, ERIK, "Synpunkt mottagen")
    assert "Tillstyrker" in body(receipt) and receipt["In-Reply-To"]
    assert not mails(inst, CHANCELLERY, "mottagen")
    assert not inst.sent_to("assistent@example.org")  # no backscatter to strangers
    with closing(inst.store()) as store:
        classes = {r["sender"]: r["classification"] for r in store.all("SELECT * FROM messages_in")}
    assert classes[CHANCELLERY] == "auto-reply" and classes["assistent@example.org"] == "stranger"
    assert inst.status(at("2026-12-03 12:00"))["circulations"][0]["answered"] == 5

    # --- Monday: Lena changes her mind (Gmail, top-posted); Maria asks for the status ------------------
    inst.drop(make_mail(LENA, f"Re: {to[LENA]['Subject']}",
                        "Jag har ändrat mig efter Marias förtydligande. Tillstyrker.\n\n"
                        "Den ons 2 dec. 2026 kl 09:00 skrev Kommunledningsgruppen <klg@example.org>:\n\n"
                        + quoted(to[LENA]), reply_to=to[LENA], date=at("2026-12-07 11:00")))
    inst.drop(make_mail(MARIA, f"SV: {started['Subject']}", "STATUS", reply_to=started, date=at("2026-12-07 12:00")))
    inst.tick(at("2026-12-07 12:00"))
    assert "Ditt nya svar ersätter ditt tidigare" in body(mails(inst, LENA, "mottagen")[-1])
    [report] = mails(inst, MARIA, "Status")
    text = body(report)
    assert "Har svarat (5 av 7)" in text
    assert "Lena Åkesson, 2026-12-07 11:00: Tillstyrker" in text
    assert text.split("Har inte svarat:")[1].split("--")[0].split() == ["Johan", "Ek", "Peter", "Nyström"]

    # --- Tuesday 16:00: one reminder, only to the silent ---------------------------------------------
    inst.tick(at("2026-12-08 15:59"))
    assert not [m for m in inst.sent() if "Påminnelse" in m["Subject"]]
    inst.tick(at("2026-12-08 16:00"))
    reminders = [m for m in inst.sent() if "Påminnelse" in m["Subject"]]
    assert sorted(recipients(m)[0] for m in reminders) == [CHANCELLERY, PETER]
    assert all(len(recipients(m)) == 1 for m in reminders)
    inst.tick(at("2026-12-08 18:00"))
    assert len([m for m in inst.sent() if "Påminnelse" in m["Subject"]]) == 2  # once

    # --- Wednesday: Peter answers the reminder, bottom-posted --------------------------------------------
    [reminder] = mails(inst, PETER, "Påminnelse")
    inst.drop(make_mail(PETER, f"Sv: {reminder['Subject']}",
                        f"8 dec. 2026 kl. 16:00 skrev Kommunledningsgruppen <klg@example.org>:\n\n{quoted(reminder)}\n\n"
                        "Tillstyrker\n\nPeter\n", reply_to=reminder, date=at("2026-12-09 10:00")))
    inst.tick(at("2026-12-09 10:00"))

    # --- Wednesday 16:00: the deadline --------------------------------------------------------------------
    inst.tick(at("2026-12-09 16:00"))
    [compiled] = mails(inst, MARIA, "Sammanställning")
    name = f"Sammanställning synpunkter {ITEM}.docx"
    assert attachment_names(compiled) == [name, "Promemoria.pdf"]
    assert "Har inte svarat:                    1 av 7 (Johan Ek)" in body(compiled)
    first = attachment(compiled, name)
    assert comments_table(first) == [
        ["Erik Sandberg", "2026-12-03 09:10", "Tillstyrker", "Tillstyrker.", ""],
        ["Ahmed Karimi", "2026-12-03 09:20", "Inga synpunkter", "Inga synpunkter.", ""],
        ["Karin Berg", "2026-12-03 09:30", "–", "Se bifogad promemoria med ett par språkliga ändringar.\n"
                                               "Bilagor: Promemoria.pdf", ""],
        ["Sofia Lund", "2026-12-03 09:40", "Tillstyrker", "Tillstyrker, men kommunikationsplanen behöver en tidplan.", ""],
        ["Lena Åkesson", "2026-12-07 11:00", "Tillstyrker", "Jag har ändrat mig efter Marias förtydligande. Tillstyrker.\n"
                                                            "Ändrat svar; tidigare svar: 2026-12-03 09:50: Avstyrker", ""],
        ["Peter Nyström", "2026-12-09 10:00", "Tillstyrker", "Tillstyrker", ""],
    ]
    assert silent_names(first) == ["Johan Ek"]
    assert counts_table(first) == {"Tillstyrker": "4", "Avstyrker": "0", "Inga synpunkter": "1",
                                   "Synpunkter utan ställningstagande": "1", "Har inte svarat": "1", "Tillfrågade": "7"}
    status = inst.status(at("2026-12-09 16:01"))
    [meeting] = [m for m in status["meetings"] if m["date"] == "2026-12-15"]
    [item] = [it for it in meeting["items"] if it["id"] == ITEM]
    assert (item["kind"], item["state"], item["written_procedure"]) == ("beslut", "planned", True)
    assert item["attachments"] == ["Riktlinjer.pdf", name]
    assert status["circulations"][0]["state"] == "compiled"
    with closing(inst.store()) as store:
        assert store.item(ITEM)["origin"] == "circulation"

    # --- Thursday: Johan's late answer is kept, marked late, and passed to Maria ---------------------------
    inst.drop(make_mail(CHANCELLERY, f"SV: {to[CHANCELLERY]['Subject']}", "Avstyrker. Jag har varit tjänstledig.",
                        reply_to=to[CHANCELLERY], date=at("2026-12-10 09:00")))
    inst.tick(at("2026-12-10 09:00"))
    assert "Sen synpunkt mottagen" in mails(inst, CHANCELLERY, "mottagen")[0]["Subject"]
    [late] = mails(inst, MARIA, "Sen synpunkt")
    assert "Avstyrker. Jag har varit tjänstledig." in body(late)
    second = attachment(late, name)
    assert comments_table(second)[-1] == ["Johan Ek", "2026-12-10 09:00", "Avstyrker",
                                          "Avstyrker. Jag har varit tjänstledig.", "Ja"]
    assert silent_names(second) == ["Alla tillfrågade har svarat."]
    status = inst.status(at("2026-12-10 09:01"))
    [meeting] = [m for m in status["meetings"] if m["date"] == "2026-12-15"]
    [item] = [it for it in meeting["items"] if it["id"] == ITEM]
    assert item["attachments"] == ["Riktlinjer.pdf", name]  # the new version replaced the old one
    with closing(inst.store()) as store:
        [current] = store.attachments(ITEM)[1:]
        assert store.files.get(current["sha256"]) == second
