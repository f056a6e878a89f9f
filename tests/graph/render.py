"""The JSON of a mailFolder and of a message, made from the Maildir and the MIME in it.

Sources:
- [MF]   "mailFolder resource type" and "List childFolders" (mailfolder-list-childfolders.md): id,
         displayName, parentFolderId, childFolderCount, unreadItemCount, totalItemCount, isHidden.
- [MSG]  "message: move" response example (message-move.md): the full message object, property by
         property (@odata.etag W/"...", id, createdDateTime, ..., internetMessageId, subject,
         bodyPreview, parentFolderId, isRead, isDraft, body {contentType, content}, sender, from,
         toRecipients, ccRecipients, bccRecipients, replyTo, flag). ``$select`` keeps the named
         properties and always ``id`` ("The id property is always returned", message-delta.md).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import re
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import quote

from tests.graph.call import iso
from tests.graph.store import Folder, Item

_BODY_FIELDS = {"body", "bodypreview", "hasattachments", "uniquebody"}


def folder_json(folder: Folder) -> dict:
    """[MF]"""
    items = folder.items()
    parent = folder.parent
    return {"id": folder.id, "displayName": folder.name,
            "parentFolderId": (parent or folder).id, "childFolderCount": len(folder.children()),
            "unreadItemCount": sum(1 for i in items if "S" not in _flags(i)), "totalItemCount": len(items),
            "sizeInBytes": sum(i.file.stat().st_size for i in items), "isHidden": False}


def _flags(item: Item) -> str:
    return item.file.name.partition(":2,")[2]


def _recipients(msg: EmailMessage, header: str) -> list[dict]:
    return [{"emailAddress": {"name": name or addr, "address": addr}}
            for name, addr in getaddresses([str(v) for v in msg.get_all(header, [])]) if addr]


def _text(msg: EmailMessage) -> tuple[str, str]:
    """(contentType "html" or "text", content) of the body Outlook would show."""
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "text", ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: show the bytes as Latin-1, as a lenient client does
        content = (part.get_payload(decode=True) or b"").decode("latin-1")
    return ("html" if part.get_content_type() == "text/html" else "text"), content


def _preview(kind: str, content: str) -> str:
    text = re.sub(r"<[^>]+>", " ", content) if kind == "html" else content
    return re.sub(r"\s+", " ", text).strip()[:255]


def message_json(item: Item, select: list[str] | None = None) -> dict:
    """[MSG] for ``item``, with only the ``select``ed properties (and id) when a $select was given."""
    wanted = {s.strip().lower() for s in select} if select else None
    raw = item.raw
    full = wanted is None or bool(wanted & _BODY_FIELDS)
    msg = (email.message_from_bytes(raw, policy=email.policy.default) if full
           else BytesHeaderParser(policy=email.policy.default).parsebytes(raw))
    received = iso(item.received)
    try:
        sent = iso(parsedate_to_datetime(str(msg["Date"]))) if msg["Date"] else received
    except (TypeError, ValueError):
        sent = received
    change = base64.b64encode(hashlib.sha1(raw).digest()[:16]).decode()
    mid = str(msg["Message-ID"] or "").strip()
    root = str(msg["References"] or "").split()[:1] or [mid]
    props = {"@odata.etag": f'W/"{change}"', "id": item.id, "createdDateTime": received,
             "lastModifiedDateTime": received, "changeKey": change, "categories": [],
             "receivedDateTime": received, "sentDateTime": sent, "internetMessageId": mid,
             "subject": str(msg["Subject"] or ""), "importance": "normal", "parentFolderId": item.folder.id,
             "conversationId": "AAQkA" + base64.urlsafe_b64encode(hashlib.sha1(root[0].encode()).digest()).decode(),
             "isDeliveryReceiptRequested": None, "isReadReceiptRequested": False, "isRead": "S" in _flags(item),
             "isDraft": item.folder.rel == item.folder.store.well_known("drafts").rel,
             "webLink": f"https://outlook.office365.com/owa/?ItemID={quote(item.id, safe='')}&exvsurl=1&viewmodel=ReadMessageItem",
             "inferenceClassification": "focused",
             "sender": (_recipients(msg, "Sender") or _recipients(msg, "From") or [None])[0],
             "from": (_recipients(msg, "From") or [None])[0],
             "toRecipients": _recipients(msg, "To"), "ccRecipients": _recipients(msg, "Cc"),
             "bccRecipients": _recipients(msg, "Bcc"), "replyTo": _recipients(msg, "Reply-To"),
             "flag": {"flagStatus": "notFlagged"}}
    if full:
        kind, content = _text(msg)
        props["hasAttachments"] = any(True for _ in msg.iter_attachments())
        props["bodyPreview"] = _preview(kind, content)
        props["body"] = {"contentType": kind, "content": content}
    if wanted is None:
        return props
    lower = {k.lower(): k for k in props}
    return {"@odata.etag": props["@odata.etag"], "id": item.id,
            **{lower[w]: props[lower[w]] for w in wanted if w in lower and w != "id"}}
