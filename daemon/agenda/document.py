"""The agenda as a Word document: rendering it from the template with docxtpl,
checking a template a chancellery edited, and reading the item table back
from a document the chair or the chancellery returns.

Rendering has autoescape on, so a title such as ``Budget & <prognos>`` is
text, not XML. A broken tag in the template is reported naming the tag and
the file, and a rendered document is opened again before it is used, so a
broken template never produces a corrupt file.

Reading back accepts what Word does to a document: runs split anywhere,
tracked changes (insertions count, deletions and deleted rows do not),
merged cells, reordered columns, Swedish or English headers.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import officezip
from daemon.agenda.ooxml import order_docx

if TYPE_CHECKING:  # annotations; lxml is imported where a document is read or made (start-up, issue 19)
    from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def q(tag: str) -> str:
    return f"{{{W}}}{tag}"


# The agenda table's columns, by what their header cell may say (any case).
COLUMNS = {
    "time": ("tid", "time", "klockslag", "kl"),
    "id": ("nr", "no", "ärende-id", "ärendenr", "ärendenummer", "id", "number", "item no", "item id"),
    "title": ("ärende", "rubrik", "item", "title", "punkt"),
    "presenter": ("föredragande", "presenter", "ansvarig"),
    "kind": ("typ", "kind", "type", "ärendetyp"),
    "minutes": ("min", "minuter", "minutes", "mins", "tid (min)", "time (min)", "tid min"),
}
COLUMN_NAMES = {
    "sv": {"time": "Tid", "id": "Nr", "title": "Ärende", "presenter": "Föredragande", "kind": "Typ", "minutes": "Min"},
    "en": {"time": "Time", "id": "No.", "title": "Item", "presenter": "Presenter", "kind": "Kind", "minutes": "Min"},
}
# A value for every name the templates may use; used to check a template.
SAMPLE_CONTEXT = {
    "organisation": "Kommun", "group": "Grupp", "short": "KLG", "date": "2026-12-01", "date_long": "tisdag 1 december 2026",
    "time_range": "09:30–12:00", "start": "09:30", "end": "12:00", "location": "Sal", "chair": "Ordförande",
    "secretary": "Sekreterare", "version": 1, "status_line": "UTKAST", "is_final": False, "warnings": ["varning"],
    "address": "klg@example.org", "deadline_rule": "dagen före kl. 10.00",
    "rows": [{"time": "09:30–09:50", "id": "KLG-2026-001", "title": "Rubrik", "note": "not", "presenter": "Namn",
              "kind": "Beslut", "minutes": 20, "bg": "FFFFFF", "type": "item", "attachments": "a.pdf",
              "start": "09:30", "end": "09:50"}],
}
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


class AgendaTemplateError(Exception):
    """The agenda template cannot be used; the message names the file, the tag and the fix."""


class Unreadable(Exception):
    """A returned document whose table cannot be read; ``problems`` name the row and the cell."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# --- text out of WordprocessingML ---------------------------------------------


def _deleted(el, stop) -> bool:
    parent = el.getparent()
    while parent is not None and parent is not stop:
        if parent.tag in (q("del"), q("moveFrom")):
            return True
        parent = parent.getparent()
    return False


def paragraph_text(p) -> str:
    """The text of a ``w:p`` as Word shows it with all tracked changes accepted."""
    out = []
    for el in p.iter(q("t"), q("tab"), q("br"), q("cr"), q("noBreakHyphen")):
        if el.getparent().tag != q("r") or _deleted(el, p):
            continue
        if el.tag == q("t"):
            out.append(el.text or "")
        elif el.tag == q("noBreakHyphen"):
            out.append("-")
        else:
            out.append(" ")
    return "".join(out)


def _row_deleted(tr) -> bool:
    trpr = tr.find(q("trPr"))
    return trpr is not None and trpr.find(q("del")) is not None


