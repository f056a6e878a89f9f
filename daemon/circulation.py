"""Written procedure (skriftligt förfarande): an item is mailed to every member
for reading and comments, the replies are collected as comments, the silent
get one reminder, and at the deadline a compilation is made and the item goes
on the agenda of the deciding meeting as a decision item.

How a circulation starts:
- a proposal with ``Skriftligt förfarande: ja`` (hook "created"), or a reply to
  the acknowledgement that sets it (hook "amended");
- the chair or chancellery setting the item's kind to written procedure in the
  draft agenda review (hook "written_procedure");
- a mail to the shared mailbox with ``Skriftligt förfarande: KLG-2026-042``
  from the chair, the chancellery or the item's proposer.

Timing: the comment period is ``[circulation] comment_days`` working days
(holidays respected) and ends at ``deadline_time``; the deciding meeting is the
first whose proposal deadline comes after that, so the compilation is on the
agenda before the draft is made. If that is not the meeting the item was
planned for, the proposer is told in the mail that confirms the start.

While circulating the item has state ``circulating`` (no agenda shows it); at
the deadline it becomes ``planned`` on the deciding meeting with kind
``beslut``, origin ``circulation`` and the compilation as an item attachment.

Who may do what: every member except the proposer is asked; any member's reply
to a circulation mail is a comment (the latest one counts). The proposer, the
chair and the chancellery may reply ``STATUS`` (who has answered) and
``ÅTERKALLA`` (withdraw: the item is withdrawn and the members told), and
``Skriftligt förfarande: nej`` (the item goes back to an ordinary meeting).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from daemon import attachments as att
from daemon import circulation_held as held_lib
from daemon import compilation
from daemon import fields as fieldlib
from daemon.config import Config, ConfigError, Member, _Reader
from daemon.context import Ctx
from daemon.intake import Outcome, may_answer
from daemon.mail.compose import OutAttachment
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply, read_stance
from daemon.schedule import Calendar
from daemon.steps import Step
from daemon.store import from_iso, iso
from daemon.texts import MONTHS

log = logging.getLogger("klg.circulation")

# Outbox kinds whose replies come here.
REPLY_KINDS = ("circulation", "circulation-reminder", "circulation-receipt", "circulation-started",
               "circulation-status", "circulation-compiled", "circulation-late", "circulation-withdrawn",
               "circulation-cancelled")
ACTIVE = ("open", "compiled")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STANCE_NAMES = {
    "sv": {"support": "Tillstyrker", "object": "Avstyrker", "none": "Inga synpunkter", None: "–"},
    "en": {"support": "Support", "object": "Object", "none": "No comments", None: "–"},
}
UNSTATED_IN_MAIL = {"sv": "synpunkter utan ställningstagande", "en": "comments without a stated position"}
_START_LINE = re.compile(r"^[ \t]*[*_]*(skriftligt förfarande|written procedure)[*_]*[ \t]*:[ \t]*(.+)$",
                         re.IGNORECASE | re.MULTILINE)


# --- configuration --------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """``[circulation]``: how long members have, and when they are reminded."""

    comment_days: int = 5  # working days from the start
    deadline_time: time = time(16, 0)  # local clock time the comment period ends
    reminder_days_before: int = 1  # working days before the deadline; 0: no reminder
    reminder_time: time | None = None  # None: the deadline's clock time


KEYS = ("comment_days", "deadline_time", "reminder_days_before", "reminder_time")


def read_settings(section: Any) -> tuple[Settings, list[str]]:
    """The settings in a raw ``[circulation]`` table, and every problem with it."""
    r = _Reader()
    p = "circulation"
    if not isinstance(section, dict):
        return Settings(), [f"circulation = {section!r}: expected a [circulation] table"]
    for key in section:
        if key not in KEYS:
            r.bad(f"{p}.{key}", section[key], f"unknown key; the keys are {', '.join(KEYS)}")
    days = r.get(section, "comment_days", p, int, 5, "expected a whole number of working days, e.g. 5")
    if days is not None and not 1 <= days <= 60:
        r.bad(f"{p}.comment_days", days, "use 1 to 60 working days")
    deadline = r.clock(section, "deadline_time", p, time(16, 0))
    before = r.get(section, "reminder_days_before", p, int, 1,
                   "expected a whole number of working days before the deadline, e.g. 1 (0: no reminder)")
    if before is not None and before < 0:
        r.bad(f"{p}.reminder_days_before", before, "use 0 (no reminder) or more")
    elif before and days and before >= days:
        r.bad(f"{p}.reminder_days_before", before,
              f"must be less than circulation.comment_days ({days}), or the reminder would come before the mail")
    reminder = r.clock(section, "reminder_time", p, None)
    settings = Settings(days if isinstance(days, int) and days >= 1 else 5, deadline or time(16, 0),
                        before if isinstance(before, int) and before >= 0 else 1, reminder)
    return settings, r.problems


def check_config(config: Config) -> list[str]:
    """Problems in ``[circulation]`` (config.parse calls this through workflows.CONFIG_CHECKS)."""
    return read_settings(config.section("circulation"))[1]


def settings(config: Config) -> Settings:
    found, problems = read_settings(config.section("circulation"))
    if problems:
        raise ConfigError(config.path, problems)
    return found


def wake_times(config: Config) -> list[time]:
    """Clock times at which a reminder or a deadline may fall due."""
    s = settings(config)
    return [s.deadline_time] + ([s.reminder_time] if s.reminder_time else [])


# --- timing (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    deadline: datetime
    reminder: datetime | None
    meeting: date


def working_days_before(cal: Calendar, day: date, n: int) -> date:
    """The working day ``n`` working days before ``day``."""
    while n > 0:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            n -= 1
    return day


def timing(cal: Calendar, s: Settings, now: datetime, not_before: date | None) -> Timing:
    """When the comment period started at ``now`` ends, when to remind, and which
    meeting decides: the first (not before ``not_before``) whose proposal deadline
    comes after the end of the comment period."""
    today = now.astimezone(cal.tz).date()
    deadline = cal.local(cal.add_working_days(today, s.comment_days), s.deadline_time)
    reminder = None
    if s.reminder_days_before:
        day = working_days_before(cal, deadline.date(), s.reminder_days_before)
        at = cal.local(day, s.reminder_time or s.deadline_time)
        reminder = at if now < at < deadline else None
    return Timing(deadline, reminder, cal.open_meeting(deadline, not_before=not_before))


# --- small readers ---------------------------------------------------------------


def calendar(ctx: Ctx) -> Calendar:
    return ctx.calendar


def get(ctx: Ctx, circ_id: int) -> dict | None:
    return ctx.store.one("SELECT * FROM circulations WHERE id = ?", [circ_id])


def active_for_item(ctx: Ctx, item_id: str) -> dict | None:
    """The item's open or compiled circulation, if any."""
    return ctx.store.one("SELECT * FROM circulations WHERE item_id = ? AND state IN ('open', 'compiled') "
                         "ORDER BY id DESC LIMIT 1", [item_id])


