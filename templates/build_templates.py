#!/usr/bin/env python3
"""Build the Word templates ``templates/{sv,en}/agenda.docx`` with python-docx.

The .docx files are committed; this script is how they were made and how to
make them again after changing the layout here:

    .venv/bin/python templates/build_templates.py [--out FOLDER] [sv|en]

A chancellery restyles the committed files in Word instead (fonts, colours,
logo in the header, margins): every text has a named paragraph style
("KLG …"), and the tags in double braces are filled in by klg. What must stay
is the agenda table: its header row (Tid, Nr, Ärende, Föredragande, Typ, Min)
and the rows between ``{%tr for row in rows %}`` and ``{%tr endfor %}``;
columns may be reordered or narrowed, and Nr must stay, because klg reads the
item numbers back from the edited document.
"""

from __future__ import annotations

from pathlib import Path

import docx_kit as kit
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx_kit import GREY, HERE, NAVY

TEXTS = {
    "sv": {
        "lang": "sv-SE",
        "title": "Dagordning",
        "facts": [("Datum", "{{ date_long }}"), ("Tid", "{{ time_range }}"), ("Plats", "{{ location }}"),
                  ("Ordförande", "{{ chair }}"), ("Sekreterare", "{{ secretary }}")],
        "columns": ["Tid", "Nr", "Ärende", "Föredragande", "Typ", "Min"],
        "closing": "Handlingarna till punkterna finns i utskicket. Skicka förslag till kommande möten till "
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
        "closing": "The documents for the items are in this mailing. Send proposals for coming meetings to "
                   "{{ address }} {{ deadline_rule }}.",
        "footer": "Agenda {{ group }} {{ date_long }}",
        "page": ("Page ", " of "),
    },
}
WIDTHS_CM = [2.2, 2.5, 5.8, 3.0, 2.5, 1.0]  # 17.0 cm: A4 less 2 cm margins


def build(language: str, folder: Path = HERE) -> Path:
    t = TEXTS[language]
    doc = Document()
    props = doc.core_properties
    props.title = t["title"]
    props.author = "klg"
    props.comments = "klg agenda template; see templates/build_templates.py"
    kit.normal_style(doc, t["lang"])

    title = kit.add_style(doc, "KLG Rubrik", 24, bold=True, color=NAVY, after=0, level=1)
    subtitle = kit.add_style(doc, "KLG Underrubrik", 13, color=NAVY, after=2)
    status = kit.add_style(doc, "KLG Status", 8.5, color=GREY, after=12)
    fact_label = kit.add_style(doc, "KLG Fakta etikett", 9, bold=True, color=GREY)
    fact = kit.add_style(doc, "KLG Fakta", 10)
    warning = kit.add_style(doc, "KLG Varning", 10, bold=True, color="B00020", before=4, after=6)
    head = kit.add_style(doc, "KLG Tabellrubrik", 9, bold=True, color="FFFFFF")
    head_number = kit.add_style(doc, "KLG Tabellrubrik tal", 9, bold=True, color="FFFFFF", base="KLG Tabellrubrik")
    head_number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    cell_text = kit.add_style(doc, "KLG Tabelltext", 9)
    cell_small = kit.add_style(doc, "KLG Tabelltext grå", 9, color="4A4A4A")
    cell_number = kit.add_style(doc, "KLG Tabelltext tal", 9)
    cell_number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    note = kit.add_style(doc, "KLG Tabellnot", 8, color=GREY, italic=True)
    closing = kit.add_style(doc, "KLG Avslutning", 8.5, color=GREY, before=14)
    header_style = kit.add_style(doc, "KLG Sidhuvud", 9, color=NAVY)
    footer_style = kit.add_style(doc, "KLG Sidfot", 8, color=GREY)

    section = doc.sections[0]
    width = kit.a4(section, landscape=False, sides=2.0, top=2.2, bottom=2.0, distance=1.0)
    kit.page_header(section, header_style, width)
    kit.page_footer(section, footer_style, width, t["footer"], t["page"])

    doc.add_paragraph(t["title"], style=title)
    doc.add_paragraph("{{ group }}", style=subtitle)
    doc.add_paragraph("{{ status_line }}", style=status)
    kit.facts_table(doc, t["facts"], [3.0, 14.0], fact_label, fact, top=20, right=90)

    doc.add_paragraph("{%p for w in warnings %}", style=warning)
    doc.add_paragraph("⚠ {{ w }}", style=warning)
    doc.add_paragraph("{%p endfor %}", style=warning)
    doc.add_paragraph("", style=fact)

    table = doc.add_table(rows=4, cols=6)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    kit.frame(table, sides=False, inside_v=False)
    kit.caption(table, "klg-agenda")
    kit.fixed_widths(table, WIDTHS_CM)
    kit.cell_margins(table, top=70, bottom=70, left=90, right=90)
    kit.header_row(table, t["columns"], [head] * 5 + [head_number])

    data = kit.row_loop(table, "row in rows", cell_text)
    bg = "{% cellbg row.bg %}"
    kit.write(data.cells[0], bg + "{{ row.time }}", cell_text)
    kit.write(data.cells[1], bg + "{{ row.id }}", cell_small)
    title_cell = data.cells[2]
    kit.write(title_cell, bg + "{{ row.title }}", cell_text)
    for text in ("{%p if row.note %}", "{{ row.note }}", "{%p endif %}"):
        title_cell.add_paragraph(text, style=note)
    kit.write(data.cells[3], bg + "{{ row.presenter }}", cell_text)
    kit.write(data.cells[4], bg + "{{ row.kind }}", cell_small)
    kit.write(data.cells[5], bg + "{{ row.minutes }}", cell_number)

    doc.add_paragraph(t["closing"], style=closing)
    return kit.save(doc, folder, language, "agenda.docx", schema_order=True)  # Word wants property elements in order


if __name__ == "__main__":
    kit.main(build)
