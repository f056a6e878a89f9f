#!/usr/bin/env python3
"""Build the minutes' Word templates with python-docx:

- ``templates/{sv,en}/minutes.docx``: the form the secretary fills in
  (landscape; attendance, one row per item, follow-ups);
- ``templates/{sv,en}/minutes_document.docx``: the minutes as signatories
  review them and as they are published, with the signing block.

The .docx files are committed; this script is how they were made and how to
make them again after changing the layout here:

    .venv/bin/python templates/build_minutes.py [--out FOLDER] [sv|en]

A chancellery restyles the committed files in Word instead (fonts, colours,
logo in the header): every text has a named paragraph style ("KLG …") and the
tags in braces are filled in by klg. In the form, the tables' header rows must
stay (klg finds the tables by them and reads the columns by their names:
Nr, Utfall, Anteckningar / beslut, Ansvarig, Nästa steg, Återkommer,
Kommuniceras; Namn, Närvarande; Klar), and the Nr column must keep the item
numbers, because klg reads the filled form back by them.
"""

from __future__ import annotations

from pathlib import Path

import docx_kit as kit
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.shared import Pt
from docx_kit import GREY, HERE, NAVY

PALE = "F2F4F8"
AMBER = "9C5700"
GREEN = "1E6B3A"

TEXTS = {
    "sv": {
        "lang": "sv-SE",
        "form_title": "Minnesanteckningar – formulär",
        "form_facts": [("Möte", "{{ date_long }}, {{ time_range }}"), ("Plats", "{{ location }}"),
                       ("Ordförande", "{{ chair }} (justerar)"), ("Sekreterare", "{{ secretary }}"),
                       ("Justerare", "{{ signatories }}")],
        "form_help": [
            "Fyll i en rad per punkt och svara på mejlet med den här filen bifogad. Ändra inte kolumnen Nr.",
            "Utfall: Information, Diskussion, Beslut eller Till politiken. Är utfallet Beslut skriver du beslutet under "
            "Anteckningar / beslut.",
            "Ansvarig och Nästa steg: vem gör vad. Punkten följs upp under Uppföljning tills den är klar.",
            "Återkommer: ett datum (2026-12-15) eller ”nästa möte”. Punkten läggs då på det mötets dagordning.",
            "Kommuniceras: Ja eller Nej, som mötet beslutade för punkten.",
            "Justering: ordföranden justerar alltid. Ska någon justera tillsammans med ordföranden skriver du namnet "
            "i rutan Justerare ovan.",
        ],
        "attendance": "Närvaro",
        "attendance_cols": ["Namn", "Titel", "Närvarande (Ja/Nej)"],
        "items": "Punkter",
        "item_cols": ["Nr", "Ärende", "Föredragande", "Utfall", "Anteckningar / beslut", "Ansvarig", "Nästa steg",
                      "Återkommer", "Kommuniceras"],
        "extra_hint": "Togs nya punkter upp på mötet? Skriv dem på de tomma raderna och lämna Nr tomt.",
        "followups": "Uppföljning",
        "followup_cols": ["Nr", "Uppgift", "Ansvarig", "Från mötet", "Klar (Ja/Nej)", "Kommentar"],
        "no_followups": "Inga öppna uppföljningspunkter.",
        "form_footer": "Formulär för minnesanteckningar {{ group }} {{ date }}",
        "doc_title": "Minnesanteckningar",
        "doc_facts": [("Datum", "{{ date_long }}"), ("Tid", "{{ time_range }}"), ("Plats", "{{ location }}"),
                      ("Ordförande", "{{ chair }}"), ("Sekreterare", "{{ secretary }}"),
                      ("Justerare", "{{ signatories }}")],
        "present": "Närvarande",
        "absent": "Frånvarande",
        "guests": "Övriga närvarande",
        "points": "Punkter",
        "responsible": "Ansvarig",
        "next_step": "Nästa steg",
        "comes_back": "Återkommer",
        "communicate": "Kommuniceras",
        "followup_doc_cols": ["Nr", "Uppgift", "Ansvarig", "Status"],
        "signing": "Justering",
        "signing_cols": ["Namn", "Roll", "Justerat"],
        "doc_footer": "Minnesanteckningar {{ group }} {{ date }}",
        "page": ("Sida ", " av "),
    },
    "en": {
        "lang": "en-GB",
        "form_title": "Minutes – form",
        "form_facts": [("Meeting", "{{ date_long }}, {{ time_range }}"), ("Place", "{{ location }}"),
                       ("Chair", "{{ chair }} (signs)"), ("Secretary", "{{ secretary }}"),
                       ("Signatory", "{{ signatories }}")],
        "form_help": [
            "Fill in one row per point and reply to the mail with this file attached. Do not change the No. column.",
            "Outcome: Information, Discussion, Decision or To the politicians. If the outcome is Decision, write the "
            "decision under Notes / decision.",
            "Responsible and Next step: who does what. The point is followed up under Follow-up until it is done.",
            "Comes back: a date (2026-12-15) or \"next meeting\". The point is then put on that meeting's agenda.",
            "Communicate: Yes or No, as the meeting decided for the point.",
            "Signing: the chair always signs. If someone signs with the chair, write their name in the Signatory box "
            "above.",
        ],
        "attendance": "Attendance",
        "attendance_cols": ["Name", "Title", "Present (Yes/No)"],
        "items": "Points",
        "item_cols": ["No.", "Item", "Presenter", "Outcome", "Notes / decision", "Responsible", "Next step",
                      "Comes back", "Communicate"],
        "extra_hint": "Were new points raised at the meeting? Write them on the empty rows and leave No. empty.",
        "followups": "Follow-up",
        "followup_cols": ["No.", "Task", "Responsible", "From meeting", "Done (Yes/No)", "Comment"],
        "no_followups": "No open follow-up points.",
        "form_footer": "Minutes form {{ group }} {{ date }}",
        "doc_title": "Minutes",
        "doc_facts": [("Date", "{{ date_long }}"), ("Time", "{{ time_range }}"), ("Place", "{{ location }}"),
                      ("Chair", "{{ chair }}"), ("Secretary", "{{ secretary }}"), ("Signatories", "{{ signatories }}")],
        "present": "Present",
        "absent": "Absent",
        "guests": "Also present",
        "points": "Points",
        "responsible": "Responsible",
        "next_step": "Next step",
        "comes_back": "Comes back",
        "communicate": "Communicate",
        "followup_doc_cols": ["No.", "Task", "Responsible", "Status"],
        "signing": "Signatures",
        "signing_cols": ["Name", "Role", "Approved"],
        "doc_footer": "Minutes {{ group }} {{ date }}",
        "page": ("Page ", " of "),
    },
}
FORM_WIDTHS = [2.5, 4.0, 2.6, 2.2, 5.1, 2.4, 3.3, 2.2, 2.8]  # 27.1 cm: A4 landscape less 1.3 cm margins
ATTENDANCE_WIDTHS = [6.0, 6.0, 4.0]
FOLLOWUP_WIDTHS = [1.6, 9.0, 3.5, 2.6, 2.6, 7.8]
DOC_FOLLOWUP_WIDTHS = [1.3, 7.7, 3.5, 4.5]
SIGNING_WIDTHS = [6.0, 5.0, 6.0]


