"""The registry: which module answers which kind of mail and which steps exist.

Intake and the engine look here; a workflow joins by adding itself below.
Reply handlers are keyed by the ``kind`` of the outbox mail being answered.
"""

from __future__ import annotations

from daemon import notices, proposals, secretary
from daemon.minutes import document as minutes_document
from daemon.minutes import replies as minutes_replies
from daemon.minutes import seal as minutes_seal
from daemon.minutes import settings as minutes_settings
from daemon.minutes import status as minutes_status
from daemon.minutes import workflow as minutes

# Checks run on every member's mail before it is acted on (e.g. sender
# authentication, rate limits); each returns an Outcome to stop, or None.
GATES: list = []

# kind of the mail answered -> handler(ctx, mail, member, thread_row)
REPLY_HANDLERS = {
    "ack": proposals.on_reply,
    "amended": proposals.on_reply,
    "withdrawn": proposals.on_reply,
    "item": proposals.on_reply,  # found by the [KLG-…] tag, or any other item mail
    # "Sekreterare: <name>" in a reply to the final agenda
    **{kind: minutes_replies.on_agenda_reply for kind in minutes_replies.AGENDA_FINAL_KINDS},
    "minutes-form": minutes_replies.on_form_reply,  # the secretary returns the filled form
    "minutes-problems": minutes_replies.on_form_reply,
    "minutes-received": minutes_replies.on_form_reply,
    "minutes-change": minutes_replies.on_form_reply,
    "minutes-sign": minutes_replies.on_sign_reply,  # "Justerat" or a change request from a signatory
    "minutes-sign-answer": minutes_replies.on_sign_reply,
    "minutes-followup": minutes_replies.on_followup_reply,  # "Klart" from the responsible
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None
COMMANDS: list = [minutes_replies.on_command]  # [KLG 2026-12-01] subjects of minutes mails without thread headers

# A member's new mail that is nothing else.
NEW_MAIL = proposals.on_new_mail

# Called after an item is created, amended or withdrawn: hook(ctx, item_id, what)
ITEM_HOOKS: list = []

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [notices.due, minutes.due]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = [minutes_status.section]

# Extra clock times the scheduler wakes the daemon at: times(config) -> list[time]
WAKE_TIMES: list = [minutes.wake_times]

# Checks of Word templates for `klg check-config`: check(path) -> list[str] problems
DOCX_CHECKS: list = [minutes_document.check_template]

# Checks of workflow config sections, run when any command loads the config
# (a problem exits 2): check(config) -> list[str] problems
CONFIG_CHECKS: list = [secretary.check_config, minutes_settings.check_config]

# Extra subcommands: add(subparsers) registers a parser with set_defaults(handler=func(config, args) -> int)
COMMANDS_CLI: list = [minutes_seal.add_cli]
