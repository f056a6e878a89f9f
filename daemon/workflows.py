"""The registry: which module answers which kind of mail and which steps exist.

Intake and the engine look here; a workflow joins by adding itself below.
Reply handlers are keyed by the ``kind`` of the outbox mail being answered.
"""

from __future__ import annotations

from daemon import audit, circulation, circulation_held, compilation, notices, proposals, secretary, security
from daemon.agenda import document as agenda_document
from daemon.agenda import notices as agenda_notices
from daemon.agenda import review as agenda_review
from daemon.agenda import settings as agenda_settings
from daemon.agenda import status as agenda_status
from daemon.agenda import workflow as agenda
from daemon.minutes import document as minutes_document
from daemon.minutes import replies as minutes_replies
from daemon.minutes import seal as minutes_seal
from daemon.minutes import settings as minutes_settings
from daemon.minutes import status as minutes_status
from daemon.minutes import workflow as minutes

# Checks run on every member's mail before it is acted on (e.g. sender
# authentication, rate limits); each returns an Outcome to stop, or None.
GATES: list = [security.authenticate, security.storm_guard]

# kind of the mail answered -> handler(ctx, mail, member, thread_row)
REPLY_HANDLERS = {
    "ack": proposals.on_reply,
    "amended": proposals.on_reply,
    "withdrawn": proposals.on_reply,
    "item": proposals.on_reply,  # found by the [KLG-…] tag, or any other item mail
    "agenda-draft": agenda_review.on_reply,  # the agenda: edited .docx or "OK" from the chair/chancellery
    "agenda-version": agenda_review.on_reply,
    "agenda-approved": agenda_review.on_reply,
    "agenda-reminder": agenda_review.on_reply,
    "agenda-final": minutes_replies.with_secretary_swap(agenda_review.on_reply),  # also "Sekreterare: <name>"
    "agenda-answer": agenda_review.on_reply,
    "agenda-notice": agenda_review.on_reply,
    "minutes-form": minutes_replies.on_form_reply,  # the secretary returns the filled form
    "minutes-problems": minutes_replies.on_form_reply,
    "minutes-received": minutes_replies.on_form_reply,
    "minutes-change": minutes_replies.on_form_reply,
    "minutes-sign": minutes_replies.on_sign_reply,  # "Justerat" or a change request from a signatory
    "minutes-sign-answer": minutes_replies.on_sign_reply,
    "minutes-followup": minutes_replies.on_followup_reply,  # "Klart" from the responsible
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None.
# The minutes come first: the agenda's handler takes every [KLG 2026-12-01] subject.
COMMANDS: list = [minutes_replies.on_command, agenda_review.on_command]

# A member's new mail that is nothing else.
NEW_MAIL = proposals.on_new_mail

# Called after an item is created, amended or withdrawn: hook(ctx, item_id, what)
ITEM_HOOKS: list = [agenda_notices.on_item_change]  # tells the chair/chancellery of changes after the draft

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [notices.due, agenda.due, agenda_notices.due, minutes.due]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = [agenda_status.section, minutes_status.section]

# Extra clock times the scheduler wakes the daemon at: times(config) -> list[time]
WAKE_TIMES: list = [agenda.wake_times, minutes.wake_times]

# Checks of Word templates for `klg check-config`: check(path) -> list[str] problems
DOCX_CHECKS: list = [agenda_document.check_template, minutes_document.check_template]

# Checks of workflow config sections, run whenever the config is loaded
# (a problem exits 2): check(config) -> list[str] problems
CONFIG_CHECKS: list = [agenda_settings.check_config, secretary.check_config, minutes_settings.check_config]
# The config's top-level sections the workflows read (core's are config.SECTIONS); any other is refused.
CONFIG_SECTIONS: set = {"agenda", "minutes", "circulation"}

# Extra `klg` subcommands: add(subparsers) registers a parser with set_defaults(handler=func),
# func(config, args) -> exit status.
COMMANDS_CLI: list = [audit.add_cli, minutes_seal.add_cli]

# --- written procedure (skriftligt förfarande, issue 5) ---------------------------
# Replies about an item under written procedure go to the circulation, the rest on to proposals.
for _kind in ("ack", "amended", "withdrawn", "item"):
    REPLY_HANDLERS[_kind] = circulation.item_reply(REPLY_HANDLERS[_kind])
REPLY_HANDLERS.update(dict.fromkeys(circulation.REPLY_KINDS, circulation.on_reply))
REPLY_HANDLERS["circulation-held"] = circulation.on_held_reply  # "Skriftligt förfarande: KLG-…" starts held ones
COMMANDS.append(circulation.on_command)
ITEM_HOOKS.append(circulation.on_item)
STEPS.append(circulation.due)
STEPS.append(circulation_held.due)
STATUS.append(circulation.status_section)
WAKE_TIMES.append(circulation.wake_times)
DOCX_CHECKS.append(compilation.check)
CONFIG_CHECKS.append(circulation.check_config)
