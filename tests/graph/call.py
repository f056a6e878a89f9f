"""One Graph request as the handlers see it, and their reply."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from tests.graph.errors import GraphError, malformed_id, not_found
from tests.graph.store import Folder, Item, MailStore

if TYPE_CHECKING:
    from tests.graph_responder import GraphResponder


@dataclass
class Reply:
    """What a handler answers. ``drop`` closes the connection instead of answering (a kill point)."""

    status: int
    body: bytes | dict | None = None
    content_type: str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass
class Call:
    method: str
    path: str  # the URL path as sent, without the query
    query: dict[str, str]
    headers: Message
    body: bytes
    base: str  # https://host:port, from the Host header, so links point back here
    responder: "GraphResponder"
    store: MailStore | None = None
    app_id: str = ""

    @property
    def graph(self) -> str:
        return f"{self.base}/v1.0"

    @property
    def user(self) -> str:
        return f"{self.graph}/users/{self.store.address}"

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header "
                             "is set and payload is of valid JSON format.") from None
        if not isinstance(value, dict):
            raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
        return value

    def folder(self, ref: str) -> Folder:
        try:
            folder = self.store.folder(ref)
        except ValueError:
            raise malformed_id() from None
        if folder is None:
            raise not_found()
        return folder

    def item(self, ref: str) -> Item:
        try:
            item = self.store.item(ref)
        except ValueError:
            raise malformed_id() from None
        if item is None:
            raise not_found()
        return item

    def link(self, path: str, **params: str) -> str:
        """An absolute link to ``path`` below the user (e.g. for @odata.nextLink)."""
        query = urlencode(params, quote_via=quote, safe="$'(),") if params else ""
        return f"{self.user}/{path}" + (f"?{query}" if query else "")


def iso(value: dt.datetime) -> str:
    """Graph's DateTimeOffset form: 2026-11-30T09:01:00Z."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+('(?:[^']|'')*'|\S+)\s*$", re.IGNORECASE)


def parse_filter(text: str, fields: set[str]) -> list[tuple[str, str, str]]:
    """``$filter`` as (field lower-cased, operator, value) clauses joined by 'and'; the few forms
    this replay knows. Anything else gets Exchange's 400 ErrorInvalidUrlQueryFilter."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE) if text.strip() else []:
        match = _CLAUSE.match(part)
        if not match or match.group(1).lower() not in fields:
            raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
        value = match.group(3)
        value = value[1:-1].replace("''", "'") if value.startswith("'") else value
        clauses.append((match.group(1).lower(), match.group(2).lower(), value))
    return clauses


def compare(left: Any, op: str, right: Any) -> bool:
    return {"eq": left == right, "ne": left != right, "ge": left >= right, "gt": left > right,
            "le": left <= right, "lt": left < right}[op]


def page_size(call: Call, default: int = 10, most: int = 1000) -> int:
    """$top, else a ``Prefer: odata.maxpagesize=N``, else Graph's default page of 10."""
    prefer = re.search(r"odata\.maxpagesize=(\d+)", call.headers.get("Prefer", ""))
    value = call.query.get("$top") or (prefer.group(1) if prefer else None)
    try:
        return min(max(int(value), 1), most) if value else default
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid $top value '{value}'.") from None
