"""What goes into a meeting's archive package, read from the store (no writing).

For one meeting: the agenda as it was sent to the members (the PDF of the
newest final version), the signed minutes (the full version, as the members
got it), every document of every item on that agenda (the written
procedure's compilation among them, marked as such), the events of the audit
log that an archive keeps (received, registered, sent, approved, signed,
compiled, distributed) and the metadata: group, organisation, meeting date,
each item's case number and its secrecy markings in force (public records).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from daemon import audit
from daemon.config import Config
from daemon.store import Store


# The audit log's texts (daemon/*: ctx.event) an archive keeps, as PREMIS event types.
EVENT_TYPES = (
    (re.compile(r"^proposal received"), ("received", "registered")),
    (re.compile(r"^agenda: (final agenda|update|draft) sent"), ("sent",)),
    (re.compile(r"^(agenda|minutes): version \d+ approved"), ("approved",)),
    (re.compile(r"^minutes: version \d+ signed and distributed"), ("signed",)),
    (re.compile(r"^minutes delivered: .*\((mail|folder)\)$"), ("distributed",)),  # not "(skipped)"
    (re.compile(r"^written procedure compiled"), ("compiled",)),
)


class NothingToArchive(Exception):
    """The meeting has no signed minutes (or no agenda) yet; the message says which and what to do."""


@dataclass(frozen=True)
class Document:
    role: str  # agenda | minutes | item | compilation
    name: str  # the file name in the package
    data: bytes
    mimetype: str
    created: datetime
    item: str | None = None  # the item's id, for an item's document


@dataclass(frozen=True)
class Event:
    id: str  # unique in the package: "event-<audit id>-<type>"
    type: str
    at: datetime
    detail: str
    actor: str
    objects: tuple[str, ...]  # names of documents it concerns


@dataclass(frozen=True)
class Marking:
    provision: str  # "OSL 39 kap. 3 §"
    document: str | None  # the document's name in the package; None: the whole item


@dataclass(frozen=True)
class ItemInfo:
    id: str
    title: str
    case_number: str | None
    secrecy: tuple[Marking, ...] = ()


@dataclass
class Package:
    meeting: str
    group: str
    short: str
    organisation: str
    language: str
    documents: list[Document] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    items: list[ItemInfo] = field(default_factory=list)
    submission_agreement: str | None = None  # [archive] submission_agreement
    reference_code: str | None = None  # [archive] reference_code

    @property
    def restricted(self) -> list[ItemInfo]:
        return [i for i in self.items if i.secrecy]


def _markings(store: Store, item_id: str) -> list[dict]:
    """The item's secrecy markings in force (public records, migration 0013)."""
    return store.all("SELECT * FROM secrecy WHERE item_id = ? AND lifted_at IS NULL ORDER BY id", [item_id])


def _safe(name: str) -> str:
    """A file name that is a file name on every system an archive may use."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .")
    return name or "dokument"


def gather(store: Store, config: Config, meeting: str) -> Package:
    """The package's contents for ``meeting`` (YYYY-MM-DD); NothingToArchive when it is not done yet."""
    g = config.group
    sv = g.language == "sv"
    agenda = store.one("SELECT * FROM agenda_versions WHERE meeting = ? AND final_sent_at IS NOT NULL "
                       "ORDER BY version DESC LIMIT 1", [meeting])
    signed = store.one("SELECT * FROM minutes_deliveries WHERE meeting = ? AND pdf_sha256 IS NOT NULL "
                       "ORDER BY omitted, version DESC, id LIMIT 1", [meeting])
    if agenda is None or not agenda["pdf_sha256"]:
        raise NothingToArchive(f"the meeting {meeting} has no final agenda sent to the members; "
                               "an archive package is made after the meeting's minutes are signed")
    if signed is None:
        raise NothingToArchive(f"the minutes of {meeting} are not signed and distributed yet; "
                               "the package is made when they are (or run klg archive again then)")
    pkg = Package(meeting=meeting, group=g.name, short=g.short, organisation=g.organisation, language=g.language)
    agenda_name = f"{'Dagordning' if sv else 'Agenda'} {g.short} {meeting}.pdf"
    minutes_name = f"{'Minnesanteckningar' if sv else 'Minutes'} {g.short} {meeting}.pdf"
    pkg.documents.append(Document("agenda", agenda_name, store.files.get(agenda["pdf_sha256"]), "application/pdf",
                                  datetime.fromisoformat(agenda["final_sent_at"])))
    pkg.documents.append(Document("minutes", minutes_name, store.files.get(signed["pdf_sha256"]), "application/pdf",
                                  datetime.fromisoformat(signed["at"])))

    compilations = {r["compilation_attachment"] for r in store.all(
        "SELECT compilation_attachment FROM circulations WHERE compilation_attachment IS NOT NULL")}
    seen: set[str] = set()
    for row in json.loads(agenda["rows"]):
        item_id = row.get("id")
        if not item_id or item_id in seen:
            continue
        seen.add(item_id)
        item = store.item(item_id)
        if item is None:
            continue
        names = {}
        for a in store.attachments(item_id):
            role = "compilation" if a["id"] in compilations else "item"
            names[a["name"]] = f"{item_id}/{_safe(a['name'])}"
            pkg.documents.append(Document(role, names[a["name"]], store.files.get(a["sha256"]),
                                          a["content_type"] or "application/octet-stream",
                                          datetime.fromisoformat(a["added_at"]), item=item_id))
        markings = tuple(Marking(m["provision"], names.get(m["attachment_name"]) if m["attachment_name"] else None)
                         for m in _markings(store, item_id)
                         if not m["attachment_name"] or m["attachment_name"] in names)
        pkg.items.append(ItemInfo(item_id, item["title"], _text(item.get("case_number")),
                                  markings))
    pkg.events = _events(store, meeting, pkg)
    return pkg


def _text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _events(store: Store, meeting: str, pkg: Package) -> list[Event]:
    by_item = {d.item: [] for d in pkg.documents if d.item}
    for d in pkg.documents:
        if d.item:
            by_item[d.item].append(d.name)
    agenda = [d.name for d in pkg.documents if d.role == "agenda"]
    minutes = [d.name for d in pkg.documents if d.role == "minutes"]
    items = {i.id for i in pkg.items}
    out: list[Event] = []
    for row in audit.query(store, meeting=meeting):
        if row["item_id"] and row["item_id"] not in items:
            continue
        for pattern, types in EVENT_TYPES:
            if not pattern.search(row["what"]):
                continue
            if row["item_id"]:
                objects = tuple(by_item.get(row["item_id"], ()))
            else:
                objects = tuple(minutes if row["what"].startswith("minutes") else agenda)
            for t in types:
                out.append(Event(f"event-{row['id']}-{t}", t, datetime.fromisoformat(row["at"]),
                                 row["what"] + (f" ({row['item_id']})" if row["item_id"] else ""), row["actor"],
                                 objects))
            break
    return out
