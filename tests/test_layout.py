"""The Word templates' layout as a reader meets it (issue 18): a column header is never broken
mid-word, a heading stays with what follows it, no page holds only the signing note, and
"Kommuniceras" is written only where it says Nej, and only in the group's own copy.

The fast tests read the committed templates and render them with docxtpl; the slow ones convert
them with real LibreOffice and read the PDF's pages with pdftotext."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn

from daemon import pdf
from daemon.circulation import document as compilation
from daemon.minutes import document
from tests.helpers import REPO

TEMPLATES = REPO / "templates"
ALL = [(lang, name) for lang in ("sv", "en")
       for name in ("agenda.docx", "compilation.docx", "minutes.docx", "minutes_document.docx")]
# the column headers of the tables, in the narrowest columns: none may be broken over two lines
HEADERS = {"sv": ["Kommuniceras", "Föredragande", "Återkommer", "Ställningstagande", "Närvarande"],
           "en": ["Communicate", "Presenter", "Comes back", "Position", "Responsible"]}
SIGNING = {"sv": ("Justering", "Karin Berg"), "en": ("Signatures", "Karin Berg")}


def _xml(lang: str, name: str, part: str = "word/document.xml") -> str:
    with zipfile.ZipFile(TEMPLATES / lang / name) as z:
        return z.read(part).decode("utf-8")


def _text(data: bytes) -> str:
    d = Document(io.BytesIO(data))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def _pages(data: bytes) -> list[str]:
    """The PDF's pages as pdftotext reads them (form feed between pages), the empty last one dropped."""
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True,
                          timeout=60).stdout.decode()
    return [p for p in text.split("\f") if p.strip()]


def _document(lang: str, **row) -> dict:
    sample = document.SAMPLE_DOCUMENT
    return {**sample, "rows": [{**sample["rows"][0], **row}]}


@pytest.mark.parametrize("lang,name", ALL)
def test_header_cells_are_not_hyphenated_and_stay_with_the_first_row(lang, name):
    doc = Document(str(TEMPLATES / lang / name))
    for table in doc.tables:
        row = table.rows[0]
        if row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None:
            continue  # the facts and the counts have no header row
        for cell in row.cells:
            ppr = cell.paragraphs[0]._p.pPr
            assert ppr is not None and ppr.find(qn("w:suppressAutoHyphens")) is not None, (name, cell.text)
            assert cell.paragraphs[0].paragraph_format.keep_with_next, (name, cell.text)
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None, name


@pytest.mark.parametrize("lang,name", ALL)
def test_every_klg_style_has_widow_control_and_headings_keep_with_next(lang, name):
    doc = Document(str(TEMPLATES / lang / name))
    styles = [s for s in doc.styles if s.name.startswith("KLG ") and s.type == 1]
    assert styles
    for style in styles:
        assert style.paragraph_format.widow_control, (name, style.name)
        if style.element.pPr is not None and style.element.pPr.find(qn("w:outlineLvl")) is not None \
                and style.name != "KLG Rubrik":
            assert style.paragraph_format.keep_with_next, (name, style.name)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_signing_block_keeps_together_with_its_note(lang):
    doc = Document(str(TEMPLATES / lang / document.DOCUMENT))
    [signatures] = [t for t in doc.tables if 'w:val="klg-signatures"' in t._tbl.tblPr.xml]
    for row in signatures.rows:
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert all(p.paragraph_format.keep_with_next for c in row.cells for p in c.paragraphs)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_last_point_keeps_with_the_signing_block(lang):
    """In the rendered minutes the last point, from its heading to its last line, keeps with the
    signing heading; an earlier point's text does not, so only the end of the minutes moves."""
    heading, _ = SIGNING[lang]
    sample = document.SAMPLE_DOCUMENT
    rows = [{**sample["rows"][0], "no": n, "title": f"Punkt {n}", "notes": f"Text {n}", "comes_back": f"möte {n}"}
            for n in (1, 2)]
    doc = Document(io.BytesIO(document.render(TEMPLATES, lang, document.DOCUMENT,
                                              {**sample, "rows": rows, "followups": []})))
    texts = [p.text for p in doc.paragraphs]
    first, last, signing = texts.index("§ 1\u2002Punkt 1"), texts.index("§ 2\u2002Punkt 2"), texts.index(heading)
    kept = [p.paragraph_format.keep_with_next for p in doc.paragraphs]
    assert all(kept[last:signing + 1]), list(zip(texts, kept))[last:signing + 1]
    assert not all(kept[first:last]), "the first point is kept with the signatures too"
    # with follow-ups between, their table's last row keeps with the signing block instead
    doc = Document(io.BytesIO(document.render(TEMPLATES, lang, document.DOCUMENT, {**sample, "rows": rows})))
    [followups] = [t for t in doc.tables if 'w:val="klg-followups"' in t._tbl.tblPr.xml]
    assert all(p.paragraph_format.keep_with_next for c in followups.rows[-1].cells for p in c.paragraphs)


