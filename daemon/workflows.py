"""The registry: where each mail goes, which steps exist, and which workflow
hears of what. Intake, the engine, `klg status`, the scheduler and the checks
read it; nothing it wires imports it. Read it top to bottom to follow a mail.

A reply is routed by the ``kind`` of the outbox mail it answers (found by
In-Reply-To/References, or the ``[KLG-2026-042]`` tag in the subject): its
handlers are asked in order, and the first that returns an Outcome has it (a
handler returns None for a mail that is not its business). New mail that
answers nothing is offered to the COMMANDS in order, and is else a proposal.
"""

from __future__ import annotations

from daemon import attendance, audit, context, hooks, notices, proposals, regrets, secretary, security, wheel
from daemon.agenda import ahead as agenda_ahead
from daemon.agenda import common as agenda_common
from daemon.agenda import document as agenda_document
from daemon.agenda import guests
from daemon.agenda import notices as agenda_notices
from daemon.agenda import review as agenda_review
from daemon.agenda import settings as agenda_settings
from daemon.agenda import status as agenda_status
from daemon.agenda import workflow as agenda
from daemon.archive import package as archive_package
from daemon.archive import settings as archive_settings
from daemon.archive import status as archive_status
from daemon.archive import workflow as archive
from daemon.circulation import deadline as circulation_deadline
from daemon.circulation import document as circulation_document
from daemon.circulation import held as circulation_held
from daemon.circulation import records as circulation_records
from daemon.circulation import replies as circulation_replies
from daemon.circulation import settings as circulation_settings
from daemon.circulation import start as circulation_start
from daemon.circulation import status as circulation_status
from daemon.minutes import document as minutes_document
from daemon.minutes import replies as minutes_replies
from daemon.minutes import sealcheck as minutes_sealcheck
from daemon.minutes import settings as minutes_settings
from daemon.minutes import status as minutes_status
from daemon.minutes import workflow as minutes
from daemon.records import export as records_export
from daemon.records import registrar as records_registrar
from daemon.records import replies as records_replies
from daemon.records import secrecy as records_secrecy
from daemon.records import settings as records_settings

# Checks run on every member's mail before it is acted on (sender authentication,
# the storm guard); each returns an Outcome to stop it, or None.
GATES: list = [security.authenticate, security.storm_guard]

# --- replies: kind of the mail answered -> handlers(ctx, mail, member, thread_row), asked in order ---------
# A reply about an item (to its acknowledgement, or with its [KLG-…] tag): the written procedure's
# when the item is out for comments or the reply starts one; else a change to the proposal.
# "Jäv: KLG-…" and "Häv sekretess: KLG-…" first (the records'); "Sekretess: …" is a field of the proposal.
ITEM = (records_replies.on_item_reply, circulation_replies.on_item_reply, proposals.on_reply)
# The agenda's mails: an edited .docx or "OK" from the chair or the chancellery; "Sekretess: KLG-… OSL …"
# and "Jäv: KLG-…" lines are recorded first (and an "OK" or a document with them still goes to the agenda).
AGENDA = (records_replies.on_agenda_reply, agenda_review.on_reply)
# The minutes' mails: the filled form from the secretary; "Justerat" or a change from a signatory.
FORM = (minutes_replies.on_form_reply,)
SIGN = (minutes_replies.on_sign_reply,)

