"""Review in Word: the chair or the chancellery answers an agenda mail with the
edited .docx, or with "OK" / "Godkänd" / "Approved".

The item table is read back: the new order, changed titles, presenters, kinds
and minutes; a removed item row postpones the item to the next meeting (its
proposer is told); a row without a number becomes a new item; a row with
the number of an item planned for another meeting brings it here. Standing
items and the break are rows like the others (marked "Stående"/"Paus" in the
number column) and may be moved, changed or removed for this meeting.

Nothing changes unless the whole table can be read: otherwise the reviewer
gets one answer naming every row and cell that could not be read. Every
version is kept; an edited document with "Godkänd" in the reply makes the new
version and approves it in one go.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from daemon import fields as fieldlib
from daemon.agenda import common, document, layout, versions, words
from daemon.config import Member, StandingItem
from daemon.context import Ctx
from daemon.intake import Outcome
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.proposals import next_position, resolve_presenter, summary
from daemon.store import iso

APPROVE_WORDS = {"ok", "okay", "okej", "godkänd", "godkänt", "godkänner", "godkännes", "approved",
                 "approve", "i approve"}
FILLER = {"tack", "thanks", "thank", "you", "från", "mig", "by", "me", "hälsningar", "mvh", "/", "-", "och", "skicka",
          "send", "it", "ut", "den", "så", "kan", "du", "version"}
MEETING_TAG = re.compile(r"\[([A-Za-z][A-Za-z0-9]{0,11}) (\d{4}-\d{2}-\d{2})\]")
ANSWERS_PER_HOUR = 5
DOCX_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
OTHER_DOCUMENTS = (".doc", ".odt", ".pdf", ".rtf", ".pages")

# Set while the agenda itself changes items, so the agenda's own item hook stays quiet.
APPLYING: contextvars.ContextVar[bool] = contextvars.ContextVar("agenda_applying", default=False)


def call_hooks(ctx: Ctx, item_id: str, what: str) -> None:
    """Tell the workflows that show items (written procedure, …) that the agenda changed an item."""
    from daemon import workflows

    token = APPLYING.set(True)
    try:
        for hook in workflows.ITEM_HOOKS:
            hook(ctx, item_id, what)
    finally:
        APPLYING.reset(token)


def is_approval(text: str) -> bool:
    """True when the reply's first line is an approval word, alone or with a thank-you."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    tokens = re.findall(r"[\wåäöÅÄÖ/]+", first.lower())
    if not tokens:
        return False
    if tokens[0] not in APPROVE_WORDS and " ".join(tokens[:2]) not in APPROVE_WORDS:
        return False
    rest = tokens[2:] if " ".join(tokens[:2]) in APPROVE_WORDS else tokens[1:]
    return all(t in FILLER or t in APPROVE_WORDS or t.isdigit() for t in rest)


def is_calendar_reply(mail: ParsedMail) -> str | None:
    """The attendance answer (ACCEPTED, DECLINED, …) when ``mail`` is a calendar client's reply to an invitation."""
    for att in mail.attachments:
        if att.content_type == "text/calendar" or att.name.lower().endswith(".ics"):
            text = att.data[:20000].decode("utf-8", "replace").upper()
            if "METHOD:REPLY" in text:
                m = re.search(r"PARTSTAT=([A-Z-]+)", text)
                return m[1] if m else "REPLY"
    return None


# --- answering -------------------------------------------------------------------


def answer(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict, meeting: str | None = None,
           attachments=()) -> None:
    """One plain answer about an agenda reply (at most a few an hour per sender)."""
    since = iso(ctx.now - timedelta(hours=1))
    sent = ctx.store.count("SELECT COUNT(*) FROM outbox WHERE kind = 'agenda-answer' AND created_at >= ? AND recipients = ?",
                           [since, f'["{mail.sender}"]'])
    if sent >= ANSWERS_PER_HOUR:
        ctx.event("agenda answer suppressed (storm guard)", actor=mail.sender, meeting=meeting, detail={"reason": reason})
        return
    ctx.send("agenda_answer", [mail.sender], {"reason": reason, "name": member.name, "subject": mail.subject, **context},
             kind="agenda-answer", meeting=meeting, reply_to=mail, attachments=attachments)


