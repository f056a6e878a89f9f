"""The signed minutes: when every signatory has approved the current version,
make the final PDF/A-2 (with the signing block, sealed if a seal is
configured) for each audience, deliver it, and carry out what the minutes say:
items that come back are put on the meeting they name, action items become
follow-ups, follow-ups marked done are closed, the rest of the items are
marked handled.

Carrying an item back: the item itself moves to the named meeting (state
``planned``, origin ``carried``) when it is still planned for the meeting
just held; otherwise (it was withdrawn, moved or closed since) a new item is
made with the same title, origin ``carried`` and a description saying where
it came from. Points that were not on the agenda ("Övrig fråga") that come
back also become new items. Standing items never move.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from daemon import documents, followups, items
from daemon.context import Ctx
from daemon.mail.outgoing import OutAttachment
from daemon.minutes import common, content as contentlib, document
from daemon.minutes.common import MinutesState, calendar, cfg, day, minutes_row, version_row
from daemon.minutes.seal import seal_job
from daemon.minutes.settings import Audience
from daemon.records import disclosure
from daemon.store import iso


def finalize(ctx: Ctx, meeting: str) -> None:
    """Sign, seal, deliver and carry out the minutes of ``meeting`` (a step)."""
    row = minutes_row(ctx, meeting)
    if row is None or row["state"] != "signing":
        return
    version = version_row(ctx, meeting, row["version"])
    if common.pending(ctx, version):
        return
    s = cfg(ctx)
    content = version["content"]
    approved = common.approvals(ctx, meeting, version["version"])
    signed_at = max(datetime.fromisoformat(a["approved_at"]) for a in approved.values())
    signing = common.signing_rows(ctx, content, approved)
    sealed = s.seal_pkcs12 is not None
    name = s.pdf_name(ctx.config.group.short, meeting)

    variants: dict[tuple[bool, bool], tuple[bytes, str, int]] = {}

    def variant(omit: bool, outside: bool) -> tuple[bytes, str, int]:
        # every audience but the members is outside the group: secret items are masked for it
        kept, masked = disclosure.minutes_content(ctx, content) if outside else (content, 0)
        kept, omitted = contentlib.for_audience(kept, omit)
        # a copy outside the group never says "Kommuniceras: Nej"; it differs only where a kept row says so
        published = outside and any(not r["communicate"] for r in kept["rows"])
        key = (omitted > 0, masked > 0, published)
        if key not in variants:
            variants[key] = _make_pdf(ctx, kept, version["version"], signing, signed_at, omitted, sealed, name,
                                      published)
        return variants[key]

    # Ask for every variant's PDF (and then its seal) in one round each, not one variant after another:
    # documents.run makes what all of them are waiting for between two runs of this step.
    waiting: list[documents.Job] = []
    for omit, outside in sorted({(a.omit_not_communicated, a.name != "members") for a in s.audiences}):
        try:
            variant(omit, outside)
        except documents.NotReady as wanted:
            waiting += wanted.jobs
    if waiting:
        raise documents.NotReady(waiting)

    deliveries = []
    for audience in s.audiences:
        pdf, sha, omitted = variant(audience.omit_not_communicated, audience.name != "members")
        deliveries.append(_deliver(ctx, meeting, version, audience, name, pdf, sha, omitted))

    carried = carry_over(ctx, meeting, content)
    closed = followups.mark_done(ctx, [f["id"] for f in content["followups"] if f["done"]], by=f"minutes {meeting}",
                                 note="")
    opened = followups.create(ctx, meeting, content["rows"])
    _mark_handled(ctx, meeting, content, {c["from_id"] for c in carried if c.get("from_id")})
    _notify_responsible(ctx, meeting, opened)
    common.transition(ctx, meeting, MinutesState.DISTRIBUTED, signed_at=iso(signed_at), distributed_at=iso(ctx.now))
    ctx.event(f"minutes: version {version['version']} signed and distributed", meeting=meeting, detail={
        "sha256": version["content_sha256"], "audiences": [d["audience"] for d in deliveries],
        "carried": carried, "followups": [followups.ref(f["id"]) for f in opened]})
    report_to = [m for m in ctx.chancellery()]
    secretary = ctx.config.member_by_address(content["secretary"]["email"])
    if secretary and secretary not in report_to:
        report_to.append(secretary)
    ctx.send("minutes_report", report_to, {
        "meeting": common.meeting_context(ctx, meeting, secretary), "version": version["version"],
        "deliveries": deliveries, "carried": carried, "sealed": sealed, "file": name,
        "seal_level": "B-LT" if s.long_term else "B-T" if s.seal_tsa_url else "B-B",
        "opened": [{"ref": followups.ref(f["id"]), "responsible": f["responsible"], "next_step": f["next_step"]}
                   for f in opened],
        "closed": [followups.ref(f["id"]) for f in closed],
        "signing": signing,
    }, kind="minutes-report", meeting=meeting)


def _make_pdf(ctx: Ctx, content: dict, number: int, signing: list[dict], signed_at: datetime, omitted: int,
              sealed: bool, name: str, published: bool) -> tuple[bytes, str, int]:
    context = common.document_context(ctx, content, version=number, signing=signing, signed_at=signed_at,
                                      omitted=omitted, sealed=sealed, published=published)
    docx = document.render(ctx.config.templates_dir, ctx.language, document.DOCUMENT, context)
    pdf = document.to_pdfa(ctx.store, docx, name.removesuffix(".pdf") + ".docx")
    if sealed:  # outside the transaction: a time-stamp service is a network call (seal.seal_job)
        pdf = documents.need(ctx.store, seal_job(pdf, cfg(ctx), at=ctx.now, location=ctx.config.group.organisation,
                                                 contact=ctx.config.group.address))
    return pdf, ctx.store.files.put(pdf), omitted


def _deliver(ctx: Ctx, meeting: str, version: dict, audience: Audience, name: str, pdf: bytes, sha: str,
             omitted: int) -> dict:
    """One audience's delivery; recorded in ``minutes_deliveries`` and the audit log."""
    record = {"meeting": meeting, "version": version["version"], "audience": audience.name, "pdf_sha256": sha,
              "omitted": omitted, "at": iso(ctx.now), "message_id": None}
    if audience.channel == "folder":
        path = _publish(Path(audience.folder), name, pdf)
        record.update(channel="folder", target=str(path))
    else:
        addresses = list(audience.addresses) if audience.addresses is not None else \
            [m.email for m in ctx.config.members]
        if not addresses:
            record.update(channel="skipped", target="no addresses configured", pdf_sha256=None)
        else:
            secretary = ctx.config.member_by_address(version["content"]["secretary"]["email"])
            record["message_id"] = ctx.send("minutes_signed", addresses, {
                "meeting": common.meeting_context(ctx, meeting, secretary), "audience": audience.name,
                "label": audience.label, "omitted": omitted, "file": name, "members": audience.name == "members",
                "signatories": [s["name"] for s in version["content"]["signatories"]],
            }, kind="minutes-signed", meeting=meeting, ref=f"minutes-signed:{meeting}:{audience.name}",
                attachments=[OutAttachment(name, pdf, "application/pdf")])
            record.update(channel="mail", target=json.dumps(addresses))
    ctx.store.db["minutes_deliveries"].insert(record)
    ctx.event(f"minutes delivered: {audience.label} ({record['channel']})", meeting=meeting,
              detail={"audience": audience.name, "target": record["target"], "omitted": omitted, "pdf": sha})
    return {"audience": audience.name, "label": audience.label, "channel": record["channel"],
            "target": record["target"] if record["channel"] != "mail" else ", ".join(json.loads(record["target"])),
            "omitted": omitted}


