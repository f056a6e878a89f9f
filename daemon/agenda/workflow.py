"""When the agenda week's steps are due (what they do is in
``daemon.agenda.sending``): draft, reminders, final agenda, updates, and
moving items on from meetings that did not happen.

Whether a step is due is decided from the store and ``ctx.now`` only, so a
step missed while the daemon was down runs when it comes back, once, and in
order (the engine asks ``due`` again after each round):

- ``draft:<date>`` at the draft time, when the meeting has no agenda yet and
  has not started: version 1 goes to the chair and the chancellery.
- ``reminder:<date>`` at ``[agenda] reminder`` on the final agenda's day, when
  a draft went out but nothing is approved.
- ``final:<date>`` at the final time once a version is approved (or, with
  ``unapproved_agenda = "send_draft"``, the newest version as it is).
- ``unapproved:<date>`` at the final time with nothing approved (policy
  ``remind``): the chair and chancellery are told; the final agenda follows
  as soon as they approve.
- ``update:<date>:v<N>`` when version N is approved after the final agenda
  went out: "Uppdaterad dagordning" with what changed.
- ``carry:<date>:<n>`` when a meeting is no longer held (config changed) or
  started without a final agenda: its items move to the next meeting.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from daemon.agenda import common, versions
from daemon.agenda.settings import settings
from daemon.context import Ctx
from daemon.refs import Ref
from daemon.schedule import NoMeeting
from daemon.steps import Step

# What the steps do is in daemon/agenda/sending.py, imported when a step runs: asking what is due
# (every pass, and `klg tick` with nothing to do) loads no document, book or delivery code (issue 19).
send_draft = Ref("daemon.agenda.sending:send_draft")
send_reminder = Ref("daemon.agenda.sending:send_reminder")
send_final = Ref("daemon.agenda.sending:send_final")
send_update = Ref("daemon.agenda.sending:send_update")
carry_over = Ref("daemon.agenda.sending:carry_over")

LOOKAHEAD = 6  # meetings whose draft time may have passed at once (monthly groups with early drafts)


def wake_times(config) -> list:
    """Extra clock times for the scheduler: the reminder."""
    reminder = settings(config).reminder
    return [reminder] if reminder else []


def _meetings_in_play(ctx: Ctx) -> list[date]:
    """Meetings that have not started and whose draft time has come."""
    cal = common.calendar(ctx)
    out = []
    try:
        meeting = cal.upcoming_meeting(ctx.now)
        for _ in range(LOOKAHEAD):
            if cal.draft_at(meeting) > ctx.now:
                break
            out.append(meeting)
            meeting = cal.next_meeting(meeting)
    except NoMeeting:
        pass
    return out


def due(ctx: Ctx) -> list[Step]:
    """The agenda steps due at ``ctx.now``, in the order they must run."""
    steps = carry_steps(ctx)
    cal = common.calendar(ctx)
    conf = settings(ctx.config)
    policy = ctx.config.schedule.unapproved_agenda
    for meeting in _meetings_in_play(ctx):
        d = meeting.isoformat()
        current = versions.current(ctx.store, d)
        if current is None:
            steps.append(Step(f"draft:{d}", partial(send_draft, meeting=meeting), f"send the draft agenda of {d}"))
            continue
        sent = versions.final_version(ctx.store, d)
        approved = versions.latest_approved(ctx.store, d)
        final_at = common.answer_by(ctx, meeting)  # later than configured when the draft went out late
        if sent is None:
            if ctx.now >= cal.final_at(meeting) and approved is not None:  # approved: it goes at the set time
                steps.append(Step(f"final:{d}", partial(send_final, meeting=meeting),
                                  f"send the final agenda of {d} (version {approved['version']})"))
            elif ctx.now >= final_at and policy == "send_draft":
                steps.append(Step(f"final:{d}", partial(send_final, meeting=meeting, unapproved=True),
                                  f"send the unapproved agenda of {d} (version {current['version']})"))
            elif ctx.now >= final_at:
                steps.append(Step(f"unapproved:{d}", partial(send_reminder, meeting=meeting, reason="not_approved"),
                                  f"tell the chair and chancellery that the agenda of {d} is not approved"))
            elif (approved is None and conf.reminder and ctx.now >= cal.local(final_at.date(), conf.reminder)
                  and cal.local(final_at.date(), conf.reminder) > common.draft_sent_at(ctx, meeting)):
                # (a reminder whose time came before the draft went out would arrive with it)
                steps.append(Step(f"reminder:{d}", partial(send_reminder, meeting=meeting, reason="before_final"),
                                  f"remind the chair and chancellery to approve the agenda of {d}"))
        elif approved is not None and approved["version"] > sent["version"]:
            steps.append(Step(f"update:{d}:v{approved['version']}",
                              partial(send_update, meeting=meeting, version=approved["version"]),
                              f"send the updated agenda of {d} (version {approved['version']})"))
    return steps


# --- items of meetings that did not happen --------------------------------------------


def _stranded(ctx: Ctx) -> list[tuple[date, str]]:
    """(meeting, why) for each date with planned items that will not get an agenda."""
    cal = common.calendar(ctx)
    out = []
    for row in ctx.store.all("SELECT DISTINCT meeting FROM items WHERE state = 'planned' AND meeting IS NOT NULL"):
        meeting = date.fromisoformat(row["meeting"])
        if not cal.is_meeting(meeting):
            out.append((meeting, "not_held"))
        elif cal.start(meeting) <= ctx.now and versions.final_version(ctx.store, row["meeting"]) is None:
            out.append((meeting, "no_final"))
    return sorted(out)


def carry_steps(ctx: Ctx) -> list[Step]:
    steps = []
    for meeting, why in _stranded(ctx):
        d = meeting.isoformat()
        n = ctx.store.count("SELECT COUNT(*) FROM steps WHERE key LIKE ?", [f"carry:{d}:%"]) + 1
        steps.append(Step(f"carry:{d}:{n}", partial(carry_over, meeting=meeting, why=why),
                          f"move the items of {d} to the next meeting ({why.replace('_', ' ')})"))
    return steps