REPLY_ROUTES: dict[str, tuple] = {
    "ack": ITEM, "amended": ITEM, "withdrawn": ITEM, "item": ITEM,
    "agenda-draft": AGENDA, "agenda-version": AGENDA, "agenda-approved": AGENDA, "agenda-reminder": AGENDA,
    "agenda-answer": AGENDA, "agenda-notice": AGENDA,
    # "Sekreterare: <name>", "Förhinder" (or a calendar reply), else the agenda's
    "agenda-final": (minutes_replies.swap_secretary, regrets.on_agenda_reply, *AGENDA),
    "attendance": (regrets.on_agenda_reply,), "attendance-notice": (regrets.on_agenda_reply,),
    "minutes-form": FORM, "minutes-problems": FORM, "minutes-received": FORM, "minutes-change": FORM,
    "minutes-sign": SIGN, "minutes-sign-answer": SIGN,
    "minutes-followup": (minutes_replies.on_followup_reply,),  # "Klart" from the responsible
    **dict.fromkeys(circulation_records.REPLY_KINDS,  # comments, STATUS, ÅTERKALLA; "Jäv: KLG-…" first
                    (records_replies.on_item_reply, circulation_replies.on_reply)),
    "circulation-held": (circulation_start.on_held_reply,),  # "Skriftligt förfarande: KLG-…" starts held ones
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None.
# "Sekretess: KLG-… OSL …" / "Jäv: KLG-…" in a new mail come first: a proposal never names another item so.
# Regrets next: they take only "Förhinder"-like first words and calendar replies to klg's invitations.
# The minutes before the agenda: the agenda's handler takes every [KLG 2026-12-01] subject.
COMMANDS: list = [records_replies.on_command, regrets.on_command, minutes_replies.on_command, agenda_review.on_command,
                  circulation_start.on_command]

# A member's out-of-office reply: listener(ctx, mail, member), which only notes (a return date); the
# auto-reply is never answered and never counts as an approval or a comment.
AUTO_REPLY_LISTENERS: list = [regrets.on_auto_reply]

# A guest (an invited presenter, not a member): guest_of(ctx, mail) -> (Member, item) when the mail answers
# their own invitation, then GUEST_REPLY(ctx, mail, guest, item) for that item alone; else a stranger's mail.
GUEST_OF = guests.guest_of
GUEST_REPLY = guests.on_reply

# A member's new mail that is nothing else: a proposal.
NEW_MAIL = proposals.on_new_mail

# Who hears that an item changed (daemon.items announces every change once): the notices to the
# chair and chancellery of changes after the draft, and the written procedure.
# The registrar's copies of what came in (daemon.records.registrar).
ITEM_LISTENERS: list = [guests.on_item_change, agenda_notices.on_item_change, circulation_start.on_item,
                        records_registrar.on_item_change]
hooks.item_listeners[:] = ITEM_LISTENERS
# Marks before the subject of a mail to members only: a secret item's mail says so.
context.subject_marks[:] = [records_secrecy.subject_mark]
# The records export renders the public version of an agenda with the agenda's own renderer.
records_export.agenda_renderer[:] = [agenda_common.render]

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [notices.due, wheel.due, agenda.due, agenda_notices.due, minutes.due, circulation_deadline.due,
         circulation_held.due, records_registrar.due,
         archive.due]  # the archive package after the minutes are distributed

# Documents made ahead, between mails and outside any transaction, so that the step needing them
# finds them made: pending(store, now) -> list[documents.Job] not made yet (the meeting book's clean PDFs).
PREPARE: list = [agenda_ahead.pending]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = [wheel.section, attendance.section, agenda_status.section, minutes_status.section,
                circulation_status.status_section, archive_status.section]

# Extra clock times the scheduler wakes the daemon at: times(config) -> list[time]
WAKE_TIMES: list = [wheel.wake_times, agenda.wake_times, minutes.wake_times, circulation_settings.wake_times,
                    records_settings.wake_times]

# Checks of Word templates for `klg check-config`: check(path) -> list[str] problems
DOCX_CHECKS: list = [agenda_document.check_template, minutes_document.check_template, circulation_document.check]

# Checks of the workflows' own config sections (checks.load_config runs them; a problem exits 2)
CONFIG_CHECKS: list = [agenda_settings.check_config, secretary.check_config, minutes_settings.check_config,
                       circulation_settings.check_config, records_settings.check_config,
                       archive_settings.check_config, wheel.check_config]
# The config's top-level sections the workflows read (core's are config.SECTIONS); any other is refused.
CONFIG_SECTIONS: set = {"agenda", "minutes", "circulation", "records", "archive", wheel.SECTION}

# Extra `klg` subcommands: add(subparsers) registers a parser with set_defaults(handler=func),
# func(config, args) -> exit status.
COMMANDS_CLI: list = [audit.add_cli, minutes_sealcheck.add_cli, records_export.add_cli, archive_package.add_cli]