def latest_for_item(ctx: Ctx, item_id: str) -> dict | None:
    return ctx.store.one("SELECT * FROM circulations WHERE item_id = ? ORDER BY id DESC LIMIT 1", [item_id])


def asked(circ: dict) -> list[str]:
    return json.loads(circ["members"])


def current_comments(ctx: Ctx, circ_id: int) -> list[dict]:
    """Each member's latest comment, oldest first."""
    return ctx.store.all("SELECT * FROM comments WHERE circulation_id = ? AND replaced_by IS NULL "
                         "ORDER BY written_at, id", [circ_id])


def name_of(ctx: Ctx, email: str) -> str:
    member = ctx.config.member_by_address(email)
    return member.name if member else email


def may_manage(member: Member, circ: dict) -> bool:
    """The proposer, the chair and the chancellery may ask for status, withdraw and cancel."""
    return member.email == circ["proposer"] or member.has("chair") or member.has("chancellery")


def local(ctx: Ctx, stored: str) -> datetime:
    return from_iso(stored).astimezone(ctx.config.group.timezone)


def stamp(ctx: Ctx, stored: str) -> str:
    """A stored instant as the group reads it: '2026-12-07 09:12'."""
    return local(ctx, stored).strftime("%Y-%m-%d %H:%M")


def stance_name(ctx: Ctx, stance: str | None, in_mail: bool = False) -> str:
    """The stance as the group reads it; a comment without one is "–" in the
    compilation's table and spelled out in mails."""
    if stance is None and in_mail:
        return UNSTATED_IN_MAIL[ctx.language]
    return STANCE_NAMES[ctx.language].get(stance, "–")


def is_status_request(text: str) -> bool:
    """True when the reply's first line is the word STATUS (any case, a word or two of courtesy allowed)."""
    first = next((line.strip().lower() for line in text.split("\n") if line.strip()), "")
    words = re.findall(r"[\wåäö]+", first)
    return bool(words) and words[0] == "status" and len(words) <= 3


_COURTESY = re.compile(r"(tack|tackar|tack så mycket|tack för det|stort tack|ok|okej|okay|bra|fint|toppen|"
                       r"thanks|thank you|thanks a lot|great|perfect)([\s,]+(tack|thanks))?", re.IGNORECASE)


def is_courtesy(text: str) -> bool:
    """True for a bare thank-you or OK, as people send in answer to a receipt."""
    words = re.sub(r"[^\w\s,]", " ", text or "").strip()
    return bool(words) and len(words) <= 30 and bool(_COURTESY.fullmatch(" ".join(words.split())))


def is_cancel_request(text: str) -> bool:
    """``Skriftligt förfarande: nej`` — take the item back to an ordinary meeting."""
    for m in _START_LINE.finditer(text):
        if m[2].strip().lower().rstrip(".!") in fieldlib.NO:
            return True
    return False


