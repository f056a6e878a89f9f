"""The registry: which module answers which kind of mail and which steps exist.

Intake and the engine look here; a workflow joins by adding itself below.
Reply handlers are keyed by the ``kind`` of the outbox mail being answered.
"""

from __future__ import annotations

from daemon import audit, notices, proposals, security

# Checks run on every member's mail before it is acted on (e.g. sender
# authentication, rate limits); each returns an Outcome to stop, or None.
GATES: list = [security.authenticate, security.storm_guard]

# kind of the mail answered -> handler(ctx, mail, member, thread_row)
REPLY_HANDLERS = {
    "ack": proposals.on_reply,
    "amended": proposals.on_reply,
    "withdrawn": proposals.on_reply,
    "item": proposals.on_reply,  # found by the [KLG-…] tag, or any other item mail
}

# New mail that is a command rather than a proposal: handler(ctx, mail, member) -> Outcome | None
COMMANDS: list = []

# A member's new mail that is nothing else.
NEW_MAIL = proposals.on_new_mail

# Called after an item is created, amended or withdrawn: hook(ctx, item_id, what)
ITEM_HOOKS: list = []

# Steps: due(ctx) -> list[Step], asked on every pass in this order.
STEPS = [notices.due]

# Sections of `klg status`: section(ctx) -> (name, json_value, text_lines)
STATUS: list = []

# Extra `klg` subcommands: add(subparsers) registers a parser with set_defaults(handler=func),
# func(config, args) -> exit status.
COMMANDS_CLI: list = [audit.add_cli]
