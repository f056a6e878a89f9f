"""The compilation of a written procedure (sammanställning av synpunkter):
what goes into it, keeping it as the item's attachment, and a comment that
comes after it (passed to the proposer, and the compilation remade while the
deciding meeting's agenda is still open)."""

from __future__ import annotations

from datetime import date

from daemon import docmeta
from daemon.circulation import document, records
from daemon.circulation.records import (
    asked,
    current_comments,
    get,
    mail_context,
    name_of,
    stamp,
    stance_name,
)
from daemon.context import Ctx
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.records import conflicts, disclosure, secrecy
from daemon.store import iso
from daemon.texts import long_date


def counts(comments: list[dict], circ: dict) -> dict:
    answered = {c["member"] for c in comments}
    return {
        "support": sum(c["stance"] == "support" for c in comments),
        "object": sum(c["stance"] == "object" for c in comments),
        "none": sum(c["stance"] == "none" for c in comments),
        "unstated": sum(c["stance"] is None for c in comments),
        "silent": sum(m not in answered for m in asked(circ)),
        "asked": len(asked(circ)),
        "late": sum(bool(c["late"]) for c in comments),
    }


def compilation_context(ctx: Ctx, circ: dict) -> dict:
    """The values of ``templates/<language>/compilation.docx`` for ``circ``."""
    item = ctx.store.item(circ["item_id"])
    comments = current_comments(ctx, circ["id"])
    answered = {c["member"] for c in comments}
    rows = []
    for c in comments:
        earlier = ctx.store.all("SELECT * FROM comments WHERE circulation_id = ? AND member = ? AND id != ? "
                                "ORDER BY written_at, id", [circ["id"], c["member"], c["id"]])
        rows.append({
            "name": name_of(ctx, c["member"]),
            "time": stamp(ctx, c["written_at"]),
            "stance": stance_name(ctx, c["stance"]),
            "text": document.text(c["text"] or ("(se bilaga)" if ctx.language == "sv" else "(see attachment)")),
            "late": bool(c["late"]),
            "attachments": ", ".join(a["name"] for a in ctx.store.attachments(str(c["id"]), owner="comment")),
            "earlier": "; ".join(f"{stamp(ctx, e['written_at'])}: {stance_name(ctx, e['stance'])}"
                                 + ("" if e["stance"] else f" ”{_shorten(e['text'])}”") for e in earlier),
        })
    meeting = date.fromisoformat(circ["meeting"])
    marking = secrecy.item_marking(ctx.store, item["id"])
    d = disclosure.outside(ctx, item["id"])
    others = [a for a in ctx.store.attachments(item["id"]) if a["id"] != circ["compilation_attachment"]]
    # a secret document is listed by number and marking, never by name (its name may say what it is about)
    labels = d.withheld(others) if not d.secret else []
    secret_names = {a["name"] for a in others if a["name"].lower() in d.document_secrets}
    return {
        "group": ctx.config.group.name, "organisation": ctx.config.group.organisation,
        "item": {"id": item["id"], "title": item["title"]}, "case_number": item.get("case_number") or "–",
        "proposer": name_of(ctx, circ["proposer"]),
        "description": document.text(item["description"]),
        "documents": [a["name"] for a in others if a["name"] not in secret_names] + labels,
        "marking": ("SEKRETESS – " if ctx.language == "sv" else "SECRET – ") + secrecy.label(marking, ctx.language)
        if marking else "",
        "not_taking_part": conflicts.lines(ctx, item["id"]),
        "started": stamp(ctx, circ["started_at"]),
        "deadline": stamp(ctx, circ["deadline"]),
        "meeting": long_date(meeting, ctx.language),
        "compiled": ctx.local_now.strftime("%Y-%m-%d %H:%M"),
        "version": circ["compilation_version"] + 1,
        "comments": rows,
        "counts": counts(comments, circ),
        "silent": [name_of(ctx, m) for m in asked(circ) if m not in answered],
    }


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def compilation_name(ctx: Ctx, item_id: str) -> str:
    return f"{'Sammanställning synpunkter' if ctx.language == 'sv' else 'Compilation of comments'} {item_id}.docx"


def store_compilation(ctx: Ctx, circ: dict) -> tuple[str, bytes]:
    """Render the compilation and make it the item's attachment (replacing an earlier version)."""
    path = document.template_path(ctx.config.templates_dir, ctx.language)
    name = compilation_name(ctx, circ["item_id"])
    data = docmeta.label(document.render(path, compilation_context(ctx, circ)), lang=docmeta.locale(ctx.language),
                         title=name[:-5], author=ctx.config.group.name)
    if circ["compilation_attachment"]:
        ctx.store.db["attachments"].update(circ["compilation_attachment"], {"removed": 1})
    sha = ctx.store.files.put(data)
    attachment_id = ctx.store.db["attachments"].insert({
        "item_id": circ["item_id"], "owner": "item", "owner_id": circ["item_id"], "name": name, "sha256": sha,
        "size": len(data), "content_type": DOCX, "pages": None, "added_at": iso(ctx.now), "source_message": None,
    }).last_pk
    ctx.store.db["circulations"].update(circ["id"], {"compilation_version": circ["compilation_version"] + 1,
                                                     "compilation_attachment": attachment_id})
    return name, data



def pass_late_comment(ctx: Ctx, circ: dict, comment_id: int) -> None:
    """A comment after the compilation goes to the proposer; while the deciding
    meeting's agenda is still open for proposals the compilation is remade with it."""
    item = ctx.store.item(circ["item_id"])
    meeting = date.fromisoformat(circ["meeting"])
    attachments = records.comment_documents(ctx, [comment_id])
    updated = None
    if item["state"] == "planned" and item["meeting"] == circ["meeting"] and \
            ctx.now < ctx.calendar.proposal_deadline(meeting):
        name, data = store_compilation(ctx, circ)
        attachments.insert(0, OutAttachment(name, data, DOCX))
        updated = name
    comment = ctx.store.one("SELECT * FROM comments WHERE id = ?", [comment_id])
    proposer = ctx.config.member_by_address(circ["proposer"])
    ctx.send("circulation_late", [circ["proposer"]],
             {**mail_context(ctx, get(ctx, circ["id"])), "name": proposer.name if proposer else "",
              "commenter": name_of(ctx, comment["member"]), "time": stamp(ctx, comment["written_at"]),
              "stance": stance_name(ctx, comment["stance"], True), "text": comment["text"], "updated": updated,
              "added": [a.name for a in attachments if a.name != updated]},
             kind="circulation-late", item=circ["item_id"], meeting=circ["meeting"], ref=str(circ["id"]),
             attachments=attachments)
