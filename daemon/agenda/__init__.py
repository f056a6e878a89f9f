"""The agenda week: draft from the Word template, review in Word, final agenda
with PDF, meeting book and calendar invitation (GitHub issue 3).

Modules: ``workflow`` (the steps and when they are due), ``review`` (replies:
edited documents and approvals), ``delivery`` (the final agenda and updates),
``document`` (docxtpl rendering, template checks, reading the table back),
``layout`` (rows, times, the break; pure), ``book`` (the meeting book),
``invite`` (.ics), ``versions`` (the ``agenda_versions`` table), ``settings``
(``[agenda]``).

For other workflows: ``final_version(store, meeting)`` is the version last
sent to the members, with its ``rows``.
"""

from daemon.agenda.versions import current as current_version
from daemon.agenda.versions import final_version

__all__ = ["current_version", "final_version"]
