"""Graph's mail folder and message endpoints: read, list, page, filter, move, delta, $value.

Sources:
- [MF-GET]   "Get mailFolder", "List childFolders", "Create child folder" (mailfolder-*.md): 200 with
             the folder, ``value`` collections, 201 Created for a new folder; a name that exists answers
             409 ErrorFolderExists "A folder with the specified name already exists."
- [LIST]     "List messages" (user-list-messages.md): pages of 10 by default, ``$top``, ``$skip`` in the
             ``@odata.nextLink``, ``$select``, ``$orderby=receivedDateTime [asc|desc]``, ``$filter`` (here:
             internetMessageId eq '<...>', receivedDateTime ge/gt/le/lt, subject eq).
- [VALUE]    "Get MIME content of a message": GET .../messages/{id}/$value returns the MIME as sent.
- [DELETE]   "Delete message" (message-delete.md): DELETE .../messages/{id}, 204 No Content.
- [MOVE]     "message: move" (message-move.md): body ``destinationId`` (an id or a well-known name);
             201 Created with the message, which has a new id in the destination.
- [DELTA]    "message: delta" (message-delta.md) and "Get incremental changes to messages in a folder"
             (delta-query-messages.md): pages by each request's ``Prefer: odata.maxpagesize``, ``@odata.nextLink`` with a
             $skiptoken until the last page, which has an ``@odata.deltaLink`` with a $deltatoken; the next
             round from that link returns only changes; removed messages as ``{"id", "@removed":
             {"reason": "deleted"}}``; ``changeType=created|updated|deleted``; ``$filter`` on
             receivedDateTime ge/gt only. Links use the ``mailfolders('{id}')`` form of the examples.
- [RESET]    "Use delta query" (delta-query-overview.md): an expired token answers a 40X with code
             syncStateNotFound; a synchronization reset is 410 Gone with a Location to start over.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass

from tests.graph.call import Call, Reply, compare, page_size, parse_filter
from tests.graph.errors import GraphError
from tests.graph.render import folder_json, message_json
from tests.graph.store import Folder, Item


def get_folder(call: Call, ref: str) -> Reply:  # [MF-GET]
    folder = call.folder(ref)
    return Reply(200, {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/mailFolders/$entity",
                       **folder_json(folder)})


def list_folders(call: Call, ref: str = "msgfolderroot") -> Reply:  # [MF-GET]
    folders = call.folder(ref).children()
    for field, op, value in parse_filter(call.query.get("$filter", ""), {"displayname"}):
        folders = [f for f in folders if compare(f.name.casefold(), op, value.casefold())]
    return _page(call, [folder_json(f) for f in folders], "mailFolders")


def create_folder(call: Call, ref: str) -> Reply:  # [MF-GET]
    parent = call.folder(ref)
    name = str(call.json().get("displayName") or "").strip()
    if not name:
        raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DisplayName' is empty.")
    with call.store.lock:
        if parent.child(name) is not None:
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder = parent.create_child(name)
    return Reply(201, {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/mailFolders('{parent.id}')"
                                         "/childFolders/$entity", **folder_json(folder)})


def _filtered(items: list[Item], text: str) -> list[Item]:
    fields = {"internetmessageid", "receiveddatetime", "subject"}
    for field, op, value in parse_filter(text, fields):
        if field == "receiveddatetime":
            try:
                when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise GraphError(400, "BadRequest", f"The DateTimeOffset value '{value}' is not valid.") from None
            items = [i for i in items if compare(i.received, op, when)]
        else:
            header = "Message-ID" if field == "internetmessageid" else "Subject"
            items = [i for i in items if compare(str(i.message[header] or "").strip(), op, value)]
    return items


def list_messages(call: Call, ref: str | None = None) -> Reply:  # [LIST]
    items = call.folder(ref).items() if ref else call.store.all_items()
    items = _filtered(items, call.query.get("$filter", ""))
    order = call.query.get("$orderby", "").strip().lower()
    if order not in ("", "receiveddatetime", "receiveddatetime asc", "receiveddatetime desc"):
        raise GraphError(400, "BadRequest", f"The $orderby '{order}' is not supported by this replay.")
    if order.endswith("desc") or not order:  # Outlook lists newest first unless asked otherwise
        items = list(reversed(items))
    select = _select(call)
    path = f"mailFolders/{ref}/messages" if ref else "messages"
    return _page(call, [message_json(i, select) for i in items], path)


def _select(call: Call) -> list[str] | None:
    text = call.query.get("$select", "")
    return [s for s in text.split(",") if s.strip()] or None


def _page(call: Call, rows: list[dict], path: str) -> Reply:
    size = page_size(call)
    try:
        skip = int(call.query.get("$skip", "0"))
    except ValueError:
        raise GraphError(400, "BadRequest", "Invalid $skip value.") from None
    body = {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/{path}", "value": rows[skip:skip + size]}
    if skip + size < len(rows):
        params = {k: v for k, v in call.query.items() if k not in ("$skip", "$top")}
        body["@odata.nextLink"] = call.link(path, **params, **{"$top": str(size), "$skip": str(skip + size)})
    return Reply(200, body)


def get_message(call: Call, ref: str) -> Reply:
    item = call.item(ref)
    return Reply(200, {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/messages/$entity",
                       **message_json(item, _select(call))})


def get_value(call: Call, ref: str) -> Reply:  # [VALUE]
    return Reply(200, call.item(ref).raw, content_type="text/plain")


def delete_message(call: Call, ref: str) -> Reply:  # [DELETE]
    with call.store.lock:
        call.item(ref).file.unlink()
    return Reply(204, None)


def move(call: Call, ref: str) -> Reply:  # [MOVE]
    destination = str(call.json().get("destinationId") or "")
    with call.store.lock:
        item = call.item(ref)
        target = call.folder(destination) if destination else None
        if target is None or not target.rel:
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DestinationId' is not valid.")
        moved = item.move(target)
    return Reply(201, {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/messages/$entity",
                       "@odata.type": "#microsoft.graph.message", **message_json(moved)})


# -- delta --

@dataclass(frozen=True)
class Query:
    """What a round of change tracking asks for; the state tokens carry it on ([DELTA])."""

    select: tuple[str, ...] | None
    change_type: str
    filter: str


@dataclass(frozen=True)
class Round:
    """One round in a folder: the changes it reports, and the ids in the folder when it began."""

    folder: str
    changes: tuple[tuple[str, str], ...]  # ("add", id) or ("remove", id)
    snapshot: frozenset[str]
    query: Query


class DeltaTokens:
    """The responder's delta state: $skiptoken -> (round, page offset); $deltatoken -> round ended."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pages: dict[str, tuple[Round, int]] = {}
        self.ends: dict[str, Round] = {}

    def forget(self) -> None:
        """Drop every token, as the delta token cache does when it overflows ([RESET])."""
        with self.lock:
            self.pages.clear()
            self.ends.clear()

    def page(self, round_: Round, offset: int) -> str:
        with self.lock:
            token = uuid.uuid4().hex
            self.pages[token] = (round_, offset)
            return token

    def end(self, round_: Round) -> str:
        with self.lock:
            token = uuid.uuid4().hex
            self.ends[token] = round_
            return token


