"""Written procedure end to end on the embedded default (Maildir + SQLite), with a given clock.

The week: Maria proposes an item for written procedure on Wednesday 2 December
2026 (planned for 8 December). Comments are due five working days later,
Wednesday 9 December 16:00, so the decision goes to 15 December; the silent
are reminded on Tuesday 8 December 16:00.
"""

from __future__ import annotations

import io
from contextlib import closing

import pytest
from docx import Document

from daemon.circulation.settings import settings
from daemon.circulation.timing import timing
from daemon.schedule import Calendar
from tests.agenda_helpers import DOCX, Agenda, docx_of
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, PETER, SOFIA, at,
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


def flat(msg) -> str:
    """The body with line breaks as spaces, for sentences a template may wrap."""
    return " ".join(body(msg).split())


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
    [ack] = mails(inst, MARIA, "Mottaget")
    assert "beslut, skriftligt förfarande" in body(ack)
    assert "kan inte ändras så länge det pågår" in flat(ack) and "Tid: 20 min" not in body(ack)
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

    # --- Monday 14 December 10:05: the decision item is in the draft agenda of the deciding meeting ----------
    inst.tick(at("2026-12-14 10:05"))
    [draft] = [m for m in inst.sent_to(CHAIR) if "2026-12-15" in m["Subject"] and attachment_names(m)]
    rows = Agenda(docx_of(draft)).rows()
    [row] = [r for r in rows if r[1] == ITEM]
    assert row[2].split(" | ")[0] == TITLE
    assert row[4] == "Beslut efter skriftligt förfarande"
    assert name in row[2]  # the compilation is listed among the item's documents
    assert name in attachment_names(draft)


# --- timing ---------------------------------------------------------------------------------


def timing_at(inst, when):
    config = inst.config
    t = timing(Calendar(config.schedule, config.group.timezone), settings(config), at(when), None)
    return (t.deadline.strftime("%Y-%m-%d %H:%M"), t.reminder and t.reminder.strftime("%Y-%m-%d %H:%M"),
            t.meeting.isoformat())


def test_comment_period_counts_working_days_and_respects_holidays(inst):
    assert timing_at(inst, "2026-12-02 09:00") == ("2026-12-09 16:00", "2026-12-08 16:00", "2026-12-15")
    # Christmas: julafton and juldagen are not working days; the decision is after New Year
    assert timing_at(inst, "2026-12-21 09:00") == ("2026-12-30 16:00", "2026-12-29 16:00", "2027-01-05")
    # Easter: långfredagen and annandag påsk
    assert timing_at(inst, "2026-03-30 09:00") == ("2026-04-08 16:00", "2026-04-07 16:00", "2026-04-14")
    # summer break: the first meeting after it decides
    assert timing_at(inst, "2026-06-10 09:00") == ("2026-06-17 16:00", "2026-06-16 16:00", "2026-08-11")


def test_comment_period_and_reminder_are_configurable(inst):
    inst.edit_config("comment_days = 5", "comment_days = 3")
    inst.edit_config("reminder_days_before = 1", 'reminder_days_before = 2\nreminder_time = "09:00"')
    inst.edit_config('deadline_time = "16:00"', 'deadline_time = "12:00"')
    assert timing_at(inst, "2026-12-02 09:00") == ("2026-12-07 12:00", "2026-12-03 09:00", "2026-12-15")
    inst.edit_config("reminder_days_before = 2", "reminder_days_before = 0")
    assert timing_at(inst, "2026-12-02 09:00")[1] is None
    # a period that ends before the planned meeting's deadline keeps the meeting
    inst.edit_config("comment_days = 3", "comment_days = 1")
    assert timing_at(inst, "2026-12-02 09:00") == ("2026-12-03 12:00", None, "2026-12-08")


def test_bad_circulation_config_names_key_value_and_fix(inst):
    inst.edit_config("comment_days = 5", 'comment_days = "fem"\ncomment_dayz = 4')
    inst.edit_config('deadline_time = "16:00"', 'deadline_time = "25:00"')
    inst.edit_config("reminder_days_before = 1", "reminder_days_before = 9")
    result = inst.klg("check-config")
    assert result.returncode == 2
    err = result.stderr
    assert "circulation.comment_days = 'fem': expected a whole number of working days" in err
    assert "circulation.comment_dayz is not a known key; did you mean comment_days?" in err
    assert "circulation.deadline_time = '25:00': expected a time like" in err
    inst.edit_config('comment_days = "fem"', "comment_days = 5")
    err = inst.klg("check-config").stderr
    assert "circulation.reminder_days_before = 9: must be less than circulation.comment_days (5)" in err


