"""Applying an edited agenda document: the items change through ``daemon.items``
(new order, titles, presenters, kinds and minutes; a deleted row postpones its
item; a row without a number becomes a new item; a row of a later meeting's
item brings it here), and the next version is made and sent.

Nothing changes unless the whole table can be read (``reading.interpret``).
The agenda's own changes are announced with source ``agenda``, so its notice
to the reviewers does not tell them what they did themselves.
"""

from __future__ import annotations

from datetime import date

from daemon import items, meetings
from daemon.agenda import common, document, layout, rendering, versions, words
from daemon.agenda.approval import answer, approve_version
from daemon.agenda.reading import interpret
from daemon.answers import Outcome
from daemon.config import Member, StandingItem
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.meetings import MeetingState
from daemon.records import from_agenda

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
    reading = (interpret(table, short=ctx.config.group.short, language=ctx.language, item_of=ctx.store.item)
               if table else None)
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
    records_found: list[dict] = []  # case numbers and markings set in the document
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
                presenter = items.resolve_presenter(ctx, entry["presenter"], member)
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
            # "Dnr …" and "Sekretess: …" written under the title (daemon.records): marked at once, a
            # changed case number with the other changes
            number, marked = from_agenda.read_notes(ctx, item, entry.get("notes", ""), member)
            if number:
                changes["case_number"] = number
            records_found += [{"what": "field", "row": common.row_for(ctx, item), "field": f, "old": old, "new": new}
                              for f, old, new in ([("case_number", item.get("case_number"), number)] if number else [])
                              + [("secrecy", None, m) for m in marked]]
            moved_here = item["meeting"] != d
            if moved_here:  # a later meeting's item (a late proposal) taken onto this agenda
                items.plan(ctx, item["id"], d, source="agenda", late=False, position=item["position"], changes=changes,
                           announce_it=False)
            elif changes:
                items.amend(ctx, item["id"], changes, source="agenda", announce_it=False)
            if changes or moved_here:
                touched[item["id"]] = "written_procedure" if changes.get("written_procedure") == 1 else "amended"
            new_rows.append({"type": "item", "id": item["id"]})
        elif entry["type"] == "new":
            kind = entry.get("kind") or conf.intake.default_kind
            item_id = items.create(
                ctx, title=entry["title"], presenter=items.resolve_presenter(ctx, entry["presenter"], member),
                proposer=member.email, meeting=d, origin="agenda", source="agenda", position=0,
                minutes=entry.get("minutes") or None, kind="beslut" if kind == "written_procedure" else kind,
                written_procedure=kind == "written_procedure", source_message=mail.message_id, announce_it=False)
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
        items.plan(ctx, item["id"], n, source="agenda", carried_from=item.get("carried_from") or d, announce_it=False)
        ctx.event(f"agenda: removed from the agenda of {d}, postponed to {n}", actor=member.email,
                  item=item["id"], meeting=n)
        touched[item["id"]] = "amended"
        postponed.append(item)

    items.reorder(ctx, [r["id"] for r in new_rows if r["type"] == "item"])
    for item_id, what in touched.items():  # announced once all is changed: a circulation may take one
        items.announce(ctx, item_id, what, source="agenda")

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
    found = layout.changes(base_rows, rows, ctx.language) + records_found
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

    version = rendering.make_version(ctx, meeting, rows, source="review", author=member.email, changes=found,
                                  break_at=break_at, source_message=mail.message_id, returned=data)
    sent = versions.final_version(ctx.store, d)
    if sent is None:
        meetings.transition(ctx.store, d, MeetingState.DRAFT_SENT)
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
    ctx.send("agenda_postponed", [proposer], {"item": items.summary(ctx, item["id"]), "name": proposer.name,
                                              "from_date": meeting, "by": member.name},
             kind="agenda-moved", item=item["id"], meeting=to.isoformat())
