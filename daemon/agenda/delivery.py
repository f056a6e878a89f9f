"""Sending an agenda to every member: the final agenda and its updates.

The mail carries the agenda (.docx), its PDF (LibreOffice), the invitation
(.ics) and the items' documents. When the documents together are larger than
``[agenda] max_mail_mb`` they stay out of the mail and the meeting book (one
PDF: agenda first, every document after it, bookmarked per item) goes
instead. The meeting book is always made and stored, and every file sent is
also written to ``<data>/agendas/<date>/`` for the chancellery.

If LibreOffice fails, the agenda still goes out (as .docx, with the documents
when they fit) and the chancellery is told why the PDF is missing: Monday's
agenda reaching the members matters more than its PDF copy.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time

from daemon import attendance
from daemon import documents as docs_lib
from daemon import files as fileslib
from daemon import meetings
from daemon.agenda import book as booklib
from daemon.agenda import common, guests, invite, layout, rendering, versions, words
from daemon.agenda.settings import settings
from daemon.context import Ctx
from daemon.meetings import MeetingState
from daemon.files import safe_name
from daemon.mail.outgoing import DOCX, OutAttachment, encoded_size
from daemon.store import iso

log = logging.getLogger("klg.agenda")

PDF = "application/pdf"
ICS = "text/calendar"


def _documents(ctx: Ctx, rows: list[dict]) -> list[tuple[dict, list[dict]]]:
    """(row, attachment rows) for each item row, in agenda order; the items' current documents."""
    out = []
    for r in rows:
        if r["type"] == "item" and r.get("id"):
            out.append((r, ctx.store.attachments(r["id"])))
    return out


def _refresh(rows: list[dict], documents: list[tuple[dict, list[dict]]]) -> list[dict]:
    """The rows with each item's attachment names as they are now."""
    names = {r["id"]: [a["name"] for a in docs] for r, docs in documents}
    return [{**r, "attachments": names.get(r.get("id"), r.get("attachments", []))} if r["type"] == "item" else r
            for r in rows]


def description(ctx: Ctx, rows: list[dict]) -> str:
    """The agenda as plain text for the invitation."""
    lines = []
    for r in rows:
        who = f" ({r['presenter']})" if r.get("presenter") else ""
        lines.append(f"{r['start']}–{r['end']}  {words.row_label(r)}{who}")
    return "\n".join(lines)


def export(ctx: Ctx, meeting: str, files: dict[str, bytes], version: int | None = None) -> None:
    """Write what was sent to ``<data>/agendas/<date>/`` (the newest) and, every version kept as sent
    (public records), to ``<data>/agendas/<date>/versions/v<n>/`` (best effort: the store has it anyway)."""
    folder = ctx.config.data_dir / "agendas" / meeting
    try:
        for target in (folder, *([folder / "versions" / f"v{version}"] if version else [])):
            for name, data in files.items():
                fileslib.publish(target, safe_name(name), data)
    except OSError as exc:
        log.warning("could not write the agenda files to %s: %s", folder, exc)


