"""Who comes to a meeting: regrets, stand-ins and out-of-office replies.

A member's own reply ("Förhinder", a declined calendar invitation) is an
answer: it is recorded here (``record``, the one change of an attendance
row, states ``AttendanceState``) and the minutes form shows the member absent
and the stand-in present. An out-of-office reply that names a return date is
not an answer: it only marks the member as *probably* absent for meetings up
to that day (``note_away``), which the chair's draft mail mentions and the form
pre-fills as "Nej (autosvar)". Nothing here reads an approval or a comment
from an auto-reply: intake never routes one to a handler.

A stand-in gets mail only when configured (``[[members]] substitute``): klg
never mails an address a member's mail merely names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from daemon import meetings
from daemon.config import Member
from daemon.context import Ctx
from daemon.store import iso


class AttendanceState(StrEnum):
    ABSENT = "absent"
    PRESENT = "present"  # said so after a regret, or accepted the calendar invitation


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Attendee:
    """One line of a meeting's attendance, as the minutes form shows it."""

    name: str
    title: str
    present: bool
    note: str = ""  # "autosvar": probably absent by an out-of-office reply, "ersättare": a stand-in
    email: str = ""


def stand_in(member: Member, written: str | None) -> tuple[str, str | None] | None:
    """The stand-in for ``member``: (name, address or None). ``written`` is what the
    member's mail said (None: nothing, "": nobody); a configured substitute gets an
    address, anyone else is only a name on the form."""
    if written == "":
        return None
    if written is None:
        return member.substitutes[0] if member.substitutes else None
    wanted = " ".join(written.split()).lower()
    for name, address in member.substitutes:
        if wanted in (name.lower(), address) or (address in wanted and "<" in wanted):
            return name, address
    name = written.split("<", 1)[0].strip().strip('"') or written
    return name, None


def record(ctx: Ctx, meeting: str, member: Member, state: AttendanceState, *, reason: str = "",
           substitute: tuple[str, str | None] | None = None, source: str = "mail",
           message_id: str | None = None) -> dict | None:
    """Record ``member``'s answer for ``meeting`` (the one change of attendance); the
    row as it was before, or None."""
    before = current(ctx, meeting, member.email)
    ctx.store.db["attendance"].upsert({
        "meeting": meeting, "email": member.email, "state": state.value, "reason": reason or None,
        "substitute_name": substitute[0] if substitute and state is AttendanceState.ABSENT else None,
        "substitute_email": substitute[1] if substitute and state is AttendanceState.ABSENT else None,
        "source": source, "message_id": message_id, "updated_at": iso(ctx.now),
    }, pk=("meeting", "email"))
    ctx.event(f"attendance: {member.name} {'absent' if state is AttendanceState.ABSENT else 'present'} on {meeting}",
              actor=member.email, meeting=meeting,
              detail={"reason": reason, "substitute": substitute[0] if substitute else None, "source": source})
    return before


def current(ctx: Ctx, meeting: str, email: str) -> dict | None:
    return ctx.store.one("SELECT * FROM attendance WHERE meeting = ? AND email = ?", [meeting, email])


def note_away(ctx: Ctx, member: Member, through: date, message_id: str | None) -> None:
    """An out-of-office reply said ``member`` is away up to and including ``through``."""
    ctx.store.db["away"].upsert({"email": member.email, "through": through.isoformat(), "seen_at": iso(ctx.now),
                                 "message_id": message_id}, pk="email")
    ctx.event(f"attendance: {member.name} away until {through} (out-of-office reply)", actor=member.email,
              detail={"through": through.isoformat()})


def away_through(ctx: Ctx, email: str, meeting: str) -> str | None:
    """The last day away an out-of-office reply named, if ``meeting`` falls before it."""
    row = ctx.store.one("SELECT through, seen_at FROM away WHERE email = ?", [email])
    if row and row["seen_at"][:10] <= meeting <= row["through"]:
        return row["through"]
    return None


def substitutes(ctx: Ctx, meeting: str) -> list[tuple[str, str]]:
    """(name, address) of the configured stand-ins who come to ``meeting``: they get its mail."""
    rows = ctx.store.all("SELECT substitute_name, substitute_email FROM attendance WHERE meeting = ? AND state = ? "
                         "AND substitute_email IS NOT NULL ORDER BY updated_at", [meeting, AttendanceState.ABSENT.value])
    out: list[tuple[str, str]] = []
    for r in rows:
        if r["substitute_email"] not in (a for _, a in out):
            out.append((r["substitute_name"], r["substitute_email"]))
    return out


def recipients(ctx: Ctx, meeting: str) -> list[Member | str]:
    """Who gets a meeting's agenda and invitation: every member and the stand-ins of those who cannot come."""
    return [*ctx.config.members, *(address for _, address in substitutes(ctx, meeting))]


def attendance(ctx: Ctx, meeting: str) -> list[Attendee]:
    """The meeting's attendance for the form: every member in config order (absent with
    regrets, probably absent by an out-of-office reply), each stand-in after them."""
    rows = {r["email"]: r for r in ctx.store.all("SELECT * FROM attendance WHERE meeting = ?", [meeting])}
    out: list[Attendee] = []
    stand_ins: list[Attendee] = []
    for m in ctx.config.members:
        r = rows.get(m.email)
        if r and r["state"] == AttendanceState.ABSENT.value:
            out.append(Attendee(m.name, m.title, False, email=m.email))
            if r["substitute_name"]:
                stand_ins.append(Attendee(r["substitute_name"], m.name, True, "ersättare",
                                          r["substitute_email"] or ""))
        elif r is None and away_through(ctx, m.email, meeting):
            out.append(Attendee(m.name, m.title, False, "autosvar", m.email))
        else:
            out.append(Attendee(m.name, m.title, True, email=m.email))
    return out + stand_ins


def absentees(ctx: Ctx, meeting: str) -> list[dict]:
    """Members who will not come or probably not, for the chair's mails: name, why, stand-in, until."""
    out = []
    rows = {r["email"]: r for r in ctx.store.all("SELECT * FROM attendance WHERE meeting = ?", [meeting])}
    for m in ctx.config.members:
        r = rows.get(m.email)
        if r and r["state"] == AttendanceState.ABSENT.value:
            out.append({"name": m.name, "reason": r["reason"] or "", "substitute": r["substitute_name"] or "",
                        "auto": False, "until": ""})
        elif r is None:
            through = away_through(ctx, m.email, meeting)
            if through:
                out.append({"name": m.name, "reason": "", "substitute": "", "auto": True,
                            "until": date.fromisoformat(through)})
    return out



def section(ctx: Ctx) -> tuple[str, list, list[str]]:
    """STATUS entry: ("attendance", JSON list, text lines): regrets, stand-ins and the probably
    absent for each coming meeting that has any."""
    out, lines = [], []
    for day in meetings.coming(ctx):
        absent = absentees(ctx, day)
        if not absent:
            continue
        rows = [{**a, "until": a["until"].isoformat() if a["until"] else None} for a in absent]
        out.append({"date": day, "absent": rows})
        said = [f"{a['name']} ({'probably, out-of-office until ' + a['until'] if a['auto'] else 'regrets'}"
                f"{', stand-in ' + a['substitute'] if a['substitute'] else ''})" for a in rows]
        lines.append(f"Attendance {day}: " + "; ".join(said))
    return "attendance", out, lines