def start_request_ids(ctx: Ctx, text: str) -> list[str]:
    """Item ids named on a ``Skriftligt förfarande: KLG-2026-042`` line."""
    pattern = re.compile(rf"\b{re.escape(ctx.config.group.short)}-\d{{4}}-\d{{3,}}\b", re.IGNORECASE)
    ids: list[str] = []
    for m in _START_LINE.finditer(text):
        for found in pattern.findall(m[2]):
            if found.upper() not in ids:
                ids.append(found.upper())
    return ids


def _call_item_hooks(ctx: Ctx, item_id: str, what: str) -> None:
    from daemon import workflows  # the registry; imported late to avoid an import cycle

    for hook in workflows.ITEM_HOOKS:
        hook(ctx, item_id, what)


def _explain(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict) -> None:
    """One plain explanation to the member (kind 'explain', so the storm guard counts it)."""
    if not may_answer(ctx, mail.sender):
        ctx.event("explanation suppressed (storm guard)", actor=mail.sender, detail={"reason": reason})
        return
    ctx.send("circulation_explain", [mail.sender],
             {"reason": reason, "name": member.name, "subject": mail.subject, **context},
             kind="explain", item=context.get("item_id"), reply_to=mail)


def _item_documents(ctx: Ctx, item_id: str) -> list[OutAttachment]:
    return [OutAttachment(a["name"], ctx.store.files.get(a["sha256"]), a["content_type"])
            for a in ctx.store.attachments(item_id)]


def _comment_documents(ctx: Ctx, comment_ids: list[int]) -> list[OutAttachment]:
    out = []
    for cid in comment_ids:
        for a in ctx.store.attachments(str(cid), owner="comment"):
            out.append(OutAttachment(a["name"], ctx.store.files.get(a["sha256"]), a["content_type"]))
    return out


def _mail_context(ctx: Ctx, circ: dict) -> dict:
    """What every circulation mail template gets."""
    item = ctx.store.item(circ["item_id"])
    deadline = local(ctx, circ["deadline"])
    return {
        "item": {**item, "attachments": [a["name"] for a in ctx.store.attachments(item["id"])]},
        "proposer_name": name_of(ctx, circ["proposer"]),
        "deadline": deadline,
        "deadline_short": f"{deadline.day} {MONTHS[ctx.language][deadline.month - 1]}",
        "reminder": local(ctx, circ["reminder_at"]) if circ["reminder_at"] else None,
        "meeting": date.fromisoformat(circ["meeting"]),
        "planned_meeting": date.fromisoformat(circ["planned_meeting"]) if circ["planned_meeting"] else None,
        "asked": len(asked(circ)),
        "state": circ["state"],
    }


def _answers(ctx: Ctx, circ: dict) -> tuple[list[dict], list[str]]:
    """(the current comments as rows for a mail, the names of the asked who have not answered)."""
    comments = current_comments(ctx, circ["id"])
    answered = {c["member"] for c in comments}
    rows = [{"name": name_of(ctx, c["member"]), "time": stamp(ctx, c["written_at"]),
             "stance": stance_name(ctx, c["stance"], in_mail=True), "late": bool(c["late"]), "text": c["text"]}
            for c in comments]
    return rows, [name_of(ctx, m) for m in asked(circ) if m not in answered]


# --- starting ----------------------------------------------------------------------


def start(ctx: Ctx, item_id: str, started_by: str, starter: Member | None = None) -> dict:
    """Circulate ``item_id`` now: record it, mail every member but the proposer,
    and tell the proposer (and whoever started it) the deadline and the deciding meeting.
    Beyond ``[security] mail_for_others_per_sender_per_hour`` it is held instead
    (``circulation_held``): recorded, not mailed, listed to the chancellery."""
    item = ctx.store.item(item_id)
    s = settings(ctx.config)
    cal = calendar(ctx)
    planned = date.fromisoformat(item["meeting"]) if item["meeting"] else None
    t = timing(cal, s, ctx.now, planned)
    members = [m for m in ctx.config.members if m.email != item["proposer"]]
    row = {
        "item_id": item_id, "state": "open", "proposer": item["proposer"], "started_by": started_by,
        "started_at": iso(ctx.now), "deadline": iso(t.deadline), "reminder_at": iso(t.reminder) if t.reminder else None,
        "planned_meeting": planned.isoformat() if planned else None, "meeting": t.meeting.isoformat(),
        "members": json.dumps([m.email for m in members]),
    }
    if starter is not None and held_lib.may_release(starter, item_id, ctx):
        held_lib.release(ctx, item_id, starter)
    elif held_lib.over_limit(ctx, started_by, item["proposer"]):
        return held_lib.hold(ctx, row)
    circ_id = ctx.store.db["circulations"].insert(row).last_pk
    ctx.store.update_item(item_id, ctx.now, state="circulating", written_procedure=1, kind="beslut",
                          meeting=t.meeting.isoformat())
    circ = get(ctx, circ_id)
    ctx.event(f"written procedure started: comments until {t.deadline.isoformat(timespec='minutes')}, "
              f"decision {t.meeting}", actor=starter.email if starter else "klg", item=item_id,
              meeting=t.meeting.isoformat(), detail={"started_by": started_by, "members": len(members),
                                                     "planned_meeting": circ["planned_meeting"]})
    context = _mail_context(ctx, circ)
    documents = _item_documents(ctx, item_id)
    for m in members:
        ctx.send("circulation", [m], {**context, "name": m.name}, kind="circulation", item=item_id,
                 meeting=circ["meeting"], ref=str(circ_id), attachments=documents)
    proposer = ctx.config.member_by_address(item["proposer"])
    cc = [starter] if starter and starter.email != item["proposer"] else []
    ctx.send("circulation_started", [item["proposer"]],
             {**context, "name": proposer.name if proposer else "", "started_by": started_by,
              "starter_name": starter.name if starter else None, "moved": planned is not None and planned != t.meeting,
              "recipients": [m.name for m in members]},
             kind="circulation-started", cc=cc, item=item_id, meeting=circ["meeting"], ref=str(circ_id))
    return circ


