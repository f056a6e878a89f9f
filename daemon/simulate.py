"""What the people around klg produce: mails as their clients send them, Word
documents as they attach them, and the edits the chair and the secretary make
in Word (python-docx leaves a document as Word would).

``klg demo`` plays a week with these; the tests build their mails and documents
with them too, so the demo and the tests exercise the same inputs.
"""

from __future__ import annotations

import copy
import io
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import docx
from docx.table import Table, _Row



def member_mail(sender: str, name: str, to: str, subject: str, body: str | None, *, date: datetime,
                attachments: list[tuple[str, bytes, str]] = (), html: str | None = None,
                headers: dict[str, str] | None = None, message_id: str | None = None,
                reply_to: EmailMessage | None = None) -> bytes:
    """A mail as a member's client would send it; ``reply_to`` threads it onto a mail klg sent."""
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or make_msgid(domain=sender.partition("@")[2] or "example.org")
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = reply_to["Message-ID"]
    for k, v in (headers or {}).items():
        msg[k] = v
    if html is not None and body is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, data, ctype in attachments:
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes()


def small_docx(*paragraphs: str) -> bytes:
    """A Word document with ``paragraphs``, as a member would attach one."""
    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    return _save(d)


def _save(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- the agenda, edited in Word -------------------------------------------------------


class Agenda:
    """An agenda .docx opened for editing like a chair would in Word."""

    def __init__(self, data: bytes):
        self.doc = docx.Document(io.BytesIO(data))
        self.table = self._find()

    def _find(self) -> Table:
        for t in self.doc.tables:
            if t.rows and [c.text for c in t.rows[0].cells][:3] in (["Tid", "Nr", "Ärende"], ["Time", "No.", "Item"]):
                return t
        raise ValueError("no agenda table in the document")

    @property
    def header(self) -> list[str]:
        return [c.text for c in self.table.rows[0].cells]

    def rows(self) -> list[list[str]]:
        """Every data row's cells as text (the title cell: all its paragraphs joined by ' | ')."""
        out = []
        for row in self.table.rows[1:]:
            out.append([" | ".join(p.text for p in c.paragraphs if p.text) for c in row.cells])
        return out

    def titles(self) -> list[str]:
        return [row.cells[2].paragraphs[0].text for row in self.table.rows[1:]]

    def _tr(self, key: str):
        for row in self.table.rows[1:]:
            if row.cells[1].text == key or row.cells[2].paragraphs[0].text == key:
                return row
        raise KeyError(key)

    def move_before(self, key: str, before: str) -> None:
        self._tr(before)._tr.addprevious(self._tr(key)._tr)

    def remove(self, key: str) -> None:
        tr = self._tr(key)._tr
        tr.getparent().remove(tr)

    def set(self, key: str, column: int, text: str) -> None:
        _set_first_run(self._tr(key).cells[column], text)

    def add_after(self, key: str, cells: list[str]) -> None:
        """A new row below ``key`` (Word: Insert Rows Below copies the formatting), filled with ``cells``."""
        tr = self._tr(key)._tr
        new = copy.deepcopy(tr)
        tr.addnext(new)
        row = _Row(new, self.table)
        for cell, text in zip(row.cells, cells):
            _set_first_run(cell, text)
        for cell in row.cells:  # Word's new row has one empty paragraph per cell
            for p in cell.paragraphs[1:]:
                p._p.getparent().remove(p._p)

    def bytes(self) -> bytes:
        return _save(self.doc)


def _set_first_run(cell, text: str) -> None:
    """Replace a cell's text keeping the formatting of its first run, as typing over it in Word does."""
    p = cell.paragraphs[0]
    for r in p.runs[1:]:
        r._r.getparent().remove(r._r)
    if p.runs:
        p.runs[0].text = text
    else:
        p.add_run(text)


# --- the minutes form, filled in by the secretary ---------------------------------------

FORM_LABELS = {
    "sv": {"no": "Nr", "outcome": "Utfall", "name": "Namn", "present": "Närvarande (Ja/Nej)", "done": "Klar (Ja/Nej)",
           "signatory": "Justerare", "absent": "Nej"},
    "en": {"no": "No.", "outcome": "Outcome", "name": "Name", "present": "Present (Yes/No)", "done": "Done (Yes/No)",
           "signatory": "Signatory", "absent": "No"},
}


def _header(table) -> list[str]:
    return [c.text.strip() for c in table.rows[0].cells]


def table_with(doc, first: str, column: str):
    """The first table whose header starts with ``first`` and has ``column``."""
    for t in doc.tables:
        h = _header(t)
        if h and h[0] == first and column in h:
            return t
    raise KeyError(f"no table with {first} … {column}")


def _set_cell(cell, text: str) -> None:
    for p in cell.paragraphs[1:]:
        p._p.getparent().remove(p._p)
    p = cell.paragraphs[0]
    for r in p.runs:
        r._r.getparent().remove(r._r)
    lines = text.split("\n")
    p.add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line)


