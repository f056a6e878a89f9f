"""Build templates/{sv,en}/compilation.docx, the Word template of the written
procedure's compilation (sammanställning av synpunkter).

Run it after changing the layout here:
    .venv/bin/python templates/build_compilation.py [--out FOLDER] [sv|en]
The chancellery may restyle the generated files in Word instead; keep the
{{ … }} and {%tr … %}/{%p … %} tags (docxtpl) where they are.

Styled like the agenda and the minutes (templates/docx_kit.py): the "KLG …"
paragraph styles, KLG Rubrik and KLG Avsnitt as headings (H1, H2 in the PDF),
the comments table's header row repeated on every page.

Values the template gets (see daemon/circulation/compilation.py):
  group, organisation, item.id, item.title, proposer, description,
  documents (the item's attachments), started, deadline, meeting, compiled,
  version, comments (each: name, time, stance, text, late, attachments, earlier),
  counts (support, object, none, unstated, silent, asked), silent (names), labels,
  case_number (or "–"), marking (a secret item's marking, or empty), not_taking_part (lines: members with a conflict of interest)
"""

from __future__ import annotations

from pathlib import Path

import docx_kit as kit
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx_kit import GREY, HERE, NAVY

WORDS = {
    "sv": {
        "lang": "sv-SE",
        "title": "Sammanställning av synpunkter",
        "footer": "Sammanställning av synpunkter {{ item.id }} · {{ compiled }}", "page": ("Sida ", " av "),
        "subtitle": "Skriftligt förfarande",
        "item": "Ärende", "case": "Diarienummer", "proposer": "Förslagsställare", "started": "Utskick för synpunkter",
        "deadline": "Sista dag för synpunkter", "meeting": "Beslut på mötet", "compiled": "Sammanställd",
        "description": "Beskrivning", "documents": "Underlag", "no_documents": "Inga bilagor.",
        "counts": "Ställningstaganden", "support": "Tillstyrker", "object": "Avstyrker", "none": "Inga synpunkter",
        "unstated": "Synpunkter utan ställningstagande", "silent_count": "Har inte svarat", "asked": "Tillfrågade",
        "comments": "Synpunkter", "name": "Namn", "time": "Inkom", "stance": "Ställningstagande",
        "comment": "Synpunkt", "late": "Sen", "no_comments": "Inga svar har kommit in.",
        "attachments": "Bilagor:", "earlier": "Ändrat svar; tidigare svar:",
        "silent": "Har inte svarat", "all_answered": "Alla tillfrågade har svarat.",
        "late_note": "Svar markerade som sena kom in efter sista dag för synpunkter.",
        "version": "Version", "late_yes": "Ja",
    },
    "en": {
        "lang": "en-GB",
        "title": "Compilation of comments",
        "footer": "Compilation of comments {{ item.id }} · {{ compiled }}", "page": ("Page ", " of "),
        "subtitle": "Written procedure",
        "item": "Item", "case": "Case number", "proposer": "Proposer", "started": "Sent out for comments",
        "deadline": "Comments due by", "meeting": "Decision at the meeting", "compiled": "Compiled",
        "description": "Description", "documents": "Documents", "no_documents": "No attachments.",
        "counts": "Positions", "support": "Support", "object": "Object", "none": "No comments",
        "unstated": "Comments without a stated position", "silent_count": "Did not answer", "asked": "Asked",
        "comments": "Comments", "name": "Name", "time": "Received", "stance": "Position",
        "comment": "Comment", "late": "Late", "no_comments": "No answers came in.",
        "attachments": "Attachments:", "earlier": "Changed answer; earlier answer:",
        "silent": "Did not answer", "all_answered": "Everyone asked has answered.",
        "late_note": "Answers marked late came in after the deadline for comments.",
        "version": "Version", "late_yes": "Yes",
    },
}


WIDTHS_CM = [3.0, 2.7, 3.6, 6.5, 1.2]  # 17.0 cm: A4 less 2 cm margins


