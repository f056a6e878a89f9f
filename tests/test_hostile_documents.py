"""Hostile documents (issue 11, the documents half), each with what a user sees:
the acknowledgement, the reviewer's answer, the final agenda in every member's
mail, the chancellery's report, the memory a zip bomb costs."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date

import pikepdf
import pytest

from daemon import officezip
from daemon.files import unique_names
from daemon.minutes import document as minutes_document
from daemon.minutes import formcheck
from tests.agenda_helpers import DOCX, docx_of, tiny_pdf
from tests.helpers import (CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, PETER, REPO, at, attachment,
                           attachment_names, body, make_mail, recipients)
from tests.hostile_docs import (as_strict, garbage_span, lying_zip_bomb, nested_annots, nested_arrays, replace_part,
                                with_dtd, with_javascript)
from tests.test_intake_hostile import docx_bytes

MEETING = "2026-12-01"
PEAK_LIMIT_MB = 300
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, r.returncode)")


def flat(text: str) -> str:
    return " ".join(text.split())


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def tick_peak_mb(inst, when) -> int:
    """Run ``klg tick`` as its own process and return its peak resident memory (MB); it must succeed."""
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "daemon", "--config",
                          str(inst.config_path), "tick", "--now", when.isoformat()],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    peak, rc = out.stdout.split()
    assert rc == "0", out.stderr
    return int(peak)


def ack_of(inst, sender):
    return next(m for m in reversed(inst.sent_to(sender)) if "Mottaget" in subject(m))


# --- 1. documents cannot exhaust the machine ---------------------------------------------------


def test_lying_zip_bomb_as_a_proposals_attachment_is_not_kept(inst):
    bomb = lying_zip_bomb(docx_bytes())  # 2.2 MB that inflate to 2 GB, declaring a few hundred bytes
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[("underlag.docx", bomb, DOCX)]))
    peak = tick_peak_mb(inst, at("2026-11-20 09:00"))
    assert peak < PEAK_LIMIT_MB, f"klg tick peaked at {peak} MB"
    ack = ack_of(inst, MARIA)
    assert "underlag.docx ser skadad ut (packas upp till orimlig storlek) och sparades inte" in flat(body(ack))
    store = inst.store()
    assert store.attachments("KLG-2026-001") == []


def test_office_attachment_with_a_dtd_is_not_kept(inst):
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[("a.docx", with_dtd(_docx_with("Budgetuppföljning")),
                                                                  DOCX)]))
    inst.tick(at("2026-11-20 09:00"))
    assert "a.docx innehåller en DTD (<!DOCTYPE>), som Office aldrig skriver, och sparades inte" in \
        flat(body(ack_of(inst, MARIA)))


def _docx_with(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("make, reason", [
    (lambda d: lying_zip_bomb(d), "bomb"),
    (lambda d: d[: len(d) // 2], "not_zip"),  # truncated: the end record is gone
    (lambda d: replace_part(d, "word/document.xml", b"<w:document/>" + b" " * 10), "damaged"),
])
def test_officezip_refuses_what_it_cannot_open_honestly(make, reason):
    with pytest.raises(officezip.Refused) as refused:
        officezip.parts(make(docx_bytes()))
    assert refused.value.reason == reason


def test_officezip_refuses_unbounded_methods_and_too_many_parts():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("word/document.xml", b"<x/>")
    with pytest.raises(officezip.Refused) as refused:
        officezip.scan(out.getvalue())
    assert refused.value.reason == "unsupported"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in range(officezip.RETURNED.max_entries + 1):
            z.writestr(f"p{n}.xml", b"<x/>")
    with pytest.raises(officezip.Refused) as refused:
        officezip.scan(out.getvalue(), officezip.RETURNED)
    assert refused.value.reason == "too_many_entries"


# --- 2. what was approved is what goes out ------------------------------------------------


@pytest.fixture
def drafted(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15\nTyp: beslut"))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 30"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    return inst


def draft_of(inst):
    return next(m for m in inst.sent() if "Utkast" in subject(m))


def agenda_status(inst) -> dict:
    return next(a for a in inst.status(at("2026-11-30 12:00"))["agendas"] if a["date"] == MEETING)


def _edited(draft_docx: bytes) -> bytes:
    from tests.agenda_helpers import Agenda

    agenda = Agenda(draft_docx)
    agenda.set("KLG-2026-002", 5, "25")
    return agenda.bytes()


@pytest.mark.parametrize("spoil, says", [
    (as_strict, "sparat som ”Strikt Open XML-dokument”"),
    (lambda d: d[: len(d) - 300], "bilagan är inget Word-dokument (.docx)"),
    (with_dtd, "innehåller en DTD (<!DOCTYPE>)"),
    (lambda d: garbage_span(d, 2, "abc"), 'Rad 2: cellerna är sammanslagna på ett sätt som inte går att läsa (gridSpan="abc")'),
    (lambda d: garbage_span(d, 1, "9" * 5000), "Rad 1: cellerna är sammanslagna på ett sätt som inte går att läsa"),
    (lambda d: garbage_span(d, 3, "999999999"), 'Rad 3: cellerna är sammanslagna på ett sätt som inte går att läsa (gridSpan="999999999")'),
])
def test_approved_with_an_unreadable_edit_approves_nothing(drafted, spoil, says):
    inst = drafted
    draft = draft_of(inst)
    spoilt = spoil(_edited(docx_of(draft)))
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Godkänd", reply_to=draft,
                        attachments=[("dagordning.docx", spoilt, DOCX)]))
    inst.tick(at("2026-11-30 11:00"))
    answer = inst.sent()[-1]
    assert recipients(answer) == [CHAIR]
    text = flat(body(answer))
    assert text.startswith("Hej Karin! Ditt godkännande gäller inte: det ändrade dokumentet kunde inte läsas, så "
                           "inget är ändrat och inget är godkänt.")
    assert says in text
    assert "Svara då bara OK, utan bilaga" in text
    assert attachment_names(answer) == ["Dagordning KLG 2026-12-01 utkast v1.docx"]
    assert not any("godkänt version" in flat(body(m)) or "är godkänd" in subject(m) for m in inst.sent())
    status = agenda_status(inst)
    assert (status["version"], status["approved_version"], status["approved_by"]) == (1, None, None)


def test_vmerge_garbage_is_read_not_raised(drafted):
    inst = drafted
    draft = draft_of(inst)
    edited = garbage_span(_edited(docx_of(draft)), 2, "nonsense", what="vMerge")
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Godkänd", reply_to=draft,
                        attachments=[("dagordning.docx", edited, DOCX)]))
    inst.tick(at("2026-11-30 11:00"))
    answer = inst.sent()[-1]
    assert 'vMerge="nonsense"' in flat(body(answer)) and "inget är godkänt" in flat(body(answer))
    assert agenda_status(inst)["approved_version"] is None


def test_lying_zip_bomb_as_the_edited_agenda(drafted):
    inst = drafted
    draft = draft_of(inst)
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "Godkänd", reply_to=draft,
                        attachments=[("dagordning.docx", lying_zip_bomb(_edited(docx_of(draft))), DOCX)]))
    peak = tick_peak_mb(inst, at("2026-11-30 11:00"))
    assert peak < PEAK_LIMIT_MB, f"klg tick peaked at {peak} MB"
    text = flat(body(inst.sent()[-1]))
    assert "Ditt godkännande gäller inte" in text and "packas upp till en orimlig storlek" in text
    assert agenda_status(inst)["approved_version"] is None


def _form() -> bytes:
    return minutes_document.render(REPO / "templates", "sv", minutes_document.FORM, minutes_document.SAMPLE_FORM)


def _check_form(data: bytes, config) -> list[str]:
    raw = minutes_document.read_form(data)
    checked = formcheck.check(raw, config=config, meeting=date(2026, 12, 1), today=date(2026, 12, 1),
                              form_rows=[{"id": "KLG-2026-001", "title": "Prov"}], form_followups=[],
                              secretary=config.members[1], next_meeting=lambda d, inc: d,
                              item_exists=lambda i: True, language="sv")
    return [f"{p['where']}: {p['problem']} — {p['fix']}" for p in checked.problems]


def test_minutes_form_with_hostile_cells_or_parts_names_the_problem(inst):
    form = _form()
    problems = _check_form(garbage_span(form, 1, "999999999"), inst.config)
    assert problems == ['Tabell 3, rad 2: cellerna är sammanslagna på ett sätt som inte går att läsa '
                        '(gridSpan="999999999") — dela upp cellerna på raden (Word: Layout → Dela celler) eller skriv om raden']
    assert _check_form(with_dtd_form(form), inst.config)[0].startswith(
        "Formuläret: dokumentet innehåller en DTD (<!DOCTYPE>), som Word aldrig skriver")
    assert _check_form(as_strict(form), inst.config)[0].startswith(
        "Formuläret: dokumentet är sparat som ”Strikt Open XML-dokument”")


def with_dtd_form(form: bytes) -> bytes:
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(form)).read("word/document.xml").decode("utf-8")
    head, _, rest = xml.partition("?>")
    return replace_part(form, "word/document.xml",
                        (head + '?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + rest).encode())


def test_minutes_form_as_a_lying_zip_bomb_peaks_low(tmp_path):
    bomb = tmp_path / "form.docx"
    bomb.write_bytes(lying_zip_bomb(_form()))
    script = ("import sys; from pathlib import Path; from daemon.minutes.document import read_form; "
              "raw = read_form(Path(sys.argv[1]).read_bytes()); print(raw.unreadable[0]['key'])")
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-c", script, str(bomb)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    peak, rc = out.stdout.split()
    assert rc == "0" and int(peak) < PEAK_LIMIT_MB


# --- 3. the agenda survives any one member's document ---------------------------------------


@pytest.mark.libreoffice
def test_final_agenda_reaches_everyone_despite_hostile_pdfs(inst):
    """A PDF nested 5,000 deep (pypdf's RecursionError, qpdf's stack), one nested 300 deep and
    one with JavaScript: the book is made, every member gets the final agenda, the broken
    documents go as they came and are named to the chancellery; no JavaScript in the book."""
    inst.edit_config("max_mail_mb = 15 ", "max_mail_mb = 0.05 ")
    big = tiny_pdf("Budgetunderlag", pages=2) + b"%" + b"x" * 60_000 + b"\n"
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[("budget.pdf", big, "application/pdf"),
                                                                  ("djup.pdf", nested_annots(5000), "application/pdf")]))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 20", attachments=[
        ("aktiv.pdf", with_javascript("Aktivt innehall"), "application/pdf"),
        ("lager.pdf", nested_arrays(300), "application/pdf"),
        ("trasig.pdf", b"%PDF-1.4\n" + b"garbage " * 100, "application/pdf")]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = next(m for m in inst.sent() if "Utkast" in subject(m))
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    result = inst.tick(at("2026-11-30 14:00"))
    assert f"final:{MEETING}" in result["steps"]
    for member in MEMBERS:
        [final] = [m for m in inst.sent_to(member) if subject(m).startswith("[KLG 2026-12-01] Dagordning tisdag")]
        names = attachment_names(final)
        assert "Mötesbok KLG 2026-12-01.pdf" in names and "Dagordning KLG 2026-12-01.pdf" in names
    names = attachment_names(final)
    assert [n for n in names if n.endswith(".pdf") and not n.startswith(("Dagordning", "Mötesbok"))] == ["trasig.pdf"]
    assert attachment(final, "trasig.pdf") == b"%PDF-1.4\n" + b"garbage " * 100  # as it came
    book = pikepdf.open(io.BytesIO(attachment(final, "Mötesbok KLG 2026-12-01.pdf")))
    raw = attachment(final, "Mötesbok KLG 2026-12-01.pdf")
    assert b"JavaScript" not in raw and b"Launch" not in raw and b"EmbeddedFile" not in raw and b"calc.exe" not in raw
    assert "/OpenAction" not in book.Root
    with book.open_outline() as outline:
        titles = [o.title for o in outline.root] + [c.title for o in outline.root for c in o.children]
    assert {"aktiv.pdf", "budget.pdf", "djup.pdf", "lager.pdf"} <= set(titles)  # cleaned, then merged
    assert "trasig.pdf" not in titles
    [report] = [m for m in inst.sent() if "Dagordningen skickades, men något saknas" in subject(m)]
    assert recipients(report) == [CHANCELLERY]
    text = flat(body(report))
    assert "trasig.pdf kunde inte tas med i mötesboken (the PDF cannot be read" in text
    assert "den skickades till ledamöterna som den kom" in text
    assert "De är bifogade som de kom: trasig.pdf." in flat(body(final))


def test_book_survives_a_pdf_that_crashes_its_reader(inst):
    """qpdf overflows its stack (SIGSEGV) copying a reference chain 100,000 long, so the chain is
    measured (without recursion) in a child process and the annotations dropped before any copy."""
    from daemon import pdfclean

    with pytest.raises(pdfclean.Unusable):
        pdfclean.clean(b"%PDF-1.4\n" + b"garbage " * 100)
    clean = pdfclean.clean(nested_annots(100_000))  # annotations too deep: dropped, the page kept
    assert len(pikepdf.open(io.BytesIO(clean)).pages) == 1
    cleaned = pdfclean.clean(with_javascript())
    assert b"JavaScript" not in cleaned and b"Launch" not in cleaned and b"evil.exe" not in cleaned
    assert b"https://example.org/" in cleaned  # an ordinary link stays


def test_the_cleaner_reads_a_stored_document_from_its_file(tmp_path):
    """Converting ahead hands the cleaner the file store's file, not its bytes (the daemon then
    holds only the clean PDF): the same clean PDF, the same refusal."""
    from daemon import pdfclean

    stored = tmp_path / "doc"
    stored.write_bytes(with_javascript())
    from_file = pdfclean.clean(stored)
    assert b"JavaScript" not in from_file and b"https://example.org/" in from_file
    from_bytes = pdfclean.clean(with_javascript())
    assert len(pikepdf.open(io.BytesIO(from_file)).pages) == len(pikepdf.open(io.BytesIO(from_bytes)).pages)
    stored.write_bytes(b"%PDF-1.4\n" + b"garbage " * 100)
    with pytest.raises(pdfclean.Unusable, match="cannot be read"):
        pdfclean.clean(stored)


# --- 4. names ---------------------------------------------------------------------------------


def test_members_files_never_carry_klgs_own_names(inst):
    ics = (b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nDTSTART:20261201T070000Z\r\n"
           b"SUMMARY:KLG\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[
        ("Dagordning KLG 2026-12-01.pdf", tiny_pdf("Falsk dagordning"), "application/pdf"),
        ("Kallelse KLG 2026-12-01.ics", ics, "text/calendar"),
        ("x.pdf", tiny_pdf("1"), "application/pdf"), ("x (2).pdf", tiny_pdf("2"), "application/pdf"),
        ("x.pdf", tiny_pdf("3"), "application/pdf")]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = next(m for m in inst.sent() if "Utkast" in subject(m))
    inst.drop(make_mail(CHAIR, f"SV: {subject(draft)}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    inst.tick(at("2026-11-30 14:00"))
    final = next(m for m in inst.sent_to(PETER) if subject(m).startswith("[KLG 2026-12-01] Dagordning tisdag"))
    names = attachment_names(final)
    assert names.count("Dagordning KLG 2026-12-01.pdf") <= 1 and names.count("Kallelse KLG 2026-12-01.ics") == 1
    assert "KLG-2026-001 Dagordning KLG 2026-12-01.pdf" in names
    assert "KLG-2026-001 Kallelse KLG 2026-12-01.ics" in names
    assert [n for n in names if n.startswith("x")] == ["x.pdf", "x (2).pdf", "x (3).pdf"]
    theirs = next(p for p in final.iter_attachments() if p.get_filename() == "KLG-2026-001 Kallelse KLG 2026-12-01.ics")
    assert theirs.get_content_type() == "application/octet-stream"  # no client offers it as the invitation
    ours = next(p for p in final.iter_attachments() if p.get_filename() == "Kallelse KLG 2026-12-01.ics")
    assert b"SUMMARY:KLG\r\n" not in ours.get_payload(decode=True)
    stored = [a["name"] for a in inst.store().attachments("KLG-2026-001")]
    assert stored[2:] == ["x.pdf", "x (2).pdf", "x (3).pdf"]


def test_unique_names_never_repeats_a_number():
    assert unique_names(["x.pdf", "x (2).pdf", "x.pdf"]) == ["x.pdf", "x (2).pdf", "x (3).pdf"]
    assert unique_names(["a.pdf"], taken=["A.PDF", "a (2).pdf"]) == ["a (3).pdf"]


# --- 5. numbers and dates ---------------------------------------------------------------------


def test_a_million_digits_and_the_year_9999_give_warnings(inst):
    inst.drop(make_mail(MARIA, "Siffror", "Tid: " + "9" * 1_000_000 + "\n\nBeskrivning."))
    inst.drop(make_mail(ERIK, "Långt fram", "Möte: 9999-12-31"))
    inst.drop(make_mail(LENA, "Nästan", "Möte: 2028-06-01"))
    result = inst.tick(at("2026-11-20 09:00"))
    assert result["messages"] == 3 and not inst.folder("inbox")
    maria = flat(body(ack_of(inst, MARIA)))
    assert "förstods inte som en tid i minuter (1–240); standardtiden används" in maria
    assert len(body(ack_of(inst, MARIA))) < 1_100_000  # the description is kept, the warning quotes a little
    erik = flat(body(ack_of(inst, ERIK)))
    assert "Möte: 9999-12-31 ligger för långt fram; ärendet planerades för nästa möte." in erik
    items = {i["title"]: i for m in inst.status(at("2026-11-20 09:00"))["meetings"] for i in m["items"]}
    assert items["Långt fram"]["minutes"] == 10
    assert "Nästan" in items  # 2028 is not too far: planned for that meeting


def test_comes_back_in_the_year_9999_is_a_problem_not_an_exception(inst):
    raw = formcheck.RawForm(has_items_table=True, rows=[
        {"line": 2, "id": "KLG-2026-001", "title": "Prov", "outcome": "Diskussion", "comes_back": "9999-12-31",
         "communicate": "Ja"}])
    checked = formcheck.check(raw, config=inst.config, meeting=date(2026, 12, 1), today=date(2026, 12, 1),
                              form_rows=[{"id": "KLG-2026-001", "title": "Prov"}], form_followups=[],
                              secretary=inst.config.members[1], next_meeting=lambda d, inc: d,
                              item_exists=lambda i: True, language="sv")
    assert [p["problem"] for p in checked.problems] == ["inget möte är planerat så långt fram som 9999-12-31"]


# --- 6. limits on what klg sends for others ---------------------------------------------------


def test_forty_written_procedures_in_one_pass_are_bounded_and_listed(inst):
    """40 proposals for written procedure: the storm guard answers 30 (the rest wait in quarantine),
    10 of those circulate to the 7 others, 20 are held and listed to the chancellery."""
    for n in range(40):
        inst.drop(make_mail(MARIA, f"Remiss {n + 1:02d}", "Skriftligt förfarande: ja"))
    inst.tick(at("2026-11-20 09:00"))
    sent = inst.sent()
    to_others = [m for m in sent if MARIA not in recipients(m)]
    limit = inst.config.security.mail_for_others_per_sender_per_hour
    held_list = [m for m in to_others if "väntar på kansliet" in subject(m)]
    assert len(held_list) == 1 and recipients(held_list[0]) == [CHANCELLERY]
    text = flat(body(held_list[0]))
    assert len(inst.folder("quarantine")) == 10  # beyond the 30 answers an hour
    assert text.count("– Maria Holm") == 30 - limit
    # at most `limit` circulations went out, each to the 7 other members, plus the one list
    assert len(to_others) == limit * 7 + 1, sorted({subject(m) for m in to_others})
    told = [m for m in inst.sent_to(MARIA) if "väntar på kansliet" in subject(m)]
    assert len(told) == 1 and "Remiss 30" in body(told[0]) and "Remiss 10" not in body(told[0])
    status = inst.status(at("2026-11-20 09:05"))["circulations"]
    assert sum(c["state"] == "held" for c in status) == 30 - limit
    # the chancellery starts one by replying to the list
    held_id = next(c["item"] for c in status if c["state"] == "held")
    inst.drop(make_mail(CHANCELLERY, f"SV: {subject(held_list[0])}", f"Skriftligt förfarande: {held_id}",
                        reply_to=held_list[0]))
    before = len(inst.sent())
    inst.tick(at("2026-11-20 09:10"))
    new = inst.sent()[before:]
    assert sum(1 for m in new if held_id in subject(m) and MARIA not in recipients(m)) >= 6
    states = {c["item"]: c["state"] for c in inst.status(at("2026-11-20 09:15"))["circulations"]}
    assert states[held_id] == "open"


def test_thirty_late_amendments_give_one_notice(inst):
    for n in range(30):
        inst.drop(make_mail(MARIA, f"Punkt {n + 1:02d}", "Tid: 10"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    acks = [m for m in inst.sent_to(MARIA) if "Mottaget" in subject(m)]
    assert len(acks) == 30
    for ack in acks:
        inst.drop(make_mail(MARIA, f"SV: {subject(ack)}", "Tid: 5", reply_to=ack))
    before = len(inst.sent())
    inst.tick(at("2026-11-30 11:00"))
    notices = [m for m in inst.sent()[before:] if CHAIR in recipients(m)]
    assert len(notices) == 1
    assert subject(notices[0]) == "[KLG 2026-12-01] 30 ändrade ärenden på dagordningen"
    assert flat(body(notices[0])).count("Tid: 10 → 5 min") == 30
    # one more change right after (by the chancellery: Maria has had her 30 answers this hour)
    # waits for the gathering time, then comes alone
    inst.drop(make_mail(CHANCELLERY, f"SV: {subject(acks[0])}", "Tid: 7", reply_to=acks[0]))
    inst.tick(at("2026-11-30 11:02"))
    assert not [m for m in inst.sent()[before + len(notices) + 30:] if CHAIR in recipients(m)]
    inst.tick(at("2026-11-30 11:06"))
    late = [m for m in inst.sent() if CHAIR in recipients(m) and "Ändrat ärende" in subject(m)]
    assert len(late) == 1 and "Tid: 10 → 7 min" in flat(body(late[0]))  # against the agenda
