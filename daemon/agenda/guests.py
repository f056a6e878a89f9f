"""Invited presenters who are not members (guests).

A proposal whose ``Föredragande:`` names someone outside the group with an
address (``Anna Svensson <anna.svensson@kommun.se>``) makes that person the
item's guest; the item shows the name only. When the final agenda goes out, the
guest gets one invitation of their own: an .ics for the item's slot (not the
whole meeting) and the item's documents, nothing else. When the slot changes
in an update they get an updated invitation; when the item leaves the meeting
(moved, withdrawn, or the meeting cancelled) a cancellation.

A guest is not a member: their new mail is a stranger's. Only their reply to
their own invitation (threaded onto it, or Outlook's calendar reply with its
UID) is read, and only for that item: regrets, or documents for the item.

What a guest may receive is decided in one place, :func:`documents_for`, which
asks the public-records rules (``records.disclosure``): a guest is outside the
group, so a secret item's title and a secret document never reach them.
"""

from __future__ import annotations

import re
from datetime import date, time, timezone
from enum import StrEnum
from typing import TYPE_CHECKING

from daemon import items
from daemon import attachments as att
from daemon.agenda import common
from daemon.agenda.invite import attendee
from daemon.answers import Outcome
from daemon.config import EMAIL_RE, Member
from daemon.context import Ctx
from daemon.hooks import ItemChange
from daemon.mail.outgoing import OutAttachment
from daemon.records import disclosure
from daemon.store import iso

if TYPE_CHECKING:  # the annotation only; the reply's words are read where a guest's reply is (start-up, issue 19)
    from daemon.absence_words import CalendarReply
    from daemon.mail.message import ParsedMail

GUEST_RE = re.compile(r"^\s*\"?(?P<name>[^<>\"]*?)\"?\s*<(?P<email>[^<>\s]+)>\s*$")
KINDS = ("guest-invite", "guest-answer")
ICS = "text/calendar"


class GuestState(StrEnum):
    NAMED = "named"  # on a proposal; invited when the final agenda goes out
    INVITED = "invited"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # the item left the meeting; invited again with its next final agenda


def row(ctx: Ctx, item_id: str) -> dict | None:
    return ctx.store.one("SELECT * FROM guests WHERE item_id = ?", [item_id])


def _set(ctx: Ctx, item_id: str, **columns) -> None:
    ctx.store.db["guests"].update(item_id, {**columns, "updated_at": iso(ctx.now)})


def documents_for(ctx: Ctx, item_id: str) -> tuple[list[dict], list[str]]:
    """What a guest of ``item_id`` may receive: that item's documents that may leave the group, never
    another item's; and the lines naming what was withheld under secrecy (``disclosure.documents``)."""
    return disclosure.documents(ctx, item_id)


def _summary(ctx: Ctx, item_id: str) -> dict:
    """The item as a guest's mail describes it: a secret item by its number and marking, not its title."""
    summary = items.summary(ctx, item_id)
    return {**summary, "title": disclosure.outside(ctx, item_id).title(summary["title"])}


# --- from a proposal ---------------------------------------------------------------------------


def on_item_change(ctx: Ctx, change: ItemChange) -> None:
    """Item listener: a presenter with an outside address becomes the item's guest; an
    invited guest whose item left the meeting gets a cancellation."""
    item = ctx.store.item(change.item_id)
    if item is None:
        return
    found = GUEST_RE.match(item["presenter"] or "")
    if found and EMAIL_RE.match(found["email"]) and ctx.config.member_by_address(found["email"]) is None:
        name, email = " ".join(found["name"].split()) or found["email"], found["email"].lower()
        existing = row(ctx, item["id"])
        if existing is None:
            ctx.store.db["guests"].insert({"item_id": item["id"], "name": name, "email": email,
                                           "state": GuestState.NAMED.value, "updated_at": iso(ctx.now)})
        elif existing["email"] != email:
            _cancel(ctx, item, existing, "replaced")
            _set(ctx, item["id"], name=name, email=email, state=GuestState.NAMED.value, sequence=0)
        items.amend(ctx, item["id"], {"presenter": name}, source="guest", announce_it=False)
        ctx.event(f"guest {name} presents {item['id']}", item=item["id"], detail={"email": email})
        return
    guest = row(ctx, item["id"])
    if guest and guest["state"] == GuestState.INVITED.value and (
            item["meeting"] != guest["meeting"] or item["state"] != items.ItemState.PLANNED.value):
        _cancel(ctx, item, guest, "withdrawn" if item["state"] == items.ItemState.WITHDRAWN.value else "moved")


