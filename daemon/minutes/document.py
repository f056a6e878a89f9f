"""The minutes' Word documents: rendering the form and the minutes document
with docxtpl (autoescape on), reading a filled form back with python-docx,
PDF/A-2 through LibreOffice, and the template checks for `klg check-config`.

The form's tables are found by their header rows (Swedish or English column
names, in any order), so a chancellery may restyle the template in Word,
reorder or narrow columns; the ``Nr`` column carries the item ids.
"""

from __future__ import annotations

import io
import re
from pathlib import Path


from daemon import docmeta, documents, officezip
from daemon.minutes.formcheck import SIGNATORY_LABELS, RawForm, norm
from daemon.store import Store
from daemon.texts import TemplateProblem

FORM = "minutes.docx"
DOCUMENT = "minutes_document.docx"
SIGNATURES = "klg-signatures"  # the caption of the minutes' signing table
POINT_STYLE = "KLG Punkt"  # the style of a point's heading in the minutes
KEPT_AT_MOST = 25  # paragraphs kept with the signing block: a point's, never the whole document

ITEM_HEADERS = {
    "id": ("nr", "no", "id", "ärende nr", "ärendenr", "number"),
    "title": ("ärende", "item", "rubrik", "title", "punkt", "point"),
    "presenter": ("föredragande", "presenter"),
    "outcome": ("utfall", "outcome", "typ av utfall", "kind of outcome"),
    "notes": ("anteckningar / beslut", "anteckningar/beslut", "anteckning / beslut", "anteckningar", "anteckning",
              "beslut", "notes / decision", "notes/decision", "notes or decision", "notes", "decision"),
    "responsible": ("ansvarig", "responsible"),
    "next_step": ("nästa steg", "next step"),
    "comes_back": ("återkommer", "comes back", "återkommer till", "comes back on"),
    "communicate": ("kommuniceras", "kommunicera", "communicate", "communicated"),
}
ATTENDANCE_HEADERS = {
    "name": ("namn", "name"),
    "title": ("titel", "title", "befattning", "role"),
    "present": ("närvarande", "present", "närvaro", "attendance"),
}
FOLLOWUP_HEADERS = {
    "id": ("nr", "no", "id"),
    "task": ("uppgift", "task"),
    "responsible": ("ansvarig", "responsible"),
    "meeting": ("från mötet", "from meeting", "möte", "meeting"),
    "done": ("klar", "klart", "done"),
    "comment": ("kommentar", "comment", "kommentarer", "comments"),
}
def template_path(templates_dir: Path, language: str, name: str) -> Path:
    return Path(templates_dir) / language / name


def render(templates_dir: Path, language: str, name: str, context: dict) -> bytes:
    """Render the Word template ``name`` with ``context`` (autoescaped) to .docx bytes."""
    path = template_path(templates_dir, language, name)
    if not path.is_file():
        raise TemplateProblem(f"the Word template {path} is missing: restore it from the klg package "
                              "(templates/build_minutes.py makes it)")
    import jinja2  # imported here, not at the top: start-up (issue 19)
    from docxtpl import DocxTemplate

    try:
        tpl = DocxTemplate(str(path))
        tpl.render(context, jinja_env=jinja2.Environment(undefined=jinja2.StrictUndefined), autoescape=True)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"the Word template {path} has a broken tag ({exc.message}, near line {exc.lineno} of "
                              "its XML): fix the tag in Word, or restore the file") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"the Word template {path} uses an unknown value ({exc.message}): remove or correct "
                              "that tag in Word") from None
    except Exception as exc:  # docxtpl raises plain exceptions for damaged files
        raise TemplateProblem(f"the Word template {path} could not be rendered ({type(exc).__name__}: {exc}): "
                              "restore it from the klg package") from None
    keep_signing_with_last_point(tpl.docx)
    out = io.BytesIO()
    tpl.save(out)
    return docmeta.label(out.getvalue(), lang=docmeta.locale(language))  # title and author come from its tags


