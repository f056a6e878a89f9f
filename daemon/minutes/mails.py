"""The minutes' mails as they go out: the pre-filled form to the secretary, each
version to its signatories (and the reminders of both), and a signatory's
change request to the secretary. A new version is made here too: its PDF/A
comes from ``daemon.documents``, outside the store's transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from daemon import followups
from daemon.config import Member
from daemon.context import Ctx
from daemon.mail.outgoing import DOCX, OutAttachment
from daemon.minutes import common, document
from daemon.minutes import content as contentlib
from daemon.minutes.common import MinutesState, day, minutes_row, version_row
from daemon.minutes.content import OUTCOME_NAMES
from daemon.pdf import ConversionError
from daemon.secretary import secretary_for
from daemon.store import iso

if TYPE_CHECKING:  # an annotation only: parsing mail is loaded when mail comes (start-up, issue 19)
    from daemon.mail.message import ParsedMail


def form_attachment(ctx: Ctx, row: dict) -> OutAttachment:
    name = common.words(ctx)["form_file"].format(short=ctx.config.group.short, date=row["meeting"])
    return OutAttachment(name, ctx.store.files.get(row["form_docx_sha256"]), DOCX)


def send_form(ctx: Ctx, meeting: str, *, secretary: Member | None = None, reminder: bool = False,
              swapped_by: str | None = None) -> str:
    """Make the pre-filled form (first time) and mail it to the secretary; return the Message-ID."""
    row = minutes_row(ctx, meeting)
    if row is None:
        rows, source = common.form_rows(ctx, meeting)
        secretary = secretary or secretary_for(ctx, day(meeting))
        open_followups = followups.followups_for(ctx, meeting)
        docx = document.render(ctx.config.templates_dir, ctx.language, document.FORM,
                               common.form_context(ctx, meeting, rows, open_followups, secretary))
        sha = ctx.store.files.put(docx)
        ctx.store.meeting(meeting)
        ctx.store.db["minutes"].insert({
            "meeting": meeting, "state": "form_sent", "secretary": secretary.email, "form_sent_at": iso(ctx.now),
            "form_docx_sha256": sha, "version": 0, "updated_at": iso(ctx.now),
            "form_rows": json.dumps({"source": source, "rows": rows, "followups": open_followups}, ensure_ascii=False),
        })
        ctx.event(f"minutes: form made from the {source}", meeting=meeting,
                  detail={"secretary": secretary.email, "rows": len(rows), "followups": len(open_followups)})
        row = minutes_row(ctx, meeting)
    else:
        secretary = secretary or ctx.config.member_by_address(row["secretary"]) or secretary_for(ctx, day(meeting))
    form = json.loads(row["form_rows"])
    context = {
        "meeting": common.meeting_context(ctx, meeting, secretary), "name": secretary.name, "reminder": reminder,
        "swapped_by": swapped_by, "rows": form["rows"], "followups": form["followups"],
        "signatories": [s.name for s in _standing_signatories(ctx)],
        "items": [r for r in form["rows"] if r.get("id")],
    }
    return ctx.send("minutes_form", [secretary], context, kind="minutes-form", meeting=meeting,
                    ref=f"minutes-form:{meeting}", attachments=[form_attachment(ctx, row)])


def _standing_signatories(ctx: Ctx) -> list[Member]:
    out: list[Member] = []
    for m in [*ctx.config.with_role("chair"), *ctx.config.with_role("signatory")]:
        if m not in out:
            out.append(m)
    return out


def remind_secretary(ctx: Ctx, meeting: str) -> None:
    row = minutes_row(ctx, meeting)
    if row is None or row["state"] not in ("form_sent", "changes_requested"):
        return
    if row["state"] == "form_sent" and row["version"] == 0:
        send_form(ctx, meeting, reminder=True)
        return
    last = ctx.store.one("SELECT * FROM minutes_requests WHERE meeting = ? ORDER BY id DESC LIMIT 1", [meeting])
    if last:
        send_change_request(ctx, meeting, last, reminder=True)


def new_version(ctx: Ctx, meeting: str, content: dict, *, author: Member, source: ParsedMail, returned: bytes) -> dict:
    """Store the next version of the minutes, void the earlier approvals, and send it for signing."""
    row = minutes_row(ctx, meeting)
    number = row["version"] + 1
    sha = contentlib.content_hash(content)
    signing = common.signing_rows(ctx, content, {})
    docx = document.render(ctx.config.templates_dir, ctx.language, document.DOCUMENT,
                           common.document_context(ctx, content, version=number, signing=signing, signed_at=None))
    name = common.words(ctx)["version_file"].format(short=ctx.config.group.short, date=meeting, n=number)
    try:
        pdf_sha = ctx.store.files.put(document.to_pdfa(ctx.store, docx, name + ".docx"))
    except ConversionError as exc:  # the .docx still goes out; the signed PDF is made (and retried) later
        pdf_sha = None
        ctx.event(f"minutes: no PDF of version {number}: {exc}", meeting=meeting)
    if row["version"]:
        ctx.store.db.execute("UPDATE minutes_versions SET superseded_at = ? WHERE meeting = ? AND superseded_at IS NULL",
                             [iso(ctx.now), meeting])
    ctx.store.db["minutes_versions"].insert({
        "meeting": meeting, "version": number, "created_at": iso(ctx.now), "author": author.email,
        "source_message": source.message_id, "returned_sha256": ctx.store.files.put(returned),
        "content": contentlib.canonical(content).decode("utf-8"), "content_sha256": sha,
        "docx_sha256": ctx.store.files.put(docx), "pdf_sha256": pdf_sha,
        "signatories": json.dumps([s["email"] for s in content["signatories"]]),
    })
    common.transition(ctx, meeting, MinutesState.SIGNING, version=number)
    ctx.event(f"minutes: version {number} received and sent for signing", actor=author.email, meeting=meeting,
              detail={"sha256": sha, "signatories": [s["email"] for s in content["signatories"]]})
    version = version_row(ctx, meeting, number)
    send_for_signing(ctx, version)
    return version


def send_for_signing(ctx: Ctx, version: dict, *, reminder: bool = False, only: list[str] | None = None) -> None:
    """Mail ``version`` (docx and PDF) to each of its signatories (or ``only`` those)."""
    meeting = version["meeting"]
    content = version["content"]
    ref = common.sign_ref(meeting, version["version"], version["content_sha256"])
    attachments = common.version_attachments(ctx, version)
    previous = version["version"] - 1
    voided = bool(previous) and bool(common.approvals(ctx, meeting, previous))
    secretary = ctx.config.member_by_address(content["secretary"]["email"])
    for s in content["signatories"]:
        if only is not None and s["email"] not in only:
            continue
        ctx.send("minutes_sign", [s["email"]], {
            "meeting": common.meeting_context(ctx, meeting, secretary), "name": s["name"], "version": version["version"],
            "replaces": previous, "voided": voided, "reminder": reminder, "role": s["role"],
            "signatories": [x["name"] for x in content["signatories"]],
            "rows": [{"no": r["no"], "title": r["title"],
                      "outcome": OUTCOME_NAMES[ctx.language][r["outcome"]] if r["outcome"] else ""}
                     for r in content["rows"]],
            "pdf": bool(version.get("pdf_sha256")),
        }, kind="minutes-sign", meeting=meeting, ref=ref, attachments=attachments)


def remind_signatories(ctx: Ctx, meeting: str) -> None:
    row = minutes_row(ctx, meeting)
    if row is None or row["state"] != "signing":
        return
    version = version_row(ctx, meeting, row["version"])
    waiting = common.pending(ctx, version)
    if waiting:
        send_for_signing(ctx, version, reminder=True, only=waiting)
        ctx.event(f"minutes: signatories reminded ({', '.join(waiting)})", meeting=meeting)


def send_change_request(ctx: Ctx, meeting: str, request: dict, *, reminder: bool = False) -> str:
    """Give the secretary a signatory's change request, with the form as last returned to edit."""
    row = minutes_row(ctx, meeting)
    version = version_row(ctx, meeting, request["version"])
    secretary = ctx.config.member_by_address(row["secretary"]) or secretary_for(ctx, day(meeting))
    base = common.words(ctx)["form_file"].format(short=ctx.config.group.short, date=meeting)
    form = OutAttachment(base.replace(".docx", f" v{version['version']}.docx"),
                         ctx.store.files.get(version["returned_sha256"]), DOCX)
    return ctx.send("minutes_change", [secretary], {
        "meeting": common.meeting_context(ctx, meeting, secretary), "name": secretary.name,
        "by": common.member_name(ctx, request["signatory"]), "text": request["text"], "version": version["version"],
        "reminder": reminder,
    }, kind="minutes-change", meeting=meeting, ref=f"minutes-change:{meeting}:v{version['version']}",
        attachments=[form, *common.version_attachments(ctx, version)[1:]])
