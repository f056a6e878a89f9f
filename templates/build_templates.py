#!/usr/bin/env python3
"""Build the Word templates ``templates/{sv,en}/agenda.docx`` with python-docx.

The .docx files are committed; this script is how they were made and how to
make them again after changing the layout here:

    .venv/bin/python templates/build_templates.py

A chancellery restyles the committed files in Word instead (fonts, colours,
logo in the header, margins): every text has a named paragraph style
("KLG …"), and the tags in double braces are filled in by klg. What must stay
is the agenda table: its header row (Tid, Nr, Ärende, Föredragande, Typ, Min)
and the rows between ``{%tr for row in rows %}`` and ``{%tr endfor %}``;
columns may be reordered or narrowed, and Nr must stay, because klg reads the
item numbers back from the edited document.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from daemon.agenda.ooxml import order  # noqa: E402
NAVY = "1F3864"
GREY = "6B6B6B"
RULE = "BFBFBF"
FONT = "Arial"

TEXTS = {
    "sv": {
        "lang": "sv-SE",
        "title": "Dagordning",
        "facts": [("Datum", "{{ date_long }}"), ("Tid", "{{ time_range }}"), ("Plats", "{{ location }}"),
                  ("Ordförande", "{{ chair }}"), ("Sekreterare", "{{ secretary }}")],
        "columns": ["Tid", "Nr", "Ärende", "Föredragande", "Typ", "Min"],
        "closing": "Handlingarna till punkterna finns i utskicket. Förslag till kommande möten mejlas till "
                   "{{ address }} senast {{ deadline_rule }}.",
        "footer": "Dagordning {{ group }} {{ date_long }}",
        "page": ("Sida ", " av "),
    },
    "en": {
        "lang": "en-GB",
        "title": "Agenda",
        "facts": [("Date", "{{ date_long }}"), ("Time", "{{ time_range }}"), ("Place", "{{ location }}"),
                  ("Chair", "{{ chair }}"), ("Secretary", "{{ secretary }}")],
        "columns": ["Time", "No.", "Item", "Presenter", "Kind", "Min"],
        "closing": "The documents for the items come with this mail. Proposals for coming meetings are mailed to "
                   "{{ address }} {{ deadline_rule }}.",
        "footer": "Agenda {{ group }} {{ date_long }}",
        "page": ("Page ", " of "),
    },
}
WIDTHS_CM = [2.2, 2.5, 5.8, 3.0, 2.5, 1.0]  # 17.0 cm: A4 less 2 cm margins


def _shade(element, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    element.append(shd)


def _border(parent, edges: dict[str, tuple[str, int, str]], tag: str) -> None:
    box = OxmlElement(tag)
    for edge, (val, size, color) in edges.items():
        b = OxmlElement(f"w:{edge}")
        b.set(qn("w:val"), val)
        b.set(qn("w:sz"), str(size))
        b.set(qn("w:space"), "0")
        b.set(qn("w:color"), color)
        box.append(b)
    parent.append(box)


def _style(doc, name: str, size: float, *, bold=False, color="222222", base="Normal", before=0, after=0,
           italic=False, keep_next=False):
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles[base]
    style.quick_style = True
    font = style.font
    font.name = FONT
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.color.rgb = RGBColor.from_string(color)
    pf = style.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    pf.keep_with_next = keep_next
    return style


def _field(paragraph, instr: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _cell_margins(table, top=70, bottom=70, left=90, right=90) -> None:
    tbl_pr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for edge, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:w"), str(value))
        e.set(qn("w:type"), "dxa")
        mar.append(e)
    tbl_pr.append(mar)


def _fixed_widths(table, widths_cm: list[float]) -> None:
    table.autofit = False  # python-docx writes <w:tblLayout w:type="fixed"/>
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm):
            cell.width = Cm(width)
    for col, width in zip(table.columns, widths_cm):
        col.width = Cm(width)


def _write(cell, text: str, style) -> None:
    p = cell.paragraphs[0]
    p.style = style
    if text:
        p.add_run(text)


def build(language: str) -> Path:
    t = TEXTS[language]
    doc = Document()
    props = doc.core_properties
    props.title = t["title"]
    props.author = "klg"
    props.comments = "klg agenda template; see templates/build_templates.py"

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.font.color.rgb = RGBColor.from_string("222222")
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), t["lang"])
    rpr.append(lang)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.1

    title = _style(doc, "KLG Rubrik", 24, bold=True, color=NAVY, after=0)
    subtitle = _style(doc, "KLG Underrubrik", 13, color=NAVY, after=2)
    status = _style(doc, "KLG Status", 8.5, color=GREY, after=12)
    fact_label = _style(doc, "KLG Fakta etikett", 9, bold=True, color=GREY)
    fact = _style(doc, "KLG Fakta", 10)
    warning = _style(doc, "KLG Varning", 10, bold=True, color="B00020", before=4, after=6)
    head = _style(doc, "KLG Tabellrubrik", 9, bold=True, color="FFFFFF")
    head_number = _style(doc, "KLG Tabellrubrik tal", 9, bold=True, color="FFFFFF", base="KLG Tabellrubrik")
    head_number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    cell_text = _style(doc, "KLG Tabelltext", 9)
    cell_small = _style(doc, "KLG Tabelltext grå", 9, color="4A4A4A")
    cell_number = _style(doc, "KLG Tabelltext tal", 9)
    cell_number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    note = _style(doc, "KLG Tabellnot", 8, color=GREY, italic=True)
    closing = _style(doc, "KLG Avslutning", 8.5, color=GREY, before=14)
    header_style = _style(doc, "KLG Sidhuvud", 9, color=NAVY)
    footer_style = _style(doc, "KLG Sidfot", 8, color=GREY)

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(1.0), Cm(1.0)

    hp = section.header.paragraphs[0]
    hp.style = header_style
    hp.paragraph_format.tab_stops.add_tab_stop(Cm(17.0), WD_TAB_ALIGNMENT.RIGHT)
    org = hp.add_run("{{ organisation }}")
    org.bold = True
    hp.add_run("\t{{ group }}")
    _border(hp._p.get_or_add_pPr(), {"bottom": ("single", 6, NAVY)}, "w:pBdr")

    fp = section.footer.paragraphs[0]
    fp.style = footer_style
    fp.paragraph_format.tab_stops.add_tab_stop(Cm(17.0), WD_TAB_ALIGNMENT.RIGHT)
    fp.add_run(t["footer"] + "\t" + t["page"][0])
    _field(fp, "PAGE")
    fp.add_run(t["page"][1])
    _field(fp, "NUMPAGES")

    doc.add_paragraph(t["title"], style=title)
    doc.add_paragraph("{{ group }}", style=subtitle)
    doc.add_paragraph("{{ status_line }}", style=status)

    facts = doc.add_table(rows=len(t["facts"]), cols=2)
    facts.alignment = WD_TABLE_ALIGNMENT.LEFT
    _fixed_widths(facts, [3.0, 14.0])
    _cell_margins(facts, top=20, bottom=20, left=0, right=90)
    for row, (label, value) in zip(facts.rows, t["facts"]):
        _write(row.cells[0], label, fact_label)
        _write(row.cells[1], value, fact)

    doc.add_paragraph("{%p for w in warnings %}", style=warning)
    doc.add_paragraph("⚠ {{ w }}", style=warning)
    doc.add_paragraph("{%p endfor %}", style=warning)
    doc.add_paragraph("", style=fact)

    table = doc.add_table(rows=4, cols=6)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl_pr = table._tbl.tblPr
    _border(tbl_pr, {"top": ("single", 8, NAVY), "left": ("nil", 0, "auto"), "bottom": ("single", 8, NAVY),
                     "right": ("nil", 0, "auto"), "insideH": ("single", 4, RULE), "insideV": ("nil", 0, "auto")},
            "w:tblBorders")
    caption = OxmlElement("w:tblCaption")
    caption.set(qn("w:val"), "klg-agenda")
    tbl_pr.append(caption)
    _fixed_widths(table, WIDTHS_CM)
    _cell_margins(table)

    header = table.rows[0]
    trpr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    trpr.append(repeat)
    for i, (cell, name) in enumerate(zip(header.cells, t["columns"])):
        _shade(cell._tc.get_or_add_tcPr(), NAVY)
        _write(cell, name, head_number if i == 5 else head)

    loop_start, data, loop_end = table.rows[1], table.rows[2], table.rows[3]
    _write(loop_start.cells[0], "{%tr for row in rows %}", cell_text)
    _write(loop_end.cells[0], "{%tr endfor %}", cell_text)
    data._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    bg = "{% cellbg row.bg %}"
    _write(data.cells[0], bg + "{{ row.time }}", cell_text)
    _write(data.cells[1], bg + "{{ row.id }}", cell_small)
    title_cell = data.cells[2]
    _write(title_cell, bg + "{{ row.title }}", cell_text)
    for text in ("{%p if row.note %}", "{{ row.note }}", "{%p endif %}"):
        title_cell.add_paragraph(text, style=note)
    _write(data.cells[3], bg + "{{ row.presenter }}", cell_text)
    _write(data.cells[4], bg + "{{ row.kind }}", cell_small)
    _write(data.cells[5], bg + "{{ row.minutes }}", cell_number)

    doc.add_paragraph(t["closing"], style=closing)

    target = HERE / language / "agenda.docx"
    target.parent.mkdir(parents=True, exist_ok=True)
    for part in [doc.element, doc.styles.element, section.header._element, section.footer._element]:
        order(part)  # Word wants property elements in schema order
    doc.save(target)
    return target


if __name__ == "__main__":
    for lang in sys.argv[1:] or ["sv", "en"]:
        print(build(lang))
