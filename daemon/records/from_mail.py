"""What the ``Dnr:`` and ``Sekretess:`` lines of a member's proposal or reply do.

The case number is checked and kept (a malformed one is kept too, with a
warning); a ``Sekretess:`` line marks the item, or the document it names,
secret under the provision it names. Only the proposer, the chair and the
chancellery get here (proposals checks who may change an item).
"""

from __future__ import annotations

from daemon.config import Member
from daemon.context import Ctx
from daemon.records import cases, secrecy, secrecy_lines

MAX_REASON = 500  # a reason is a line, not a document


def case_number(ctx: Ctx, values: dict) -> tuple[str | None, list[str]]:
    """(the case number in ``values`` or None, warnings)."""
    if "case_number" not in values:
        return None, []
    value, warning = cases.check(ctx.config, str(values["case_number"]))
    return value, [warning] if warning else []


def apply_secrecy(ctx: Ctx, item_id: str, values: dict, member: Member) -> list[str]:
    """Mark what a ``Sekretess:`` line in ``values`` says; the warnings for the answer."""
    if "secrecy" not in values:
        return []
    sv = ctx.language == "sv"
    marking = secrecy_lines.parse(str(values["secrecy"]))
    if marking.provision is None:
        return [f"”Sekretess: {str(values['secrecy'])[:60]}” nämner ingen bestämmelse; skriv till exempel "
                "”Sekretess: OSL 39 kap. 3 §”. Ärendet är inte sekretessmarkerat." if sv else
                f"”Secrecy: {str(values['secrecy'])[:60]}” names no provision; write for example "
                "”Secrecy: OSL 39 kap. 3 §”. The item is not marked secret."]
    document = marking.document
    if document:
        names = {a["name"].lower(): a["name"] for a in ctx.store.attachments(item_id)}
        found = names.get(document.lower()) or next((n for k, n in names.items() if document.lower() in k), None)
        if found is None:
            return [f"Sekretess: det finns ingen bilaga ”{document}” i ärendet; skriv bilagans namn som det står "
                    "i kvittot. Inget sekretessmarkerades." if sv else
                    f"Secrecy: the item has no attachment ”{document}”; write the name as the receipt shows it. "
                    "Nothing was marked secret."]
        document = found
    reason = str(values.get("secrecy_reason") or marking.reason or "")[:MAX_REASON]
    secrecy.mark(ctx, item_id, marking.provision, by=member.email, reason=reason, document=document)
    return []