def _cells(tr) -> list[tuple[int, list[str]]]:
    """(first column index, paragraph texts) of each cell of a row, honouring merged cells.
    The row must have passed ``officezip.bad_row``: its spans are small numbers."""
    out, col = [], 0
    for tc in tr.iter(q("tc")):
        if tc.getparent() is not tr and tc.getparent().getparent() is not tr:  # nested table
            continue
        span = 1
        tcpr = tc.find(q("tcPr"))
        if tcpr is not None and tcpr.find(q("gridSpan")) is not None:
            span = int(tcpr.find(q("gridSpan")).get(q("val")))
        out.append((col, [paragraph_text(p) for p in tc.iter(q("p"))]))
        col += span
    return out


_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Why a returned document cannot be read, by officezip's reason; {detail} is its message.
UNREADABLE = {
    "sv": {
        "not_docx": "bilagan är inget Word-dokument (.docx); spara den som .docx (Word: Spara som → Word-dokument) "
                    "och skicka den igen",
        "too_large": "dokumentet är alldeles för stort för att vara en dagordning ({detail}); skicka tillbaka "
                     "dagordningen som klg skickade, med bara tabellen ändrad",
        "bomb": "dokumentet packas upp till en orimlig storlek ({detail}) och öppnades inte; skicka tillbaka "
                "dagordningen som klg skickade, med bara tabellen ändrad",
        "dtd": "dokumentet innehåller en DTD (<!DOCTYPE>), som Word aldrig skriver, och öppnades inte; öppna det "
               "i Word, spara det som Word-dokument (.docx) och skicka det igen",
        "damaged": "dokumentet är skadat ({detail}); öppna det i Word, spara det igen och skicka det",
        "strict": "dokumentet är sparat som ”Strikt Open XML-dokument”, som klg inte kan läsa; spara det som "
                  "Word-dokument (.docx) och skicka det igen",
        "no_table": "dokumentet har ingen dagordningstabell: klg letar efter tabellen vars rubrikrad har "
                    "kolumnerna Nr och Ärende; skicka tillbaka dagordningen som klg skickade, ändrad i tabellen",
        "bad_row": "{where}: cellerna är sammanslagna på ett sätt som inte går att läsa ({detail}); dela upp "
                   "cellerna på raden (Word: Layout → Dela celler) eller skriv om raden",
        "header": "Rubrikraden",
        "row": "Rad {n}",
    },
    "en": {
        "not_docx": "the attachment is not a Word document (.docx); save it as .docx (Word: Save As → Word "
                    "Document) and send it again",
        "too_large": "the document is far too large to be an agenda ({detail}); send back the agenda document "
                     "klg sent, with only the table edited",
        "bomb": "the document expands to an absurd size ({detail}) and was not opened; send back the agenda "
                "document klg sent, with only the table edited",
        "dtd": "the document contains a DTD (<!DOCTYPE>), which Word never writes, and was not opened; open it in "
               "Word, save it as Word Document (.docx) and send it again",
        "damaged": "the document is damaged ({detail}); open it in Word, save it again and send it",
        "strict": "the document is saved as \"Strict Open XML Document\", which klg cannot read; save it as Word "
                  "Document (.docx) and send it again",
        "no_table": "the document has no agenda table: klg looks for the table whose header row has the columns "
                    "No. and Item; send back the agenda document klg sent, edited in its table",
        "bad_row": "{where}: its cells are merged in a way that cannot be read ({detail}); split the cells of the "
                   "row (Word: Layout → Split Cells) or type the row again",
        "header": "The header row",
        "row": "Row {n}",
    },
}


def _unreadable(language: str, key: str, **values) -> Unreadable:
    return Unreadable([UNREADABLE[language][key].format(**values)])


def _document_xml(data: bytes, language: str) -> etree._Element:
    """The returned document's body XML, read through ``officezip`` (sizes checked, no DTDs)."""
    try:
        found = officezip.parts(data, officezip.RETURNED)
        xml = found.get("word/document.xml")
        if xml is None:
            raise _unreadable(language, "not_docx")
        root = officezip.parse_xml(xml, "word/document.xml")
    except officezip.Refused as refused:
        raise _unreadable(language, refused.for_reader, detail=str(refused)) from None
    if officezip.is_strict(root):
        raise _unreadable(language, "strict")
    return root


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("\u00a0", " ").split()).strip(" .:")


