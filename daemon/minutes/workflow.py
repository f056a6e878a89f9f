"""The minutes' steps and when they are due: the form to the secretary at the
meeting's end, one reminder to a secretary who has not returned it, one
reminder per version to signatories who have not answered, and the signed
minutes when every signatory has approved the current version.

Every step re-checks its conditions when it runs; step keys carry the meeting
and the version, so each happens once.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from functools import partial

from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.compose import OutAttachment
from daemon.minutes import common, document, followups
from daemon.minutes.common import calendar, cfg, day, minutes_row, version_row
from daemon.minutes.content import OUTCOME_NAMES
from daemon.secretary import secretary_for
from daemon.steps import Step
from daemon.store import iso

LOOKBACK_DAYS = 14  # meetings this far back still get their form when the daemon was down
OFFICE_START, OFFICE_END = time(8, 0), time(17, 0)


def form_at(ctx: Ctx, meeting) -> datetime:
    """When the form goes to the secretary: the meeting's end plus ``form_delay_minutes``."""
    return calendar(ctx).end(day(meeting)) + timedelta(minutes=cfg(ctx).form_delay_minutes)


def office_hours(ctx: Ctx, moment: datetime) -> datetime:
    """``moment``, or the next working day's 08:00 when it falls outside 08–17 on a working day."""
    cal = calendar(ctx)
    local = moment.astimezone(ctx.config.group.timezone)
    d = local.date()
    if cal.is_working_day(d) and OFFICE_START <= local.time() < OFFICE_END:
        return moment
    if cal.is_working_day(d) and local.time() < OFFICE_START:
        return cal.local(d, OFFICE_START)
    d = cal.add_working_days(d, 1)
    return cal.local(d, OFFICE_START)


