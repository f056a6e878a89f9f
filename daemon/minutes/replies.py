"""Replies to the minutes' mails: the secretary's filled form, a signatory's
approval or change request, a responsible's "Klart", and the secretary swap
(``Sekreterare: <name>`` in a reply to the final agenda).

Who may do what is decided here and nowhere else:
- the form is accepted from the meeting's secretary, the chair or the chancellery;
- an approval counts only from a signatory of that version, from one of the
  addresses configured for that member, and only for the version (content
  SHA-256) the answered mail carried; an approval of a replaced version is
  answered and not counted;
- a follow-up is closed by its responsible, the chair or the chancellery.
"""

from __future__ import annotations

import json
import re
from datetime import date

from daemon import fields as fieldlib
from daemon import meetings
from daemon.config import Member
from daemon import followups
from daemon.context import Ctx
from daemon.answers import Outcome, explain
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.records import conflicts
from daemon.minutes import common, document, formcheck
from daemon.minutes.common import MinutesState, calendar, day, minutes_row, version_row
from daemon.minutes.mails import new_version, send_change_request, send_form
from daemon.secretary import secretary_for
from daemon.store import iso

APPROVAL_WORDS = ("justerat", "justeras", "justerad", "justerar", "godkänt", "godkänd", "godkänns", "godkänner",
                  "approved", "approve", "ok", "okay", "okej")
# A first line that starts with an approval word but contains one of these is a change request ("OK men …").
CONTRAST_WORDS = {"men", "but", "utom", "förutom", "except", "however", "dock", "fast", "ändra", "ändras", "change",
                  "rätta", "correct", "fix", "inte", "not", "ej"}
# The outbox kinds of the agenda's final mail (issue 3): a reply to it may swap the secretary.
AGENDA_FINAL_KINDS = ("agenda-final",)
MEETING_TAG = re.compile(r"\[(\w+) (\d{4}-\d{2}-\d{2})\]")
SIGN_OFF = re.compile(r"^(mvh|m\.v\.h|med vänlig hälsning|vänliga hälsningar|hälsningar|hälsning|tack|tack så mycket|"
                      r"thanks|thank you|regards|best regards|kind regards|best|cheers|/.*|--|[\d\s+()-]+)\W*$",
                      re.IGNORECASE)