@dataclass
class TableRow:
    number: int  # 1-based among the table's data rows, as the reviewer counts them
    cells: dict[str, str] = field(default_factory=dict)  # column -> text (title: its first paragraph)


@dataclass
class Table:
    columns: list[str]  # which columns the document has
    rows: list[TableRow]


def read_table(data: bytes, language: str = "sv") -> Table:
    """The agenda table of a returned .docx; Unreadable (in ``language``) naming the cause,
    or every row that cannot be read, when there is none."""
    text = UNREADABLE[language]
    root = _document_xml(data, language)
    body = root.find(q("body"))
    tables = list(body.iter(q("tbl"))) if body is not None else []
    for tbl in tables:
        rows = [tr for tr in tbl.findall(q("tr")) if not _row_deleted(tr)]
        if not rows:
            continue
        bad = officezip.bad_row(rows[0])
        if bad:
            if _looks_like_agenda(rows[0]):
                raise _unreadable(language, "bad_row", where=text["header"], detail=bad)
            continue
        header = {}
        for col, paras in _cells(rows[0]):
            name = _norm(" ".join(paras))
            for column, aliases in COLUMNS.items():
                if name in aliases and column not in header:
                    header[column] = col
                    break
        if "id" not in header or "title" not in header:
            continue
        by_col = {col: column for column, col in header.items()}
        out, problems = [], []
        for number, tr in enumerate(rows[1:], start=1):
            bad = officezip.bad_row(tr)
            if bad:
                problems.append(text["bad_row"].format(where=text["row"].format(n=number), detail=bad))
                continue
            cells: dict[str, str] = {}
            for col, paras in _cells(tr):
                column = by_col.get(col)
                if column is None:
                    continue
                if column == "title":
                    lines = [" ".join(p.split()) for p in paras if p.strip()]
                    cells[column] = lines[0] if lines else ""
                    cells["title_notes"] = " · ".join(lines[1:])  # "Dnr …", "Sekretess: …" (daemon.records)
                else:
                    cells[column] = " ".join(" ".join(paras).split())
            out.append(TableRow(number, cells))
        if problems:
            raise Unreadable(problems)
        return Table(sorted(header, key=header.get), out)
    raise _unreadable(language, "no_table")


def _looks_like_agenda(tr) -> bool:
    """A header row whose text names the Nr and Ärende columns, whatever its cells' spans say."""
    words = {_norm(paragraph_text(p)) for p in tr.iter(q("p"))}
    return bool(words & set(COLUMNS["id"])) and bool(words & set(COLUMNS["title"]))


# --- rendering ---------------------------------------------------------------


def _template_texts(path: Path) -> list[str]:
    """Every paragraph's text in the template's body, headers and footers."""
    from lxml import etree  # imported here, not at the top: start-up (issue 19)

    texts = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes)\.xml", name):
                root = etree.fromstring(z.read(name))
                texts += [paragraph_text(p) for p in root.iter(q("p"))]
    return texts


def lint(path: Path) -> list[str]:
    """Tags that are not closed within their paragraph, or that jinja cannot parse on their own."""
    import jinja2  # imported here, not at the top: start-up (issue 19)

    problems = []
    env = jinja2.Environment()
    for text in _template_texts(path):
        rest = _TAG.sub(lambda m: " " * len(m.group(0)), text)
        for opener, closer in (("{{", "}}"), ("{%", "%}"), ("{#", "#}")):
            at = rest.find(opener)
            if at >= 0:
                problems.append(f"the tag “{text[at:at + 40].strip()}” is not closed with {closer} in the same paragraph")
        for closer in ("}}", "%}"):
            at = rest.find(closer)
            if at >= 0:
                problems.append(f"“{text[max(0, at - 30):at + 2].strip()}” ends a tag that was never opened")
        for m in _TAG.finditer(text):
            tag = m.group(0)
            if tag.startswith("{{"):
                try:
                    env.parse(tag)
                except jinja2.TemplateSyntaxError as exc:
                    problems.append(f"the tag “{tag}” is broken: {exc.message}")
    return [f"{path}: {p}; correct it in Word or restore the file from the klg package" for p in problems]