# --- routing ---------------------------------------------------------------------


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """New mail (no thread headers) that belongs to the agenda: a calendar client's
    answer to an invitation, or a mail whose subject has a meeting tag ``[KLG 2026-12-01]``."""
    status = is_calendar_reply(mail)
    if status:
        ctx.event(f"calendar answer: {status}", actor=mail.sender, detail={"subject": mail.subject})
        return Outcome("calendar-reply", detail=status)
    m = MEETING_TAG.search(mail.subject)
    if not m or m[1].upper() != ctx.config.group.short:
        return None
    meeting = m[2]
    if versions.current(ctx.store, meeting) is None:
        return None
    thread = {"kind": "agenda-draft", "meeting": meeting, "ref": None, "item_id": None, "message_id": None}
    return on_reply(ctx, mail, member, thread)


def on_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """A reply to one of the agenda's mails: an edited document, an approval, or neither."""
    status = is_calendar_reply(mail)
    if status:
        ctx.event(f"calendar answer: {status}", actor=mail.sender, meeting=thread.get("meeting"))
        return Outcome("calendar-reply", detail=status)
    d = thread.get("meeting")
    current = versions.current(ctx.store, d) if d else None
    if current is None:
        answer(ctx, mail, member, "no_agenda", {})
        return Outcome("agenda-reply", "quarantine", detail="no agenda for this thread")
    meeting = date.fromisoformat(d)
    context = {"meeting": common.meeting_context(ctx, meeting)}
    if not common.may_review(member):
        answer(ctx, mail, member, "not_reviewer", context, meeting=d)
        return Outcome("agenda-reply", detail="not a reviewer")
    if ctx.now >= common.calendar(ctx).start(meeting):
        answer(ctx, mail, member, "started", context, meeting=d)
        return Outcome("agenda-reply", detail="meeting started")

    text = latest_reply(mail.text)
    approve = is_approval(text)
    docs = [a for a in mail.attachments if a.name.lower().endswith(".docx") or a.content_type in DOCX_TYPES]
    base_number = _ref_version(thread.get("ref")) or current["version"]
    if base_number < current["version"]:
        answer(ctx, mail, member, "stale", {**context, "base": base_number, "current": current["version"],
                                            "author": common.member_name(ctx, current["author"]) or current["author"]},
               meeting=d, attachments=[common.version_attachment(ctx, d, current)])
        return Outcome("agenda-reply", "quarantine", detail=f"based on version {base_number}, current {current['version']}")
    if docs:
        return apply_document(ctx, mail, member, meeting, current, docs, approve)
    if approve:
        return approve_version(ctx, mail, member, meeting, current)
    others = [a.name for a in mail.attachments if a.name.lower().endswith(OTHER_DOCUMENTS)]
    answer(ctx, mail, member, "wrong_format" if others else "not_understood", {**context, "names": others,
                                                                                "version": current["version"]},
           meeting=d)
    return Outcome("agenda-reply", "quarantine", detail="neither a .docx nor an approval")


def _ref_version(ref: str | None) -> int | None:
    return int(ref[1:]) if ref and re.fullmatch(r"v\d+", ref) else None


# --- approval ----------------------------------------------------------------------