def delta(call: Call, ref: str) -> Reply:  # [DELTA]
    tokens: DeltaTokens = call.responder.delta_tokens
    folder = call.folder(ref)
    if "$skiptoken" in call.query:
        found = tokens.pages.get(call.query["$skiptoken"])
        if found is None or found[0].folder != folder.id:
            raise _reset(call, folder)
        round_, offset = found
    elif "$deltatoken" in call.query:
        ended = tokens.ends.get(call.query["$deltatoken"])
        if ended is None or ended.folder != folder.id:
            raise _reset(call, folder)
        round_, offset = _start(folder, ended.snapshot, ended.query), 0
    else:
        select = _select(call)
        query = Query(tuple(select) if select else None, call.query.get("changeType", ""), call.query.get("$filter", ""))
        round_, offset = _start(folder, frozenset(), query), 0
    size = page_size(call)  # each request's own Prefer: odata.maxpagesize, as in the examples
    rows = []
    for kind, mid in round_.changes[offset:offset + size]:
        if kind == "remove":
            rows.append({"@odata.type": "#microsoft.graph.message", "id": mid, "@removed": {"reason": "deleted"}})
        elif (item := call.store.item(mid)) is not None:  # gone since the round began: reported next round
            select = list(round_.query.select) if round_.query.select else None
            rows.append({"@odata.type": "#microsoft.graph.message", **message_json(item, select)})
    body = {"@odata.context": f"{call.graph}/$metadata#Collection(message)", "value": rows}
    link = f"{call.user}/mailfolders('{folder.id}')/messages/delta"
    if offset + size < len(round_.changes):
        body["@odata.nextLink"] = f"{link}?$skiptoken={tokens.page(round_, offset + size)}"
    else:
        body["@odata.deltaLink"] = f"{link}?$deltatoken={tokens.end(round_)}"
    return Reply(200, body, headers={"Preference-Applied": f"odata.maxpagesize={size}"})


def _start(folder: Folder, since: frozenset[str], query: Query) -> Round:
    everything = folder.items()
    now = frozenset(i.id for i in everything)
    items = _filtered(everything, query.filter)
    added = [("add", i.id) for i in items if i.id not in since] if query.change_type in ("", "created") else []
    removed = [("remove", mid) for mid in sorted(since - now)] if query.change_type in ("", "deleted") else []
    return Round(folder.id, tuple(added + removed), now, query)


def _reset(call: Call, folder: Folder) -> GraphError:  # [RESET]
    return GraphError(410, "syncStateNotFound", "The sync state generation is not found. The delta token is expired "
                      "and data must be synchronized again.",
                      headers={"Location": f"{call.user}/mailfolders('{folder.id}')/messages/delta"})