# --- with the final agenda -----------------------------------------------------------------------


def uid(ctx: Ctx, meeting: str, item_id: str) -> str:
    return f"{ctx.config.group.short.lower()}-{meeting}-{item_id.lower()}@{ctx.config.group.domain}"


def _clock(hhmm: str) -> time:
    return time(int(hhmm[:2]), int(hhmm[3:]))


def _ics(ctx: Ctx, guest: dict, item: dict, meeting: str, start: str, end: str, sequence: int,
         cancel: bool = False) -> bytes:
    import icalendar  # imported here, not at the top: start-up (issue 19)

    day = date.fromisoformat(meeting)
    cal_ = common.calendar(ctx)
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//klg//{ctx.config.group.organisation}//{ctx.language.upper()}")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid(ctx, meeting, item["id"]))
    event.add("sequence", sequence)
    event.add("dtstamp", ctx.now.astimezone(timezone.utc))
    event.add("dtstart", cal_.local(day, _clock(start)))
    event.add("dtend", cal_.local(day, _clock(end)))
    event.add("summary", f"{ctx.config.group.name}: {disclosure.outside(ctx, item['id']).title(item['title'])}")
    if ctx.config.schedule.location:
        event.add("location", ctx.config.schedule.location)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{ctx.config.group.address}")
    organizer.params["cn"] = icalendar.vText(ctx.config.group.name)
    event.add("organizer", organizer)
    event.add("attendee", attendee(guest["email"], guest["name"], rsvp=True), encode=0)
    cal.add_component(event)
    cal.add_missing_timezones(first_date=date(day.year - 1, 1, 1), last_date=date(day.year + 2, 1, 1))
    return cal.to_ical()


def invite(ctx: Ctx, meeting: date, rows: list[dict]) -> None:
    """With the final agenda (or its update): invite each guest of an item on it, update a
    guest whose slot moved, and cancel a guest whose item is no longer on it."""
    d = meeting.isoformat()
    on_agenda = {r["id"]: r for r in rows if r.get("type") == "item" and r.get("id")}
    for guest in ctx.store.all("SELECT * FROM guests WHERE state = ? AND meeting = ?", [GuestState.INVITED.value, d]):
        if guest["item_id"] not in on_agenda:
            _cancel(ctx, ctx.store.item(guest["item_id"]), guest, "moved")
    for item_id, r in on_agenda.items():
        guest = row(ctx, item_id)
        if guest is None or guest["state"] == GuestState.DECLINED.value:
            continue
        again = guest["state"] == GuestState.INVITED.value and guest["meeting"] == d
        if again and (guest["slot_start"], guest["slot_end"]) == (r["start"], r["end"]):
            continue
        item = ctx.store.item(item_id)
        sequence = guest["sequence"] + 1 if again else 0
        docs, withheld = documents_for(ctx, item_id)
        ics_name = f"{common.final_name(ctx, meeting, 'invite')} {item_id}.ics"
        files = common.member_attachments(ctx, docs, [ics_name])
        context = {"meeting": common.meeting_context(ctx, meeting), "item": _summary(ctx, item_id),
                   "name": guest["name"], "start": r["start"], "end": r["end"], "update": again,
                   "documents": [f.name for f in files], "withheld": withheld}
        ctx.send("guest_invite", [guest["email"]], context, kind="guest-invite", item=item_id, meeting=d,
                 attachments=[OutAttachment(ics_name, _ics(ctx, guest, item, d, r["start"], r["end"], sequence), ICS),
                              *files])
        _set(ctx, item_id, state=GuestState.INVITED.value, meeting=d, slot_start=r["start"], slot_end=r["end"],
             sequence=sequence)
        ctx.event(f"guest {guest['name']} {'updated' if again else 'invited'} for {item_id}", item=item_id, meeting=d)


def _cancel(ctx: Ctx, item: dict, guest: dict, why: str) -> None:
    if guest["state"] != GuestState.INVITED.value:
        return
    meeting = guest["meeting"]
    sequence = guest["sequence"] + 1
    ics = _ics(ctx, guest, item, meeting, guest["slot_start"], guest["slot_end"], sequence, cancel=True)
    ctx.send("guest_cancelled", [guest["email"]],
             {"meeting": common.meeting_context(ctx, date.fromisoformat(meeting)), "item": _summary(ctx, item["id"]),
              "name": guest["name"], "why": why},
             kind="guest-answer", item=item["id"], meeting=meeting,
             attachments=[OutAttachment(f"{common.final_name(ctx, date.fromisoformat(meeting), 'invite')} "
                                        f"{item['id']}.ics", ics, ICS)])
    _set(ctx, item["id"], state=GuestState.CANCELLED.value, sequence=sequence)
    ctx.event(f"guest {guest['name']}: invitation for {item['id']} cancelled ({why})", item=item["id"], meeting=meeting)