def approval_word(text: str) -> str | None:
    """The approval word if the first line of ``text`` approves, else None."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    words = re.findall(r"[\wåäöÅÄÖ]+", first.lower())
    if not words or words[0] not in APPROVAL_WORDS or "?" in first:
        return None
    if any(w in CONTRAST_WORDS for w in words[1:]):
        return None
    return first.split()[0].strip(".,!:;")


def _answer(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, meeting: str, extra: dict | None = None, *,
            kind: str = "minutes-answer", ref: str | None = None, to: list | None = None,
            attachments: list[OutAttachment] = ()) -> str:
    context = {"reason": reason, "name": member.name, "subject": mail.subject,
               "meeting": common.meeting_context(ctx, meeting) if meeting else {}, **(extra or {})}
    return ctx.send("minutes_answer", to or [mail.sender], context, kind=kind, meeting=meeting, ref=ref,
                    reply_to=mail, attachments=attachments)


# --- the secretary returns the form ---------------------------------------------------------


def on_form_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """A reply to the form (or to our answers about it): the filled .docx."""
    meeting = thread.get("meeting")
    row = minutes_row(ctx, meeting) if meeting else None
    if row is None:
        explain(ctx, mail, member, "not_a_reply_we_expect", {})
        return Outcome("unexpected-reply", "quarantine", detail="no minutes for this thread")
    secretary = ctx.config.member_by_address(row["secretary"]) or secretary_for(ctx, day(meeting))
    if not (member.email == secretary.email or member.has("chair") or member.has("chancellery")):
        _answer(ctx, mail, member, "not_secretary", meeting, {"secretary": secretary.name}, kind="minutes-problems")
        return Outcome("minutes-refused", detail=f"{member.email} is not the secretary")
    if row["state"] in ("signed", "distributed"):
        _answer(ctx, mail, member, "already_signed", meeting, kind="minutes-problems")
        return Outcome("minutes-late", detail="minutes already signed")
    docs = [a for a in mail.attachments if a.name.lower().endswith(".docx") or a.content_type == DOCX]
    if not docs:
        others = [a.name for a in mail.attachments]
        _answer(ctx, mail, member, "no_docx", meeting, {"attached": others}, kind="minutes-problems")
        return Outcome("minutes-form", "quarantine", detail="no .docx attached")
    chosen, raw = docs[0], None
    for a in docs:
        candidate = document.read_form(a.data)
        if candidate.has_items_table:
            chosen, raw = a, candidate
            break
    raw = raw or document.read_form(chosen.data)
    text = latest_reply(mail.text)
    in_mail = fieldlib.parse(text, ctx.today, ctx.language).values.get("signatory")
    if in_mail:
        raw.signatories.append(str(in_mail))
    form = json.loads(row["form_rows"])
    cal = calendar(ctx)

    def next_meeting(d: date, inclusive: bool) -> date:
        return cal.next_meeting(d, inclusive=inclusive)

    checked = formcheck.check(
        raw, config=ctx.config, meeting=day(meeting), today=ctx.today, form_rows=form["rows"],
        form_followups=form["followups"], secretary=secretary, next_meeting=next_meeting,
        item_exists=lambda i: ctx.store.item(i) is not None, language=ctx.language)
    if checked.problems:
        _answer(ctx, mail, member, "problems", meeting, {"problems": checked.problems, "notes": checked.notes,
                                                         "file": chosen.name}, kind="minutes-problems")
        ctx.event(f"minutes: returned form has {len(checked.problems)} problem(s)", actor=member.email,
                  meeting=meeting, detail={"problems": checked.problems})
        return Outcome("minutes-form", detail=f"{len(checked.problems)} problems")
    # "Jäv: Lena Åkesson" in a row: recorded, and said in the minutes' own words (daemon.records)
    conflict_notes = conflicts.from_minutes(ctx, checked.content, message_id=mail.message_id)
    version = new_version(ctx, meeting, checked.content, author=member, source=mail, returned=chosen.data)
    _answer(ctx, mail, member, "received", meeting, {
        "version": version["version"], "notes": checked.notes + conflict_notes,
        "signatories": [s["name"] for s in version["content"]["signatories"]],
        "replaced": version["version"] > 1, "pdf": bool(version["pdf_sha256"]),
    }, kind="minutes-received")
    return Outcome("minutes-form", detail=f"version {version['version']}")




# --- signatories ------------------------------------------------------------------------------


def on_sign_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """A signatory's answer to the minutes sent for signing: an approval or a change request."""
    parsed = common.parse_sign_ref(thread.get("ref"))
    if parsed is None:
        explain(ctx, mail, member, "not_a_reply_we_expect", {})
        return Outcome("unexpected-reply", "quarantine", detail="signing mail without a version reference")
    meeting, number, sha = parsed
    row = minutes_row(ctx, meeting)
    answered = version_row(ctx, meeting, number)
    if row is None or answered is None:
        explain(ctx, mail, member, "not_a_reply_we_expect", {})
        return Outcome("unexpected-reply", "quarantine", detail=f"no minutes version {meeting} v{number}")
    ref = thread.get("ref")
    if member.email not in answered["signatories"]:
        _answer(ctx, mail, member, "not_signatory", meeting, {
            "signatories": [s["name"] for s in answered["content"]["signatories"]]}, kind="minutes-answer")
        ctx.event("minutes: answer from a member who is not a signatory ignored", actor=mail.sender, meeting=meeting,
                  detail={"version": number})
        return Outcome("minutes-refused", detail=f"{member.email} is not a signatory of v{number}")
    if row["state"] in ("signed", "distributed"):
        _answer(ctx, mail, member, "already_signed", meeting, kind="minutes-answer")
        return Outcome("minutes-late", detail="minutes already signed")
    current = version_row(ctx, meeting, row["version"])
    text = latest_reply(mail.text)
    word = approval_word(text)
    if answered["superseded_at"] or sha != answered["content_sha256"] or current["version"] != number:
        _answer(ctx, mail, member, "replaced", meeting, {
            "answered": number, "current": current["version"], "approval": bool(word)},
            kind="minutes-sign-answer", ref=common.sign_ref(meeting, current["version"], current["content_sha256"]),
            attachments=common.version_attachments(ctx, current))
        ctx.event(f"minutes: answer to replaced version {number} not counted", actor=member.email, meeting=meeting)
        return Outcome("minutes-stale", detail=f"answered v{number}, current v{current['version']}")
    if word:
        return _approve(ctx, mail, member, current, word, text, ref)
    if not text.strip():
        _answer(ctx, mail, member, "not_understood", meeting, {"version": number}, kind="minutes-sign-answer", ref=ref)
        return Outcome("minutes-sign", "quarantine", detail="empty answer")
    return _request_change(ctx, mail, member, current, text, ref)


