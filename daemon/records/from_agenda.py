"""What the reviewers write under an item's title in the agenda's Word table: a
case number (``Dnr KS 2026/123``) and a secrecy marking (``Sekretess: OSL 39
kap. 3 §``, or with a document's name in brackets after it). klg writes these
lines itself (under the title, joined by " · "), so a reviewer changes or adds one
there. A marking that disappears from the table is not lifted: lifting is
explicit (``Häv sekretess: KLG-…``)."""

from __future__ import annotations

import re

from daemon.config import Member
from daemon.context import Ctx
from daemon.records import cases, secrecy, secrecy_lines

CASE = re.compile(r"^(?:dnr|diarienummer|case(?: number)?)\s*:?\s*(.+)$", re.IGNORECASE)
MARK = re.compile(r"^(?:sekretess|secret|secrecy)\s*:\s*(.+)$", re.IGNORECASE)


def read_notes(ctx: Ctx, item: dict, notes: str, member: Member) -> tuple[str | None, list[str]]:
    """(the case number when the notes change it, else None; the markings set now, as text).
    The marking is made here (audit-logged, by ``member``); the number is the caller's to amend."""
    number = None
    marked: list[str] = []
    known = {a["name"].lower(): a["name"] for a in ctx.store.attachments(item["id"])}
    for part in (p.strip() for p in re.split(r"\s+·\s+|\n", notes or "")):
        m = CASE.match(part)
        if m:
            value, _ = cases.check(ctx.config, m[1])
            if value and value != item.get("case_number"):
                number = value
            continue
        m = MARK.match(part)
        if not m:
            continue
        text = m[1]
        bracket = re.search(r"\(([^()]+)\)\s*$", text)
        document = known.get(bracket[1].strip().lower()) if bracket else None
        provision = secrecy_lines.provision_of(text[:bracket.start()] if bracket else text)
        if provision is None or (bracket and document is None):
            continue
        if secrecy.mark(ctx, item["id"], provision, by=member.email, document=document):
            marked.append(provision + (f" ({document})" if document else ""))
    return number, marked