def _loop_table(doc, caption: str, columns: list[str], widths: list[float], cells: list[str], loop: str, styles: dict,
                extra_rows: int = 0, shade_cols: tuple[int, ...] = (), small_cols: tuple[int, ...] = (0,)):
    """A table with a header row and one docxtpl row loop (``{%tr for … %}``), then
    ``extra_rows`` empty rows; a cell given as a tuple is its text and hints beneath."""
    table = doc.add_table(rows=4 + extra_rows, cols=len(columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    kit.frame(table, sides=True, inside_v=True)
    kit.caption(table, caption)
    kit.fixed_widths(table, widths, layout_twice=True)
    kit.cell_margins(table, top=60, bottom=60, left=80, right=80)
    kit.header_row(table, columns, [styles["head"]] * len(columns))
    data = kit.row_loop(table, loop, styles["cell"])
    for i, (cell, text) in enumerate(zip(data.cells, cells)):
        if isinstance(text, tuple):
            kit.write(cell, text[0], styles["cell"])
            for extra in text[1:]:
                cell.add_paragraph(extra, style=styles["hint"])
        else:
            kit.write(cell, text, styles["small"] if i in small_cols else styles["cell"])
        if i in shade_cols:
            kit.shade(cell._tc.get_or_add_tcPr(), PALE)
    for r in range(extra_rows):
        row = table.rows[4 + r]
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for i, cell in enumerate(row.cells):
            kit.write(cell, "", styles["cell"])
            if i in shade_cols:
                kit.shade(cell._tc.get_or_add_tcPr(), PALE)
    return table


def _base(doc, t: dict, landscape: bool) -> dict:
    """Properties, styles, page and header of a minutes template; the styles by role, and the text width."""
    props = doc.core_properties
    props.title = "{{ doc_title }}"
    props.author = "{{ group }}"
    props.subject = "{{ group }} {{ date }}"
    props.identifier = "{{ identifier }}"
    props.comments = "klg minutes template; see templates/build_minutes.py"
    props.language = t["lang"]
    kit.normal_style(doc, t["lang"])

    style = kit.add_style
    styles = {
        "title": style(doc, "KLG Rubrik", 22, bold=True, color=NAVY, level=1),
        "subtitle": style(doc, "KLG Underrubrik", 13, color=NAVY, after=2),
        "status": style(doc, "KLG Status", 9, bold=True, color=AMBER, after=10),
        "signed": style(doc, "KLG Justerad", 9, bold=True, color=GREEN, after=10),
        "label": style(doc, "KLG Fakta etikett", 9, bold=True, color=GREY),
        "fact": style(doc, "KLG Fakta", 10),
        "heading": style(doc, "KLG Avsnitt", 12.5, bold=True, color=NAVY, before=14, after=4, keep_next=True, level=2),
        "point": style(doc, "KLG Punkt", 11, bold=True, color="222222", before=10, after=1, keep_next=True,
                       level=3),
        "meta": style(doc, "KLG Punktfakta", 8.5, color=GREY, after=3, keep_next=True),
        "body": style(doc, "KLG Brödtext", 10, after=3),
        "help": style(doc, "KLG Hjälptext", 8.5, color="404040", after=1),
        "note": style(doc, "KLG Notis", 9, italic=True, color=GREY, before=4, after=4),
        "head": style(doc, "KLG Tabellrubrik", 8.5, bold=True, color="FFFFFF"),
        "cell": style(doc, "KLG Tabelltext", 9),
        "small": style(doc, "KLG Tabelltext liten", 8, color="404040"),
        "hint": style(doc, "KLG Tabellnot", 7.5, italic=True, color=GREY),
        "header": style(doc, "KLG Sidhuvud", 9, color=NAVY),
        "footer": style(doc, "KLG Sidfot", 8, color=GREY),
    }

    section = doc.sections[0]
    if landscape:
        width = kit.a4(section, landscape=True, sides=1.3, top=1.8, bottom=1.5, distance=0.9)
    else:
        width = kit.a4(section, landscape=False, sides=2.0, top=2.2, bottom=2.0, distance=0.9)
    kit.page_header(section, styles["header"], width)
    styles["width"] = width
    return styles


def _facts(doc, styles: dict, facts: list[tuple[str, str]], widths=(3.2, 13.8)) -> None:
    kit.facts_table(doc, facts, list(widths), styles["label"], styles["fact"], top=15, right=80,
                    caption_text="klg-facts", layout_twice=True)


def _labelled(doc, style, label: str, value: str):
    """A paragraph "<b>label:</b> value"."""
    p = doc.add_paragraph(style=style)
    p.add_run(label + ": ").bold = True
    p.add_run(value)
    return p


def build_form(language: str, folder: Path = HERE) -> Path:
    t = TEXTS[language]
    doc = Document()
    s = _base(doc, t, landscape=True)
    kit.page_footer(doc.sections[0], s["footer"], s["width"], t["form_footer"], t["page"])

    doc.add_paragraph(t["form_title"], style=s["title"])
    doc.add_paragraph("{{ group }}", style=s["subtitle"])
    _facts(doc, s, t["form_facts"], widths=(3.2, 23.9))
    doc.add_paragraph("", style=s["fact"])
    for line in t["form_help"]:
        doc.add_paragraph(line, style=s["help"])

    doc.add_paragraph(t["attendance"], style=s["heading"])
    _loop_table(doc, "klg-attendance", t["attendance_cols"], ATTENDANCE_WIDTHS,
                ["{{ a.name }}", "{{ a.title }}", "{{ a.present }}"], "a in attendance", s, extra_rows=2,
                shade_cols=(2,), small_cols=())

    doc.add_paragraph(t["items"], style=s["heading"])
    _loop_table(doc, "klg-minutes", t["item_cols"], FORM_WIDTHS,
                ["{{ r.id }}", ("{{ r.title }}", "{%p if r.hint %}", "{{ r.hint }}", "{%p endif %}"),
                 "{{ r.presenter }}", "", "", "", "", "", ""],
                "r in rows", s, extra_rows=3, shade_cols=(3, 4, 5, 6, 7, 8))
    doc.add_paragraph(t["extra_hint"], style=s["note"])

    doc.add_paragraph(t["followups"], style=s["heading"])
    doc.add_paragraph("{%p if followups %}", style=s["body"])
    _loop_table(doc, "klg-followups", t["followup_cols"], FOLLOWUP_WIDTHS,
                ["{{ f.ref }}", ("{{ f.task }}", "{{ f.title }}"), "{{ f.responsible }}", "{{ f.meeting }}", "", ""],
                "f in followups", s, shade_cols=(4, 5))
    doc.add_paragraph("{%p else %}", style=s["body"])
    doc.add_paragraph(t["no_followups"], style=s["body"])
    doc.add_paragraph("{%p endif %}", style=s["body"])

    return kit.save(doc, folder, language, "minutes.docx")


def build_document(language: str, folder: Path = HERE) -> Path:
    t = TEXTS[language]
    doc = Document()
    s = _base(doc, t, landscape=False)
    kit.page_footer(doc.sections[0], s["footer"], s["width"],
                    t["doc_footer"] + "{% if not signed %} · {{ status_line }}{% endif %}", t["page"])

    doc.add_paragraph(t["doc_title"], style=s["title"])
    doc.add_paragraph("{{ group }}", style=s["subtitle"])
    doc.add_paragraph("{%p if signed %}", style=s["body"])
    doc.add_paragraph("{{ status_line }}", style=s["signed"])
    doc.add_paragraph("{%p else %}", style=s["body"])
    doc.add_paragraph("{{ status_line }}", style=s["status"])
    doc.add_paragraph("{%p endif %}", style=s["body"])
    _facts(doc, s, t["doc_facts"])

    doc.add_paragraph("{%p if omitted %}", style=s["body"])
    doc.add_paragraph("{{ omitted_note }}", style=s["note"])
    doc.add_paragraph("{%p endif %}", style=s["body"])

    _labelled(doc, s["body"], t["present"], "{{ present }}").paragraph_format.space_before = Pt(10)
    doc.add_paragraph("{%p if absent %}", style=s["body"])
    _labelled(doc, s["body"], t["absent"], "{{ absent }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])
    doc.add_paragraph("{%p if guests %}", style=s["body"])
    _labelled(doc, s["body"], t["guests"], "{{ guests }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])

    doc.add_paragraph(t["points"], style=s["heading"])
    doc.add_paragraph("{%p for r in rows %}", style=s["body"])
    doc.add_paragraph("§ {{ r.no }}\u2002{{ r.title }}", style=s["point"])
    doc.add_paragraph("{{ r.meta }}", style=s["meta"])
    # only a point not to be communicated says so, and only in the group's own copy (show_communicate);
    # beneath its heading, in the heading's block, so it never stands alone at the top of a page
    doc.add_paragraph("{%p if r.show_communicate %}", style=s["body"])
    p = doc.add_paragraph(style=s["meta"])
    p.add_run(t["communicate"] + ": {{ r.communicate }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])
    doc.add_paragraph("{%p if r.notes %}", style=s["body"])
    p = doc.add_paragraph(style=s["body"])
    p.add_run("{% if r.notes_label %}{{ r.notes_label }}: {% endif %}").bold = True
    p.add_run("{{ r.notes }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])
    doc.add_paragraph("{%p if r.responsible or r.next_step %}", style=s["body"])
    p = doc.add_paragraph(style=s["body"])
    p.add_run("{% if r.responsible %}" + t["responsible"] + ": {% endif %}").bold = True
    p.add_run("{{ r.responsible }}{% if r.responsible and r.next_step %}. {% endif %}")
    p.add_run("{% if r.next_step %}" + t["next_step"] + ": {% endif %}").bold = True
    p.add_run("{{ r.next_step }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])
    doc.add_paragraph("{%p if r.comes_back %}", style=s["body"])
    _labelled(doc, s["body"], t["comes_back"], "{{ r.comes_back }}")
    doc.add_paragraph("{%p endif %}", style=s["body"])
    doc.add_paragraph("{%p endfor %}", style=s["body"])

    doc.add_paragraph("{%p if followups %}", style=s["body"])
    doc.add_paragraph(t["followups"], style=s["heading"])
    _loop_table(doc, "klg-followups", t["followup_doc_cols"], DOC_FOLLOWUP_WIDTHS,
                ["{{ f.ref }}", ("{{ f.task }}", "{{ f.title }}"), "{{ f.responsible }}", "{{ f.status }}"],
                "f in followups", s)
    doc.add_paragraph("{%p endif %}", style=s["body"])

    doc.add_paragraph(t["signing"], style=s["heading"])
    signatures = _loop_table(doc, "klg-signatures", t["signing_cols"], SIGNING_WIDTHS,
                             ["{{ g.name }}", "{{ g.role }}", "{{ g.approved }}"], "g in signing", s, small_cols=())
    # the signing block stays together: the table's rows with the note beneath, so no page holds the note alone
    kit.keep_with_next(signatures)
    doc.add_paragraph("{{ signing_note }}", style=s["note"])

    return kit.save(doc, folder, language, "minutes_document.docx")


if __name__ == "__main__":
    kit.main(build_form, build_document)