def _name_tag(path: Path, message: str) -> str:
    """The template's tag that uses the unknown name in ``message``, if one can be found."""
    names = re.findall(r"'([^']+)'", message)
    if not names:
        return ""
    name = names[-1]
    for text in _template_texts(path):
        for m in _TAG.finditer(text):
            if re.search(rf"\b{re.escape(name)}\b", m.group(0)):
                return f"the tag “{m.group(0)}”"
    return f"“{name}”"


def render(template: Path, context: dict) -> bytes:
    """Render the agenda template with ``context`` and return the .docx bytes.

    AgendaTemplateError names the broken tag; the result is opened again with
    python-docx before it is returned, so a bad template never yields a corrupt file.
    """
    import jinja2  # imported here, not at the top: start-up (issue 19)
    from docxtpl import DocxTemplate

    template = Path(template)
    if not template.is_file():
        raise AgendaTemplateError(f"the agenda template {template} is missing: restore it from the klg package "
                                  "(templates/<language>/agenda.docx)")
    problems = lint(template)
    if problems:
        raise AgendaTemplateError(problems[0])
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    try:
        tpl = DocxTemplate(str(template))
        tpl.render(_clean(context), jinja_env=env, autoescape=True)
        out = io.BytesIO()
        tpl.save(out)
    except jinja2.TemplateSyntaxError as exc:
        lines = list(getattr(exc, "docx_context", []) or [])
        where = ""
        if lines and exc.lineno:
            index = (exc.lineno - 1) - max(exc.lineno - 4, 0)
            if 0 <= index < len(lines) and lines[index].strip():
                where = f" in the paragraph “{lines[index].strip()[:80]}”"
        raise AgendaTemplateError(f"{template}: a tag{where} is broken ({exc.message}); correct it in Word "
                                  "or restore the file from the klg package") from None
    except jinja2.UndefinedError as exc:
        raise AgendaTemplateError(f"{template}: {_name_tag(template, exc.message or '')} uses a value klg does not "
                                  f"have ({exc.message}); use one of: {', '.join(sorted(SAMPLE_CONTEXT))} "
                                  "(rows have time, id, title, note, presenter, kind, minutes)") from None
    except jinja2.TemplateError as exc:
        raise AgendaTemplateError(f"{template}: the template cannot be filled in ({exc}); "
                                  "restore the file from the klg package") from None
    data = order_docx(out.getvalue())
    verify(data, str(template))
    return data


def _clean(value):
    """``value`` with characters XML cannot hold removed from every string in it."""
    if isinstance(value, str):
        return _XML_INVALID.sub("", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def verify(data: bytes, what: str) -> None:
    """Raise AgendaTemplateError unless ``data`` is a .docx python-docx and a strict XML parser accept."""
    import docx
    from lxml import etree  # imported here, not at the top: start-up (issue 19)

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                if name.endswith(".xml"):
                    etree.fromstring(z.read(name))
        docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise AgendaTemplateError(f"{what}: the rendered agenda is not a valid Word document ({exc}); "
                                  "a tag probably sits across a table or paragraph boundary; restore the file "
                                  "from the klg package") from None


def check_template(path: Path) -> list[str]:
    """DOCX_CHECKS entry: problems with an ``agenda.docx`` template (other files are not ours)."""
    path = Path(path)
    if path.name != "agenda.docx":
        return []
    from lxml import etree  # imported here, not at the top: start-up (issue 19)

    try:
        problems = lint(path)
    except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, OSError) as exc:
        return [f"{path}: not a readable Word document ({exc}); restore it from the klg package"]
    if problems:
        return problems
    try:
        data = render(path, SAMPLE_CONTEXT)
        table = read_table(data)
    except AgendaTemplateError as exc:
        return [str(exc)]
    except Unreadable:
        return [f"{path}: the agenda table is missing or its header row lost the columns Nr and Ärende "
                "(No. and Item); klg needs them to read the edited agenda back; restore the file from the klg package"]
    if not table.rows or table.rows[0].cells.get("id") != "KLG-2026-001":
        return [f"{path}: the agenda table has no row per item (the rows between {{%tr for row in rows %}} and "
                "{%tr endfor %}); restore the file from the klg package"]
    return []
