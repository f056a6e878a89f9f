"""The agenda's documents and settings: the pure layout, the Word templates a
chancellery may break, the English set, the meeting book, config errors."""

from __future__ import annotations

import io
import shutil
from datetime import time

import docx
import pytest
from pypdf import PdfReader

from daemon.agenda import layout
from daemon.config import Schedule, StandingItem, StepTime
from tests.agenda_helpers import Agenda, docx_of, pdf_text, tiny_pdf
from tests.helpers import CHAIR, CHANCELLERY, ERIK, MARIA, REPO, at, attachment, attachment_names, body, make_mail

SCHEDULE = Schedule(recurrence="FREQ=WEEKLY;BYDAY=TU", first_date=None, start=time(9, 30), end=time(12, 0),
                    break_start=time(10, 30), break_minutes=30, location="", proposal_deadline=StepTime(1, time(10)),
                    long_document_deadline=StepTime(7, time(9, 30)), draft=StepTime(1, time(10, 5)),
                    final=StepTime(1, time(14)))
STANDING = (StandingItem("Information", 20, "first"), StandingItem("Media", 10, "last"), StandingItem("Ekonomi", 5, "2"))


def item(n: int, minutes: int) -> dict:
    return layout.item_row({"id": f"KLG-2026-{n:03d}", "title": f"Punkt {n}", "presenter": "P", "kind": "beslut",
                            "minutes": minutes}, [])


def test_layout_standing_items_break_and_overrun():
    rows = layout.draft_rows([item(1, 15), item(2, 30), item(3, 20)], SCHEDULE, STANDING, "sv")
    assert [(r["start"], r["end"], r["title"]) for r in rows] == [
        ("09:30", "09:50", "Information"), ("09:50", "09:55", "Ekonomi"), ("09:55", "10:10", "Punkt 1"),
        ("10:10", "10:40", "Punkt 2"), ("10:40", "11:10", "Paus"), ("11:10", "11:30", "Punkt 3"),
        ("11:30", "11:40", "Media")]
    assert layout.warnings(rows, SCHEDULE, "sv") == []
    long = layout.draft_rows([item(1, 60), item(2, 90)], SCHEDULE, STANDING, "en")
    assert [r["title"] for r in long] == ["Information", "Ekonomi", "Punkt 1", "Break", "Punkt 2", "Media"]
    [warning] = layout.warnings(long, SCHEDULE, "en")
    assert "ends at 13:05, 65 minutes after the meeting's end at 12:00" in warning
    short = layout.draft_rows([item(1, 10)], SCHEDULE, (), "sv")
    assert [r["title"] for r in short] == ["Punkt 1"]  # nothing to break for


def test_layout_changes():
    old = layout.draft_rows([item(1, 15), item(2, 30), item(3, 20)], SCHEDULE, (), "sv")
    assert [r["title"] for r in old] == ["Punkt 1", "Punkt 2", "Paus", "Punkt 3"]
    new = layout.timed([old[3], old[0], {**old[1], "minutes": 25}], time(9, 30))
    lines = layout.describe_all(layout.changes(old, new, "sv"), "sv")
    assert lines == ["Borttagen: Paus", "Flyttad från plats 3 till plats 1: KLG-2026-003 Punkt 3",
                     "Tid 30 → 25 min: KLG-2026-002 Punkt 2"]


def broken_templates(inst, old: str, new: str):
    """A copy of the templates whose agenda.docx has ``old`` replaced by ``new`` in one paragraph."""
    folder = inst.root / "templates"
    shutil.copytree(REPO / "templates", folder)
    path = folder / "sv" / "agenda.docx"
    d = docx.Document(path)
    paragraphs = [p for t in d.tables for row in t.rows for c in row.cells for p in c.paragraphs]
    target = next(p for p in paragraphs if old in p.text)
    target.runs[0].text = target.text.replace(old, new)
    for r in target.runs[1:]:
        r.text = ""
    d.save(path)
    inst.edit_config('templates = "' + str(REPO / "templates") + '"', f'templates = "{folder}"')
    return path