def approve_version(ctx: Ctx, mail: ParsedMail, member: Member, meeting: date, version: dict,
                    changed: bool = False) -> Outcome:
    """Approve ``version`` (the current one) and confirm when it goes out."""
    d = meeting.isoformat()
    sent = versions.final_version(ctx.store, d)
    if version["approved_at"] and not changed:
        answer(ctx, mail, member, "already_approved",
               {"meeting": common.meeting_context(ctx, meeting), "version": version["version"],
                "by": common.member_name(ctx, version["approved_by"]), "sent": sent is not None}, meeting=d)
        return Outcome("agenda-approval", detail=f"version {version['version']} was already approved")
    versions.update(ctx.store, d, version["version"], approved_at=iso(ctx.now), approved_by=member.email)
    if sent is None:
        ctx.store.set_meeting(d, state="approved")
    ctx.event(f"agenda: version {version['version']} approved", actor=member.email, meeting=d)
    if not changed:
        cal = common.calendar(ctx)
        goes_now = ctx.now >= cal.final_at(meeting)
        ctx.send("agenda_approved", common.reviewers(ctx),
                 {"meeting": common.meeting_context(ctx, meeting), "version": version["version"], "by": member.name,
                  "now": goes_now, "update": sent is not None and sent["version"] < version["version"],
                  "already_sent": sent is not None and sent["version"] == version["version"]},
                 kind="agenda-approved", meeting=d, ref=f"v{version['version']}", reply_to=mail)
    return Outcome("agenda-approval", detail=f"version {version['version']}")


# --- reading the edited document ------------------------------------------------------


@dataclass
class Reading:
    rows: list[dict] = field(default_factory=list)  # rows in document order, fields as read
    problems: list[str] = field(default_factory=list)


def _where(language: str, number: int, column: str | None = None, label: str = "") -> str:
    names = document.COLUMN_NAMES[language]
    about = f" ({label})" if label else ""
    if language == "sv":
        return f"Rad {number}{about}" + (f", kolumnen {names[column]}" if column else "")
    return f"Row {number}{about}" + (f", column {names[column]}" if column else "")


def interpret(ctx: Ctx, table: document.Table, meeting: str, member: Member) -> Reading:
    """The document's rows as agenda rows (not yet timed), or the problems naming row and cell."""
    lang = ctx.language
    sv = lang == "sv"
    out = Reading()
    id_re = re.compile(rf"^{re.escape(ctx.config.group.short)}\s*-\s*(\d{{4}})\s*-\s*(\d{{3,}})$", re.IGNORECASE)
    seen: dict[str, int] = {}
    for row in table.rows:
        cells = row.cells
        if not any(v.strip() for k, v in cells.items() if k != "time"):
            continue
        raw_id = cells.get("id", "").strip()
        title = cells.get("title", "").strip()
        label = f"{raw_id} {title}".strip()[:60]
        problems: list[str] = []
        marker = words.MARKER_INPUT.get(raw_id.lower().strip(" .:"))
        m = id_re.match(raw_id)
        entry: dict = {"number": row.number}
        if m:
            item_id = f"{ctx.config.group.short}-{m[1]}-{m[2]}"
            item = ctx.store.item(item_id)
            if item_id in seen:
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"ärendet {item_id} står redan på rad {seen[item_id]}; ta bort den ena raden" if sv
                    else f"item {item_id} is already on row {seen[item_id]}; delete one of the rows"))
            elif item is None:
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"det finns inget ärende {item_id}; lämna cellen tom för en ny punkt" if sv
                    else f"there is no item {item_id}; leave the cell empty for a new item"))
            elif item["state"] != "planned":
                problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                    f"ärende {item_id} är {item['state']} och kan inte stå på dagordningen; ta bort raden" if sv
                    else f"item {item_id} is {item['state']} and cannot be on the agenda; delete the row"))
            seen[item_id] = row.number
            entry.update(type="item", id=item_id, item=item)
        elif marker:
            entry.update(type=marker, id=None)
        elif not raw_id and words.MARKER_INPUT.get(title.lower().strip(" .:")) == "break":
            entry.update(type="break", id=None)
        elif not raw_id:
            entry.update(type="new", id=None)
            if not title:
                problems.append(f"{_where(lang, row.number, 'title', label)}: " + (
                    "en ny punkt behöver en rubrik" if sv else "a new item needs a title"))
        else:
            problems.append(f"{_where(lang, row.number, 'id', label)}: " + (
                f"”{raw_id}” är inget ärendenummer (som {ctx.config.group.short}-2026-042); "
                "lämna cellen tom för en ny punkt" if sv
                else f"“{raw_id}” is not an item number (like {ctx.config.group.short}-2026-042); "
                     "leave the cell empty for a new item"))
        entry["title"] = title
        entry["time"] = cells.get("time", "")
        minutes_text = cells.get("minutes", "").strip()
        if minutes_text:
            minutes = fieldlib.parse_minutes(minutes_text)
            if minutes is None or not 1 <= minutes <= 240:
                problems.append(f"{_where(lang, row.number, 'minutes', label)}: " + (
                    f"”{minutes_text}” är inget antal minuter mellan 1 och 240; skriv t.ex. 15" if sv
                    else f"“{minutes_text}” is not a number of minutes from 1 to 240; write e.g. 15"))
            entry["minutes"] = minutes
        kind_text = cells.get("kind", "").strip()
        if kind_text and entry.get("type") in ("item", "new"):
            kind = words.KIND_INPUT.get(" ".join(kind_text.lower().split()).strip(" ."))
            if kind is None:
                problems.append(f"{_where(lang, row.number, 'kind', label)}: " + (
                    f"”{kind_text}” är ingen typ; skriv Information, Diskussion, Beslut eller Skriftligt förfarande" if sv
                    else f"“{kind_text}” is not a kind; write Information, Discussion, Decision or Written procedure"))
            entry["kind"] = kind
        entry["presenter"] = cells.get("presenter", "").strip()
        out.problems += problems
        out.rows.append(entry)
    if not out.rows and not out.problems:
        out.problems.append("Tabellen har inga rader; skicka tillbaka dagordningen med minst en punkt" if sv
                            else "The table has no rows; send the agenda back with at least one row")
    return out


