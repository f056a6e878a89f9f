"""The calendar invitation (.ics) sent with the final agenda.

One UID per meeting (``klg-2026-12-01@kommun.se``) so every update replaces
the same calendar entry; SEQUENCE goes up by one with each update; times are
in the group's time zone with its VTIMEZONE included, so Outlook and other
clients place the meeting right on both sides of a DST change.
"""

from __future__ import annotations

from datetime import date, datetime, timezone


from daemon.config import Config


def uid(config: Config, meeting: date) -> str:
    """The stable UID of the meeting on ``meeting``."""
    return f"{config.group.short.lower()}-{meeting.isoformat()}@{config.group.domain}"


def build(config: Config, meeting: date, *, start: datetime, end: datetime, sequence: int, now: datetime,
          summary: str, description: str, cancel: bool = False,
          stand_ins: list[tuple[str, str]] = ()) -> bytes:
    """The iCalendar bytes inviting every member to the meeting (METHOD:REQUEST), or
    with ``cancel`` taking the invitation back (METHOD:CANCEL, STATUS:CANCELLED).
    ``stand_ins`` (name, address) come instead of a member who cannot (issue 17)."""
    import icalendar  # imported here, not at the top: start-up (issue 19)

    cal = icalendar.Calendar()
    cal.add("prodid", f"-//klg//{config.group.organisation}//{config.group.language.upper()}")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid(config, meeting))
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("dtstart", start.astimezone(config.group.timezone))
    event.add("dtend", end.astimezone(config.group.timezone))
    event.add("summary", summary)
    if config.schedule.location:
        event.add("location", config.schedule.location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = icalendar.vCalAddress(f"mailto:{config.group.address}")
    organizer.params["cn"] = icalendar.vText(config.group.name)
    event.add("organizer", organizer)
    for member in config.members:
        event.add("attendee", attendee(member.email, member.name, "CHAIR" if member.has("chair") else "REQ-PARTICIPANT"),
                  encode=0)
    for name, address in stand_ins:
        event.add("attendee", attendee(address, name), encode=0)
    cal.add_component(event)
    cal.add_missing_timezones(first_date=date(meeting.year - 1, 1, 1), last_date=date(meeting.year + 2, 1, 1))
    return cal.to_ical()


def attendee(address: str, name: str, role: str = "REQ-PARTICIPANT", rsvp: bool = False):
    """One ATTENDEE of an invitation klg sends: its address, name and role, not yet answered."""
    import icalendar  # imported here, not at the top: start-up (issue 19)

    person = icalendar.vCalAddress(f"mailto:{address}")
    person.params["cn"] = icalendar.vText(name)
    person.params["role"] = icalendar.vText(role)
    person.params["partstat"] = icalendar.vText("NEEDS-ACTION")
    person.params["rsvp"] = icalendar.vText("TRUE" if rsvp else "FALSE")
    return person