def on_item(ctx: Ctx, item_id: str, what: str) -> None:
    """ITEM_HOOKS: start a circulation for an item marked for written procedure;
    end it when the item is withdrawn elsewhere."""
    item = ctx.store.item(item_id)
    if item is None:
        return
    if what == "withdrawn":
        circ = active_for_item(ctx, item_id)
        if circ:
            _close(ctx, circ, "withdrawn", by="klg")
        return
    if what not in ("created", "amended", "written_procedure"):
        return
    if what != "written_procedure" and not item["written_procedure"]:
        return
    if item["state"] != "planned" or active_for_item(ctx, item_id) or held_lib.held(ctx, item_id):
        return  # a held one waits for the chancellery, not for the next amendment
    by = {"created": "proposal", "amended": "amendment", "written_procedure": "agenda-review"}[what]
    start(ctx, item_id, by)


def _start_by_mail(ctx: Ctx, mail: ParsedMail, member: Member, ids: list[str]) -> Outcome:
    """``Skriftligt förfarande: KLG-2026-042`` from the chair, the chancellery or the proposer."""
    started, problems = [], []
    sv = ctx.language == "sv"
    for item_id in ids:
        item = ctx.store.item(item_id)
        if item is None:
            problems.append(f"{item_id}: inget sådant ärende finns" if sv else f"{item_id}: no such item")
        elif not (member.email == item["proposer"] or member.has("chair") or member.has("chancellery")):
            problems.append(f"{item_id}: bara förslagsställaren, kommundirektören eller kansliet kan begära skriftligt förfarande"
                            if sv else f"{item_id}: only the proposer, the chair or the chancellery can ask for a written procedure")
        elif active_for_item(ctx, item_id):
            problems.append(f"{item_id}: går redan ut på skriftligt förfarande" if sv
                            else f"{item_id}: is already under written procedure")
        elif item["state"] != "planned":
            problems.append(f"{item_id}: ärendet är {item['state']} och kan inte skickas ut" if sv
                            else f"{item_id}: the item is {item['state']} and cannot be circulated")
        elif start(ctx, item_id, member.email, member)["state"] == "held":
            limit = ctx.config.security.mail_for_others_per_sender_per_hour
            problems.append(f"{item_id}: väntar; du har redan startat {limit} skriftliga förfaranden den senaste "
                            "timmen, så kansliet har fått en lista och startar det" if sv else
                            f"{item_id}: waits; you already started {limit} written procedures in the last hour, so "
                            "the chancellery has been sent a list and will start it")
        else:
            started.append(item_id)
    if problems:
        _explain(ctx, mail, member, "start_problems", {"problems": problems, "started": started,
                                                       "item_id": (started or ids)[0]})
    if not started:
        return Outcome("circulation-refused", "quarantine", item=ids[0], detail="; ".join(problems)[:500])
    return Outcome("circulation-start", item=started[0], detail=", ".join(started))


def on_held_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """REPLY_HANDLERS for the list of held circulations: ``Skriftligt förfarande: KLG-…`` starts them."""
    ids = start_request_ids(ctx, latest_reply(mail.text, [member.name, mail.sender_name]))
    if ids:
        return _start_by_mail(ctx, mail, member, ids)
    _explain(ctx, mail, member, "held_howto", {})
    return Outcome("unreadable", "quarantine", detail="reply to the held list without an item to start")


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """COMMANDS: a new mail naming items to circulate, e.g. ``Skriftligt förfarande: KLG-2026-042``."""
    ids = start_request_ids(ctx, mail.text)
    return _start_by_mail(ctx, mail, member, ids) if ids else None


# --- replies -----------------------------------------------------------------------