def _read(ctx: Ctx, docs) -> tuple[document.Table | None, bytes | None, list[str]]:
    """The first attached .docx with an agenda table, or the problems of every one tried."""
    problems: list[str] = []
    for att in docs:
        try:
            return document.read_table(att.data, ctx.language), att.data, []
        except document.Unreadable as exc:
            problems += [f"{att.name}: {p}" for p in exc.problems]
    return None, None, problems


def apply_document(ctx: Ctx, mail: ParsedMail, member: Member, meeting: date, current: dict, docs,
                   approve: bool) -> Outcome:
    """Read the edited table, change the items, make and send the next version.

    A document that cannot be read changes nothing and approves nothing, also when
    the reply says "Godkänd": the reviewer meant the edited version, so approving
    the old one would send out what nobody approved. They are told why and asked again.
    """
    d = meeting.isoformat()
    context = {"meeting": common.meeting_context(ctx, meeting), "version": current["version"]}
    table, data, problems = _read(ctx, docs)
    reading = interpret(ctx, table, d, member) if table else None
    if reading is not None:
        problems = reading.problems
    if problems:
        answer(ctx, mail, member, "unreadable", {**context, "problems": problems, "approve": approve}, meeting=d,
               attachments=[common.version_attachment(ctx, d, current)])
        if approve:
            ctx.event("agenda: approval not counted, the edited document could not be read", actor=member.email,
                      meeting=d, detail={"version": current["version"], "problems": problems[:20]})
        return Outcome("agenda-unreadable", "quarantine", detail="; ".join(problems)[:500])

    cal = common.calendar(ctx)
    conf = ctx.config
    schedule = conf.schedule
    base_rows = current["rows"]
    base_standing = {r["title"]: r for r in base_rows if r["type"] == "standing"}
    in_doc = {e["id"] for e in reading.rows if e["type"] == "item"}
    touched: dict[str, str] = {}  # item id -> hook "what"
    postponed: list[dict] = []
    created: list[str] = []
    new_rows: list[dict] = []
    next_meeting = cal.next_meeting(meeting)
    n = next_meeting.isoformat()
    pause = None

    for entry in reading.rows:
        if entry["type"] == "item":
            item = entry["item"]
            changes: dict = {}
            if entry["title"] and entry["title"] != item["title"]:
                changes["title"] = entry["title"][:200]
            if entry.get("minutes") and entry["minutes"] != item["minutes"]:
                changes["minutes"] = entry["minutes"]
            if entry["presenter"]:
                presenter = resolve_presenter(ctx, entry["presenter"], member)
                if presenter != item["presenter"]:
                    changes["presenter"] = presenter
            kind = entry.get("kind")
            if kind == "written_procedure":
                if not item["written_procedure"]:
                    changes["written_procedure"] = 1
            elif kind:
                if kind != item["kind"]:
                    changes["kind"] = kind
                if item["written_procedure"] and item["origin"] != "circulation":
                    changes["written_procedure"] = 0
            if item["meeting"] != d:
                changes.update(meeting=d, late=0)
            if changes:
                ctx.store.update_item(item["id"], ctx.now, **changes)
                touched[item["id"]] = "written_procedure" if changes.get("written_procedure") == 1 else "amended"
            new_rows.append({"type": "item", "id": item["id"]})
        elif entry["type"] == "new":
            year = ctx.local_now.year
            item_id, seq = ctx.store.next_item_id(conf.group.short, year)
            kind = entry.get("kind") or conf.intake.default_kind
            ctx.store.db["items"].insert({
                "id": item_id, "year": year, "seq": seq, "title": entry["title"][:200], "description": "",
                "presenter": resolve_presenter(ctx, entry["presenter"], member), "proposer": member.email,
                "minutes": entry.get("minutes") or conf.intake.default_minutes,
                "kind": "beslut" if kind == "written_procedure" else kind,
                "written_procedure": int(kind == "written_procedure"), "meeting": d, "position": 0,
                "state": "planned", "late": 0, "origin": "agenda", "source_message": mail.message_id,
                "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
            })
            ctx.event(f"agenda: new item from the edited agenda: {entry['title']}", actor=member.email,
                      item=item_id, meeting=d)
            created.append(item_id)
            touched[item_id] = "created"
            new_rows.append({"type": "item", "id": item_id})
        elif entry["type"] == "standing":
            before = base_standing.get(entry["title"]) or next(iter(base_standing.values()), None) or {}
            title = entry["title"] or before.get("title", "")
            new_rows.append({**layout.standing_row(_standing(conf, title)),
                             "title": title, "presenter": entry["presenter"] or before.get("presenter", ""),
                             "minutes": entry.get("minutes") or before.get("minutes") or 10,
                             "followups": (base_standing.get(title) or {}).get("followups") or []})
        else:  # the break: placed by time below, wherever the row stood
            pause = entry

    for r in base_rows:
        if r["type"] != "item" or r["id"] in in_doc:
            continue
        item = ctx.store.item(r["id"])
        if item is None or item["state"] != "planned" or item["meeting"] != d:
            continue
        ctx.store.update_item(item["id"], ctx.now, meeting=n, position=next_position(ctx, n),
                              carried_from=item.get("carried_from") or d)
        ctx.event(f"agenda: removed from the agenda of {d}, postponed to {n}", actor=member.email,
                  item=item["id"], meeting=n)
        touched[item["id"]] = "amended"
        postponed.append(item)

    order = [r["id"] for r in new_rows if r["type"] == "item"]
    for position, item_id in enumerate(order, start=1):
        ctx.store.db.execute("UPDATE items SET position = ? WHERE id = ?", [position, item_id])
    for item_id, what in touched.items():
        call_hooks(ctx, item_id, what)

    rows = []
    for r in new_rows:
        if r["type"] != "item":
            rows.append(r)
            continue
        item = ctx.store.item(r["id"])
        if item and item["state"] == "planned" and item["meeting"] == d:  # a hook may have taken it (circulation)
            rows.append(common.row_for(ctx, item))
    break_at, minutes, title = _break(ctx, current, pause)
    rows = layout.timed(layout.place_break(rows, schedule.start, layout.parse_clock(break_at or ""), minutes,
                                           ctx.language, title), schedule.start)
    found = layout.changes(base_rows, rows, ctx.language)
    if break_at != current["break_at"]:
        found.append({"what": "break", "row": {"id": None, "title": words.BREAK_TITLE[ctx.language]},
                      "old": current["break_at"], "new": break_at})
    for c in found:
        if c["what"] == "removed" and c["row"]["type"] == "item":
            moved = ctx.store.item(c["row"]["id"])
            if moved and moved["meeting"] == n:
                c["note"] = (f"flyttad till {words.short_date(n, 'sv')}" if ctx.language == "sv"
                             else f"moved to {words.short_date(n, 'en')}")
            elif moved:
                c["note"] = moved["state"]

    for item in postponed:
        _tell_postponed(ctx, item, meeting, next_meeting, member)

    if not found:
        if approve:
            return approve_version(ctx, mail, member, meeting, current)
        answer(ctx, mail, member, "no_changes", context, meeting=d)
        return Outcome("agenda-reply", detail="the document had no changes")

    version = common.make_version(ctx, meeting, rows, source="review", author=member.email, changes=found,
                                  break_at=break_at, source_message=mail.message_id, returned=data)
    sent = versions.final_version(ctx.store, d)
    if sent is None:
        ctx.store.set_meeting(d, state="draft_sent")
    if approve:
        approve_version(ctx, mail, member, meeting, version, changed=True)
        version = versions.get(ctx.store, d, version["version"])
    ctx.event(f"agenda: version {version['version']} from {member.email}", actor=member.email, meeting=d,
              detail={"changes": layout.describe_all(found, ctx.language), "created": created,
                      "postponed": [i["id"] for i in postponed], "approved": approve})
    ctx.send("agenda_version", common.reviewers(ctx),
             {"meeting": common.meeting_context(ctx, meeting), "version": version["version"], "by": member.name,
              "changes": layout.describe_all(found, ctx.language), "warnings": version["warnings"],
              "rows": common.mail_rows(rows, ctx.language), "approved": bool(version["approved_at"]),
              "sent": sent is not None, "goes_now": ctx.now >= cal.final_at(meeting),
              "created": created, "next_meeting": next_meeting,
              "approved_before": _approved_before(ctx, d, version)},
             kind="agenda-version", meeting=d, ref=f"v{version['version']}", reply_to=mail,
             attachments=[common.version_attachment(ctx, d, version)])
    return Outcome("agenda-review", detail=f"version {version['version']}" + (" approved" if approve else ""))


