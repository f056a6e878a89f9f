"""The agenda week end to end on the Maildir default, with a given clock:
proposals, draft, an edited .docx back, approval, final agenda, an update."""

from __future__ import annotations

import icalendar
import pytest

from daemon.agenda.versions import final_version
from tests.agenda_helpers import DOCX, Agenda, docx_of, pdf_text, small_docx, tiny_pdf
from tests.helpers import (AHMED, CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, PETER, at, attachment,
                           attachment_names, body, make_mail, recipients)

pytestmark = pytest.mark.libreoffice

MEETING = "2026-12-01"
TAG = f"[KLG {MEETING}]"


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def only(messages, text: str):
    found = [m for m in messages if text in subject(m)]
    assert len(found) == 1, [subject(m) for m in messages]
    return found[0]


def test_the_agenda_week(inst):
    # Friday: four proposals; Monday 10:02 one more, too late for Tuesday.
    inst.drop(make_mail(MARIA, "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut\n\nUppföljning.",
                        attachments=[("Budget oktober.pdf", tiny_pdf("Budget oktober", pages=2), "application/pdf")]))
    inst.drop(make_mail(ERIK, "Rekrytering socialsekreterare", "Tid: 30"))
    inst.drop(make_mail(LENA, "Skolskjutsar & <ny> upphandling", "Tid: 45\nTyp: information",
                        attachments=[("Skolskjuts.docx", small_docx("Utredning om skolskjutsar"), DOCX)]))
    inst.drop(make_mail(AHMED, "Lokalförsörjningsplan", "Tid: 20\nTyp: diskussion"))
    inst.tick(at("2026-11-27 09:00"))
    inst.drop(make_mail(PETER, "Mediestrategi", "Tid: 10"))
    inst.tick(at("2026-11-30 10:02"))
    assert not [m for m in inst.sent() if TAG in subject(m)]

    # Monday 10:04 nothing; 10:05 the draft goes to the chair and the chancellery.
    assert inst.tick(at("2026-11-30 10:04"))["steps"] == []
    assert inst.tick(at("2026-11-30 10:05"))["steps"] == [f"draft:{MEETING}"]
    draft = only(inst.sent(), "Utkast till dagordning")
    assert recipients(draft) == sorted([CHAIR, CHANCELLERY])
    assert attachment_names(draft) == ["Dagordning KLG 2026-12-01 utkast v1.docx", "Budget oktober.pdf",
                                       "Skolskjuts.docx"]
    text = body(draft)
    assert "Sent inkomna förslag" in text and "KLG-2026-005 Mediestrategi" in text and "2026-12-08" in text
    v1 = Agenda(docx_of(draft))
    assert v1.header == ["Tid", "Nr", "Ärende", "Föredragande", "Typ", "Min"]
    assert v1.rows() == [
        ["09:30–09:50", "Stående", "Information från verksamheterna", "", "", "20"],
        ["09:50–10:05", "KLG-2026-001", "Budgetuppföljning oktober | Bilagor: Budget oktober.pdf", "Maria Holm", "Beslut", "15"],
        ["10:05–10:35", "KLG-2026-002", "Rekrytering socialsekreterare", "Erik Sandberg", "Diskussion", "30"],
        ["10:35–11:05", "Paus", "Paus", "", "", "30"],
        ["11:05–11:50", "KLG-2026-003", "Skolskjutsar & <ny> upphandling | Bilagor: Skolskjuts.docx", "Lena Åkesson",
         "Information", "45"],
        ["11:50–12:10", "KLG-2026-004", "Lokalförsörjningsplan", "Ahmed Karimi", "Diskussion", "20"],
        ["12:10–12:20", "Stående", "Mediaspaning", "", "", "10"],
    ]
    assert "slutar 12:20, 20 minuter efter" in text  # the overrun is warned about in the mail …
    assert "⚠ Punkterna ryms inte i mötestiden" in "\n".join(p.text for p in v1.doc.paragraphs)  # … and the document

    # The chair edits the draft in Word: moves Lokalförsörjning first, removes Rekrytering (postponed),
    # adds a new row, shortens Skolskjutsar to 30 minutes; replies with the file.
    v1.move_before("KLG-2026-004", "KLG-2026-001")
    v1.remove("KLG-2026-002")
    v1.set("KLG-2026-003", 5, "30")
    v1.add_after("KLG-2026-001", ["", "", "Vinterväghållning", "Ahmed", "Information", "10"])
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Här är mina ändringar.\n\n/Karin", reply_to=draft,
                        attachments=[("Dagordning KLG 2026-12-01 utkast v1.docx", v1.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 11:00"))
    version = only(inst.sent(), "Dagordning version 2")
    assert recipients(version) == sorted([CHAIR, CHANCELLERY])
    assert version["In-Reply-To"]  # threaded on the chair's reply
    changes = body(version)
    assert "Ny punkt: KLG-2026-006 Vinterväghållning" in changes
    assert "Borttagen: KLG-2026-002 Rekrytering socialsekreterare (flyttad till 8 dec)" in changes
    assert "Tid 45 → 30 min: KLG-2026-003 Skolskjutsar & <ny> upphandling" in changes
    v2 = Agenda(docx_of(version))
    assert [r[:2] + [r[2].split(" | ")[0]] + r[3:] for r in v2.rows()] == [
        ["09:30–09:50", "Stående", "Information från verksamheterna", "", "", "20"],
        ["09:50–10:10", "KLG-2026-004", "Lokalförsörjningsplan", "Ahmed Karimi", "Diskussion", "20"],
        ["10:10–10:25", "KLG-2026-001", "Budgetuppföljning oktober", "Maria Holm", "Beslut", "15"],
        ["10:25–10:55", "Paus", "Paus", "", "", "30"],  # nearest to 10:30 without splitting an item
        ["10:55–11:05", "KLG-2026-006", "Vinterväghållning", "Ahmed Karimi", "Information", "10"],
        ["11:05–11:35", "KLG-2026-003", "Skolskjutsar & <ny> upphandling", "Lena Åkesson", "Information", "30"],
        ["11:35–11:45", "Stående", "Mediaspaning", "", "", "10"],
    ]
    postponed = only(inst.sent_to(ERIK), "Flyttat till nästa möte")
    assert recipients(postponed) == [ERIK] and "tisdag 8 december 2026" in body(postponed)

    # The chancellery approves version 2 by replying OK to it.
    inst.drop(make_mail(CHANCELLERY, f"SV: {subject(version)}", "OK\n\nJohan", reply_to=version))
    inst.tick(at("2026-11-30 11:30"))
    approved = only(inst.sent(), "Dagordningen är godkänd (version 2)")
    assert "skickas till alla ledamöter måndag 30 november 2026 kl. 14:00" in " ".join(body(approved).split())
    assert inst.tick(at("2026-11-30 13:59"))["steps"] == []

    # 14:00: the final agenda goes to every member with PDF, invitation and the documents.
    assert inst.tick(at("2026-11-30 14:00"))["steps"] == [f"final:{MEETING}"]
    final = only(inst.sent(), "Dagordning tisdag 1 december 2026")
    assert recipients(final) == sorted(MEMBERS)
    assert attachment_names(final) == ["Dagordning KLG 2026-12-01.docx", "Dagordning KLG 2026-12-01.pdf",
                                       "Kallelse KLG 2026-12-01.ics", "Budget oktober.pdf", "Skolskjuts.docx"]
    fixed = Agenda(docx_of(final))
    assert fixed.rows() == [
        ["09:30–09:50", "Stående", "Information från verksamheterna", "", "", "20"],
        ["09:50–10:10", "KLG-2026-004", "Lokalförsörjningsplan", "Ahmed Karimi", "Diskussion", "20"],
        ["10:10–10:25", "KLG-2026-001", "Budgetuppföljning oktober | Bilagor: Budget oktober.pdf", "Maria Holm",
         "Beslut", "15"],
        ["10:25–10:55", "Paus", "Paus", "", "", "30"],
        ["10:55–11:05", "KLG-2026-006", "Vinterväghållning", "Ahmed Karimi", "Information", "10"],
        ["11:05–11:35", "KLG-2026-003", "Skolskjutsar & <ny> upphandling | Bilagor: Skolskjuts.docx", "Lena Åkesson",
         "Information", "30"],
        ["11:35–11:45", "Stående", "Mediaspaning", "", "", "10"],
    ]
    pdf = " ".join(pdf_text(attachment(final, "Dagordning KLG 2026-12-01.pdf")).split())
    for expected in ("Sjöviks kommun", "Dagordning", "Fastställd 30 november 2026 av Karin Berg",
                     "tisdag 1 december 2026", "Kommunhuset, sammanträdesrum Sjöutsikten", "Sekreterare",
                     "09:50–10:10 KLG-2026-004 Lokalförsörjningsplan Ahmed Karimi Diskussion 20",
                     "Skolskjutsar & <ny> upphandling", "Sida 1 av 1"):
        assert expected in pdf, expected
    assert "UTKAST" not in pdf and "⚠" not in pdf
    cal = icalendar.Calendar.from_ical(attachment(final, "Kallelse KLG 2026-12-01.ics"))
    assert str(cal["method"]) == "REQUEST"
    [part] = [p for p in final.iter_attachments() if p.get_filename().endswith(".ics")]
    assert (part.get_content_type(), part.get_param("method")) == ("text/calendar", "REQUEST")
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == "klg-2026-12-01@example.org"
    assert event["sequence"] == 0
    assert event["dtstart"].params["TZID"] == "Europe/Stockholm"
    assert event.decoded("dtstart") == at("2026-12-01 09:30") and event.decoded("dtend") == at("2026-12-01 12:00")
    assert str(event["location"]) == "Kommunhuset, sammanträdesrum Sjöutsikten"
    assert sorted(str(a).removeprefix("mailto:") for a in event["attendee"]) == sorted(MEMBERS)
    assert "10:55–11:05  KLG-2026-006 Vinterväghållning" in str(event["description"])
    assert cal.walk("VTIMEZONE")

    status = inst.status(at("2026-11-30 14:05"))
    meeting = next(m for m in status["meetings"] if m["date"] == MEETING)
    assert (meeting["state"], meeting["agenda_version"]) == ("final_sent", 2)
    assert [i["id"] for i in meeting["items"] if i["state"] == "planned"] == [
        "KLG-2026-004", "KLG-2026-001", "KLG-2026-006", "KLG-2026-003"]
    [agenda] = status["agendas"]
    assert (agenda["version"], agenda["approved_version"], agenda["approved_by"], agenda["sent_version"]) == (
        2, 2, CHANCELLERY, 2)
    assert agenda["folder"].endswith("agendas/2026-12-01")
    text = inst.klg("status", "--now", at("2026-11-30 14:05").isoformat()).stdout
    assert "Meeting 2026-12-01  [final agenda sent, agenda version 2]" in text
    assert "Agenda 2026-12-01: version 2, version 2 approved by Johan Ek at 2026-11-30 11:30, version 2 sent at " \
           "2026-11-30 14:00" in text
    later = next(m for m in status["meetings"] if m["date"] == "2026-12-08")
    assert {i["id"] for i in later["items"]} == {"KLG-2026-002", "KLG-2026-005"}

    # Monday 16:00 the chair changes the sent agenda and approves in the same reply: an update goes out.
    fixed.set("KLG-2026-001", 2, "Budgetuppföljning oktober och prognos")
    fixed.set("KLG-2026-001", 5, "25")
    inst.drop(make_mail(CHAIR, f"SV: {subject(final)}", "Godkänd", reply_to=final,
                        attachments=[("Dagordning KLG 2026-12-01.docx", fixed.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 16:00"))
    assert "godkänd" in subject(only(inst.sent(), "Dagordning version 3"))
    update = only(inst.sent(), "Uppdaterad dagordning tisdag 1 december 2026")
    assert recipients(update) == sorted(MEMBERS)
    text = body(update)
    assert "Tid 15 → 25 min: KLG-2026-001" in text
    assert "Ny rubrik för KLG-2026-001: ”Budgetuppföljning oktober och prognos”" in text
    assert "Ny starttid 11:05 (var 10:55): KLG-2026-006 Vinterväghållning" in text
    assert [r[:2] + [r[2].split(" | ")[0]] + r[3:] for r in Agenda(docx_of(update)).rows()] == [
        ["09:30–09:50", "Stående", "Information från verksamheterna", "", "", "20"],
        ["09:50–10:10", "KLG-2026-004", "Lokalförsörjningsplan", "Ahmed Karimi", "Diskussion", "20"],
        ["10:10–10:35", "KLG-2026-001", "Budgetuppföljning oktober och prognos", "Maria Holm", "Beslut", "25"],
        ["10:35–11:05", "Paus", "Paus", "", "", "30"],
        ["11:05–11:15", "KLG-2026-006", "Vinterväghållning", "Ahmed Karimi", "Information", "10"],
        ["11:15–11:45", "KLG-2026-003", "Skolskjutsar & <ny> upphandling", "Lena Åkesson", "Information", "30"],
        ["11:45–11:55", "Stående", "Mediaspaning", "", "", "10"],
    ]
    assert recipients(update) == sorted(MEMBERS)
    cal = icalendar.Calendar.from_ical(attachment(update, "Kallelse KLG 2026-12-01.ics"))
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == "klg-2026-12-01@example.org" and event["sequence"] == 1
    updated_pdf = pdf_text(attachment(update, "Dagordning KLG 2026-12-01.pdf"))
    assert "Budgetuppföljning oktober och" in updated_pdf and "prognos" in updated_pdf  # the cell wraps

    # Every version is kept; the minutes start from the version sent last.
    store = inst.store()
    try:
        assert store.count("SELECT COUNT(*) FROM agenda_versions WHERE meeting = ?", [MEETING]) == 3
        sent = final_version(store, MEETING)
        assert sent["version"] == 3 and sent["final_kind"] == "update"
        assert [(r["id"], r["start"], r["minutes"]) for r in sent["rows"]][:4] == [
            (None, "09:30", 20), ("KLG-2026-004", "09:50", 20), ("KLG-2026-001", "10:10", 25), (None, "10:35", 30)]
        book = pdf_text(store.files.get(sent["book_sha256"]))  # agenda, then the documents in agenda order
        assert book.index("Dagordning") < book.index("Budget oktober - 1") < book.index("Utredning om skolskjutsar")
    finally:
        store.close()
    assert (inst.config.data_dir / "agendas" / MEETING / "Mötesbok KLG 2026-12-01.pdf").is_file()
    # Nothing more is due; each step ran once.
    assert inst.tick(at("2026-11-30 16:05"))["steps"] == []
