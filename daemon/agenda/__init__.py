"""The agenda week: draft from the Word template, review in Word, final agenda
with PDF, meeting book and calendar invitation (GitHub issue 3).

Modules: ``workflow`` (the steps and when they are due), ``review`` (replies:
edited documents and approvals), ``delivery`` (the final agenda and updates),
``document`` (docxtpl rendering, template checks, reading the table back),
``reading`` (what a returned document and a reply say; pure), ``apply``
(applying an edited document through ``daemon.items``), ``approval``,
``notices`` (changes told to the reviewers), ``status`` (`klg status`),
``layout`` (rows, times, the break; pure), ``book`` (the meeting book),
``invite`` (.ics), ``versions`` (the ``agenda_versions`` table), ``settings``
(``[agenda]``).

For other workflows: ``versions.final_version(store, meeting)`` is the
version last sent to the members, with its ``rows``.
"""
