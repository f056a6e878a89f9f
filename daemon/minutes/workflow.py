"""The minutes' steps and when they are due: the form to the secretary at the
meeting's end, one reminder to a secretary who has not returned it, one
reminder per version to signatories who have not answered, and the signed
minutes when every signatory has approved the current version.

Every step re-checks its conditions when it runs; step keys carry the meeting
and the version, so each happens once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial

from daemon.context import Ctx
from daemon.minutes import common
from daemon.minutes.common import calendar, cfg, day, minutes_row, version_row
from daemon.minutes.settings import settings
from daemon.refs import Ref
from daemon.steps import Step

# What the steps do, imported when one runs: asking what is due loads no mail or document code (issue 19).
finalize = Ref("daemon.minutes.distribute:finalize")
remind_secretary = Ref("daemon.minutes.mails:remind_secretary")
remind_signatories = Ref("daemon.minutes.mails:remind_signatories")
send_form = Ref("daemon.minutes.mails:send_form")

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




def send_form_step(ctx: Ctx, meeting: str) -> None:
    if minutes_row(ctx, meeting) is None:
        send_form(ctx, meeting)