@pytest.mark.parametrize("old, new, named", [
    ("{{ location }}", "{{ location }", "{{ location }"),
    ("{{ row.presenter }}", "{{ row.presentr }}", "{{ row.presentr }}"),
    ("{{ row.minutes }}", "{{ row.minutes | nosuchfilter }}", "nosuchfilter"),
])
def test_a_broken_template_tag_is_named(inst, old, new, named):
    path = broken_templates(inst, old, new)
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert str(path) in result.stderr and named in result.stderr
    inst.drop(make_mail(MARIA, "Budget", "Tid: 10"))
    inst.tick(at("2026-11-27 09:00"))
    assert inst.tick(at("2026-11-30 10:05"))["steps"] == []  # the draft step failed …
    [failure] = [m for m in inst.sent() if "kunde inte genomföras" in str(m["Subject"])]
    assert named in body(failure)  # … and the chancellery was told which tag
    assert not [m for m in inst.sent() if "Utkast" in str(m["Subject"])]


def test_the_templates_pass_check_config(inst):
    result = inst.klg("check-config")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("old, new, named", [
    ("max_mail_mb = 15 ", "max_mail_mb = -1 ", "agenda.max_mail_mb = -1"),
    ('reminder = "13:00"', 'reminder = "25:00"', "agenda.reminder = '25:00'"),
    ('reminder = "13:00"', 'reminder = "15:00"', "must come before schedule.final.time (14:00)"),
    ("[agenda]\n", "[agenda]\nmax_mb = 3\n", "agenda.max_mb is not a known key"),
    ("max_book_mb = 25 ", "max_book_mb = 10 ", "agenda.max_book_mb = 10: must be at least agenda.max_mail_mb"),
    ("[minutes]\n# secretaries", '[minutes]\nsecretaries = ["Karin Berg", "Nils Nobody"]\n# secretaries',
     "minutes.secretaries[1] = 'Nils Nobody'"),
])
def test_config_errors_exit_2_naming_the_key(inst, old, new, named):
    inst.edit_config(old, new)
    result = inst.klg("status")
    assert result.returncode == 2
    assert named in result.stderr


def test_english_agenda_and_review(inst):
    inst.edit_config('language = "sv"', 'language = "en"')
    inst.drop(make_mail(MARIA, "Budget follow-up", "Time: 15\nKind: decision"))
    inst.drop(make_mail(ERIK, "Recruitment", "Time: 20"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = inst.sent()[-1]
    assert str(draft["Subject"]) == "[KLG 2026-12-01] Draft agenda – please review and reply by 14:00"
    agenda = Agenda(docx_of(draft))
    assert agenda.header == ["Time", "No.", "Item", "Presenter", "Kind", "Min"]
    assert agenda.rows()[1] == ["09:50–10:05", "KLG-2026-001", "Budget follow-up", "Maria Holm", "Decision", "15"]
    assert "Tuesday 1 December 2026" in "\n".join(p.text for t in agenda.doc.tables for r in t.rows for c in r.cells
                                                 for p in c.paragraphs)
    agenda.set("KLG-2026-002", 4, "Information")
    agenda.set("KLG-2026-002", 5, "1 h")
    inst.drop(make_mail(CHANCELLERY, f"Re: {draft['Subject']}", "Approved", reply_to=draft,
                        attachments=[("agenda.docx", agenda.bytes(), "application/octet-stream")]))
    inst.tick(at("2026-11-30 10:30"))
    version = inst.sent()[-1]
    assert str(version["Subject"]) == "[KLG 2026-12-01] Agenda version 2 – approved"
    assert "Kind Discussion → Information: KLG-2026-002 Recruitment" in body(version)
    assert "Time 20 → 60 min: KLG-2026-002 Recruitment" in body(version)


@pytest.mark.libreoffice
def test_meeting_book_instead_of_large_attachments(inst):
    """Attachments over [agenda] max_mail_mb: one PDF, agenda first, a bookmark per item."""
    inst.edit_config("max_mail_mb = 15 ", "max_mail_mb = 0.1 ")
    big = tiny_pdf("Budgetunderlag", pages=3) + b"%" + b"x" * 70_000 + b"\n"
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[("budget.pdf", big, "application/pdf")]))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 20", attachments=[
        ("profil.pdf", tiny_pdf("Kravprofil"), "application/pdf"), ("annons.pdf", tiny_pdf("Annons"), "application/pdf"),
        ("länk.url", b"[InternetShortcut]\nURL=https://example.org\n", "application/octet-stream")]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = inst.sent()[-1]
    assert attachment_names(draft) == ["Dagordning KLG 2026-12-01 utkast v1.docx"]  # too large for the draft, too
    assert "budget.pdf" in body(draft)
    inst.drop(make_mail(CHAIR, f"SV: {draft['Subject']}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 14:00"))
    final = next(m for m in inst.sent() if "Dagordning tisdag" in str(m["Subject"]))
    assert attachment_names(final) == ["Dagordning KLG 2026-12-01.docx", "Dagordning KLG 2026-12-01.pdf",
                                       "Kallelse KLG 2026-12-01.ics", "Mötesbok KLG 2026-12-01.pdf", "länk.url"]
    assert "mötesboken Mötesbok KLG 2026-12-01.pdf" in " ".join(body(final).split())
    # named as left out of the book, and attached as it came since the mail has room for it
    assert "kunde inte tas med i mötesboken: länk.url. De är bifogade som de kom: länk.url." in " ".join(body(final).split())
    book = attachment(final, "Mötesbok KLG 2026-12-01.pdf")
    reader = PdfReader(io.BytesIO(book))
    assert len(reader.pages) == 1 + 3 + 1 + 1
    outline = [(o.title if not isinstance(o, list) else [c.title for c in o]) for o in reader.outline]
    assert outline == ["Dagordning", "KLG-2026-001 Budget", ["budget.pdf"], "KLG-2026-002 Rekrytering",
                       ["profil.pdf", "annons.pdf"]]
    text = pdf_text(book)
    assert text.index("Dagordning") < text.index("Budgetunderlag - 1") < text.index("Kravprofil") < text.index("Annons")
    assert [reader.get_destination_page_number(o) for o in reader.outline if not isinstance(o, list)] == [0, 1, 4]


