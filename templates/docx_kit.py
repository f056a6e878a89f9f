"""What the template builders (``build_templates.py``, ``build_minutes.py``,
``build_compilation.py``) share: the house style of klg's Word templates and
the python-docx steps that make it (named paragraph styles, A4 pages, the
header with the organisation and the footer with page numbers, tables with
fixed widths, shaded header rows and docxtpl row loops), and their command line.

A builder is run as a script (``.venv/bin/python templates/build_minutes.py``),
so this module is imported by its plain name from the builder's folder.
tests/test_template_builders.py rebuilds every template with them and
compares the result with the committed .docx files part by part.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
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
TEXT_COLOR = "222222"
NIL = ("nil", 0, "auto")
LANGUAGES = ("sv", "en")
# the w:pPr children that come after w:suppressAutoHyphens in the schema's order
PPR_AFTER_SUPPRESS_HYPHENS = ("w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE",
                              "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
                              "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                              "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
                              "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


# --- styles ------------------------------------------------------------------------------


def normal_style(doc, lang: str) -> None:
    """The Normal style every "KLG …" style builds on: Arial 10 pt in all scripts,
    dark grey, in the document's language ``lang`` (e.g. "sv-SE"), no space after."""
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.font.color.rgb = RGBColor.from_string(TEXT_COLOR)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), lang)
    rpr.append(language)
    document_language(doc, lang)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.1
    # widow and orphan control: no paragraph leaves a single line at the foot or the top of a page
    normal.paragraph_format.widow_control = True


def document_language(doc, lang: str) -> None:
    """``lang`` as the document's default language (docDefaults), the one LibreOffice
    writes as the PDF's /Lang and a screen reader reads in; python-docx's own
    default is en-US."""
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        rpr.append(language)
    for attr in ("w:val", "w:eastAsia"):
        language.set(qn(attr), lang)


def add_style(doc, name: str, size: float, *, bold=False, color=TEXT_COLOR, base="Normal", before=0, after=0,
              italic=False, keep_next=False, level: int | None = None):
    """A named paragraph style in the quick-style gallery, so a chancellery restyles
    every text of one kind in Word at once. ``level`` (1 for the title, 2, 3 …) makes
    it a heading: Word's navigation pane lists it, and LibreOffice tags it H1, H2 …
    in the PDF, which is how a screen reader finds its way through the document."""
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
    pf.widow_control = True  # stated in each style, so a restyled Normal does not take it away
    if level is not None:
        outline = OxmlElement("w:outlineLvl")
        outline.set(qn("w:val"), str(level - 1))  # Word counts outline levels from 0
        style.element.get_or_add_pPr().append(outline)
    return style


# --- the page -------------------------------------------------------------------------------


def a4(section, *, landscape: bool, sides: float, top: float, bottom: float, distance: float | None = None) -> float:
    """An A4 page with these margins (cm), and the header and footer ``distance``
    from the edge when given; returns the width between the margins (cm)."""
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = (29.7, 21.0) if landscape else (21.0, 29.7)
    section.page_width, section.page_height = Cm(width), Cm(height)
    section.left_margin = section.right_margin = Cm(sides)
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    if distance is not None:
        section.header_distance, section.footer_distance = Cm(distance), Cm(distance)
    return round(width - 2 * sides, 2)


def page_header(section, style, width: float) -> None:
    """The header: the organisation in bold, the group at the right margin, a navy rule beneath."""
    hp = section.header.paragraphs[0]
    hp.style = style
    hp.paragraph_format.tab_stops.add_tab_stop(Cm(width), WD_TAB_ALIGNMENT.RIGHT)
    org = hp.add_run("{{ organisation }}")
    org.bold = True
    hp.add_run("\t{{ group }}")
    border(hp._p.get_or_add_pPr(), {"bottom": ("single", 6, NAVY)}, "w:pBdr")


def page_footer(section, style, width: float, text: str, page: tuple[str, str]) -> None:
    """The footer: ``text``, and "Sida N av M" (``page`` = ("Sida ", " av ")) at the right margin."""
    fp = section.footer.paragraphs[0]
    fp.style = style
    fp.paragraph_format.tab_stops.add_tab_stop(Cm(width), WD_TAB_ALIGNMENT.RIGHT)
    fp.add_run(text + "\t" + page[0])
    field(fp, "PAGE")
    fp.add_run(page[1])
    field(fp, "NUMPAGES")


def field(paragraph, instr: str) -> None:
    """A simple field (PAGE, NUMPAGES) that Word and LibreOffice fill in."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


# --- tables ----------------------------------------------------------------------------------


def shade(element, fill: str) -> None:
    """Fill a cell (``element`` is its w:tcPr) with the colour ``fill``."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    element.append(shd)


def border(parent, edges: dict[str, tuple[str, int, str]], tag: str) -> None:
    """A border box ``tag`` (w:pBdr, w:tblBorders) under ``parent``: edge -> (kind, size, colour)."""
    box = OxmlElement(tag)
    for edge, (val, size, color) in edges.items():
        b = OxmlElement(f"w:{edge}")
        b.set(qn("w:val"), val)
        b.set(qn("w:sz"), str(size))
        b.set(qn("w:space"), "0")
        b.set(qn("w:color"), color)
        box.append(b)
    parent.append(box)