def fill_form(data: bytes, rows: dict[str, dict], *, absent: tuple[str, ...] = (), signatory: str | None = None,
              followups: dict[str, dict] | None = None, extra: list[dict] = (), lang: str = "sv") -> bytes:
    """Fill the minutes form as a secretary in Word would: ``rows`` maps an item id
    or a row's title to {column header: text}; ``extra`` fills the empty rows."""
    words = FORM_LABELS[lang]
    doc = docx.Document(io.BytesIO(data))
    items = table_with(doc, words["no"], words["outcome"])
    head = _header(items)
    pending = dict(rows)
    blank = []
    for row in items.rows[1:]:
        number, title = row.cells[0].text.strip(), row.cells[1].paragraphs[0].text.strip()
        if not number and not title:
            blank.append(row)
            continue
        values = pending.pop(number, None) if number in pending else pending.pop(title, {})
        for col, text in values.items():
            _set_cell(row.cells[head.index(col)], text)
    if pending:
        raise KeyError(f"rows not in the form: {list(pending)}")
    for row, values in zip(blank, extra):
        for col, text in values.items():
            _set_cell(row.cells[head.index(col)], text)
    att = table_with(doc, words["name"], words["present"])
    for row in att.rows[1:]:
        if row.cells[0].text.strip() in absent:
            _set_cell(row.cells[2], words["absent"])
    if signatory is not None:
        for t in doc.tables:
            for row in t.rows:
                if len(row.cells) == 2 and row.cells[0].text.strip() == words["signatory"]:
                    _set_cell(row.cells[1], signatory)
    if followups:
        fu = table_with(doc, words["no"], words["done"])
        fh = _header(fu)
        for row in fu.rows[1:]:
            for col, text in followups.get(row.cells[0].text.strip(), {}).items():
                _set_cell(row.cells[fh.index(col)], text)
    return _save(doc)


OUTLOOK_ANSWERS = {"DECLINED": ("Tackat nej", "Declined"), "ACCEPTED": ("Accepterat", "Accepted"),
                   "TENTATIVE": ("Preliminärt", "Tentative")}


def outlook_calendar_reply(sender: str, name: str, to: str, *, uid: str, start: datetime, end: datetime,
                           partstat: str, summary: str, comment: str = "", date: datetime,
                           language: str = "sv", reply_to: EmailMessage | None = None) -> bytes:
    """A meeting response as Outlook (Exchange) sends it: "Tackat nej: …", multipart/alternative
    with the comment as text and HTML and a text/calendar; method=REPLY part, Thread-Index and
    no In-Reply-To unless ``reply_to`` is given (Outlook on the web sets it, the desktop often not)."""
    word = OUTLOOK_ANSWERS[partstat][0 if language == "sv" else 1]
    lang = "sv-SE" if language == "sv" else "en-US"
    stamp = date.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR", "METHOD:REPLY", "PRODID:Microsoft Exchange Server 2010", "VERSION:2.0",
        "BEGIN:VTIMEZONE", "TZID:W. Europe Standard Time",
        "BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
        "BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "END:VTIMEZONE",
        "BEGIN:VEVENT",
        f"ATTENDEE;PARTSTAT={partstat};CN={name}:mailto:{sender}",
        *([f"COMMENT;LANGUAGE={lang}:{comment}"] if comment else []),
        f"SUMMARY;LANGUAGE={lang}:{word}: {summary}",
        f"DTSTART;TZID=W. Europe Standard Time:{start.strftime('%Y%m%dT%H%M%S')}",
        f"DTEND;TZID=W. Europe Standard Time:{end.strftime('%Y%m%dT%H%M%S')}",
        f"UID:{uid}", "CLASS:PUBLIC", "PRIORITY:5", f"DTSTAMP:{stamp}", "TRANSP:OPAQUE", "STATUS:CONFIRMED",
        "SEQUENCE:0", "X-MICROSOFT-CDO-APPT-SEQUENCE:0", "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "END:VEVENT", "END:VCALENDAR", ""]
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = f"{word}: {summary}"
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or "example.org")
    msg["Thread-Topic"] = summary
    msg["Thread-Index"] = "AdnKLGtestAAAAAAAAAAAAAAAAAAAA=="
    msg["Content-class"] = "urn:content-classes:calendarmessage"
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = reply_to["Message-ID"]
    msg.set_content(comment or "")
    msg.add_alternative(f"<html><body><p>{comment}</p></body></html>", subtype="html")
    msg.add_alternative("\r\n".join(lines).encode("utf-8"), maintype="text", subtype="calendar",
                        params={"method": "REPLY"}, cte="base64")
    return msg.as_bytes()