def wake_times(config) -> list[time]:
    """Clock times the scheduler should wake the daemon at: the form's time and 08:00 for reminders."""
    from daemon.minutes.settings import settings

    end = config.schedule.end
    minutes = end.hour * 60 + end.minute + settings(config).form_delay_minutes
    return [time((minutes // 60) % 24, minutes % 60), OFFICE_START]


def due(ctx: Ctx) -> list[Step]:
    """The minutes' steps due at ``ctx.now``."""
    s = cfg(ctx)
    cal = calendar(ctx)
    steps: list[Step] = []
    for d in cal.meetings(ctx.today - timedelta(days=LOOKBACK_DAYS), ctx.today):
        m = d.isoformat()
        if form_at(ctx, d) <= ctx.now and minutes_row(ctx, m) is None and common.has_meeting_content(ctx, m):
            steps.append(Step(f"minutes-form:{m}", partial(send_form_step, meeting=m),
                              f"send the minutes form for {m} to the secretary"))
    for row in ctx.store.all("SELECT * FROM minutes WHERE state IN ('form_sent', 'changes_requested', 'signing')"):
        m, n = row["meeting"], row["version"]
        if row["state"] in ("form_sent", "changes_requested") and s.return_reminder_hours:
            since = _waiting_since(ctx, row)
            if office_hours(ctx, since + timedelta(hours=s.return_reminder_hours)) <= ctx.now:
                steps.append(Step(f"minutes-return-reminder:{m}:v{n}", partial(remind_secretary, meeting=m),
                                  f"remind the secretary of the minutes of {m}"))
        if row["state"] == "signing":
            version = version_row(ctx, m, n)
            waiting = common.pending(ctx, version)
            if not waiting:
                from daemon.minutes.distribute import finalize

                steps.append(Step(f"minutes-signed:{m}:v{n}", partial(finalize, meeting=m),
                                  f"make the signed minutes of {m} and distribute them"))
            elif s.reminder_hours:
                sent = datetime.fromisoformat(version["created_at"])
                if office_hours(ctx, sent + timedelta(hours=s.reminder_hours)) <= ctx.now:
                    steps.append(Step(f"minutes-sign-reminder:{m}:v{n}", partial(remind_signatories, meeting=m),
                                      f"remind the signatories of the minutes of {m}"))
    return steps


def _waiting_since(ctx: Ctx, row: dict) -> datetime:
    if row["state"] == "changes_requested":
        last = ctx.store.one("SELECT MAX(at) AS at FROM minutes_requests WHERE meeting = ?", [row["meeting"]])
        if last and last["at"]:
            return datetime.fromisoformat(last["at"])
    return datetime.fromisoformat(row["form_sent_at"])


# --- the form ------------------------------------------------------------------------------


def send_form_step(ctx: Ctx, meeting: str) -> None:
    if minutes_row(ctx, meeting) is None:
        send_form(ctx, meeting)


def form_attachment(ctx: Ctx, row: dict) -> OutAttachment:
    name = common.words(ctx)["form_file"].format(short=ctx.config.group.short, date=row["meeting"])
    return OutAttachment(name, ctx.store.files.get(row["form_docx_sha256"]), document.DOCX_TYPE)


def send_form(ctx: Ctx, meeting: str, *, secretary: Member | None = None, reminder: bool = False,
              swapped_by: str | None = None) -> str:
    """Make the pre-filled form (first time) and mail it to the secretary; return the Message-ID."""
    row = minutes_row(ctx, meeting)
    if row is None:
        rows, source = common.form_rows(ctx, meeting)
        secretary = secretary or secretary_for(ctx, day(meeting))
        open_followups = followups.followups_for(ctx, meeting)
        docx = document.render(ctx.config.templates_dir, ctx.language, document.FORM,
                               common.form_context(ctx, meeting, rows, open_followups, secretary))
        sha = ctx.store.files.put(docx)
        ctx.store.meeting(meeting)
        ctx.store.db["minutes"].insert({
            "meeting": meeting, "state": "form_sent", "secretary": secretary.email, "form_sent_at": iso(ctx.now),
            "form_docx_sha256": sha, "version": 0, "updated_at": iso(ctx.now),
            "form_rows": json.dumps({"source": source, "rows": rows, "followups": open_followups}, ensure_ascii=False),
        })
        ctx.event(f"minutes: form made from the {source}", meeting=meeting,
                  detail={"secretary": secretary.email, "rows": len(rows), "followups": len(open_followups)})
        row = minutes_row(ctx, meeting)
    else:
        secretary = secretary or ctx.config.member_by_address(row["secretary"]) or secretary_for(ctx, day(meeting))
    form = json.loads(row["form_rows"])
    context = {
        "meeting": common.meeting_context(ctx, meeting, secretary), "name": secretary.name, "reminder": reminder,
        "swapped_by": swapped_by, "rows": form["rows"], "followups": form["followups"],
        "signatories": [s.name for s in _standing_signatories(ctx)],
        "items": [r for r in form["rows"] if r.get("id")],
    }
    return ctx.send("minutes_form", [secretary], context, kind="minutes-form", meeting=meeting,
                    ref=f"minutes-form:{meeting}", attachments=[form_attachment(ctx, row)])


def _standing_signatories(ctx: Ctx) -> list[Member]:
    out: list[Member] = []
    for m in [*ctx.config.with_role("chair"), *ctx.config.with_role("signatory")]:
        if m not in out:
            out.append(m)
    return out


def remind_secretary(ctx: Ctx, meeting: str) -> None:
    row = minutes_row(ctx, meeting)
    if row is None or row["state"] not in ("form_sent", "changes_requested"):
        return
    if row["state"] == "form_sent" and row["version"] == 0:
        send_form(ctx, meeting, reminder=True)
        return
    from daemon.minutes.replies import send_change_request

    last = ctx.store.one("SELECT * FROM minutes_requests WHERE meeting = ? ORDER BY id DESC LIMIT 1", [meeting])
    if last:
        send_change_request(ctx, meeting, last, reminder=True)


# --- signing ------------------------------------------------------------------------------


def send_for_signing(ctx: Ctx, version: dict, *, reminder: bool = False, only: list[str] | None = None) -> None:
    """Mail ``version`` (docx and PDF) to each of its signatories (or ``only`` those)."""
    meeting = version["meeting"]
    content = version["content"]
    ref = common.sign_ref(meeting, version["version"], version["content_sha256"])
    attachments = common.version_attachments(ctx, version)
    previous = version["version"] - 1
    voided = bool(previous) and bool(common.approvals(ctx, meeting, previous))
    secretary = ctx.config.member_by_address(content["secretary"]["email"])
    for s in content["signatories"]:
        if only is not None and s["email"] not in only:
            continue
        ctx.send("minutes_sign", [s["email"]], {
            "meeting": common.meeting_context(ctx, meeting, secretary), "name": s["name"], "version": version["version"],
            "replaces": previous, "voided": voided, "reminder": reminder, "role": s["role"],
            "signatories": [x["name"] for x in content["signatories"]],
            "rows": [{"no": r["no"], "title": r["title"],
                      "outcome": OUTCOME_NAMES[ctx.language][r["outcome"]] if r["outcome"] else ""}
                     for r in content["rows"]],
            "pdf": bool(version.get("pdf_sha256")),
        }, kind="minutes-sign", meeting=meeting, ref=ref, attachments=attachments)


def remind_signatories(ctx: Ctx, meeting: str) -> None:
    row = minutes_row(ctx, meeting)
    if row is None or row["state"] != "signing":
        return
    version = version_row(ctx, meeting, row["version"])
    waiting = common.pending(ctx, version)
    if waiting:
        send_for_signing(ctx, version, reminder=True, only=waiting)
        ctx.event(f"minutes: signatories reminded ({', '.join(waiting)})", meeting=meeting)
