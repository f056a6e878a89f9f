"""``klg records export --meeting DATE [--out FILE.zip]``: what a public-records
request for one meeting needs, in one zip.

In it: every agenda version as sent (or, where it names a secret item or
document, a public version made from the same rows), the items' documents,
the written procedure's compilations, the signed minutes as they went outside
the group, a list of the mails in and out (from the record of mail the daemon
keeps), and ``index.txt`` naming every file with its SHA-256 and every part
withheld under secrecy and why. What is left in or out is decided by
:func:`daemon.records.disclosure.outside`, as for every audience outside the group.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from daemon import files as fileslib
from daemon import hooks
from daemon.context import Ctx
from daemon.errors import UsageError
from daemon.files import safe_name
from daemon.records import disclosure, secrecy
from daemon.store import Store, from_iso
from daemon.texts import plural

# render(ctx, meeting, rows, version) -> the agenda .docx for ``rows``. The agenda is a workflow above the
# records, so the registry (daemon.workflows) puts its renderer in daemon.hooks at start-up.
AgendaRenderer = Callable[[Ctx, date, list[dict], int], bytes]
agenda_renderer: list[AgendaRenderer] = hooks.agenda_renderer

WORDS = {
    "sv": {"agendas": "dagordningar", "documents": "handlingar", "compilations": "sammanstallningar",
           "minutes": "minnesanteckningar", "mail": "post.csv", "public": "offentlig version",
           "title": "Utlämnade handlingar", "withheld": "Inte utlämnat (sekretess) eller saknas",
           "as_sent": "dagordning version {n} som den skickades", "book": "mötesboken (innehåller sekretessbelagda handlingar)",
           "no_minutes": "justerade minnesanteckningar i offentlig version finns inte (inte utskickade utanför gruppen)",
           "compilation": "sammanställning för sekretessbelagt ärende {id}", "files": "Filer"},
    "en": {"agendas": "agendas", "documents": "documents", "compilations": "compilations", "minutes": "minutes",
           "mail": "mail.csv", "public": "public version", "title": "Records handed out",
           "withheld": "Not handed out (secrecy) or missing", "as_sent": "agenda version {n} as sent",
           "book": "the meeting book (contains secret documents)",
           "no_minutes": "no public version of the signed minutes exists (not sent outside the group)",
           "compilation": "compilation for secret item {id}", "files": "Files"},
}


def _sent_versions(ctx: Ctx, meeting: str) -> list[dict]:
    rows = ctx.store.all("SELECT * FROM agenda_versions WHERE meeting = ? AND final_sent_at IS NOT NULL "
                         "ORDER BY version", [meeting])
    for r in rows:
        r["rows"] = json.loads(r["rows"])
    return rows


def _item_ids(ctx: Ctx, meeting: str, versions: list[dict]) -> list[str]:
    ids: list[str] = []
    for v in versions:
        ids += [r["id"] for r in v["rows"] if r.get("type") == "item" and r.get("id")]
    ids += [r["id"] for r in ctx.store.all("SELECT id FROM items WHERE meeting = ? ORDER BY position, id", [meeting])]
    ids += [r["item_id"] for r in ctx.store.all("SELECT item_id FROM circulations WHERE meeting = ?", [meeting])]
    return list(dict.fromkeys(ids))


def build(ctx: Ctx, meeting: str, render_agenda: AgendaRenderer) -> tuple[bytes, dict]:
    """The zip for ``meeting`` and its index as a dict (``files``: name → sha256, ``withheld``: lines)."""
    w = WORDS[ctx.language]
    files: dict[str, bytes] = {}
    withheld: list[str] = []
    versions = _sent_versions(ctx, meeting)
    item_ids = _item_ids(ctx, meeting, versions)
    secret_titles = {}
    for item_id in item_ids:
        d = disclosure.outside(ctx, item_id)
        if d.secret:
            secret_titles[item_id] = ctx.store.item(item_id)["title"]

    for v in versions:
        n = v["version"]
        touched = any(secrecy.any_secret(ctx.store, r.get("id")) for r in v["rows"] if r.get("type") == "item")
        if not touched:
            files[f"{w['agendas']}/v{n}.docx"] = ctx.store.files.get(v["final_docx_sha256"])
            if v["pdf_sha256"]:
                files[f"{w['agendas']}/v{n}.pdf"] = ctx.store.files.get(v["pdf_sha256"])
            if v["book_sha256"]:
                files[f"{w['agendas']}/v{n} book.pdf"] = ctx.store.files.get(v["book_sha256"])
            continue
        public = disclosure.agenda_rows(ctx, v["rows"])
        files[f"{w['agendas']}/v{n} ({w['public']}).docx"] = render_agenda(ctx, date.fromisoformat(meeting), public, n)
        withheld.append(f"{w['as_sent'].format(n=n)}; {w['book']}")

    for item_id in item_ids:
        visible, held = disclosure.documents(ctx, item_id)
        for a in visible:
            files[f"{w['documents']}/{item_id}/{safe_name(a['name'])}"] = ctx.store.files.get(a["sha256"])
        withheld += [f"{item_id}: {line}" for line in held]

    for c in ctx.store.all("SELECT * FROM circulations WHERE meeting = ? AND compilation_attachment IS NOT NULL",
                           [meeting]):
        a = ctx.store.one("SELECT * FROM attachments WHERE id = ?", [c["compilation_attachment"]])
        if a is None:
            continue
        if disclosure.outside(ctx, c["item_id"]).secret:
            withheld.append(w["compilation"].format(id=c["item_id"]))
            continue
        files[f"{w['compilations']}/{c['item_id']} {safe_name(a['name'])}"] = ctx.store.files.get(a["sha256"])

    minutes = ctx.store.one("SELECT * FROM minutes_deliveries WHERE meeting = ? AND audience != 'members' "
                            "AND pdf_sha256 IS NOT NULL ORDER BY omitted, version DESC, id LIMIT 1", [meeting])
    if minutes:
        files[f"{w['minutes']}/{meeting}.pdf"] = ctx.store.files.get(minutes["pdf_sha256"])
    else:
        withheld.append(w["no_minutes"])

    files[w["mail"]] = _mail_list(ctx, meeting, item_ids, secret_titles)
    index = {"meeting": meeting, "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
             "withheld": withheld}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.txt", _index_text(ctx, index))
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue(), index


def _masked(subject: str, item_id: str | None, secret_titles: dict[str, str], language: str) -> str:
    if item_id in secret_titles or any(t and t in subject for t in secret_titles.values()):
        return f"[{item_id or '…'}] {disclosure.SECRET_TITLE[language]}"
    return subject


def _mail_list(ctx: Ctx, meeting: str, item_ids: list[str], secret_titles: dict[str, str]) -> bytes:
    """Every mail in and out about the meeting or its items, oldest first, secret subjects masked."""
    marks = ",".join("?" * len(item_ids)) or "NULL"
    rows = [("in", r["received_at"], r["sender"] or "", r["subject"] or "", r["item_id"], r["classification"])
            for r in ctx.store.all(f"SELECT * FROM messages_in WHERE item_id IN ({marks}) ORDER BY id", item_ids)]
    rows += [("out", r["created_at"], ", ".join(json.loads(r["recipients"])), r["subject"], r["item_id"], r["kind"])
             for r in ctx.store.all(f"SELECT * FROM outbox WHERE meeting = ? OR item_id IN ({marks}) ORDER BY id",
                                    [meeting, *item_ids])]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["direction", "at", "who", "subject", "item", "kind"])
    for direction, at, who, subject, item_id, kind in sorted(rows, key=lambda r: r[1]):
        writer.writerow([direction, at, who, _masked(subject, item_id, secret_titles, ctx.language), item_id or "",
                         kind])
    return out.getvalue().encode("utf-8")


def _index_text(ctx: Ctx, index: dict) -> str:
    w = WORDS[ctx.language]
    lines = [f"{w['title']}: {ctx.config.group.name}, {index['meeting']}", "", f"{w['files']}:"]
    lines += [f"  {sha}  {name}" for name, sha in index["files"].items()]
    lines += ["", f"{w['withheld']}:"] + ([f"  {line}" for line in index["withheld"]] or ["  –"])
    return "\n".join(lines) + "\n"


def add_cli(sub: argparse._SubParsersAction) -> None:
    """Register ``klg records export`` with the command line."""
    p = sub.add_parser("records", help="public records: hand out what a request for a meeting needs")
    inner = p.add_subparsers(dest="records_command", required=True)
    e = inner.add_parser("export", help="a zip of a meeting's records, secret parts withheld and listed")
    e.add_argument("--meeting", required=True, help="the meeting, YYYY-MM-DD")
    e.add_argument("--out", help="the zip to write (default: <data>/exports/records <date>.zip)")
    e.set_defaults(handler=cmd_export)


def cmd_export(config, args, now=None) -> int:
    """``klg records export --meeting DATE [--out FILE.zip]``."""
    try:
        meeting = date.fromisoformat(args.meeting.strip()).isoformat()
    except ValueError:
        raise UsageError(f"--meeting {args.meeting!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01") from None
    store = Store(config.data_dir)
    try:
        if not store.one("SELECT date FROM meetings WHERE date = ?", [meeting]):
            raise UsageError(f"there is no meeting {meeting} in {config.data_dir}; see `klg status` for the meetings")
        # nothing is written; ``now`` only dates the context: the newest thing the store recorded
        last = store.one("SELECT MAX(at) AS at FROM events")
        ctx = Ctx(config, store, now or from_iso(last["at"]))
        data, index = build(ctx, meeting, agenda_renderer[0])
    finally:
        store.close()
    out = Path(args.out) if args.out else config.data_dir / "exports" / f"records {meeting}.zip"
    fileslib.publish(out.parent, out.name, data)
    counted = plural(len(index["files"]), "file", "files", "en")
    sys.stdout.write(f"{out}: {counted}, {len(index['withheld'])} withheld\n")
    return 0