def test_check_config_tries_the_compilation_template(inst, tmp_path):
    import shutil

    from tests.helpers import REPO

    assert inst.klg("check-config").returncode == 0
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "sv" / "compilation.docx").write_bytes(b"not a word file")
    inst.edit_config(f'templates = "{REPO / "templates"}"', f'templates = "{templates}"')
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert f"the Word template {templates / 'sv' / 'compilation.docx'} could not be filled" in result.stderr


# --- starting --------------------------------------------------------------------------------


def test_proposer_amends_to_written_procedure_and_chair_starts_one_by_mail(inst):
    inst.drop(make_mail(MARIA, "Lokalförsörjningsplan", "Underlag bifogas senare.", date=at("2026-12-01 08:00")))
    inst.drop(make_mail(ERIK, "Ny delegationsordning", "Förslag till delegationsordning.", date=at("2026-12-01 08:00")))
    inst.tick(at("2026-12-01 08:00"))
    assert not [m for m in inst.sent() if "Skriftligt förfarande:" in m["Subject"]]
    [ack] = mails(inst, MARIA, "Mottaget")
    inst.drop(make_mail(MARIA, f"SV: {ack['Subject']}", "Skriftligt förfarande: ja", reply_to=ack,
                        date=at("2026-12-01 09:00")))
    # a member who is neither chair, chancellery nor proposer may not start one
    inst.drop(make_mail(LENA, "Skriftligt förfarande", "Skriftligt förfarande: KLG-2026-002", date=at("2026-12-01 09:00")))
    inst.tick(at("2026-12-01 09:00"))
    assert len([m for m in inst.sent() if "Skriftligt förfarande: Lokalförsörjningsplan" in m["Subject"]]) == 7
    [refusal] = mails(inst, LENA, "kunde inte startas")
    assert "KLG-2026-002: bara förslagsställaren, kommundirektören eller kansliet" in body(refusal)
    assert not [m for m in inst.sent() if "Skriftligt förfarande: Ny delegationsordning" in m["Subject"]]

    inst.drop(make_mail(CHAIR, "Skriftligt förfarande", "Skriftligt förfarande: KLG-2026-002, KLG-2026-009",
                        date=at("2026-12-01 10:00")))
    inst.tick(at("2026-12-01 10:00"))
    circulated = [m for m in inst.sent() if "Skriftligt förfarande: Ny delegationsordning" in m["Subject"]]
    assert sorted(recipients(m)[0] for m in circulated) == sorted(m for m in MEMBERS if m != ERIK)
    [started] = mails(inst, ERIK, "startat")
    assert (started["To"], started["Cc"]) == (ERIK, CHAIR)  # the proposer, with the chair in copy
    assert "Karin Berg har begärt skriftligt förfarande" in body(started)
    [partly] = mails(inst, CHAIR, "kunde inte startas")
    assert "KLG-2026-009: inget sådant ärende finns" in body(partly)
    states = {c["item"]: c["state"] for c in inst.status(at("2026-12-01 10:00"))["circulations"]}
    assert states == {"KLG-2026-001": "open", "KLG-2026-002": "open"}