def frame(table, *, sides: bool, inside_v: bool) -> None:
    """Navy rules above and below the table, thin grey ones between the rows, and
    between the columns and at the sides where asked."""
    rule = ("single", 4, RULE)
    border(table._tbl.tblPr, {"top": ("single", 8, NAVY), "left": rule if sides else NIL,
                              "bottom": ("single", 8, NAVY), "right": rule if sides else NIL,
                              "insideH": rule, "insideV": rule if inside_v else NIL}, "w:tblBorders")


def caption(table, text: str) -> None:
    """The table's caption (w:tblCaption): how klg finds the table again in a returned document."""
    element = OxmlElement("w:tblCaption")
    element.set(qn("w:val"), text)
    table._tbl.tblPr.append(element)


def cell_margins(table, *, top: int, bottom: int, left: int, right: int) -> None:
    """The table's cell margins, in twentieths of a point."""
    mar = OxmlElement("w:tblCellMar")
    for edge, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:w"), str(value))
        e.set(qn("w:type"), "dxa")
        mar.append(e)
    table._tbl.tblPr.append(mar)


def fixed_widths(table, widths_cm: Sequence[float], *, layout_twice: bool = False) -> None:
    """Fixed column widths, for Word (the cells) and LibreOffice (the table grid).

    ``layout_twice`` appends a second <w:tblLayout>, as build_minutes.py always
    has: the committed minutes templates carry it, and rebuilding them must not
    change them (python-docx already writes one for ``autofit = False``)."""
    table.autofit = False
    if layout_twice:
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        table._tbl.tblPr.append(layout)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm):
            cell.width = Cm(width)
    for col, width in zip(table.columns, widths_cm):
        col.width = Cm(width)


def write(cell, text: str, style) -> None:
    """``text`` (may be empty) in the cell's first paragraph, in ``style``."""
    p = cell.paragraphs[0]
    p.style = style
    if text:
        p.add_run(text)


def header_row(table, names: Sequence[str], styles: Sequence) -> None:
    """The first row as the header: repeated on every page, navy, each column's name in its style,
    never hyphenated (a narrow column read "Kommunicera-s"), and kept on one page with the first row."""
    header = table.rows[0]
    header._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for cell, name, style in zip(header.cells, names, styles):
        shade(cell._tc.get_or_add_tcPr(), NAVY)
        write(cell, name, style)
        no_hyphenation(cell.paragraphs[0])
        cell.paragraphs[0].paragraph_format.keep_with_next = True


def keep_with_next(table) -> None:
    """Every row of ``table`` kept on the page of the paragraph after the table (each cell's
    paragraphs keep with next, each row unsplit): Word's and LibreOffice's way of keeping a block together."""
    for row in table.rows:
        if row._tr.trPr is None or row._tr.trPr.find(qn("w:cantSplit")) is None:
            row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def no_hyphenation(paragraph) -> None:
    """Word and LibreOffice do not hyphenate this paragraph (w:suppressAutoHyphens)."""
    ppr = paragraph._p.get_or_add_pPr()
    ppr.insert_element_before(OxmlElement("w:suppressAutoHyphens"), *PPR_AFTER_SUPPRESS_HYPHENS)


def row_loop(table, loop: str, style):
    """Rows 1 to 3 as a docxtpl loop: ``{%tr for <loop> %}``, the row repeated
    (kept on one page; returned to be filled in) and ``{%tr endfor %}``."""
    write(table.rows[1].cells[0], "{%tr for " + loop + " %}", style)
    write(table.rows[3].cells[0], "{%tr endfor %}", style)
    data = table.rows[2]
    data._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    return data


def facts_table(doc, facts: Sequence[tuple[str, str]], widths_cm: Sequence[float], label_style, value_style, *,
                top: int, right: int, caption_text: str | None = None, layout_twice: bool = False):
    """The two columns under the title: label and value (date, place, chair, …), no borders."""
    table = doc.add_table(rows=len(facts), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    fixed_widths(table, widths_cm, layout_twice=layout_twice)
    cell_margins(table, top=top, bottom=top, left=0, right=right)
    if caption_text:
        caption(table, caption_text)
    for row, (label, value) in zip(table.rows, facts):
        write(row.cells[0], label, label_style)
        write(row.cells[1], value, value_style)
    return table


# --- saving, and the command line ------------------------------------------------------------------


def save(doc, folder: Path, language: str, name: str, *, schema_order: bool = False) -> Path:
    """Save ``doc`` as ``folder/<language>/<name>``; ``schema_order`` first puts the
    property elements of the body, the styles, the header and the footer in the
    order Word demands (``daemon.agenda.ooxml.order``)."""
    target = folder / language / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if schema_order:
        section = doc.sections[0]
        for part in [doc.element, doc.styles.element, section.header._element, section.footer._element]:
            order(part)
    doc.save(target)
    return target


def main(*builders: Callable[[str, Path], Path]) -> None:
    """``build_….py [--out FOLDER] [LANGUAGE …]``: run each builder for each language
    (default sv and en) into FOLDER (default: this folder, over the committed files)."""
    parser = argparse.ArgumentParser(description="Build klg's Word templates.")
    parser.add_argument("--out", type=Path, default=HERE, help="write <language>/<file>.docx here")
    parser.add_argument("languages", nargs="*", metavar="LANGUAGE",
                        help=f"one of {', '.join(LANGUAGES)} (default: all)")
    args = parser.parse_args()
    unknown = [lang for lang in args.languages if lang not in LANGUAGES]
    if unknown:
        parser.error(f"no templates in {', '.join(unknown)}; the languages are {', '.join(LANGUAGES)}")
    for language in args.languages or LANGUAGES:
        for build in builders:
            print(build(language, args.out))