def test_decision_after_written_procedure_is_marked(inst):
    """An item the written procedure put on the agenda shows its kind plainly, with its compilation."""
    from daemon.attachments import Checked, keep
    from daemon.mail.message import Attachment
    from daemon.store import iso

    inst.drop(make_mail(MARIA, "Budget", "Tid: 15"))
    inst.tick(at("2026-11-27 09:00"))
    store = inst.store()
    try:
        with store.atomic():
            now = at("2026-11-27 12:00")
            store.db["items"].insert({
                "id": "KLG-2026-002", "year": 2026, "seq": 2, "title": "Riktlinje för representation",
                "description": "", "presenter": "Johan Ek", "proposer": CHANCELLERY, "minutes": 5, "kind": "beslut",
                "written_procedure": 1, "meeting": "2026-12-01", "position": 2, "state": "planned", "late": 0,
                "origin": "circulation", "created_at": iso(now), "updated_at": iso(now)})
            keep(store, "KLG-2026-002", [Checked(Attachment("Sammanställning.docx", "application/octet-stream",
                                                            b"PK-not-really"))], now, None)
    finally:
        store.close()
    inst.tick(at("2026-11-30 10:05"))
    draft = inst.sent()[-1]
    rows = Agenda(docx_of(draft)).rows()
    assert rows[2][1:5] == ["KLG-2026-002", "Riktlinje för representation | Bilagor: Sammanställning.docx",
                            "Johan Ek", "Beslut efter skriftligt förfarande"]
    assert "Beslut efter skriftligt förfarande (sammanställningen är bifogad):" in body(draft)
    assert "KLG-2026-002 Riktlinje för representation" in body(draft)


def _schema_problems(data: bytes) -> list[str]:
    """Duplicated or out-of-order property elements: what makes Word offer to repair a file."""
    import zipfile

    from lxml import etree

    from daemon.agenda.ooxml import SEQUENCES, W

    problems = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if not name.endswith(".xml"):
                continue
            root = etree.fromstring(z.read(name))
            for tag in ("pPr", "tblPr", "tcPr", "rPr", "trPr", "sectPr"):
                for el in root.iter(f"{{{W}}}{tag}"):
                    names = [c.tag.split("}")[1] for c in el]
                    if len(set(names)) != len(names):
                        problems.append(f"{name}: {tag} repeats a child: {names}")
                    if tag in SEQUENCES:
                        ranks = [SEQUENCES[tag].index(n) for n in names if n in SEQUENCES[tag]]
                        if ranks != sorted(ranks):
                            problems.append(f"{name}: {tag} children out of order: {names}")
    return problems


@pytest.mark.parametrize("language", ["sv", "en"])
def test_templates_and_rendered_agendas_are_valid_for_word(language):
    from daemon.agenda import document

    template = REPO / "templates" / language / "agenda.docx"
    assert _schema_problems(template.read_bytes()) == []
    assert _schema_problems(document.render(template, document.SAMPLE_CONTEXT)) == []