def _break(ctx: Ctx, current: dict, entry: dict | None) -> tuple[str | None, int, str | None]:
    """(time the break is placed nearest to or None, its minutes, its title) after a review.

    The break keeps its time unless the reviewer wrote another start time in
    its row; a deleted break row means no break; a break row added back (or
    written as a new row titled Paus/Break) brings it back.
    """
    schedule = ctx.config.schedule
    base = next((r for r in current["rows"] if r["type"] == "break"), None)
    configured = schedule.break_start.strftime("%H:%M") if schedule.break_start else None
    if entry is None:
        return (None if base else current["break_at"]), 0 if base else (schedule.break_minutes or 0), None
    minutes = entry.get("minutes") or (base["minutes"] if base else schedule.break_minutes) or 30
    typed = layout.parse_clock(entry.get("time", ""))
    typed_text = typed.strftime("%H:%M") if typed else None
    if typed_text and (base is None or typed_text != base["start"]):
        at = typed_text
    else:
        at = current["break_at"] or configured or (base["start"] if base else None)
    return at, int(minutes), entry.get("title") or None


def _approved_before(ctx: Ctx, meeting: str, version: dict) -> int | None:
    """The number of an older approved version that would go out instead of this unapproved one."""
    if version["approved_at"] or versions.final_version(ctx.store, meeting) is not None:
        return None
    approved = versions.latest_approved(ctx.store, meeting)
    return approved["version"] if approved else None


def _standing(config, title: str) -> StandingItem:
    for s in config.standing_items:
        if s.title == title:
            return s
    return StandingItem(title, 10, "last")


def _tell_postponed(ctx: Ctx, item: dict, meeting: date, to: date, member: Member) -> None:
    proposer = ctx.config.member_by_address(item["proposer"])
    if proposer is None:
        return
    ctx.send("agenda_postponed", [proposer], {"item": summary(ctx, item["id"]), "name": proposer.name,
                                              "from_date": meeting, "by": member.name},
             kind="agenda-moved", item=item["id"], meeting=to.isoformat())