def send(ctx: Ctx, meeting: date, version: dict, previous: dict | None) -> None:
    """Send ``version`` of ``meeting``'s agenda to every member; ``previous`` is the
    version sent before (an update) or None (the final agenda)."""
    d = meeting.isoformat()
    n = version["version"]
    cal = common.calendar(ctx)
    documents = _documents(ctx, version["rows"])
    rows = _refresh(version["rows"], documents)
    problems: list[str] = []  # why there is no PDF of the agenda
    book_problems: list[str] = []  # why there is no meeting book

    docx = rendering.render(ctx, meeting, rows, n, final=True,
                         approved_at=_parse(version["approved_at"]), approved_by=version["approved_by"])
    base_name = common.final_name(ctx, meeting, "agenda")
    book_name = f"{common.final_name(ctx, meeting, 'book')}.pdf"
    files = {f"{base_name}.docx": docx}
    agenda_pdf = book = None
    # the agenda's PDF and every document's clean PDF for the book, made outside the transaction
    all_docs = [a for _, docs in documents for a in docs]
    made = docs_lib.need_all(ctx.store, [docs_lib.pdf_job(docx, f"{base_name}.docx"),
                                         *(booklib.job(ctx.store, a["name"], a["sha256"]) for a in all_docs)])
    if isinstance(made[0], docs_lib.Failed):
        problems.append(str(made[0]))
        log.error("agenda %s: %s", d, made[0])
    else:
        agenda_pdf = made[0]
        files[f"{base_name}.pdf"] = agenda_pdf
        cleaned = {a["sha256"]: data for a, data in zip(all_docs, made[1:])}
        book, why = _book(ctx, meeting, agenda_pdf, documents, cleaned)
        if why:
            book_problems.append(why)

    sequence = versions.next_invite_sequence(ctx.store, d)
    end = cal.local(meeting, _clock(common.end_time(ctx, rows)))
    stand_ins = attendance.substitutes(ctx, d)
    ics = invite.build(ctx.config, meeting, start=cal.start(meeting), end=end, sequence=sequence, now=ctx.now,
                       summary=ctx.config.group.name, description=description(ctx, rows), stand_ins=stand_ins)
    invite_name = f"{common.final_name(ctx, meeting, 'invite')}.ics"

    base = [OutAttachment(name, data, DOCX if name.endswith(".docx") else PDF) for name, data in files.items()]
    base.append(OutAttachment(invite_name, ics, ICS))
    item_atts = common.member_attachments(ctx, all_docs, [a.name for a in base] + [book_name])
    conf = settings(ctx.config)
    limit = conf.max_mail_bytes
    # the limit is on the mail as it travels, not on the files: base64 makes them a third larger
    size = _encoded(base + item_atts)
    skipped = book.skipped if book else []
    as_sent: list[str] = []  # documents left out of the book but attached as they came (names as in the mail)
    sent_originals: set[str] = set()
    if size <= limit:
        mode, attachments = "attachments", base + item_atts
    elif book is not None and _encoded(base) + encoded_size(len(book.data)) <= conf.max_book_bytes:
        mode, attachments = "book", base + [OutAttachment(book_name, book.data, PDF)]
        left_out = {name for name, _ in skipped}
        for doc, att in zip(all_docs, item_atts):
            if doc["name"] in left_out and _encoded(attachments + [att]) <= conf.max_book_bytes:
                attachments.append(att)
                as_sent.append(att.name)
                sent_originals.add(doc["name"])
    else:
        mode, attachments = "none", base
    # documents that keep the book from PDF/A: named to the chancellery when the book is what the members got
    # (otherwise they got each document as it came, and the log keeps the names)
    not_archival = book.not_archival if book else []
    reported_not_archival = not_archival if mode == "book" else []
    if book is not None:
        files[book_name] = book.data
    files[invite_name] = ics
    export(ctx, d, files, n)

    changes = layout.describe_all(layout.changes(previous["rows"], rows, ctx.language, times=True), ctx.language) \
        if previous else []
    context = {
        "meeting": common.meeting_context(ctx, meeting), "version": n, "rows": common.mail_rows(rows, ctx.language),
        "mode": mode, "documents": [a.name for a in item_atts], "book_name": book_name,
        "skipped": [name for name, _ in skipped], "as_sent": as_sent, "pdf": agenda_pdf is not None,
        "changes": changes, "chancellery": [m.name for m in ctx.chancellery()],
        "limit_mb": round(limit / (1024 * 1024), 1),
    }
    template = "agenda_update" if previous else "agenda_final"
    # the stand-ins of members with regrets get the same mail (issue 17)
    ctx.send(template, attendance.recipients(ctx, d), context, kind="agenda-final", meeting=d, ref=f"v{n}",
             attachments=attachments)
    versions.update(ctx.store, d, n, final_sent_at=iso(ctx.now), final_kind="update" if previous else "final",
                    final_docx_sha256=ctx.store.files.put(docx),
                    pdf_sha256=ctx.store.files.put(agenda_pdf) if agenda_pdf else None,
                    book_sha256=ctx.store.files.put(book.data) if book else None, invite_sequence=sequence,
                    rows=json.dumps(rows, ensure_ascii=False))
    meetings.transition(ctx.store, d, MeetingState.FINAL_SENT)
    guests.invite(ctx, meeting, rows)  # each guest's own slot, and only their item's documents
    ctx.event(f"agenda: {'update' if previous else 'final agenda'} sent", meeting=d,
              detail={"version": n, "mode": mode, "size": size, "sequence": sequence, "changes": changes,
                      "skipped": skipped, "attached_as_sent": as_sent, "problems": problems + book_problems,
                      "not_archival": not_archival})
    if problems or book_problems or skipped or reported_not_archival:
        ctx.send("agenda_problem", ctx.chancellery(),
                 {"meeting": common.meeting_context(ctx, meeting), "problems": problems, "book_problems": book_problems,
                  "skipped": [{"name": name, "why": why, "attached": mode == "attachments" or name in sent_originals}
                              for name, why in skipped], "mode": mode, "not_archival": reported_not_archival},
                 kind="agenda-notice", meeting=d)


