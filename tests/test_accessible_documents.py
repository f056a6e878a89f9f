"""What klg sends and publishes can be read with a screen reader and kept in the
archive: every PDF of a demo week is tagged PDF/UA-1 (the Matterhorn Protocol
conditions of tests/pdfua.py) and PDF/A-2, in the group's language, and every
Word document says its language, title and the group as its author."""

from __future__ import annotations

import email
import io
import shutil
import zipfile
from email import policy
from pathlib import Path

import pikepdf
import pytest
from docx import Document
from docx.shared import Cm
from PIL import Image

from daemon import docmeta, pdftags
from daemon import pdf as pdflib
from tests import pdfua
from tests.agenda_helpers import tiny_pdf
from tests.helpers import (
    CHAIR,
    CHANCELLERY,
    MARIA,
    MEMBERS,
    REPO,
    at,
    attachment,
    body,
    make_mail,
    recipients,
)
from tests.test_demo import demo

WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"

# the names of the documents klg makes (a member's own documents go out as they came)
KLG_DOCUMENTS = ("Dagordning", "Agenda", "Mötesbok", "Meeting book", "Minnesanteckningar", "Minutes",
                 "Sammanställning", "Compilation")


def sent_files(folder: Path) -> list[tuple[str, str, bytes]]:
    """(subject, file name, bytes) of every attachment klg sent, and every file it published."""
    out = []
    for sub in ("new", "cur"):
        for path in sorted((folder / "mailboxes" / "sent" / sub).iterdir()):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for part in msg.iter_attachments():
                out.append((" ".join(str(msg["Subject"]).split()), part.get_filename(), part.get_content()))
    for path in sorted((folder / "data").rglob("*")):
        if path.suffix in (".pdf", ".docx") and "files" not in path.parts:
            out.append(("(published)", path.name, path.read_bytes()))
    return out


def book_pages(data: bytes) -> range:
    """The meeting book's own pages (the agenda at its front): those up to its first member document."""
    pdf = pikepdf.open(io.BytesIO(data))
    with pdf.open_outline() as outline:
        items = list(outline.root)
        first_member = pdf.pages.index(pikepdf.Page(items[1].destination[0])) if len(items) > 1 else len(pdf.pages)
    return range(first_member)


