"""The records' reply routes: ``Sekretess: KLG-2026-042 OSL 19 kap. 3 §`` (a
marking, on the item or a named document), ``Häv sekretess: KLG-2026-042``
(lifting it) and ``Jäv: KLG-2026-042`` (a conflict of interest), in a reply to
the agenda's or an item's mail, or in a new mail.

Who may do what: a member declares their own conflict of interest; the
proposer, the chair and the chancellery mark an item secret; the chair and
the chancellery lift a marking. The member gets one answer saying what was
recorded; for a conflict the chair is told too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.answers import Outcome
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.message import ParsedMail
from daemon.mail.replies import latest_reply
from daemon.records import conflicts, secrecy, secrecy_lines

LINE = re.compile(r"^[ \t*_]*(sekretess|secrecy|häv sekretess|upphäv sekretess|lift secrecy|jäv|jav|"
                  r"conflict of interest)[ \t*_]*:[ \t]*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
MAX_LINES = 20  # a mail with more records lines than this is not a clerk's; the rest are not read
LIFT = ("häv sekretess", "upphäv sekretess", "lift secrecy")
CONFLICT = ("jäv", "jav", "conflict of interest")


@dataclass(frozen=True)
class Request:
    what: str  # mark | lift | conflict
    item_id: str | None
    value: str


def requests(text: str, default_item: str | None) -> list[Request]:
    """The records lines in ``text`` (the writer's own reply), with the item each is about."""
    out = []
    for m in list(LINE.finditer(text or ""))[:MAX_LINES]:
        key, value = m[1].lower(), m[2]
        found = secrecy_lines.ITEM_ID.search(value)
        item_id = found[1].upper() if found else default_item
        what = "lift" if key in LIFT else "conflict" if key in CONFLICT else "mark"
        out.append(Request(what, item_id, value))
    return out


def on_item_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome | None:
    """A reply about an item: its conflicts of interest and liftings here; a ``Sekretess:`` line
    without anything else the proposal's own reading handles (``proposals``) as a field."""
    found = requests(latest_reply(mail.text), thread.get("item_id"))
    if not any(r.what in ("conflict", "lift") or (r.item_id and r.item_id != thread.get("item_id")) for r in found):
        return None
    return act(ctx, mail, member, found)


def on_agenda_reply(ctx: Ctx, mail: ParsedMail, member: Member, thread: dict) -> Outcome | None:
    """A reply to the agenda's mails. The chair's or the chancellery's reply that also carries an
    edited agenda or starts with something else (an "OK") is recorded here and then left to the
    agenda's handler; anyone else's is answered here alone."""
    text = latest_reply(mail.text)
    found = requests(text, None)
    if not found:
        return None
    first = next((line for line in text.splitlines() if line.strip()), "")
    # only the chair and the chancellery have more to say to the agenda (an edited document, an "OK")
    reviewer = member.has("chair") or member.has("chancellery")
    more = reviewer and (bool(mail.attachments) or not LINE.match(first))
    outcome = act(ctx, mail, member, found)
    return None if more else outcome


def on_command(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """A new mail whose every records line names an item (else it is a proposal with fields)."""
    found = requests(latest_reply(mail.text), None)
    if not found or not all(secrecy_lines.ITEM_ID.search(r.value) for r in found):
        return None
    return act(ctx, mail, member, found)


def act(ctx: Ctx, mail: ParsedMail, member: Member, found: list[Request]) -> Outcome:
    """Do what ``found`` asks, answer the member once, tell the chair of conflicts."""
    sv = ctx.language == "sv"
    done: list[str] = []
    problems: list[str] = []
    declared: list[dict] = []
    item_ids: list[str] = []
    for r in found:
        item = ctx.store.item(r.item_id) if r.item_id else None
        if item is None:
            problems.append(f"Vi hittar inget ärende {r.item_id or 'i raden'} ”{r.value[:60]}”; skriv ärendenumret, "
                            "t.ex. KLG-2026-042." if sv else
                            f"We find no item {r.item_id or 'in the line'} ”{r.value[:60]}”; write the item "
                            "number, e.g. KLG-2026-042.")
            continue
        item_ids.append(item["id"])
        if r.what == "conflict":
            new = conflicts.declare(ctx, item["id"], member.email, message_id=mail.message_id)
            declared.append(item)
            done.append((f"Jäv i {item['id']} ”{item['title']}” är antecknat" if sv else
                         f"Your conflict of interest in {item['id']} ”{item['title']}” is recorded")
                        + ("" if new else (" (sedan tidigare)" if sv else " (already)")) + ".")
        elif r.what == "lift":
            problems += _lift(ctx, item, member, r, done)
        else:
            problems += _mark(ctx, item, member, r, done)
    ctx.send("records_answer", [mail.sender], {"name": member.name, "done": done, "problems": problems,
                                               "item_id": item_ids[0] if len(set(item_ids)) == 1 else None},
             kind="records-answer", item=item_ids[0] if len(set(item_ids)) == 1 else None, reply_to=mail)
    for item in declared:
        chairs = [c for c in ctx.config.with_role("chair") if c.email != member.email]
        if chairs:
            ctx.send("records_conflict", chairs, {"member": member.name, "item": item}, kind="records-notice",
                     item=item["id"], meeting=item["meeting"])
    return Outcome("records", "processed" if done else "quarantine", item=item_ids[0] if item_ids else None,
                   detail="; ".join(r.what for r in found))


def _may_mark(member: Member, item: dict) -> bool:
    return member.has("chair") or member.has("chancellery") or member.email == item["proposer"]


def _mark(ctx: Ctx, item: dict, member: Member, r: Request, done: list[str]) -> list[str]:
    sv = ctx.language == "sv"
    if not _may_mark(member, item):
        return [f"Bara förslagsställaren, ordföranden och kansliet kan sekretessmarkera {item['id']}; inget ändrades."
                if sv else f"Only the proposer, the chair and the chancellery can mark {item['id']} secret; "
                "nothing changed."]
    marking = secrecy_lines.parse(r.value)
    if marking.provision is None:
        return [f"Raden ”{r.value[:60]}” nämner ingen bestämmelse; skriv t.ex. ”Sekretess: {item['id']} OSL 39 kap. "
                "3 §”. Inget ändrades." if sv else f"The line ”{r.value[:60]}” names no provision; write e.g. "
                f"”Secrecy: {item['id']} OSL 39 kap. 3 §”. Nothing changed."]
    document = None
    if marking.document:
        names = {a["name"].lower(): a["name"] for a in ctx.store.attachments(item["id"])}
        document = names.get(marking.document.lower())
        if document is None:
            return [f"{item['id']} har ingen bilaga ”{marking.document}”; inget ändrades." if sv else
                    f"{item['id']} has no attachment ”{marking.document}”; nothing changed."]
    secrecy.mark(ctx, item["id"], marking.provision, by=member.email, reason=marking.reason[:500], document=document)
    what = (f"bilagan {document} i " if sv else f"the attachment {document} of ") if document else ""
    done.append(f"Sekretess enligt {marking.provision} gäller nu {what}{item['id']} ”{item['title']}”." if sv else
                f"Secrecy under {marking.provision} now applies to {what}{item['id']} ”{item['title']}”.")
    return []


def _lift(ctx: Ctx, item: dict, member: Member, r: Request, done: list[str]) -> list[str]:
    sv = ctx.language == "sv"
    if not (member.has("chair") or member.has("chancellery")):
        return [f"Bara ordföranden och kansliet kan häva sekretessen för {item['id']}; inget ändrades." if sv else
                f"Only the chair and the chancellery can lift the secrecy of {item['id']}; nothing changed."]
    rest = secrecy_lines.ITEM_ID.sub("", r.value).strip(" ,;:")  # "Häv sekretess: KLG-… Utredning.pdf": one document
    names = {a["name"].lower(): a["name"] for a in ctx.store.attachments(item["id"])}
    document = names.get(secrecy_lines.DOCUMENT_WORDS.sub("", rest).strip(" \"”'").lower()) if rest else None
    if rest and document is None:
        return [f"{item['id']} har ingen bilaga ”{rest[:60]}”; inget ändrades." if sv else
                f"{item['id']} has no attachment ”{rest[:60]}”; nothing changed."]
    lifted = secrecy.lift(ctx, item["id"], by=member.email, document=document)
    done.append((f"Sekretessen för {item['id']} är hävd ({lifted} markering(ar))." if sv else
                 f"The secrecy of {item['id']} is lifted ({lifted} marking(s)).") if lifted else
                (f"{item['id']} hade ingen sekretessmarkering." if sv else f"{item['id']} had no secrecy marking."))
    return []
