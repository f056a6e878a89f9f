"""Build templates/{sv,en}/compilation.docx, the Word template of the written
procedure's compilation (sammanställning av synpunkter).

Run it after changing the layout here:
    .venv/bin/python templates/build_compilation.py [--out FOLDER] [sv|en]
The chancellery may restyle the generated files in Word instead; keep the
{{ … }} and {%tr … %}/{%p … %} tags (docxtpl) where they are.

Values the template gets (see daemon/compilation.py):
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
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx_kit import HERE

WORDS = {
    "sv": {
        "title": "Sammanställning av synpunkter",
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
        "title": "Compilation of comments",
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


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _bold(cell, text: str) -> None:
    cell.paragraphs[0].add_run(text).bold = True


def build(language: str, folder: Path = HERE) -> Path:
    w = WORDS[language]
    doc = Document()
    section = doc.sections[0]
    kit.a4(section, landscape=False, sides=2.0, top=2.0, bottom=2.0)
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10.5)
    doc.core_properties.title = w["title"]

    section.header.paragraphs[0].text = "{{ organisation }} · {{ group }} · {{ item.id }}"

    doc.add_heading(w["title"], level=1)
    doc.add_paragraph(f"{w['subtitle']} · {{{{ item.id }}}} {{{{ item.title }}}}")
    # a secret item's marking (provision, authority, date) and who did not take part because of jäv
    doc.add_paragraph("{%p if marking %}")
    doc.add_paragraph().add_run("{{ marking }}").bold = True
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for line in not_taking_part %}")
    doc.add_paragraph("{{ line }}")
    doc.add_paragraph("{%p endfor %}")

    info = doc.add_table(rows=0, cols=2)
    info.style = "Table Grid"
    for label, tag in (("item", "{{ item.id }} {{ item.title }}"), ("case", "{{ case_number }}"),
                       ("proposer", "{{ proposer }}"),
                       ("started", "{{ started }}"), ("deadline", "{{ deadline }}"),
                       ("meeting", "{{ meeting }}"), ("compiled", f"{{{{ compiled }}}} ({w['version']} {{{{ version }}}})")):
        cells = info.add_row().cells
        _bold(cells[0], w[label])
        cells[1].text = tag
    kit.fixed_widths(info, [5.5, 11.5])

    doc.add_heading(w["description"], level=2)
    doc.add_paragraph("{{ description }}")
    doc.add_heading(w["documents"], level=2)
    doc.add_paragraph("{%p for d in documents %}")
    doc.add_paragraph("{{ d }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not documents %}")
    doc.add_paragraph(w["no_documents"])
    doc.add_paragraph("{%p endif %}")

    doc.add_heading(w["counts"], level=2)
    counts = doc.add_table(rows=0, cols=2)
    counts.style = "Table Grid"
    for label, key in (("support", "support"), ("object", "object"), ("none", "none"), ("unstated", "unstated"),
                       ("silent_count", "silent"), ("asked", "asked")):
        cells = counts.add_row().cells
        cells[0].text = w[label]
        cells[1].text = f"{{{{ counts.{key} }}}}"
    kit.fixed_widths(counts, [7.0, 2.0])

    doc.add_heading(w["comments"], level=2)
    table = doc.add_table(rows=4, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, key in zip(table.rows[0].cells, ("name", "time", "stance", "comment", "late")):
        _bold(cell, w[key])
    _repeat_header(table.rows[0])
    table.rows[1].cells[0].text = "{%tr for c in comments %}"
    data = table.rows[2].cells
    data[0].text = "{{ c.name }}"
    data[1].text = "{{ c.time }}"
    data[2].text = "{{ c.stance }}"
    data[3].text = "{{ c.text }}"
    data[3].add_paragraph("{%p if c.attachments %}")
    data[3].add_paragraph(f"{w['attachments']} {{{{ c.attachments }}}}")
    data[3].add_paragraph("{%p endif %}")
    data[3].add_paragraph("{%p if c.earlier %}")
    data[3].add_paragraph(f"{w['earlier']} {{{{ c.earlier }}}}")
    data[3].add_paragraph("{%p endif %}")
    data[4].text = f"{{% if c.late %}}{w['late_yes']}{{% endif %}}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    kit.fixed_widths(table, [3.0, 2.7, 3.5, 6.6, 1.2])
    doc.add_paragraph("{%p if not comments %}")
    doc.add_paragraph(w["no_comments"])
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if counts.late %}")
    doc.add_paragraph(w["late_note"])
    doc.add_paragraph("{%p endif %}")

    doc.add_heading(w["silent"], level=2)
    doc.add_paragraph("{%p for s in silent %}")
    doc.add_paragraph("{{ s }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not silent %}")
    doc.add_paragraph(w["all_answered"])
    doc.add_paragraph("{%p endif %}")

    return kit.save(doc, folder, language, "compilation.docx")


if __name__ == "__main__":
    kit.main(build)