def item_reply(fallback):
    """Wrap an item's reply handler (proposals.on_reply): replies about an item
    under written procedure come here; the rest go on to ``fallback``."""

    def handler(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
        item_id = thread.get("item_id")
        item = ctx.store.item(item_id) if item_id else None
        if item is not None:
            text = latest_reply(mail.text, [member.name, mail.sender_name])
            ids = start_request_ids(ctx, text)
            if ids:
                return _start_by_mail(ctx, mail, member, ids)
            circ = active_for_item(ctx, item["id"])
            if circ and (item["state"] == "circulating" or (circ["state"] == "compiled" and not may_manage(member, circ))):
                return _handle(ctx, mail, member, circ, text)
        return fallback(ctx, mail, member, thread)

    handler.__name__ = f"circulation_or_{getattr(fallback, '__name__', 'fallback')}"
    handler.__doc__ = fallback.__doc__
    return handler


def on_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """REPLY_HANDLERS for every circulation mail: a comment, or STATUS / ÅTERKALLA."""
    circ = get(ctx, int(thread["ref"])) if (thread.get("ref") or "").isdigit() else None
    circ = circ or (latest_for_item(ctx, thread["item_id"]) if thread.get("item_id") else None)
    if circ is None:
        _explain(ctx, mail, member, "unknown", {"item_id": thread.get("item_id")})
        return Outcome("unknown-circulation", "quarantine", item=thread.get("item_id"))
    return _handle(ctx, mail, member, circ, latest_reply(mail.text, [member.name, mail.sender_name]))


def _handle(ctx: Ctx, mail: ParsedMail, member: Member, circ: dict, text: str) -> Outcome:
    item_id = circ["item_id"]
    manager = may_manage(member, circ)
    context = {**_mail_context(ctx, circ), "item_id": item_id}
    if is_status_request(text):
        if not manager:
            _explain(ctx, mail, member, "status_not_allowed", context)
            return Outcome("not-allowed", "quarantine", item=item_id, detail="STATUS from a member who may not ask")
        _send_status(ctx, circ, mail, member)
        return Outcome("circulation-status", item=item_id)
    if manager and circ["state"] in ACTIVE and fieldlib.is_withdrawal(text):
        _withdraw(ctx, circ, mail, member)
        return Outcome("withdrawal", item=item_id)
    if manager and circ["state"] == "open" and is_cancel_request(text):
        _cancel_to_meeting(ctx, circ, mail, member)
        return Outcome("circulation-cancelled", item=item_id)
    if circ["state"] not in ACTIVE:
        _explain(ctx, mail, member, "closed", context)
        return Outcome("circulation-closed", "quarantine", item=item_id, detail=circ["state"])
    if member.email == circ["proposer"]:
        _explain(ctx, mail, member, "proposer", context)
        return Outcome("unreadable", "quarantine", item=item_id, detail="the proposer's reply is not a comment")
    return _comment(ctx, mail, member, circ, text)


def _written_at(ctx: Ctx, mail: ParsedMail, circ: dict) -> datetime:
    """When the member wrote the reply: its Date when that lies between the start and
    now (a reply sent in time while the daemon was down is not late), else now."""
    if mail.date is not None and mail.date.tzinfo is not None:
        if from_iso(circ["started_at"]) <= mail.date <= ctx.now:
            return mail.date
    return ctx.now


def _comment(ctx: Ctx, mail: ParsedMail, member: Member, circ: dict, text: str) -> Outcome:
    item_id = circ["item_id"]
    intake = ctx.config.intake
    checked = att.check(mail.attachments, intake.max_attachment_bytes, intake.max_attachments, ctx.language)
    if not text and not any(c.problem is None for c in checked):
        _explain(ctx, mail, member, "empty", {**_mail_context(ctx, circ), "item_id": item_id,
                                              "problems": [c.problem for c in checked if c.problem]})
        return Outcome("unreadable", "quarantine", item=item_id, detail="no comment found in the reply")
    stance = read_stance(text)
    previous = ctx.store.one("SELECT * FROM comments WHERE circulation_id = ? AND member = ? AND replaced_by IS NULL",
                             [circ["id"], member.email])
    if previous and stance is None and is_courtesy(text) and not any(c.problem is None for c in checked):
        ctx.event("a thank-you after a comment; the comment stands", actor=member.email, item=item_id)
        return Outcome("courtesy", item=item_id, detail="not a new comment")
    written = _written_at(ctx, mail, circ)
    late = circ["state"] == "compiled" or written > from_iso(circ["deadline"])
    comment_id = ctx.store.db["comments"].insert({
        "circulation_id": circ["id"], "member": member.email, "message_id": mail.message_id,
        "written_at": iso(written), "received_at": iso(ctx.now), "stance": stance, "text": text, "late": int(late),
    }).last_pk
    if previous:
        ctx.store.db["comments"].update(previous["id"], {"replaced_by": comment_id})
    if member.email not in asked(circ):  # a member who joined after the start still counts
        ctx.store.db["circulations"].update(circ["id"], {"members": json.dumps(asked(circ) + [member.email])})
    rows = att.keep(ctx.store, item_id, checked, ctx.now, mail.message_id, owner="comment", owner_id=str(comment_id))
    ctx.event(f"comment{' (late)' if late else ''}{' replacing an earlier one' if previous else ''}: "
              f"{stance or 'no stated stance'}", actor=member.email, item=item_id, meeting=circ["meeting"],
              detail={"comment": comment_id, "attachments": [r["name"] for r in rows]})
    circ = get(ctx, circ["id"])
    if circ["state"] == "compiled":
        _pass_late_comment(ctx, circ, comment_id)
    ctx.send("circulation_receipt", [mail.sender],
             {**_mail_context(ctx, circ), "name": member.name, "text": text, "stance": stance_name(ctx, stance, True),
              "late": late, "replaced": bool(previous), "added": [r["name"] for r in rows],
              "problems": [c.problem for c in checked if c.problem]},
             kind="circulation-receipt", item=item_id, meeting=circ["meeting"], ref=str(circ["id"]), reply_to=mail)
    return Outcome("comment", item=item_id, detail=("late, " if late else "") + (stance or "no stated stance"))


def _send_status(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    rows, silent = _answers(ctx, circ)
    ctx.send("circulation_status", [mail.sender],
             {**_mail_context(ctx, circ), "name": member.name, "answers": rows, "silent": silent},
             kind="circulation-status", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]),
             reply_to=mail)