def keep_signing_with_last_point(doc) -> None:
    """Keep the end of the minutes on the page of the signatures (issue 18): every paragraph from
    the last point's heading through the signing heading keeps with the next, as the signing
    table's rows already do; when the follow-up table comes between, its last row does. Word and
    LibreOffice then move the last point onto the signatures' page instead of leaving the signing
    block alone on the last one. Done on the rendered document because in the template the last
    point is only a row of the loop; a document without the signing table is left as it is."""
    w = f"{{{officezip.W}}}"
    signing = next((t for t in doc.element.body.iter(f"{w}tbl")
                    if t.find(f"{w}tblPr/{w}tblCaption") is not None
                    and t.find(f"{w}tblPr/{w}tblCaption").get(f"{w}val") == SIGNATURES), None)
    if signing is None:
        return
    point_styles = {s.style_id for s in doc.styles if s.name == POINT_STYLE}
    element = signing.getprevious()
    for _ in range(KEPT_AT_MOST):  # a restyled template without "KLG Punkt" must not chain the whole document
        if element is None:
            break
        if element.tag == f"{w}tbl":
            rows = element.findall(f"{w}tr")
            if rows:
                trpr = rows[-1].get_or_add_trPr()
                if trpr.find(f"{w}cantSplit") is None:
                    trpr.append(trpr.makeelement(f"{w}cantSplit", {}))
                for paragraph in rows[-1].iter(f"{w}p"):
                    paragraph.get_or_add_pPr().get_or_add_keepNext()
            break
        if element.tag == f"{w}p":
            ppr = element.get_or_add_pPr()
            ppr.get_or_add_keepNext()
            if ppr.pStyle is not None and ppr.pStyle.val in point_styles:
                break
        element = element.getprevious()


def to_pdfa(store: Store, docx: bytes, filename: str) -> bytes:
    """PDF/A-2b (tagged) of a .docx klg rendered, through LibreOffice outside the store's
    transaction (``daemon.documents``); ConversionError when there is none."""
    return documents.pdf(store, docx, filename)


# --- reading a filled form --------------------------------------------------------


def _header_key(text: str, headers: dict[str, tuple[str, ...]]) -> str | None:
    t = norm(re.sub(r"\(.*?\)", "", text))
    for key, names in headers.items():
        if t in names:
            return key
    return None


def _columns(row, headers: dict) -> dict[int, str]:
    cols: dict[int, str] = {}
    for i, cell in enumerate(row.cells):
        key = _header_key(cell.text, headers)
        if key and key not in cols.values():
            cols[i] = key
    return cols


def _cell_text(cell, first_paragraph: bool = False) -> str:
    if first_paragraph:
        return cell.paragraphs[0].text.strip() if cell.paragraphs else ""
    return "\n".join(p.text for p in cell.paragraphs).strip()