def test_agenda_review_sets_an_item_to_written_procedure(inst):
    inst.drop(make_mail(SOFIA, "Ny semesterpolicy", "Förslag.", date=at("2026-12-04 09:00")))
    inst.tick(at("2026-12-04 09:00"))
    inst.tick(at("2026-12-07 10:05"))  # the draft agenda to the chair and the chancellery
    [draft] = [m for m in inst.sent_to(CHAIR) if "2026-12-08" in m["Subject"] and attachment_names(m)]
    agenda = Agenda(docx_of(draft))
    agenda.set(ITEM, 4, "Skriftligt förfarande")
    inst.drop(make_mail(CHAIR, f"SV: {draft['Subject']}", "Den tar vi skriftligt.", reply_to=draft,
                        attachments=[("dagordning.docx", agenda.bytes(), DOCX)], date=at("2026-12-07 11:00")))
    inst.tick(at("2026-12-07 11:00"))
    assert len([m for m in inst.sent() if "Skriftligt förfarande: Ny semesterpolicy" in m["Subject"]]) == 7
    [started] = mails(inst, SOFIA, "startat")
    assert "Kommundirektören och kansliet har bestämt" in body(started)
    assert "planerat till mötet tisdag 8 december 2026" in body(started)
    status = inst.status(at("2026-12-07 11:00"))
    [dec8] = [m for m in status["meetings"] if m["date"] == "2026-12-08"]
    assert not [it for it in dec8["items"] if it["id"] == ITEM]  # off this week's agenda
    assert status["circulations"][0]["meeting"] == "2026-12-22"


# --- ending early ----------------------------------------------------------------------------


def test_proposer_withdraws_by_replying_to_the_acknowledgement(inst):
    propose(inst)
    [ack] = mails(inst, MARIA, "Mottaget")
    inst.drop(make_mail(MARIA, f"SV: {ack['Subject']}", "STATUS", reply_to=ack, date=at("2026-12-03 08:00")))
    inst.tick(at("2026-12-03 08:00"))
    [report] = mails(inst, MARIA, "Status")
    assert "Har svarat (0 av 7)" in body(report)
    inst.drop(make_mail(MARIA, f"SV: {ack['Subject']}", "ÅTERKALLA\n\nVi tar det på nästa möte i stället.",
                        reply_to=ack, date=at("2026-12-03 09:00")))
    inst.tick(at("2026-12-03 09:00"))
    [cancelled] = [m for m in inst.sent() if m["Subject"].startswith(f"[{ITEM}] Avbrutet")]
    assert recipients(cancelled) == sorted(ASKED)
    assert "återkallat av Maria Holm" in body(cancelled)
    [confirmation] = mails(inst, MARIA, "Återkallat")
    assert "Medlemmarna har fått besked" in body(confirmation)
    assert inst.status(at("2026-12-03 09:01"))["circulations"] == []
    # a member who answers anyway is told; the deadline passes without a compilation
    to_erik = circulation_mail(inst, ERIK)
    inst.drop(make_mail(ERIK, f"SV: {to_erik['Subject']}", "Tillstyrker", reply_to=to_erik, date=at("2026-12-04 09:00")))
    inst.tick(at("2026-12-04 09:00"))
    assert "Ditt svar har inte registrerats som synpunkt. Det skriftliga förfarandet om ärende KLG-2026-001" \
           in flat(mails(inst, ERIK, "kunde inte behandla")[0])
    assert "är avbrutet" in flat(mails(inst, ERIK, "kunde inte behandla")[0])
    before = len(inst.sent())
    inst.tick(at("2026-12-10 09:00"))
    assert len(inst.sent()) == before
    with closing(inst.store()) as store:
        assert store.item(ITEM)["state"] == "withdrawn"


def test_chancellery_takes_the_item_back_to_a_meeting(inst):
    propose(inst)
    to_johan = circulation_mail(inst, CHANCELLERY)
    inst.drop(make_mail(CHANCELLERY, f"SV: {to_johan['Subject']}", "Skriftligt förfarande: nej",
                        reply_to=to_johan, date=at("2026-12-03 09:00")))
    inst.tick(at("2026-12-03 09:00"))
    [cancelled] = [m for m in inst.sent() if m["Subject"].startswith(f"[{ITEM}] Avbrutet")]
    assert recipients(cancelled) == sorted(m for m in ASKED if m != CHANCELLERY)
    assert "tas i stället upp på ett möte" in body(cancelled)
    [confirmation] = mails(inst, CHANCELLERY, "Inte skriftligt förfarande")
    assert recipients(confirmation) == [CHANCELLERY, MARIA]
    assert "ligger i stället som vanligt ärende på mötet tisdag 8 december 2026" in flat(confirmation)
    [dec8] = [m for m in inst.status(at("2026-12-03 09:01"))["meetings"] if m["date"] == "2026-12-08"]
    [item] = [it for it in dec8["items"] if it["id"] == ITEM]
    assert (item["state"], item["written_procedure"]) == ("planned", False)