# --- ending early ------------------------------------------------------------------


def _close(ctx: Ctx, circ: dict, state: str, by: str, note: str | None = None) -> None:
    """End an active circulation and tell the members asked (except ``by``) that it is cancelled."""
    ctx.store.db["circulations"].update(circ["id"], {"state": state, "closed_at": iso(ctx.now), "closed_by": by})
    ctx.event(f"written procedure {state}", actor=by, item=circ["item_id"], meeting=circ["meeting"])
    to = [m for m in asked(circ) if m != by and ctx.config.member_by_address(m)]
    if to:
        ctx.send("circulation_cancelled", to, {**_mail_context(ctx, get(ctx, circ["id"])), "reason": state,
                                               "by_name": name_of(ctx, by) if by != "klg" else None, "note": note},
                 kind="circulation-cancelled", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]))


def _withdraw(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    """ÅTERKALLA: the item is withdrawn, the members are told, the sender gets a confirmation."""
    item = ctx.store.item(circ["item_id"])
    _close(ctx, circ, "withdrawn", by=member.email)
    if item["state"] in ("circulating", "planned"):
        ctx.store.update_item(item["id"], ctx.now, state="withdrawn")
        ctx.event("item withdrawn", actor=member.email, item=item["id"], meeting=item["meeting"])
        _call_item_hooks(ctx, item["id"], "withdrawn")
    cc = [circ["proposer"]] if circ["proposer"] != member.email else []
    ctx.send("circulation_withdrawn", [mail.sender], {**_mail_context(ctx, get(ctx, circ["id"])), "name": member.name,
                                                      "cancelled_only": False},
             kind="circulation-withdrawn", cc=cc, item=item["id"], meeting=circ["meeting"], ref=str(circ["id"]),
             reply_to=mail)


def _cancel_to_meeting(ctx: Ctx, circ: dict, mail: ParsedMail, member: Member) -> None:
    """``Skriftligt förfarande: nej``: no written procedure after all; the item goes
    back on the first meeting still open for proposals, as an ordinary item."""
    item = ctx.store.item(circ["item_id"])
    wanted = date.fromisoformat(circ["planned_meeting"]) if circ["planned_meeting"] else None
    meeting = calendar(ctx).open_meeting(ctx.now, not_before=wanted)
    from daemon.proposals import next_position

    ctx.store.update_item(item["id"], ctx.now, state="planned", written_procedure=0, meeting=meeting.isoformat(),
                          position=next_position(ctx, meeting.isoformat()))
    _close(ctx, circ, "cancelled", by=member.email, note=meeting.isoformat())
    _call_item_hooks(ctx, item["id"], "amended")
    cc = [circ["proposer"]] if circ["proposer"] != member.email else []
    ctx.send("circulation_withdrawn", [mail.sender],
             {**_mail_context(ctx, get(ctx, circ["id"])), "name": member.name, "cancelled_only": True,
              "new_meeting": meeting},
             kind="circulation-withdrawn", cc=cc, item=item["id"], meeting=meeting.isoformat(), ref=str(circ["id"]),
             reply_to=mail)


# --- the steps: reminder and deadline ------------------------------------------------


def due(ctx: Ctx) -> list[Step]:
    """STEPS: the reminder (before the deadline only) and the compilation of each open circulation."""
    steps = []
    for circ in ctx.store.all("SELECT * FROM circulations WHERE state = 'open' ORDER BY id"):
        deadline = from_iso(circ["deadline"])
        tag = f"{circ['item_id']}:{circ['id']}"
        if circ["reminder_at"] and from_iso(circ["reminder_at"]) <= ctx.now < deadline:
            steps.append(Step(f"circulation-reminder:{tag}", partial(remind, circ_id=circ["id"]),
                              f"remind the members who have not commented on {circ['item_id']}"))
        if deadline <= ctx.now:
            steps.append(Step(f"circulation-deadline:{tag}", partial(close_comments, circ_id=circ["id"]),
                              f"compile the comments on {circ['item_id']} and put it up for decision"))
    return steps


def remind(ctx: Ctx, circ_id: int) -> None:
    """One reminder to each member asked who has not answered (none after the deadline)."""
    circ = get(ctx, circ_id)
    if circ is None or circ["state"] != "open" or ctx.now >= from_iso(circ["deadline"]):
        return
    answered = {c["member"] for c in current_comments(ctx, circ_id)}
    context = _mail_context(ctx, circ)
    silent = [m for m in (ctx.config.member_by_address(e) for e in asked(circ) if e not in answered) if m]
    for m in silent:
        ctx.send("circulation_reminder", [m], {**context, "name": m.name}, kind="circulation-reminder",
                 item=circ["item_id"], meeting=circ["meeting"], ref=str(circ_id))
    ctx.event(f"reminder sent to {len(silent)} members", item=circ["item_id"], meeting=circ["meeting"],
              detail={"to": [m.email for m in silent]})


def close_comments(ctx: Ctx, circ_id: int) -> None:
    """At the deadline: compile, put the item on the deciding meeting as a decision
    item with the compilation attached, and send the compilation to the proposer."""
    circ = get(ctx, circ_id)
    if circ is None or circ["state"] != "open":
        return
    item = ctx.store.item(circ["item_id"])
    if item["state"] != "circulating":  # changed by something else meanwhile: nothing to put up
        _close(ctx, circ, "withdrawn", by="klg")
        return
    cal = calendar(ctx)
    meeting = date.fromisoformat(circ["meeting"])
    moved_from = None
    if not cal.is_meeting(meeting) or cal.proposal_deadline(meeting) <= ctx.now:
        new = cal.open_meeting(ctx.now, not_before=meeting)  # the daemon was down, or the meeting was cancelled
        if new != meeting:
            moved_from, meeting = meeting, new
    from daemon.proposals import next_position

    ctx.store.db["circulations"].update(circ_id, {"state": "compiled", "compiled_at": iso(ctx.now),
                                                  "meeting": meeting.isoformat()})
    ctx.store.update_item(item["id"], ctx.now, state="planned", kind="beslut", origin="circulation",
                          meeting=meeting.isoformat(), position=next_position(ctx, meeting.isoformat()))
    circ = get(ctx, circ_id)
    name, data = store_compilation(ctx, circ)
    ctx.event(f"written procedure compiled; decision item on {meeting}", item=item["id"], meeting=meeting.isoformat())
    _call_item_hooks(ctx, item["id"], "amended")
    rows, silent = _answers(ctx, circ)
    comments = current_comments(ctx, circ_id)
    proposer = ctx.config.member_by_address(circ["proposer"])
    ctx.send("circulation_compiled", [circ["proposer"]],
             {**_mail_context(ctx, circ), "name": proposer.name if proposer else "", "answers": rows,
              "silent": silent, "moved_from": moved_from, "counts": _counts(comments, circ),
              "compilation": name},
             kind="circulation-compiled", item=item["id"], meeting=meeting.isoformat(), ref=str(circ_id),
             attachments=[OutAttachment(name, data, DOCX), *_comment_documents(ctx, [c["id"] for c in comments])])


def _pass_late_comment(ctx: Ctx, circ: dict, comment_id: int) -> None:
    """A comment after the compilation goes to the proposer; while the deciding
    meeting's agenda is still open for proposals the compilation is remade with it."""
    item = ctx.store.item(circ["item_id"])
    meeting = date.fromisoformat(circ["meeting"])
    attachments = _comment_documents(ctx, [comment_id])
    updated = None
    if item["state"] == "planned" and item["meeting"] == circ["meeting"] and \
            ctx.now < calendar(ctx).proposal_deadline(meeting):
        name, data = store_compilation(ctx, circ)
        attachments.insert(0, OutAttachment(name, data, DOCX))
        updated = name
    comment = ctx.store.one("SELECT * FROM comments WHERE id = ?", [comment_id])
    proposer = ctx.config.member_by_address(circ["proposer"])
    ctx.send("circulation_late", [circ["proposer"]],
             {**_mail_context(ctx, get(ctx, circ["id"])), "name": proposer.name if proposer else "",
              "commenter": name_of(ctx, comment["member"]), "time": stamp(ctx, comment["written_at"]),
              "stance": stance_name(ctx, comment["stance"], True), "text": comment["text"], "updated": updated,
              "added": [a.name for a in attachments if a.name != updated]},
             kind="circulation-late", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]),
             attachments=attachments)


