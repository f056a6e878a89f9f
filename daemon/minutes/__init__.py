"""Minutes (GitHub issue 6): the pre-filled form to the secretary at the
meeting's end, the filled form read back, signing by reply, the signed PDF/A
(sealed with PAdES when configured), distribution to the configured audiences,
items that come back, and follow-ups.

Modules: ``workflow`` (the steps and when they are due), ``mails`` (the form,
the versions for signing, change requests and reminders as they go out),
``replies`` (the form coming back, approvals and change requests, "Klart",
the secretary swap), ``distribute`` (the signed minutes and what follows from
them), ``formcheck`` (checking a returned form; pure), ``content`` (the content
a signature binds to, and what each audience gets; pure), ``document`` (the
Word templates, reading the form, PDF/A), ``seal`` (pyHanko; `klg verify`),
``settings`` (``[minutes]``), ``status`` (`klg status`), ``common``.

The follow-ups (action items) live in ``daemon.followups``: the agenda lists the
open ones under its standing item "Uppföljning".
"""