def _rows(table, cols: dict[int, str], first_paragraph_keys: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for n, row in enumerate(table.rows[1:], start=2):
        cells = row.cells
        values = {"line": n}
        for i, key in cols.items():
            if i < len(cells):
                values[key] = _cell_text(cells[i], key in first_paragraph_keys)
        out.append(values)
    return out


def _open(data: bytes, raw: RawForm):
    """The returned form as a python-docx Document, or None with ``raw.unreadable`` saying why.

    python-docx never sees the file as it came: ``officezip`` checks its sizes and
    its XML (no DTDs), every table row is checked for spans python-docx would turn
    into millions of cells, and python-docx opens the rebuilt archive."""
    from docx import Document

    try:
        found = officezip.parts(data, officezip.RETURNED)
        xml = found.get("word/document.xml")
        if xml is None:
            raw.unreadable.append({"key": "not_docx"})
            return None
        root = officezip.parse_xml(xml, "word/document.xml")
    except officezip.Refused as refused:
        raw.unreadable.append({"key": refused.for_reader, "detail": str(refused)})
        return None
    if officezip.is_strict(root):
        raw.unreadable.append({"key": "strict"})
        return None
    body = root.find(f"{{{officezip.W}}}body")
    for t, tbl in enumerate(body.findall(f"{{{officezip.W}}}tbl") if body is not None else [], start=1):
        for r, tr in enumerate(tbl.findall(f"{{{officezip.W}}}tr"), start=1):
            bad = officezip.bad_row(tr)
            if bad:
                raw.unreadable.append({"key": "bad_row", "detail": bad, "table": t, "row": r})
    if raw.unreadable:
        return None
    try:
        return Document(io.BytesIO(officezip.rebuild(found)))
    except Exception as exc:  # python-docx raises plain exceptions for parts it cannot make sense of
        raw.unreadable.append({"key": "damaged", "detail": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return None


def read_form(data: bytes) -> RawForm:
    """The tables of a returned form as text; ``has_items_table`` is False when the
    document is not a minutes form, and ``unreadable`` says why when it is not a Word
    document klg can open (damaged, too large, a DTD, Strict Open XML, broken merged cells)."""
    raw = RawForm()
    doc = _open(data, raw)
    if doc is None:
        return raw
    raw.identifier = (doc.core_properties.identifier or "").strip()
    label_re = re.compile(r"^\s*(" + "|".join(re.escape(x) for x in sorted(SIGNATORY_LABELS, key=len, reverse=True))
                          + r")\s*:\s*(.+)$", re.IGNORECASE)
    for p in doc.paragraphs:
        m = label_re.match(p.text)
        if m and m[2].strip():
            raw.signatories.append(m[2].strip())
    for n, table in enumerate(doc.tables, start=1):
        try:
            _read_table(table, raw)
        except Exception as exc:  # one table python-docx cannot walk is named, not raised
            raw.unreadable.append({"key": "bad_table", "detail": f"{type(exc).__name__}: {str(exc)[:200]}", "table": n})
    return raw


def _read_table(table, raw: RawForm) -> None:
    """Add what one of the form's tables holds to ``raw``, by its header row."""
    if not table.rows:
        return
    first = table.rows[0]
    if len(table.columns) == 2:
        for row in table.rows:  # a label/value table such as the facts at the top
            cells = row.cells
            if len(cells) >= 2 and norm(re.sub(r"\(.*?\)", "", cells[0].text)) in SIGNATORY_LABELS:
                value = _cell_text(cells[1])
                if value:
                    raw.signatories.append(value)
    item_cols = _columns(first, ITEM_HEADERS)
    if "id" in item_cols.values() and "outcome" in item_cols.values():
        raw.has_items_table = True
        raw.rows += _rows(table, item_cols, first_paragraph_keys=("title",))
        return
    att_cols = _columns(first, ATTENDANCE_HEADERS)
    if "name" in att_cols.values() and "present" in att_cols.values():
        raw.attendance += _rows(table, att_cols)
        return
    fu_cols = _columns(first, FOLLOWUP_HEADERS)
    if "id" in fu_cols.values() and "done" in fu_cols.values():
        raw.followups += _rows(table, fu_cols)


# --- template checks ---------------------------------------------------------------

SAMPLE_FORM = {
    "group": "Kommunledningsgruppen", "organisation": "Sjöviks kommun", "date": "2026-12-01",
    "date_long": "tisdag 1 december 2026", "time_range": "09:30–12:00", "location": "Rum", "chair": "Karin Berg",
    "secretary": "Johan Ek", "signatories": "", "identifier": "klg-minutes:2026-12-01", "doc_title": "Formulär",
    "attendance": [{"name": "Karin Berg", "title": "Kommundirektör", "present": "Ja"}],
    "rows": [{"id": "KLG-2026-001", "title": "Prov", "presenter": "Karin Berg", "hint": "Beslut"}],
    "followups": [{"ref": "U1", "task": "Uppgift", "title": "Prov", "responsible": "Karin Berg", "meeting": "2026-11-24"}],
}
SAMPLE_DOCUMENT = {
    **SAMPLE_FORM, "signed": False, "status_line": "Förslag", "omitted": 0, "omitted_note": "", "present": "Karin Berg",
    "absent": "", "guests": "",
    "rows": [{"no": 1, "title": "Prov", "meta": "KLG-2026-001", "notes": "Text", "notes_label": "Beslut",
              "responsible": "", "next_step": "", "comes_back": "", "communicate": "Ja",
              "show_communicate": False}],
    "followups": [{"ref": "U1", "task": "Uppgift", "title": "Prov", "responsible": "Karin Berg", "status": "Klar"}],
    "signing": [{"name": "Karin Berg", "role": "Ordförande", "approved": "2026-12-02 10:00"}], "signing_note": "",
}


def check_template(path: Path) -> list[str]:
    """Problems with a (possibly Word-edited) minutes template at ``path``; other templates are not ours."""
    path = Path(path)
    if path.name not in (FORM, DOCUMENT):
        return []
    try:
        data = render(path.parent.parent, path.parent.name, path.name,
                      SAMPLE_FORM if path.name == FORM else SAMPLE_DOCUMENT)
    except TemplateProblem as exc:
        return [str(exc)]
    if path.name == DOCUMENT:
        return []
    raw = read_form(data)
    problems = []
    if not raw.has_items_table:
        problems.append(f"template {path}: the table of points must keep its header row with the columns Nr and "
                        "Utfall (No. and Outcome); restore the table from the klg package")
    else:
        missing = [k for k in ("notes", "comes_back", "communicate") if k not in raw.rows[0]]
        if missing:
            problems.append(f"template {path}: the table of points lacks {'the column' if len(missing) == 1 else 'the columns'} {', '.join(missing)}; "
                            "add them back (Anteckningar / beslut, Återkommer, Kommuniceras)")
        if not raw.rows or raw.rows[0].get("id") != "KLG-2026-001":
            problems.append(f"template {path}: the Nr column must show {{{{ r.id }}}} so the filled form can be read back")
    if not raw.attendance:
        problems.append(f"template {path}: the attendance table (Namn, Närvarande) is missing; restore it")
    return problems