# --- the compilation -------------------------------------------------------------------


def _counts(comments: list[dict], circ: dict) -> dict:
    answered = {c["member"] for c in comments}
    return {
        "support": sum(c["stance"] == "support" for c in comments),
        "object": sum(c["stance"] == "object" for c in comments),
        "none": sum(c["stance"] == "none" for c in comments),
        "unstated": sum(c["stance"] is None for c in comments),
        "silent": sum(m not in answered for m in asked(circ)),
        "asked": len(asked(circ)),
        "late": sum(bool(c["late"]) for c in comments),
    }


def compilation_context(ctx: Ctx, circ: dict) -> dict:
    """The values of ``templates/<language>/compilation.docx`` for ``circ``."""
    item = ctx.store.item(circ["item_id"])
    comments = current_comments(ctx, circ["id"])
    answered = {c["member"] for c in comments}
    rows = []
    for c in comments:
        earlier = ctx.store.all("SELECT * FROM comments WHERE circulation_id = ? AND member = ? AND id != ? "
                                "ORDER BY written_at, id", [circ["id"], c["member"], c["id"]])
        rows.append({
            "name": name_of(ctx, c["member"]),
            "time": stamp(ctx, c["written_at"]),
            "stance": stance_name(ctx, c["stance"]),
            "text": compilation.text(c["text"] or ("(se bilaga)" if ctx.language == "sv" else "(see attachment)")),
            "late": bool(c["late"]),
            "attachments": ", ".join(a["name"] for a in ctx.store.attachments(str(c["id"]), owner="comment")),
            "earlier": "; ".join(f"{stamp(ctx, e['written_at'])}: {stance_name(ctx, e['stance'])}"
                                 + ("" if e["stance"] else f" ”{_shorten(e['text'])}”") for e in earlier),
        })
    meeting = date.fromisoformat(circ["meeting"])
    from daemon.texts import long_date

    return {
        "group": ctx.config.group.name, "organisation": ctx.config.group.organisation,
        "item": {"id": item["id"], "title": item["title"]},
        "proposer": name_of(ctx, circ["proposer"]),
        "description": compilation.text(item["description"]),
        "documents": [a["name"] for a in ctx.store.attachments(item["id"])
                      if a["id"] != circ["compilation_attachment"]],
        "started": stamp(ctx, circ["started_at"]),
        "deadline": stamp(ctx, circ["deadline"]),
        "meeting": long_date(meeting, ctx.language),
        "compiled": ctx.local_now.strftime("%Y-%m-%d %H:%M"),
        "version": circ["compilation_version"] + 1,
        "comments": rows,
        "counts": _counts(comments, circ),
        "silent": [name_of(ctx, m) for m in asked(circ) if m not in answered],
    }


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def compilation_name(ctx: Ctx, item_id: str) -> str:
    return f"{'Sammanställning synpunkter' if ctx.language == 'sv' else 'Compilation of comments'} {item_id}.docx"