def _publish(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` atomically (a reader never sees half a file); the same name is replaced."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".klg-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / name)
    except OSError as exc:
        raise OSError(f"cannot write the signed minutes to {folder} ({exc.strerror}): check minutes.audiences folder "
                      "and that the klg user may write there") from None
    return folder / name


# --- what the minutes say happens next ---------------------------------------------------------


def carry_over(ctx: Ctx, meeting: str, content: dict) -> list[dict]:
    """Put every item that comes back on the meeting it names (see the module's doc)."""
    cal = calendar(ctx)
    lang = ctx.language
    out = []
    for r in content["rows"]:
        if not r.get("comes_back") or r["type"] == "standing":
            continue
        target = day(r["comes_back"])
        if cal.start(target) <= ctx.now:  # the named meeting started before the minutes were signed
            target = cal.upcoming_meeting(ctx.now)
        t = target.isoformat()
        late = int(cal.proposal_deadline(target) <= ctx.now)
        item = ctx.store.item(r["id"]) if r.get("id") else None
        if item and item["state"] == "planned" and item["meeting"] == meeting:
            items.plan(ctx, item["id"], t, source="minutes", origin="carried", late=bool(late), carried_from=meeting,
                       announce_it=False)
            item_id, moved = item["id"], True
        else:
            intro = (f"Återkommer från mötet {meeting}" if lang == "sv" else f"Comes back from the meeting on {meeting}")
            description = f"{intro} ({r['id'] or '§ ' + str(r['no'])})." + (f"\n{r['next_step']}" if r["next_step"] else "")
            owner = ctx.config.member_by_address(r.get("responsible_email") or "") or \
                ctx.config.member_by_address(content["secretary"]["email"])
            item_id = items.create(
                ctx, title=r["title"], description=description,
                presenter=r.get("responsible") or r.get("presenter") or content["secretary"]["name"],
                proposer=owner.email if owner else content["secretary"]["email"], meeting=t, origin="carried",
                source="minutes", minutes=item["minutes"] if item else None, kind=item["kind"] if item else None,
                late=bool(late), carried_from=meeting, announce_it=False)
            moved = False
        ctx.event(f"minutes: item comes back on {t}", item=item_id, meeting=t,
                  detail={"from": meeting, "row": r["no"], "moved": moved})
        items.announce(ctx, item_id, "carried", source="minutes")
        out.append({"item_id": item_id, "from_id": r["id"] if moved else None, "title": r["title"], "meeting": t,
                    "moved": moved})
    return out


def _mark_handled(ctx: Ctx, meeting: str, content: dict, carried: set[str]) -> None:
    """Items of the meeting that the minutes dealt with and that do not come back: state ``handled``."""
    for r in content["rows"]:
        if r.get("id") and r["id"] not in carried:
            item = ctx.store.item(r["id"])
            if item and item["state"] == "planned" and item["meeting"] == meeting:
                items.handled(ctx, r["id"])


def _notify_responsible(ctx: Ctx, meeting: str, opened: list[dict]) -> None:
    """Each responsible member gets one mail listing their new follow-ups; ``Klart`` closes them."""
    by_person: dict[str, list[dict]] = {}
    for f in opened:
        if f["responsible_email"]:
            by_person.setdefault(f["responsible_email"], []).append(f)
    for email, rows in by_person.items():
        member = ctx.config.member_by_address(email)
        ctx.send("minutes_followup", [email], {
            "meeting": common.meeting_context(ctx, meeting), "name": member.name if member else email,
            "followups": [{"ref": followups.ref(f["id"]), "title": f["title"], "next_step": f["next_step"],
                           "due": f["due"]} for f in rows],
        }, kind="minutes-followup", meeting=meeting, ref="followups:" + ",".join(str(f["id"]) for f in rows))