@pytest.mark.parametrize("lang,word", [("sv", "Kommuniceras"), ("en", "Communicate")])
def test_communicate_is_written_only_where_it_says_no_and_not_published(lang, word):
    no = "Nej" if lang == "sv" else "No"
    shown = _text(document.render(TEMPLATES, lang, document.DOCUMENT,
                                  _document(lang, communicate=no, show_communicate=True)))
    assert f"{word}: {no}" in shown
    for hidden in (_document(lang, communicate=no, show_communicate=False),  # a published copy
                   _document(lang, communicate="Ja" if lang == "sv" else "Yes", show_communicate=False)):
        assert word not in _text(document.render(TEMPLATES, lang, document.DOCUMENT, hidden))


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_column_headers_are_whole_words_in_the_pdf(lang):
    form = document.render(TEMPLATES, lang, document.FORM, document.SAMPLE_FORM)
    comp = compilation.render(compilation.template_path(TEMPLATES, lang), compilation.sample_context())
    text = "\n".join(_pages(pdf.to_pdf(form, "form.docx")) + _pages(pdf.to_pdf(comp, "compilation.docx")))
    words = set(re.findall(r"\w+", text))
    for header in HEADERS[lang]:
        assert all(w in words for w in header.split()), f"{header!r} is broken in the PDF:\n{text}"
    assert not re.search(r"\w-\n", text), "a word is hyphenated at a line's end"


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", ["sv"])
def test_no_page_holds_only_the_signing_note(lang):
    """Minutes of growing length, so that the page break falls at every place near the signing
    block in turn: the last page always has the heading and the signatures with the note."""
    heading, signer = SIGNING[lang]
    note = "Justerat genom svar från respektive justerares e-postadress till klg@sjovik.se; tiderna ovan " \
           "är när svaren kom in."
    sample = document.SAMPLE_DOCUMENT
    seen_breaks = 0
    for extra in range(0, 16, 2):
        rows = [{**sample["rows"][0], "no": n + 1, "title": f"Punkt {n + 1}",
                 "notes": "Anteckningar om punkten. " * (6 + extra)} for n in range(6)]
        context = {**sample, "rows": rows, "followups": [], "signing_note": note,
                   "signing": [{"name": "Karin Berg", "role": "Ordförande", "approved": "2026-12-02 10:00"},
                               {"name": "Erik Sandberg", "role": "Justerare", "approved": "2026-12-02 10:05"}]}
        pages = _pages(pdf.to_pdf(document.render(TEMPLATES, lang, document.DOCUMENT, context), "m.docx"))
        last = pages[-1]
        seen_breaks += len(pages) > 1
        assert "klg@sjovik.se" in last
        assert heading in last and signer in last, f"{extra}: the last page holds only:\n{last}"
    assert seen_breaks  # the lengths did put the block on a later page


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", ["sv"])
def test_the_signatures_page_also_holds_the_last_points_text(lang):
    """The last point's notes grow a few words at a time, so that the page end moves through the
    last point and the signing heading: whatever the length, the page with the signatures also
    holds the last point, its heading and its final sentence."""
    heading, signer = SIGNING[lang]
    sample = document.SAMPLE_DOCUMENT
    rows = [{**sample["rows"][0], "no": n + 1, "title": f"Punkt {n + 1}", "notes": "Anteckningar om punkten. " * 30}
            for n in range(5)]
    page_counts = set()
    for extra in range(110, 128, 3):
        last = {**sample["rows"][0], "no": 6, "title": "Sista punkten",
                "notes": "Anteckningar om punkten. " * extra + "Slutet på sista punkten."}
        context = {**sample, "rows": [*rows, last], "followups": [], "signing_note": "Justerat genom svar.",
                   "signing": [{"name": "Karin Berg", "role": "Ordförande", "approved": "2026-12-02 10:00"},
                               {"name": "Erik Sandberg", "role": "Justerare", "approved": "2026-12-02 10:05"}]}
        pages = _pages(pdf.to_pdf(document.render(TEMPLATES, lang, document.DOCUMENT, context), "m.docx"))
        page_counts.add(len(pages))
        [signatures] = [" ".join(p.split()) for p in pages if "Erik Sandberg" in p]  # lines joined
        assert heading in signatures and signer in signatures
        assert "Slutet på sista punkten." in signatures, f"{extra}: the signatures' page holds only:\n{signatures}"
        assert "Sista punkten" in signatures, f"{extra}: the last point is split from its end:\n{signatures}"
    assert len(page_counts) > 1  # the lengths did move the page end across the block

