"""A meeting's state, changed in one place.

A meeting collects proposals until its draft agenda goes out; the draft is
reviewed (new versions, an approval) until the final agenda goes to the
members; a meeting taken off the schedule after that is cancelled. The
``meetings`` row also carries the agenda's newest version number and the
secretary set for the meeting, which are not states and have their own setters.
"""

from __future__ import annotations

from enum import StrEnum

from daemon.context import Ctx
from daemon.schedule import NoMeeting
from daemon.store import Store

HORIZON_MEETINGS = 4  # how many coming meetings `klg status` shows, besides any later one with items


class MeetingState(StrEnum):
    COLLECTING = "collecting"
    DRAFT_SENT = "draft_sent"
    APPROVED = "approved"
    FINAL_SENT = "final_sent"
    CANCELLED = "cancelled"


ALLOWED = {
    MeetingState.COLLECTING: {MeetingState.DRAFT_SENT},
    MeetingState.DRAFT_SENT: {MeetingState.DRAFT_SENT, MeetingState.APPROVED, MeetingState.FINAL_SENT},
    MeetingState.APPROVED: {MeetingState.APPROVED, MeetingState.DRAFT_SENT, MeetingState.FINAL_SENT},
    MeetingState.FINAL_SENT: {MeetingState.FINAL_SENT, MeetingState.CANCELLED},
    MeetingState.CANCELLED: set(),
}


def state(store: Store, day: str) -> MeetingState:
    return MeetingState(store.meeting(day)["state"])


def transition(store: Store, day: str, to: MeetingState) -> None:
    """Move the meeting of ``day`` (YYYY-MM-DD) to state ``to``; refuses a step the week does not have."""
    current = state(store, day)
    if to not in ALLOWED[current]:
        raise ValueError(f"the meeting of {day} cannot go from {current} to {to}")
    store.db["meetings"].update(day, {"state": str(to)})


def set_agenda_version(store: Store, day: str, version: int) -> None:
    """The number of the agenda's newest version (``klg status`` shows it)."""
    store.meeting(day)
    store.db["meetings"].update(day, {"agenda_version": version})


def set_secretary(store: Store, day: str, email: str) -> None:
    """The secretary of the day, when someone swapped in (``Sekreterare: …``)."""
    store.meeting(day)
    store.db["meetings"].update(day, {"secretary": email})


def coming(ctx: Ctx) -> list[str]:
    """The next few held meetings (today's until it ends) and any later one with items."""
    cal = ctx.calendar
    dates: list[str] = []
    try:
        day = cal.next_meeting(ctx.today, inclusive=True)
        if cal.end(day) <= ctx.now:
            day = cal.next_meeting(day)
        for _ in range(HORIZON_MEETINGS):
            dates.append(day.isoformat())
            day = cal.next_meeting(day)
    except NoMeeting:
        pass
    later = ctx.store.all("SELECT DISTINCT meeting FROM items WHERE meeting > ? AND state = 'planned'",
                          [dates[-1] if dates else ctx.today.isoformat()])
    return dates + sorted(r["meeting"] for r in later)