def _approve(ctx: Ctx, mail: ParsedMail, member: Member, version: dict, word: str, text: str, ref: str) -> Outcome:
    meeting, number = version["meeting"], version["version"]
    done = common.approvals(ctx, meeting, number)
    if member.email in done:
        _answer(ctx, mail, member, "already_approved", meeting,
                {"version": number, "at": common.local(ctx, done[member.email]["approved_at"])},
                kind="minutes-sign-answer", ref=ref)
        return Outcome("minutes-approval", detail="already approved")
    ctx.store.db["minutes_approvals"].insert({
        "meeting": meeting, "version": number, "content_sha256": version["content_sha256"], "signatory": member.email,
        "approved_at": iso(ctx.now), "message_id": mail.message_id, "word": word[:40],
    })
    ctx.event(f"minutes: version {number} approved by {member.name}", actor=member.email, meeting=meeting,
              detail={"sha256": version["content_sha256"], "word": word})
    waiting = common.pending(ctx, version)
    rest = _substance(ctx, "\n".join(text.split("\n")[1:]), member)
    _answer(ctx, mail, member, "approved", meeting, {
        "version": number, "waiting": [common.member_name(ctx, e) for e in waiting],
        "count": len(version["signatories"]) - len(waiting), "total": len(version["signatories"]),
        "rest": rest[:600]}, kind="minutes-sign-answer", ref=ref)
    return Outcome("minutes-approval", detail=f"v{number} by {member.email}")


def _substance(ctx: Ctx, text: str, member: Member) -> str:
    """What a reply says beyond its first line, without greetings and signature lines ('' if nothing)."""
    own = {member.name.lower(), member.name.split()[0].lower(), member.title.lower(),
           ctx.config.group.organisation.lower()}
    kept = [line.strip() for line in text.split("\n")
            if line.strip() and not SIGN_OFF.match(line.strip()) and line.strip().lower().strip(".,/ ") not in own]
    return "\n".join(kept) if sum(len(line.split()) for line in kept) >= 3 else ""


def _request_change(ctx: Ctx, mail: ParsedMail, member: Member, version: dict, text: str, ref: str) -> Outcome:
    meeting, number = version["meeting"], version["version"]
    rowid = ctx.store.db["minutes_requests"].insert({
        "meeting": meeting, "version": number, "signatory": member.email, "at": iso(ctx.now), "text": text[:5000],
        "message_id": mail.message_id}).last_pk
    common.transition(ctx, meeting, MinutesState.CHANGES_REQUESTED)
    ctx.event(f"minutes: {member.name} asks for a change in version {number}", actor=member.email, meeting=meeting,
              detail={"text": text[:500]})
    request = ctx.store.one("SELECT * FROM minutes_requests WHERE id = ?", [rowid])
    send_change_request(ctx, meeting, request)
    secretary = common.member_name(ctx, version["content"]["secretary"]["email"])
    _answer(ctx, mail, member, "change_forwarded", meeting, {"version": number, "secretary": secretary},
            kind="minutes-sign-answer", ref=ref)
    return Outcome("minutes-change-request", detail=f"v{number} by {member.email}")




# --- follow-ups ----------------------------------------------------------------------------------