def store_compilation(ctx: Ctx, circ: dict) -> tuple[str, bytes]:
    """Render the compilation and make it the item's attachment (replacing an earlier version)."""
    path = compilation.template_path(ctx.config.templates_dir, ctx.language)
    data = compilation.render(path, compilation_context(ctx, circ))
    if circ["compilation_attachment"]:
        ctx.store.db["attachments"].update(circ["compilation_attachment"], {"removed": 1})
    name = compilation_name(ctx, circ["item_id"])
    sha = ctx.store.files.put(data)
    attachment_id = ctx.store.db["attachments"].insert({
        "item_id": circ["item_id"], "owner": "item", "owner_id": circ["item_id"], "name": name, "sha256": sha,
        "size": len(data), "content_type": DOCX, "pages": None, "added_at": iso(ctx.now), "source_message": None,
    }).last_pk
    ctx.store.db["circulations"].update(circ["id"], {"compilation_version": circ["compilation_version"] + 1,
                                                     "compilation_attachment": attachment_id})
    return name, data


# --- klg status ---------------------------------------------------------------------------


def status_section(ctx: Ctx) -> tuple[str, list[dict], list[str]]:
    """STATUS: open circulations, and compiled ones whose meeting is still ahead."""
    rows = ctx.store.all("SELECT * FROM circulations WHERE state IN ('open', 'held') OR "
                         "(state = 'compiled' AND meeting >= ?) ORDER BY deadline, id", [ctx.today.isoformat()])
    out, lines = [], []
    for circ in rows:
        item = ctx.store.item(circ["item_id"])
        comments = current_comments(ctx, circ["id"])
        members = asked(circ)
        answered = len({c["member"] for c in comments} & set(members))
        deadline = local(ctx, circ["deadline"])
        out.append({"item": circ["item_id"], "title": item["title"], "proposer": circ["proposer"],
                    "deadline": deadline.isoformat(timespec="minutes"), "meeting": circ["meeting"],
                    "answered": answered, "members": len(members), "late": sum(bool(c["late"]) for c in comments),
                    "state": circ["state"]})
        if circ["state"] == "held":
            lines.append(f"  {circ['item_id']:<14} held     not sent: waits for the chancellery to start it — {item['title']}")
            continue
        lines.append(f"  {circ['item_id']:<14} {circ['state']:<8} comments until {deadline:%Y-%m-%d %H:%M}, "
                     f"{answered}/{len(members)} answered, decision {circ['meeting']} — {item['title']}")
    text = ["Written procedures:", *lines] if lines else []
    return "circulations", out, text