def _book(ctx: Ctx, meeting: date, agenda_pdf: bytes, documents, cleaned) -> tuple[booklib.Book | None, str | None]:
    """The meeting book, or (None, why) when it cannot be made at all: a document that
    cannot go in is left out by ``book.build``; anything else must not stop the agenda."""
    parts = [booklib.Part(words.row_label(r), docs) for r, docs in documents if docs]
    label = "Dagordning" if ctx.language == "sv" else "Agenda"
    try:
        return booklib.build(agenda_pdf, label, parts, cleaned, common.final_name(ctx, meeting, "book")), None
    except Exception as exc:  # a bug or a document nobody foresaw: the members still get the agenda
        log.exception("agenda %s: the meeting book could not be made", meeting)
        return None, f"{type(exc).__name__}: {str(exc)[:300]}"


def _encoded(attachments: list[OutAttachment]) -> int:
    return sum(encoded_size(len(a.data)) for a in attachments)


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _clock(hhmm: str) -> time:
    return time(int(hhmm[:2]), int(hhmm[3:]))


def send_cancellation(ctx: Ctx, meeting: date, to: date, reason: str) -> None:
    """Take back the invitation of a meeting that is no longer held (its final agenda went out)."""
    d = meeting.isoformat()
    sent = versions.final_version(ctx.store, d)
    if sent is None:
        return
    cal = common.calendar(ctx)
    sequence = versions.next_invite_sequence(ctx.store, d)
    ics = invite.build(ctx.config, meeting, start=cal.start(meeting),
                       end=cal.local(meeting, _clock(common.end_time(ctx, sent["rows"]))), sequence=sequence,
                       now=ctx.now, summary=ctx.config.group.name, description=reason, cancel=True,
                       stand_ins=attendance.substitutes(ctx, d))
    name = f"{common.final_name(ctx, meeting, 'invite')}.ics"
    ctx.send("agenda_cancelled", attendance.recipients(ctx, d),
             {"meeting": common.meeting_context(ctx, meeting), "to_date": to, "reason": reason},
             kind="agenda-final", meeting=d, ref=f"v{sent['version']}",
             attachments=[OutAttachment(name, ics, "text/calendar")])
    versions.update(ctx.store, d, sent["version"], invite_sequence=sequence)
    meetings.transition(ctx.store, d, MeetingState.CANCELLED)
    guests.invite(ctx, meeting, [])  # the guests' invitations are taken back too
    ctx.event("agenda: meeting cancelled, invitation taken back", meeting=d, detail={"sequence": sequence})


def sent_final(ctx: Ctx, meeting: str) -> bool:
    """True once ``meeting``'s final agenda (or an update) went to the members."""
    return versions.final_version(ctx.store, meeting) is not None


def send_to_stand_in(ctx: Ctx, meeting: date, name: str, address: str) -> bool:
    """A stand-in named after the final agenda went out gets it as the members did: the
    agenda (.docx, PDF), the invitation with them in it, and the documents (or the
    meeting book when they are too large). False when no final agenda was sent yet
    (then ``send`` includes them)."""
    d = meeting.isoformat()
    sent = versions.final_version(ctx.store, d)
    if sent is None:
        return False
    cal = common.calendar(ctx)
    rows = sent["rows"]
    base_name = common.final_name(ctx, meeting, "agenda")
    ics = invite.build(ctx.config, meeting, start=cal.start(meeting),
                       end=cal.local(meeting, _clock(common.end_time(ctx, rows))), sequence=sent["invite_sequence"] or 0,
                       now=ctx.now, summary=ctx.config.group.name, description=description(ctx, rows),
                       stand_ins=attendance.substitutes(ctx, d))
    base = [OutAttachment(f"{base_name}.docx", ctx.store.files.get(sent["final_docx_sha256"]), DOCX)]
    if sent.get("pdf_sha256"):
        base.append(OutAttachment(f"{base_name}.pdf", ctx.store.files.get(sent["pdf_sha256"]), PDF))
    base.append(OutAttachment(f"{common.final_name(ctx, meeting, 'invite')}.ics", ics, ICS))
    book_name = f"{common.final_name(ctx, meeting, 'book')}.pdf"
    all_docs = [a for _, docs in _documents(ctx, rows) for a in docs]
    item_atts = common.member_attachments(ctx, all_docs, [a.name for a in base] + [book_name])
    if _encoded(base + item_atts) <= settings(ctx.config).max_mail_bytes:
        attachments = base + item_atts
    elif sent.get("book_sha256"):
        attachments = base + [OutAttachment(book_name, ctx.store.files.get(sent["book_sha256"]), PDF)]
    else:
        attachments = base
    context = {"meeting": common.meeting_context(ctx, meeting), "rows": common.mail_rows(rows, ctx.language),
               "name": name, "documents": [a.name for a in attachments[len(base):]]}
    ctx.send("attendance_stand_in", [address], context, kind="agenda-final", meeting=d, ref=f"v{sent['version']}",
             attachments=attachments)
    ctx.event(f"agenda: sent to stand-in {name}", meeting=d, detail={"address": address})
    return True