# --- replies that are not comments, and replies in time while the daemon was down -----------


def test_replies_that_are_not_comments_get_one_explanation(inst):
    propose(inst)
    [started] = mails(inst, MARIA, "startat")
    to_erik = circulation_mail(inst, ERIK)
    inst.drop(make_mail(MARIA, f"SV: {started['Subject']}", "Tid: 20 min", reply_to=started, date=at("2026-12-03 09:00")))
    inst.drop(make_mail(ERIK, f"SV: {to_erik['Subject']}", f"Den 2026-12-02 kl. 09:00, skrev Kommunledningsgruppen:\n"
                        f"{quoted(to_erik)}\n", reply_to=to_erik, date=at("2026-12-03 09:00")))
    inst.drop(make_mail(LENA, f"SV: {circulation_mail(inst, LENA)['Subject']}", "status",
                        reply_to=circulation_mail(inst, LENA), date=at("2026-12-03 09:00")))
    inst.tick(at("2026-12-03 09:00"))
    assert "eftersom du är förslagsställare" in body(mails(inst, MARIA, "kunde inte behandla")[0])
    assert "Vi hittade ingen synpunkt i ditt svar" in body(mails(inst, ERIK, "kunde inte behandla")[0])
    assert "Bara förslagsställaren, kommundirektören och kansliet kan begära status" in \
        body(mails(inst, LENA, "kunde inte behandla")[0])
    assert inst.status(at("2026-12-03 09:01"))["circulations"][0]["answered"] == 0
    assert len(inst.folder("quarantine")) == 3
    # a thank-you in answer to the receipt does not replace the comment
    inst.drop(make_mail(ERIK, f"SV: {to_erik['Subject']}", "Avstyrker, se bilaga 2.", reply_to=to_erik,
                        date=at("2026-12-03 10:00")))
    inst.tick(at("2026-12-03 10:00"))
    [receipt] = mails(inst, ERIK, "Synpunkt mottagen")
    inst.drop(make_mail(ERIK, f"SV: {receipt['Subject']}", f"Tack!\n\n{quoted(receipt)}", reply_to=receipt,
                        date=at("2026-12-03 10:05")))
    inst.tick(at("2026-12-03 10:05"))
    assert len(mails(inst, ERIK, "mottagen")) == 1
    inst.tick(at("2026-12-09 16:00"))
    [compiled] = mails(inst, MARIA, "Sammanställning")
    assert comments_table(attachment(compiled, f"Sammanställning synpunkter {ITEM}.docx")) == [
        ["Erik Sandberg", "2026-12-03 10:00", "Avstyrker", "Avstyrker, se bilaga 2.", ""]]


def test_a_comment_in_a_new_mail_with_only_the_tag_in_the_subject(inst):
    propose(inst)
    inst.drop(make_mail(PETER, f"Synpunkter [{ITEM}]", "Avstyrker, beloppen är för höga.", date=at("2026-12-03 09:00")))
    inst.tick(at("2026-12-03 09:00"))
    [receipt] = mails(inst, PETER, "Synpunkt mottagen")
    assert "Avstyrker, beloppen är för höga." in body(receipt)
    assert inst.status(at("2026-12-03 09:01"))["circulations"][0]["answered"] == 1


def test_a_reply_written_in_time_is_not_late_when_the_daemon_was_down(inst):
    propose(inst)
    to_erik = circulation_mail(inst, ERIK)
    inst.drop(make_mail(ERIK, f"SV: {to_erik['Subject']}", "Avstyrker.", reply_to=to_erik, date=at("2026-12-09 15:30")))
    inst.tick(at("2026-12-10 08:00"))  # the first pass after the deadline: reply first, then the compilation
    [compiled] = mails(inst, MARIA, "Sammanställning")
    assert comments_table(attachment(compiled, f"Sammanställning synpunkter {ITEM}.docx")) == [
        ["Erik Sandberg", "2026-12-09 15:30", "Avstyrker", "Avstyrker.", ""]]
    assert not [m for m in inst.sent() if "Påminnelse" in m["Subject"]]  # no reminder after the deadline
    assert not mails(inst, MARIA, "Sen synpunkt")