def on_followup_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome:
    """``Klart`` (all the notice's points) or ``Klart U7`` from the responsible, the chair or the chancellery."""
    ids = [int(x) for x in re.findall(r"\d+", (thread.get("ref") or "").partition(":")[2])]
    meeting = thread.get("meeting") or ""
    text = latest_reply(mail.text)
    is_done, named = followups.done_words(text)
    if not is_done:
        _answer(ctx, mail, member, "followup_not_understood", meeting, kind="minutes-followup-answer")
        return Outcome("minutes-followup", "quarantine", detail="neither Klart nor a known answer")
    wanted = [i for i in named if i in ids] if named else ids
    rows = followups.get(ctx, wanted)
    allowed = [r for r in rows if r["responsible_email"] == member.email or member.has("chair")
               or member.has("chancellery")]
    closed = followups.mark_done(ctx, [r["id"] for r in allowed], by=member.email,
                                 note="\n".join(text.split("\n")[1:]).strip())
    _answer(ctx, mail, member, "followup_done", meeting, {
        "closed": [{"ref": followups.ref(r["id"]), "next_step": r["next_step"], "title": r["title"]} for r in closed],
        "refused": [followups.ref(r["id"]) for r in rows if r not in allowed],
        "unknown": [f"U{i}" for i in named if i not in ids]}, kind="minutes-followup-answer")
    return Outcome("minutes-followup", detail=f"closed {', '.join(followups.ref(r['id']) for r in closed) or 'none'}")


# --- the secretary swap --------------------------------------------------------------------------


def swap_secretary(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome | None:
    """``Sekreterare: <name>`` in a reply to the final agenda: that member writes this meeting's
    minutes. None when the reply has no such line (another handler may take it)."""
    text = latest_reply(mail.text)
    name = fieldlib.parse(text, ctx.today, ctx.language).values.get("secretary")
    meeting = thread.get("meeting")
    if not name or not meeting:
        return None
    new = formcheck.resolve_member(ctx.config, str(name))
    if new is None:
        _answer(ctx, mail, member, "secretary_unknown", meeting,
                {"wanted": name, "members": [m.name for m in ctx.config.members]}, kind="minutes-secretary")
        return Outcome("minutes-secretary", "quarantine", detail=f"unknown member {name!r}")
    row = minutes_row(ctx, meeting)
    if row and row["state"] != "form_sent":
        _answer(ctx, mail, member, "secretary_too_late", meeting,
                {"secretary": common.member_name(ctx, row["secretary"])}, kind="minutes-secretary")
        return Outcome("minutes-secretary", detail="minutes already returned")
    old = ctx.config.member_by_address(row["secretary"]) if row else secretary_for(ctx, day(meeting))
    meetings.set_secretary(ctx.store, meeting, new.email)
    ctx.event(f"minutes: secretary of {meeting} is now {new.name}", actor=member.email, meeting=meeting,
              detail={"before": old.email if old else None})
    resent = False
    if row and old and old.email != new.email:
        common.set_secretary(ctx, meeting, new.email)
        send_form(ctx, meeting, secretary=new, swapped_by=member.name)
        resent = True
    recipients = [mail.sender, new.email, *([old.email] if old else [])]
    _answer(ctx, mail, member, "secretary_set", meeting,
            {"secretary": new.name, "before": old.name if old else "", "resent": resent}, kind="minutes-secretary",
            to=recipients)
    return Outcome("minutes-secretary", detail=f"{new.email}")


# --- new mail that belongs to the minutes ----------------------------------------------------------


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """A mail without thread headers whose subject carries ``[KLG 2026-12-01]``: taken as a reply
    to the newest minutes mail the sender got for that meeting (a client that drops References)."""
    m = MEETING_TAG.search(mail.subject)
    if not m or m[1].upper() != ctx.config.group.short:
        return None
    kinds = [*common.FORM_KINDS, *common.SIGN_KINDS, *common.FOLLOWUP_KINDS]
    marks = ",".join("?" * len(kinds))
    likes = " OR ".join("recipients LIKE ?" for _ in member.addresses)
    thread = ctx.store.one(
        f"SELECT * FROM outbox WHERE meeting = ? AND kind IN ({marks}) AND ({likes}) ORDER BY id DESC LIMIT 1",
        [m[2], *kinds, *[f'%"{a}"%' for a in member.addresses]])
    if thread is None:
        return None
    if thread["kind"] in common.SIGN_KINDS:
        return on_sign_reply(ctx, mail, member, thread)
    if thread["kind"] in common.FOLLOWUP_KINDS:
        return on_followup_reply(ctx, mail, member, thread)
    return on_form_reply(ctx, mail, member, thread)
