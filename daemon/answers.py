"""What intake and the handlers say about a message, and the one plain answer
a member gets when their mail is not acted on.

``Outcome`` is where a message goes and why; every handler returns one.
``explain`` sends the member one explanation, at most ``[security]
explanations_per_sender_per_hour`` an hour, so a broken client cannot start a
mail storm; ``answers_last_hour`` is what the storm guard counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from daemon.config import Member
from daemon.context import Ctx
from daemon.store import iso

if TYPE_CHECKING:  # annotations only: parsing mail is loaded when mail comes (start-up, issue 19)
    from daemon.mail.message import ParsedMail


@dataclass
class Outcome:
    """Where a message goes (``processed`` or ``quarantine``), what it was, and the item it touched."""

    classification: str
    disposition: str = "processed"  # or "quarantine"
    item: str | None = None
    detail: str | None = None


# handler(ctx, mail, member, thread_row) -> Outcome, or None when the mail is not the handler's business
ReplyHandler = Callable[[Ctx, "ParsedMail", Member, dict], "Outcome | None"]
CommandHandler = Callable[[Ctx, "ParsedMail", Member], "Outcome | None"]


def answers_last_hour(ctx: Ctx, address: str, kind: str | None = None) -> int:
    """How many automatic answers (of ``kind``, or any) ``address`` got in the hour before ``ctx.now``."""
    since = iso(ctx.now - timedelta(hours=1))
    sql = "SELECT COUNT(*) FROM outbox WHERE answer_to = ? AND created_at > ?"
    return ctx.store.count(sql + " AND kind = ?" if kind else sql, [address.lower(), since, *([kind] if kind else [])])


def may_answer(ctx: Ctx, address: str) -> bool:
    """False when ``address`` already got ``[security] explanations_per_sender_per_hour``
    explanations in the last hour: a broken client must not start a mail storm."""
    return answers_last_hour(ctx, address, "explain") < ctx.config.security.explanations_per_sender_per_hour


def explain(ctx: Ctx, mail: ParsedMail, member: Member, reason: str, context: dict, *,
            template: str = "explain", item: str | None = None) -> str | None:
    """Send the member one plain-language explanation (``templates/<lang>/mail/<template>.txt``,
    chosen by ``reason``) of why their mail was not acted on; None when the storm guard holds it back."""
    if not may_answer(ctx, mail.sender):
        ctx.event("explanation suppressed (storm guard)", actor=mail.sender, detail={"reason": reason})
        return None
    return ctx.send(template, [mail.sender], {"reason": reason, "name": member.name, "subject": mail.subject, **context},
                    kind="explain", item=item, reply_to=mail)
