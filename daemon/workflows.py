"""The registry: where each mail goes, which steps exist, and which workflow
hears of what. Intake, the engine, `klg status`, the scheduler and the checks
read it; nothing it wires imports it. Read it top to bottom to follow a mail.

A reply is routed by the ``kind`` of the outbox mail it answers (found by
In-Reply-To/References, or the ``[KLG-2026-042]`` tag in the subject): its
handlers are asked in order, and the first that returns an Outcome has it (a
handler returns None for a mail that is not its business). New mail that
answers nothing is offered to the COMMANDS in order, and is else a proposal.

Every entry is named ``"module:function"`` and imported when it is first
called (:class:`Ref`), not when the registry is: ``klg status`` loads only
its sections' modules and a ``klg tick`` with nothing to do only the steps'
``due`` functions, never the parsing of mail nor the handlers (start-up,
issue 19). ``tests/test_startup.py`` resolves every name.
"""

from __future__ import annotations

from daemon import context, hooks
from daemon.refs import Ref

ref = Ref


# Checks run on every member's mail before it is acted on (sender authentication,
# the storm guard); each returns an Outcome to stop it, or None.
GATES: list = [ref("daemon.security:authenticate"), ref("daemon.security:storm_guard")]

# --- replies: kind of the mail answered -> handlers(ctx, mail, member, thread_row), asked in order ---------
# A reply about an item (to its acknowledgement, or with its [KLG-…] tag): the written procedure's
# when the item is out for comments or the reply starts one; else a change to the proposal.
# "Jäv: KLG-…" and "Häv sekretess: KLG-…" first (the records'); "Sekretess: …" is a field of the proposal.
ITEM = (ref("daemon.records.replies:on_item_reply"), ref("daemon.circulation.replies:on_item_reply"),
        ref("daemon.proposals:on_reply"))
# The agenda's mails: an edited .docx or "OK" from the chair or the chancellery; "Sekretess: KLG-… OSL …"
# and "Jäv: KLG-…" lines are recorded first (and an "OK" or a document with them still goes to the agenda).
AGENDA = (ref("daemon.records.replies:on_agenda_reply"), ref("daemon.agenda.review:on_reply"))
# The minutes' mails: the filled form from the secretary; "Justerat" or a change from a signatory.
FORM = (ref("daemon.minutes.replies:on_form_reply"),)
SIGN = (ref("daemon.minutes.replies:on_sign_reply"),)

