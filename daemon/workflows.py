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

from daemon import audit, hooks, notices, proposals, secretary, security
from daemon.agenda import ahead as agenda_ahead
from daemon.agenda import document as agenda_document
from daemon.agenda import notices as agenda_notices
from daemon.agenda import review as agenda_review
from daemon.agenda import settings as agenda_settings
from daemon.agenda import status as agenda_status
from daemon.agenda import workflow as agenda
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
from daemon.minutes import seal as minutes_seal
from daemon.minutes import settings as minutes_settings
from daemon.minutes import status as minutes_status
from daemon.minutes import workflow as minutes

# Checks run on every member's mail before it is acted on (sender authentication,
# the storm guard); each returns an Outcome to stop it, or None.
GATES: list = [security.authenticate, security.storm_guard]

# --- replies: kind of the mail answered -> handlers(ctx, mail, member, thread_row), asked in order ---------
# A reply about an item (to its acknowledgement, or with its [KLG-…] tag): the written procedure's
# when the item is out for comments or the reply starts one; else a change to the proposal.
ITEM = (circulation_replies.on_item_reply, proposals.on_reply)
# The agenda's mails: an edited .docx or "OK" from the chair or the chancellery.
AGENDA = (agenda_review.on_reply,)
# The minutes' mails: the filled form from the secretary; "Justerat" or a change from a signatory.
FORM = (minutes_replies.on_form_reply,)
SIGN = (minutes_replies.on_sign_reply,)

REPLY_ROUTES: dict[str, tuple] = {
    "ack": ITEM, "amended": ITEM, "withdrawn": ITEM, "item": ITEM,
    "agenda-draft": AGENDA, "agenda-version": AGENDA, "agenda-approved": AGENDA, "agenda-reminder": AGENDA,
    "agenda-answer": AGENDA, "agenda-notice": AGENDA,
    "agenda-final": (minutes_replies.swap_secretary, *AGENDA),  # "Sekreterare: <name>", else the agenda's
    "minutes-form": FORM, "minutes-problems": FORM, "minutes-received": FORM, "minutes-change": FORM,
    "minutes-sign": SIGN, "minutes-sign-answer": SIGN,
    "minutes-followup": (minutes_replies.on_followup_reply,),  # "Klart" from the responsible
    **dict.fromkeys(circulation_records.REPLY_KINDS, (circulation_replies.on_reply,)),  # comments, STATUS, ÅTERKALLA
    "circulation-held": (circulation_start.on_held_reply,),  # "Skriftligt förfarande: KLG-…" starts held ones
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None.
# The minutes come first: the agenda's handler takes every [KLG 2026-12-01] subject.
COMMANDS: list = [minutes_replies.on_command, agenda_review.on_command, circulation_start.on_command]

# A member's new mail that is nothing else: a proposal.
NEW_MAIL = proposals.on_new_mail

# Who hears that an item changed (daemon.items announces every change once): the notices to the
# chair and chancellery of changes after the draft, and the written procedure.
ITEM_LISTENERS: list = [agenda_notices.on_item_change, circulation_start.on_item]
hooks.item_listeners[:] = ITEM_LISTENERS

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [notices.due, agenda.due, agenda_notices.due, minutes.due, circulation_deadline.due, circulation_held.due]

# Documents made ahead, between mails and outside any transaction, so that the step needing them
# finds them made: pending(store, now) -> list[documents.Job] not made yet (the meeting book's clean PDFs).
PREPARE: list = [agenda_ahead.pending]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = [agenda_status.section, minutes_status.section, circulation_status.status_section]

# Extra clock times the scheduler wakes the daemon at: times(config) -> list[time]
WAKE_TIMES: list = [agenda.wake_times, minutes.wake_times, circulation_settings.wake_times]

# Checks of Word templates for `klg check-config`: check(path) -> list[str] problems
DOCX_CHECKS: list = [agenda_document.check_template, minutes_document.check_template, circulation_document.check]

# Checks of the workflows' own config sections (checks.load_config runs them; a problem exits 2)
CONFIG_CHECKS: list = [agenda_settings.check_config, secretary.check_config, minutes_settings.check_config,
                       circulation_settings.check_config]
# The config's top-level sections the workflows read (core's are config.SECTIONS); any other is refused.
CONFIG_SECTIONS: set = {"agenda", "minutes", "circulation"}

# Extra `klg` subcommands: add(subparsers) registers a parser with set_defaults(handler=func),
# func(config, args) -> exit status.
COMMANDS_CLI: list = [audit.add_cli, minutes_seal.add_cli]