# --- the guest's reply ---------------------------------------------------------------------------


def _calendar_item(ctx: Ctx, mail: ParsedMail) -> tuple[str, CalendarReply] | None:
    from daemon import absence_words  # noqa: PLC0415 -- start-up (issue 19): only when a guest's mail is read

    for part in mail.attachments:
        if part.content_type.lower() != ICS and not part.name.lower().endswith(".ics"):
            continue
        reply = absence_words.calendar_reply(part.data)
        if reply is None:
            continue
        for guest in ctx.store.all("SELECT * FROM guests WHERE email = ? AND meeting IS NOT NULL", [mail.sender]):
            if uid(ctx, guest["meeting"], guest["item_id"]) == reply.uid.lower() and reply.attendee == mail.sender:
                return guest["item_id"], reply
    return None


def guest_of(ctx: Ctx, mail: ParsedMail) -> tuple[Member, str] | None:
    """(the guest as a Member, their item) when ``mail`` answers that guest's own invitation; else None."""
    thread = ctx.store.sent_by_us(mail.thread_ids)
    item_id = None
    if thread is not None and thread["kind"] in KINDS:
        item_id = thread["item_id"]
    else:
        found = _calendar_item(ctx, mail)
        item_id = found[0] if found else None
    guest = row(ctx, item_id) if item_id else None
    if guest is None or guest["email"] != mail.sender:
        return None
    return Member(guest["name"], guest["email"]), item_id


def on_reply(ctx: Ctx, mail: ParsedMail, guest: Member, item_id: str) -> Outcome:
    """A guest's reply for their item alone: regrets (also a declined calendar reply) or documents."""
    from daemon import absence_words  # noqa: PLC0415 -- start-up (issue 19): only when a guest's mail is read
    from daemon.mail.replies import latest_reply  # noqa: PLC0415 -- the same

    item = ctx.store.item(item_id)
    found = _calendar_item(ctx, mail)
    said = absence_words.regret(latest_reply(mail.text, [guest.name]), mail.subject, ctx.today)
    declined = (found and found[1].partstat == "DECLINED") or (said is not None and said.absent)
    context = {"item": items.summary(ctx, item_id), "name": guest.name}  # for the members
    guest_item = _summary(ctx, item_id)  # for the guest, outside the group
    tell = [m for m in (*ctx.config.with_role("chair"), ctx.config.member_by_address(item["proposer"])) if m]
    if declined:
        _set(ctx, item_id, state=GuestState.DECLINED.value)
        reason = (found[1].comment if found else "") or (said.reason if said else "")
        ctx.event(f"guest {guest.name} cannot come for {item_id}", actor=guest.email, item=item_id,
                  detail={"reason": reason})
        ctx.send("guest_answer", [guest.email], {**context, "item": guest_item, "declined": True}, kind="guest-answer", item=item_id,
                 meeting=item["meeting"], reply_to=mail)
        ctx.send("guest_notice", tell, {**context, "declined": True, "reason": reason, "added": []},
                 kind="agenda-notice", item=item_id, meeting=item["meeting"])
        return Outcome("guest-regrets", item=item_id)
    if found:  # accepted or tentative: nothing to do
        return Outcome("guest-calendar", item=item_id, detail=found[1].partstat)
    checked = att.check(mail.attachments, ctx.config.intake.max_attachment_bytes, ctx.config.intake.max_attachments,
                        ctx.language)
    if not any(c.problem is None for c in checked) or item["state"] != items.ItemState.PLANNED.value:
        return Outcome("guest-reply", "quarantine", item=item_id, detail="a guest's reply with nothing klg reads")
    rows = att.keep(ctx.store, item_id, checked, ctx.now, mail.message_id)
    ctx.event(f"guest {guest.name} added documents to {item_id}", actor=guest.email, item=item_id,
              detail={"attachments": [r["name"] for r in rows]})
    items.announce(ctx, item_id, "amended", "guest")
    added = [r["name"] for r in rows]
    ctx.send("guest_answer", [guest.email], {**context, "item": guest_item, "declined": False, "added": added}, kind="guest-answer",
             item=item_id, meeting=item["meeting"], reply_to=mail)
    ctx.send("guest_notice", tell, {**context, "declined": False, "reason": "", "added": added},
             kind="agenda-notice", item=item_id, meeting=item["meeting"])
    return Outcome("guest-documents", item=item_id)