def docx_language(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("word/styles.xml").decode()
    start = styles.index("<w:docDefaults")
    defaults = styles[start:styles.index("</w:docDefaults>")]
    return defaults.split('w:lang w:val="')[1].split('"')[0] if 'w:lang w:val="' in defaults else ""


def week_documents(tmp_path: Path, language: str) -> list[tuple[str, str, bytes]]:
    folder = tmp_path / "week"
    result = demo(folder, "--language", language)
    assert result.returncode == 0, result.stdout + result.stderr
    return sent_files(folder)


def check_week(files: list[tuple[str, str, bytes]], lang: str, group: str) -> None:
    pdfs = [(s, n, d) for s, n, d in files if n.endswith(".pdf") and d.startswith(b"%PDF-")]
    klg_pdfs = [(s, n, d) for s, n, d in pdfs if n.startswith(KLG_DOCUMENTS)]
    names = {n for _, n, _ in klg_pdfs}
    # the agenda, the meeting book and the minutes, each version and signed, went out as PDFs
    assert any(n.startswith(("Dagordning", "Agenda")) for n in names), names
    assert any(n.startswith(("Mötesbok", "Meeting book")) for n in names), names
    assert any(n.startswith(("Minnesanteckningar", "Minutes")) for n in names), names
    for subject, name, data in klg_pdfs:
        book = name.startswith(("Mötesbok", "Meeting book"))
        found = pdfua.problems(data, book_pages(data) if book else None)
        if book:  # the members' pages are not tagged, so the book does not claim PDF/UA (its agenda part is)
            found.remove("06-002 the metadata do not say PDF/UA-1 (pdfuaid:part)")
        assert found == [], f"{name} in {subject!r}: {found}"
        assert pdfua.language(data) == lang, name
        pdf = pdfua.open_pdf(data)
        assert str(pdf.docinfo.get("/Title", "")) == name[:-4], name  # the title the viewer shows is the document's
    for subject, name, data in files:
        if not name.endswith(".docx") or not data.startswith(b"PK"):
            continue
        if not name.startswith(KLG_DOCUMENTS):
            continue  # a member's own document goes out as it came
        assert docx_language(data) == lang, f"{name} in {subject!r}"
        props = Document(io.BytesIO(data)).core_properties
        assert props.language == lang and props.author == group, (name, props.language, props.author)
        assert props.title and "python-docx" not in (props.title, props.author), name


@pytest.mark.libreoffice
def test_every_document_of_the_swedish_week_is_accessible_and_pdfa_in_swedish(tmp_path):
    files = week_documents(tmp_path, "sv")
    check_week(files, "sv-SE", "Kommunledningsgruppen")
    # the compilation goes out as Word; as PDF (in the meeting book, or saved by a member) it is accessible too
    [compilation, *_] = [d for _, n, d in files if n.startswith("Sammanställning")]
    data = pdftags.mark_artifacts(pdflib.to_pdf(compilation, "c.docx", filter_options=pdflib.export_options()))
    assert pdfua.problems(data) == []
    assert pdfua.headings(pdfua.open_pdf(data)) == [1, 2, 2, 2, 2, 2]
    assert pdfua.table_headers(pdfua.open_pdf(data)) == [0, 0, 5]  # the facts, the counts, the comments


@pytest.mark.libreoffice
@pytest.mark.slow
def test_the_english_week_says_english(tmp_path):
    files = week_documents(tmp_path, "en")
    check_week(files, "en-GB", "Kommunledningsgruppen")


# --- the checks themselves, on PDFs made to fail them ------------------------------------------------


def untagged_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 10 10 Td (Hej) Tj ET 0 0 m 100 0 l S")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_the_checks_name_what_an_untagged_pdf_lacks():
    found = pdfua.problems(untagged_pdf())
    assert "01 no structure tree (/StructTreeRoot): the PDF is not tagged" in found
    assert "11-006 no /Lang in the catalog" in found
    assert "07-001 /ViewerPreferences has no /DisplayDocTitle" in found
    assert "06-001 no XMP metadata stream in the catalog" in found
    assert any(f.startswith("PDF/A identification") for f in found)


def tagged(content: bytes, kids: list) -> bytes:
    """A one-page PDF with a structure tree of ``kids`` (dicts: S, and Alt, A as wanted)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(content)
    root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
    document = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Document, P=root))
    elements = []
    for mcid, kid in enumerate(kids):
        element = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name("/" + kid["S"]), P=document, K=mcid, Pg=page))
        for key in ("Alt", "A"):
            if key in kid:
                element[f"/{key}"] = kid[key]
        elements.append(element)
    document.K = pikepdf.Array(elements)
    root.K = document
    pdf.Root.StructTreeRoot = root
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    pdf.Root.Lang = pikepdf.String("sv-SE")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_the_checks_find_skipped_headings_figures_without_alt_and_headers_without_scope():
    data = tagged(b"/H1 <</MCID 0>> BDC EMC /H3 <</MCID 1>> BDC EMC /Figure <</MCID 2>> BDC EMC",
                  [{"S": "H1"}, {"S": "H3"}, {"S": "Figure"}])
    pdf = pdfua.open_pdf(data)
    assert pdfua.cp_14(pdf) == ["14-003 H1 is followed by H3"]
    assert pdfua.cp_13_004(pdf) == ["13-004 1 figure(s) without alternative text (/Alt)"]
    assert pdfua.cp_01_005(pdf) == []
    bad_table = pdfua.open_pdf(tagged(b"", [{"S": "TH"}]))
    assert pdfua.cp_15_003(bad_table) == ["15-003 1 table header cell(s) (TH) without /Scope"]
    assert pdfua.cp_09_004(bad_table) == ["09-004 a TH in Document"]
    assert pdfua.cp_14(bad_table) == ["14 no headings (H1, H2 …): a screen reader finds no way through the document"]
    assert pdfua.cp_02_001(pdfua.open_pdf(tagged(b"", [{"S": "KLG Rubrik"}]))) == [
        "02-001 structure types without a standard role: /KLG Rubrik"]


def test_a_rule_drawn_outside_the_structure_becomes_an_artifact_and_tagged_text_stays():
    content = b"/P <</MCID 0>> BDC BT /F1 12 Tf 10 10 Td (Hej) Tj ET EMC q 0.75 w 0 0 m 100 0 l S Q"
    data = tagged(content, [{"S": "P"}])
    assert pdfua.cp_01_005(pdfua.open_pdf(data)) == [
        "01-005 page 1: 1 drawing operation(s) outside the structure and not artifacts"]
    fixed = pdftags.mark_artifacts(data)
    pdf = pdfua.open_pdf(fixed)
    assert pdfua.cp_01_005(pdf) == []
    ops = [str(op) for _, op in pikepdf.parse_content_stream(pdf.pages[0])]
    assert ops == ["BDC", "BT", "Tf", "Td", "Tj", "ET", "EMC", "q", "w", "BMC", "m", "l", "S", "EMC", "Q"]
    assert pdftags.mark_artifacts(untagged_pdf()) == untagged_pdf()  # an untagged PDF is not touched


# --- images: check-config warns of one without alternative text; with it, the PDF's figure has /Alt --------------


def logo() -> io.BytesIO:
    image = io.BytesIO()
    Image.new("RGB", (60, 20), (31, 56, 100)).save(image, "PNG")
    image.seek(0)
    return image


def test_check_config_warns_of_a_template_image_without_alternative_text(inst, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    path = templates / "sv" / "agenda.docx"
    doc = Document(path)
    doc.sections[0].header.paragraphs[0].add_run().add_picture(logo(), width=Cm(3))  # a logo, as a chancellery adds
    doc.save(path)
    inst.edit_config(f'templates = "{REPO / "templates"}"', f'templates = "{templates}"')
    result = inst.klg("check-config")
    assert result.returncode == 0, result.stderr  # a warning, not an error: klg works as before
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("warning: the image")]
    assert warning.startswith(f'warning: the image "Picture 1" in {path} (header1) has no alternative text, so a '
                              "screen reader cannot say what it shows: in Word, right-click it, choose Edit Alt Text")

    doc = Document(path)
    for doc_pr in doc.sections[0].header._element.iter(f"{WP}docPr"):
        doc_pr.set("descr", "Exempel kommuns logotyp")
    doc.save(path)
    result = inst.klg("check-config")
    assert result.returncode == 0 and "warning: the image" not in result.stdout


@pytest.mark.libreoffice
def test_an_image_with_alternative_text_is_a_figure_with_alt_in_the_pdf():
    doc = Document()
    doc.add_paragraph("Rubrik", style="Heading 1")
    doc.add_paragraph().add_run().add_picture(logo(), width=Cm(3))
    for doc_pr in doc.element.body.iter(f"{WP}docPr"):
        doc_pr.set("descr", "Exempel kommuns logotyp")
    data = io.BytesIO()
    doc.save(data)
    pdf = pdfua.open_pdf(pdflib.to_pdf(data.getvalue(), "bild.docx", filter_options=pdflib.export_options()))
    figures = [e for e in pdfua.elements(pdf) if pdfua.role(pdf, e) == "Figure"]
    assert [str(f.Alt) for f in figures] == ["Exempel kommuns logotyp"]
    assert pdfua.cp_13_004(pdf) == []


# --- the meeting book: PDF/A where the members' documents allow, and named to the chancellery where not ----------


@pytest.mark.libreoffice
def test_a_member_pdf_without_embedded_fonts_keeps_the_book_from_pdfa_and_is_named(inst):
    inst.edit_config("max_mail_mb = 15 ", "max_mail_mb = 0.05 ")  # too small for the documents: the book goes
    big = tiny_pdf("Budgetunderlag", pages=2) + b"%" + b"x" * 60_000 + b"\n"
    inst.drop(make_mail(MARIA, "Budget", "Tid: 15", attachments=[("budget.pdf", big, "application/pdf")]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    [draft] = [m for m in inst.sent() if "Utkast" in str(m["Subject"])]
    inst.drop(make_mail(CHAIR, f"SV: {' '.join(str(draft['Subject']).split())}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    inst.tick(at("2026-11-30 14:00"))
    [final] = [m for m in inst.sent_to(MEMBERS[0]) if "Dagordning tisdag" in str(m["Subject"])]
    book_name = "Mötesbok KLG 2026-12-01.pdf"
    book = attachment(final, book_name)
    # the agenda part of the book is still accessible; the book is not PDF/A, and says nothing it is not
    pdf = pdfua.open_pdf(book)
    assert pdfua.accessibility(pdf, book_pages(book)) == ["06-002 the metadata do not say PDF/UA-1 (pdfuaid:part)"]
    assert pdfua.language(book) == "sv-SE" and str(pdf.docinfo.Title) == book_name[:-4]
    assert pdfua.pdfa(pdf)[0].startswith("PDF/A identification: part None")
    assert "PDF/A 6.2.11.4: fonts not embedded: Helvetica" in pdfua.pdfa(pdf)
    assert pdfua.problems(attachment(final, "Dagordning KLG 2026-12-01.pdf")) == []  # the agenda itself is
    [report] = [m for m in inst.sent() if "Dagordningen skickades, men något saknas" in str(m["Subject"])]
    assert recipients(report) == [CHANCELLERY]
    assert ("Mötesboken är inte PDF/A (arkivformat): typsnitten är inte inbäddade i budget.pdf."
            in " ".join(body(report).split()))


def test_a_rendered_word_document_takes_the_groups_language_title_and_author():
    made = io.BytesIO()
    Document().save(made)  # python-docx's own template: en-US, author "python-docx"
    assert docx_language(made.getvalue()) == "en-US"
    data = docmeta.label(made.getvalue(), lang=docmeta.locale("sv"), title="Dagordning KLG 2026-12-01",
                         author="Kommunledningsgruppen")
    assert docx_language(data) == "sv-SE"
    props = Document(io.BytesIO(data)).core_properties
    assert (props.language, props.title, props.author) == ("sv-SE", "Dagordning KLG 2026-12-01",
                                                            "Kommunledningsgruppen")
    assert docmeta.locale("en") == "en-GB"