def test_late_comment_after_the_agenda_is_under_way_is_passed_on_unchanged(inst):
    propose(inst)
    inst.tick(at("2026-12-09 16:00"))
    [compiled] = mails(inst, MARIA, "Sammanställning")
    name = f"Sammanställning synpunkter {ITEM}.docx"
    to_erik = circulation_mail(inst, ERIK)
    inst.drop(make_mail(ERIK, f"SV: {to_erik['Subject']}", "Tillstyrker i sista stund.", reply_to=to_erik,
                        date=at("2026-12-14 11:00"),
                        attachments=[("Kommentar.pdf", PDF, "application/pdf")]))
    inst.tick(at("2026-12-14 11:00"))  # after the proposal deadline of the 15 December meeting
    [late] = mails(inst, MARIA, "Sen synpunkt")
    assert attachment_names(late) == ["Kommentar.pdf"]
    assert "Sammanställningen har inte ändrats" in flat(late)
    with closing(inst.store()) as store:
        [current] = [a for a in store.attachments(ITEM) if a["name"] == name]
        assert store.files.get(current["sha256"]) == attachment(compiled, name)


def test_english_group(inst):
    inst.edit_config('language = "sv"', 'language = "en"')
    propose(inst)
    [to_erik] = [m for m in inst.sent_to(ERIK) if "Written procedure:" in m["Subject"]]
    assert to_erik["Subject"] == f"[{ITEM}] Written procedure: {TITLE} (answer by 9 December)"
    assert "by Wednesday 9 December 2026 at 16:00" in body(to_erik)
    inst.drop(make_mail(ERIK, f"Re: {to_erik['Subject']}", "No comments.\n\nBest regards,\nErik",
                        reply_to=to_erik, date=at("2026-12-03 09:00")))
    inst.tick(at("2026-12-09 16:00"))
    [compiled] = [m for m in inst.sent_to(MARIA) if "Compilation:" in m["Subject"]]
    docx = attachment(compiled, f"Compilation of comments {ITEM}.docx")
    assert comments_table(docx) == [["Erik Sandberg", "2026-12-03 09:00", "No comments", "No comments.", ""]]
    assert "Did not answer:                       6 of 7" in body(compiled)
    assert inst.klg("check-config").returncode == 0


def test_the_daemon_wakes_at_the_circulation_times(inst):
    from datetime import time

    from daemon.scheduler import wake_times

    inst.edit_config("# reminder_time", "reminder_time")
    inst.edit_config('deadline_time = "16:00"', 'deadline_time = "15:30"')
    times = wake_times(inst.config)
    assert time(15, 30) in times and time(9, 0) in times


def test_daemon_back_after_the_deciding_meetings_deadline_puts_the_item_on_the_next_meeting(inst):
    propose(inst)
    result = inst.klg("tick", "--now", "2026-12-14T11:00")  # down from Wednesday until after Monday's deadline
    assert result.returncode == 0, result.stderr
    [compiled] = mails(inst, MARIA, "Sammanställning")
    assert "Mötet tisdag 15 december 2026 tar inte längre emot förslag" in flat(compiled)
    assert "dagordningen till mötet tisdag 22 december 2026" in flat(compiled)
    [dec22] = [m for m in inst.status(at("2026-12-14 11:01"))["meetings"] if m["date"] == "2026-12-22"]
    assert [(it["id"], it["kind"], it["state"]) for it in dec22["items"]] == [(ITEM, "beslut", "planned")]
    assert not [m for m in inst.sent() if "Påminnelse" in m["Subject"]]


@pytest.mark.parametrize("point", ["step.before-commit", "step.after-commit", "outbox.after-send"])
def test_killed_at_the_deadline_then_restarted_compiles_once(inst, point):
    import signal

    propose(inst)
    killed = inst.klg("tick", "--now", "2026-12-09T16:00", env={"KLG_CRASH_AT": f"{point}:1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    again = inst.klg("tick", "--now", "2026-12-09T16:01")
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(mails(inst, MARIA, "Sammanställning")) == 1
    with closing(inst.store()) as store:
        assert [a["name"] for a in store.attachments(ITEM)] == ["Riktlinjer.pdf", f"Sammanställning synpunkter {ITEM}.docx"]
        assert store.item(ITEM)["state"] == "planned"