REPLY_ROUTES: dict[str, tuple] = {
    "ack": ITEM, "amended": ITEM, "withdrawn": ITEM, "item": ITEM,
    "agenda-draft": AGENDA, "agenda-version": AGENDA, "agenda-approved": AGENDA, "agenda-reminder": AGENDA,
    "agenda-answer": AGENDA, "agenda-notice": AGENDA,
    # "Sekreterare: <name>", "Förhinder" (or a calendar reply), else the agenda's
    "agenda-final": (ref("daemon.minutes.replies:swap_secretary"), ref("daemon.regrets:on_agenda_reply"), *AGENDA),
    "attendance": (ref("daemon.regrets:on_agenda_reply"),),
    "attendance-notice": (ref("daemon.regrets:on_agenda_reply"),),
    "minutes-form": FORM, "minutes-problems": FORM, "minutes-received": FORM, "minutes-change": FORM,
    "minutes-sign": SIGN, "minutes-sign-answer": SIGN,
    "minutes-followup": (ref("daemon.minutes.replies:on_followup_reply"),),  # "Klart" from the responsible
    # comments, STATUS, ÅTERKALLA; "Jäv: KLG-…" first (the kinds are circulation.records.REPLY_KINDS; a test checks)
    **dict.fromkeys(("circulation", "circulation-reminder", "circulation-receipt", "circulation-started",
                     "circulation-status", "circulation-compiled", "circulation-late", "circulation-withdrawn",
                     "circulation-cancelled"),
                    (ref("daemon.records.replies:on_item_reply"), ref("daemon.circulation.replies:on_reply"))),
    # "Skriftligt förfarande: KLG-…" starts held ones
    "circulation-held": (ref("daemon.circulation.start:on_held_reply"),),
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None.
# "Sekretess: KLG-… OSL …" / "Jäv: KLG-…" in a new mail come first: a proposal never names another item so.
# Regrets next: they take only "Förhinder"-like first words and calendar replies to klg's invitations.
# The minutes before the agenda: the agenda's handler takes every [KLG 2026-12-01] subject.
COMMANDS: list = [ref("daemon.records.replies:on_command"), ref("daemon.regrets:on_command"),
                  ref("daemon.minutes.replies:on_command"), ref("daemon.agenda.review:on_command"),
                  ref("daemon.circulation.start:on_command")]

# A member's out-of-office reply: listener(ctx, mail, member), which only notes (a return date); the
# auto-reply is never answered and never counts as an approval or a comment.
AUTO_REPLY_LISTENERS: list = [ref("daemon.regrets:on_auto_reply")]

# A guest (an invited presenter, not a member): guest_of(ctx, mail) -> (Member, item) when the mail answers
# their own invitation, then GUEST_REPLY(ctx, mail, guest, item) for that item alone; else a stranger's mail.
GUEST_OF = ref("daemon.agenda.guests:guest_of")
GUEST_REPLY = ref("daemon.agenda.guests:on_reply")

# A member's new mail that is nothing else: a proposal.
NEW_MAIL = ref("daemon.proposals:on_new_mail")

# Who hears that an item changed (daemon.items announces every change once): the notices to the
# chair and chancellery of changes after the draft, and the written procedure.
# The registrar's copies of what came in (daemon.records.registrar).
ITEM_LISTENERS: list = [ref("daemon.agenda.guests:on_item_change"), ref("daemon.agenda.notices:on_item_change"),
                        ref("daemon.circulation.start:on_item"), ref("daemon.records.registrar:on_item_change")]
hooks.item_listeners[:] = ITEM_LISTENERS
# Marks before the subject of a mail to members only: a secret item's mail says so.
context.subject_marks[:] = [ref("daemon.records.secrecy:subject_mark")]
# The records export renders the public version of an agenda with the agenda's own renderer.
hooks.agenda_renderer[:] = [ref("daemon.agenda.rendering:render")]

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [ref("daemon.notices:due"), ref("daemon.wheel:due"), ref("daemon.agenda.workflow:due"),
         ref("daemon.agenda.notices:due"), ref("daemon.minutes.workflow:due"), ref("daemon.circulation.deadline:due"),
         ref("daemon.circulation.held:due"), ref("daemon.records.registrar:due"),
         ref("daemon.archive.workflow:due")]  # the archive package after the minutes are distributed

# Documents made ahead, between mails and outside any transaction, so that the step needing them
# finds them made: pending(store, now) -> list[documents.Job] not made yet (the meeting book's clean PDFs).
PREPARE: list = [ref("daemon.agenda.ahead:pending")]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = [ref("daemon.wheel:section"), ref("daemon.attendance:section"), ref("daemon.agenda.status:section"),
                ref("daemon.minutes.status:section"),
                ref("daemon.circulation.status:status_section"), ref("daemon.archive.status:section")]

# Extra clock times the scheduler wakes the daemon at: times(config) -> list[time]
WAKE_TIMES: list = [ref("daemon.wheel:wake_times"), ref("daemon.agenda.workflow:wake_times"),
                    ref("daemon.minutes.workflow:wake_times"), ref("daemon.circulation.settings:wake_times"),
                    ref("daemon.records.settings:wake_times")]

# Checks of Word templates for `klg check-config`: check(path) -> list[str] problems
DOCX_CHECKS: list = [ref("daemon.agenda.document:check_template"), ref("daemon.minutes.document:check_template"),
                     ref("daemon.circulation.document:check")]

# Checks of the workflows' own config sections (checks.load_config runs them; a problem exits 2)
CONFIG_CHECKS: list = [ref("daemon.agenda.settings:check_config"), ref("daemon.secretary:check_config"),
                       ref("daemon.minutes.settings:check_config"),
                       ref("daemon.circulation.settings:check_config"), ref("daemon.records.settings:check_config"),
                       ref("daemon.archive.settings:check_config"), ref("daemon.wheel:check_config")]
# The config's top-level sections the workflows read (core's are config.SECTIONS); any other is refused.
CONFIG_SECTIONS: set = {"agenda", "minutes", "circulation", "records", "archive",
                       "annual_items"}  # wheel.SECTION (a test checks)

# Extra `klg` subcommands: add(subparsers) registers a parser with set_defaults(handler=func),
# func(config, args) -> exit status.
COMMANDS_CLI: list = [ref("daemon.audit:add_cli"), ref("daemon.minutes.sealcheck:add_cli"),
                      ref("daemon.records.export:add_cli"), ref("daemon.archive.package:add_cli")]