def build(language: str, folder: Path = HERE) -> Path:
    w = WORDS[language]
    doc = Document()
    props = doc.core_properties
    props.title = w["title"]
    props.author = "klg"
    props.comments = "klg compilation template; see templates/build_compilation.py"
    props.language = w["lang"]
    kit.normal_style(doc, w["lang"])

    title = kit.add_style(doc, "KLG Rubrik", 22, bold=True, color=NAVY, level=1)
    subtitle = kit.add_style(doc, "KLG Underrubrik", 13, color=NAVY, after=8)
    label = kit.add_style(doc, "KLG Fakta etikett", 9, bold=True, color=GREY)
    fact = kit.add_style(doc, "KLG Fakta", 10)
    heading = kit.add_style(doc, "KLG Avsnitt", 12.5, bold=True, color=NAVY, before=14, after=4, keep_next=True,
                            level=2)
    body = kit.add_style(doc, "KLG Brödtext", 10, after=3)
    listed = kit.add_style(doc, "KLG Lista", 10, base="List Bullet", after=1)
    note = kit.add_style(doc, "KLG Notis", 9, italic=True, color=GREY, before=4, after=4)
    head = kit.add_style(doc, "KLG Tabellrubrik", 8.5, bold=True, color="FFFFFF")
    cell = kit.add_style(doc, "KLG Tabelltext", 9)
    small = kit.add_style(doc, "KLG Tabelltext liten", 8, color="404040")
    header_style = kit.add_style(doc, "KLG Sidhuvud", 9, color=NAVY)
    footer_style = kit.add_style(doc, "KLG Sidfot", 8, color=GREY)

    section = doc.sections[0]
    width = kit.a4(section, landscape=False, sides=2.0, top=2.2, bottom=2.0, distance=0.9)
    kit.page_header(section, header_style, width)
    kit.page_footer(section, footer_style, width, w["footer"], w["page"])

    doc.add_paragraph(w["title"], style=title)
    doc.add_paragraph(f"{w['subtitle']} · {{{{ item.id }}}} {{{{ item.title }}}}", style=subtitle)
    # a secret item's marking (provision, authority, date) and who did not take part because of jäv
    doc.add_paragraph("{%p if marking %}", style=body)
    doc.add_paragraph(style=body).add_run("{{ marking }}").bold = True
    doc.add_paragraph("{%p endif %}", style=body)
    doc.add_paragraph("{%p for line in not_taking_part %}", style=body)
    doc.add_paragraph("{{ line }}", style=body)
    doc.add_paragraph("{%p endfor %}", style=body)
    facts = [(w["item"], "{{ item.id }} {{ item.title }}"), (w["case"], "{{ case_number }}"),
             (w["proposer"], "{{ proposer }}"),
             (w["started"], "{{ started }}"), (w["deadline"], "{{ deadline }}"), (w["meeting"], "{{ meeting }}"),
             (w["compiled"], f"{{{{ compiled }}}} ({w['version']} {{{{ version }}}})")]
    kit.facts_table(doc, facts, [5.0, 12.0], label, fact, top=15, right=80, caption_text="klg-facts")

    doc.add_paragraph(w["description"], style=heading)
    doc.add_paragraph("{{ description }}", style=body)
    doc.add_paragraph(w["documents"], style=heading)
    doc.add_paragraph("{%p for d in documents %}", style=body)
    doc.add_paragraph("{{ d }}", style=listed)
    doc.add_paragraph("{%p endfor %}", style=body)
    doc.add_paragraph("{%p if not documents %}", style=body)
    doc.add_paragraph(w["no_documents"], style=body)
    doc.add_paragraph("{%p endif %}", style=body)

    doc.add_paragraph(w["counts"], style=heading)
    counts = doc.add_table(rows=0, cols=2)
    kit.frame(counts, sides=False, inside_v=False)
    kit.caption(counts, "klg-counts")
    for key, value in (("support", "support"), ("object", "object"), ("none", "none"), ("unstated", "unstated"),
                       ("silent_count", "silent"), ("asked", "asked")):
        cells = counts.add_row().cells
        kit.write(cells[0], w[key], cell)
        kit.write(cells[1], f"{{{{ counts.{value} }}}}", cell)
    kit.fixed_widths(counts, [7.0, 2.0])
    kit.cell_margins(counts, top=40, bottom=40, left=80, right=80)

    doc.add_paragraph(w["comments"], style=heading)
    table = doc.add_table(rows=4, cols=5)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    kit.frame(table, sides=True, inside_v=True)
    kit.caption(table, "klg-comments")
    kit.fixed_widths(table, WIDTHS_CM)
    kit.cell_margins(table, top=60, bottom=60, left=80, right=80)
    kit.header_row(table, [w[k] for k in ("name", "time", "stance", "comment", "late")], [head] * 5)
    data = kit.row_loop(table, "c in comments", cell)
    kit.write(data.cells[0], "{{ c.name }}", cell)
    kit.write(data.cells[1], "{{ c.time }}", small)
    kit.write(data.cells[2], "{{ c.stance }}", cell)
    text = data.cells[3]
    kit.write(text, "{{ c.text }}", cell)
    for line in ("{%p if c.attachments %}", f"{w['attachments']} {{{{ c.attachments }}}}", "{%p endif %}",
                 "{%p if c.earlier %}", f"{w['earlier']} {{{{ c.earlier }}}}", "{%p endif %}"):
        text.add_paragraph(line, style=small)
    kit.write(data.cells[4], f"{{% if c.late %}}{w['late_yes']}{{% endif %}}", cell)
    doc.add_paragraph("{%p if not comments %}", style=body)
    doc.add_paragraph(w["no_comments"], style=body)
    doc.add_paragraph("{%p endif %}", style=body)
    doc.add_paragraph("{%p if counts.late %}", style=body)
    doc.add_paragraph(w["late_note"], style=note)
    doc.add_paragraph("{%p endif %}", style=body)

    doc.add_paragraph(w["silent"], style=heading)
    doc.add_paragraph("{%p for s in silent %}", style=body)
    doc.add_paragraph("{{ s }}", style=listed)
    doc.add_paragraph("{%p endfor %}", style=body)
    doc.add_paragraph("{%p if not silent %}", style=body)
    doc.add_paragraph(w["all_answered"], style=body)
    doc.add_paragraph("{%p endif %}", style=body)

    return kit.save(doc, folder, language, "compilation.docx", schema_order=True)


if __name__ == "__main__":
    kit.main(build)
