"""Sending: sendMail (MIME or JSON), drafts, attachments, upload sessions, and send.

Sources:
- [SEND]    "user: sendMail" (user-sendmail.md): ``Content-Type: text/plain`` with the base64 MIME, or JSON
            ``{"message": {...}, "saveToSentItems"}``; 202 Accepted with no body; the message is saved in
            Sent Items; a malformed MIME answers 400 ErrorMimeContentInvalidBase64String "Invalid base64
            string for MIME content."
- [DRAFT]   "Create message" (user-post-messages.md): JSON or base64 MIME (text/plain), 201 Created with
            the draft in Drafts; "message: send" (message-send.md): 202 Accepted, the draft goes to
            Sent Items; "Add attachment" (message-post-attachments.md): fileAttachment with contentBytes,
            201 Created.
- [UPLOAD]  "attachment: createUploadSession" and "Attach large files to Outlook messages or events"
            (outlook-large-attachments.md): body ``{"AttachmentItem": {attachmentType, name, size, ...}}``;
            201 with uploadUrl (pre-authenticated: no Authorization header), expirationDateTime,
            nextExpectedRanges ["0-"]; each PUT carries Content-Range ``bytes {start}-{end}/{total}``,
            bytes "in order", "up to 4 MB each time"; 200 with nextExpectedRanges ["<next byte>"] until
            the last, which answers 201 with a Location of the attachment and no body; DELETE cancels
            (204); below 3 MB the session is refused with ErrorAttachmentSizeShouldNotBeLessThanMinimumSize.
- [ONEDRIVE] "driveItem: createUploadSession": fragments must be a multiple of 320 KiB (327,680 bytes)
            except the last. The Outlook pages do not state this; the responder applies it because
            Microsoft's upload helpers use such slices and a client that keeps it cannot be refused for it.
- [G-ERR]   invalidRange with fragmentOverlap / fragmentOutOfOrder, invalidRequest with
            fragmentLengthMismatch / maxFragmentLengthExceeded, uploadSessionNotFound (errors.py).
- [CI]      At least one recipient isn't valid. (ErrorInvalidRecipients, as Exchange answers it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.policy
import re
import secrets
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from tests.graph.call import Call, Reply, iso
from tests.graph.errors import GraphError
from tests.graph.render import message_json
from tests.graph.store import Item, headers_of, recipients

MIN_SESSION = 3 * 1024 * 1024  # [UPLOAD] "between 3 MB and 150 MB"
MAX_SESSION = 150 * 1024 * 1024
MAX_FRAGMENT = 4 * 1024 * 1024  # [UPLOAD] "up to 4 MB each time"
FRAGMENT_UNIT = 320 * 1024  # [ONEDRIVE]


def _mime_body(call: Call) -> bytes:
    try:
        raw = base64.b64decode(b"".join(call.body.split()), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.strip():  # [SEND]
        raise GraphError(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
    return raw


def _is_mime(call: Call) -> bool:
    return call.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/plain"


def _address(value: dict | None) -> str:
    mail = (value or {}).get("emailAddress") or {}
    return formataddr((mail.get("name") or "", mail.get("address") or "")) if mail.get("address") else ""


def json_to_mime(message: dict, sender: str) -> bytes:
    """The MIME Exchange would make of a JSON message resource (the properties a client sets)."""
    msg = EmailMessage()
    msg["From"] = _address(message.get("from")) or sender
    for header, prop in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients"),
                         ("Reply-To", "replyTo")):
        values = [a for a in (_address(r) for r in message.get(prop) or []) if a]
        if values:
            msg[header] = ", ".join(values)
    msg["Subject"] = message.get("subject") or ""
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message.get("internetMessageId") or make_msgid(domain=sender.partition("@")[2] or None)
    for header in message.get("internetMessageHeaders") or []:
        msg[header["name"]] = header["value"]
    body = message.get("body") or {}
    msg.set_content(body.get("content") or "", subtype="html" if str(body.get("contentType")).lower() == "html" else "plain")
    for att in message.get("attachments") or []:
        _attach(msg, att.get("name") or "attachment", att.get("contentType"), base64.b64decode(att.get("contentBytes") or ""))
    return msg.as_bytes()


def _attach(msg: EmailMessage, name: str, content_type: str | None, data: bytes) -> None:
    maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
    msg.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=name)


def attach(raw: bytes, name: str, content_type: str | None, data: bytes) -> bytes:
    """``raw`` with one more attachment (made multipart/mixed if it was not)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    _attach(msg, name, content_type, data)
    return msg.as_bytes()


def _complete(raw: bytes, sender: str) -> bytes:
    """What the transport adds when the client left it out: From, Date, Message-ID (the body stays as sent)."""
    head = headers_of(raw)
    if not recipients(head):  # [CI]
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    eol = "\r\n" if b"\r\n" in raw[:2000] else "\n"  # the message's own line ending
    added = [f"{name}: {value}{eol}".encode() for name, value in (
        ("From", sender), ("Date", formatdate(usegmt=True)),
        ("Message-ID", make_msgid(domain=sender.partition("@")[2] or None))) if not head[name]]
    return b"".join(added) + raw


def _dispatch(call: Call, raw: bytes) -> Reply:
    """Deliver to every recipient, then answer 202 -- or, at an armed kill point, drop the connection."""
    call.responder.transport(raw)
    return Reply(202, None, drop=call.responder.take_kill())


def send_mail(call: Call) -> Reply:  # [SEND]
    save = True
    if _is_mime(call):
        raw = _mime_body(call)
    else:
        payload = call.json()
        if not isinstance(payload.get("message"), dict):
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
        raw = json_to_mime(payload["message"], call.store.address)
        save = str(payload.get("saveToSentItems", True)).lower() != "false"
    with call.store.lock:
        raw = _complete(raw, call.store.address)
        if save:
            call.store.well_known("sentitems").add(raw)
        return _dispatch(call, raw)


def create_message(call: Call) -> Reply:  # [DRAFT]
    raw = _mime_body(call) if _is_mime(call) else json_to_mime(call.json(), call.store.address)
    item = call.store.well_known("drafts").add(raw)
    return Reply(201, {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/messages/$entity",
                       **message_json(item)})


def _attachment_json(call: Call, item: Item, aid: str, name: str, content_type: str | None, size: int) -> dict:
    return {"@odata.context": f"{call.graph}/$metadata#users('{call.store.address}')/messages('{item.id}')/attachments/$entity",
            "@odata.type": "#microsoft.graph.fileAttachment", "id": aid, "lastModifiedDateTime": iso(dt.datetime.now()),
            "name": name, "contentType": content_type or "application/octet-stream", "size": size, "isInline": False}


def add_attachment(call: Call, ref: str) -> Reply:  # [DRAFT]
    body = call.json()
    if body.get("@odata.type") not in (None, "#microsoft.graph.fileAttachment", "microsoft.graph.fileAttachment"):
        raise GraphError(400, "ErrorInvalidRequest", "This replay takes file attachments only.")
    try:
        data = base64.b64decode(body.get("contentBytes") or "", validate=True)
    except (binascii.Error, ValueError):
        raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'ContentBytes' is not valid base64.") from None
    name = body.get("name") or "attachment"
    with call.store.lock:
        item = call.item(ref)
        item.replace(attach(item.raw, name, body.get("contentType"), data))
    return Reply(201, _attachment_json(call, item, "AAMkA" + uuid.uuid4().hex, name, body.get("contentType"), len(data)))


def send_draft(call: Call, ref: str) -> Reply:  # [DRAFT]
    with call.store.lock:
        item = call.item(ref)
        if item.folder.rel != call.store.well_known("drafts").rel:
            raise GraphError(400, "ErrorInvalidRequest", "Only a draft message can be sent; this message is not in Drafts.")
        raw = _complete(item.raw, call.store.address)
        item.replace(raw)
        item.move(call.store.well_known("sentitems"))
        return _dispatch(call, raw)


# -- upload sessions --

@dataclass
class Session:
    id: str
    token: str
    store: object  # the MailStore
    app_id: str
    message: str  # message id
    name: str
    content_type: str | None
    size: int
    expires: dt.datetime
    data: bytearray = field(default_factory=bytearray)


def create_upload_session(call: Call, ref: str) -> Reply:  # [UPLOAD]
    body = call.json()
    spec = next((v for k, v in body.items() if k.lower() == "attachmentitem"), None)
    if not isinstance(spec, dict) or not spec.get("name") or not isinstance(spec.get("size"), int):
        raise GraphError(400, "ErrorInvalidParameter", "The AttachmentItem must name the file and give its size in bytes.")
    if spec["size"] < MIN_SESSION:
        raise GraphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                         "Attachment size must be at least 3 MB for an upload session; post a smaller file as an attachment.")
    if spec["size"] > MAX_SESSION:
        raise GraphError(400, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize", "Attachment size must not exceed 150 MB.")
    item = call.item(ref)
    session = Session("AAMkA" + uuid.uuid4().hex, secrets.token_urlsafe(24), call.store, call.app_id, item.id,
                      spec["name"], spec.get("contentType"), spec["size"],
                      dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=6))
    call.responder.sessions[session.id] = session
    return Reply(201, {"@odata.context": f"{call.graph}/$metadata#microsoft.graph.uploadSession",
                       "uploadUrl": f"{call.base}/api/v2.0/Users('{call.store.address}')/Messages('{item.id}')"
                                    f"/AttachmentSessions('{session.id}')?authtoken={session.token}",
                       "expirationDateTime": iso(session.expires), "nextExpectedRanges": ["0-"]})


_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def upload(call: Call, session: Session) -> Reply:  # [UPLOAD], errors as [G-ERR]
    if call.method == "DELETE":
        call.responder.sessions.pop(session.id, None)
        return Reply(204, None)
    if call.headers.get("Authorization"):
        raise GraphError(401, "InvalidAuthenticationToken", "The upload URL is pre-authenticated: send the PUT "
                         "without an Authorization header.")
    match = _RANGE.match(call.headers.get("Content-Range", "").strip())
    if not match:
        raise GraphError(400, "invalidRequest", "The Content-Range header is missing or malformed; send "
                         "'bytes {start}-{end}/{total}'.")
    start, end, total = map(int, match.groups())
    if total != session.size:
        raise GraphError(400, "invalidRequest", "Declared total size for this fragment is different from that of the "
                         "upload session.", inner_code="fragmentLengthMismatch")
    if end < start or len(call.body) != end - start + 1:
        raise GraphError(400, "invalidRequest", "The fragment's length does not match its Content-Range.")
    if start != len(session.data):
        overlap = start < len(session.data)
        raise GraphError(416, "invalidRange", "Uploaded fragment overlaps with existing data." if overlap
                         else "Uploaded fragment is out of order.", inner_code="fragmentOverlap" if overlap else "fragmentOutOfOrder")
    if len(call.body) > MAX_FRAGMENT:
        raise GraphError(413, "invalidRequest", "The fragment is larger than the 4 MB an upload takes at a time.",
                         inner_code="maxFragmentLengthExceeded")
    last = end + 1 == total
    if not last and len(call.body) % FRAGMENT_UNIT:
        raise GraphError(400, "invalidRequest", "Fragments other than the last must be a multiple of 320 KiB "
                         "(327,680 bytes).")
    session.data.extend(call.body)
    if not last:
        return Reply(200, {"@odata.context": f"{call.base}/api/v2.0/$metadata#Users('{call.store.address}')/Messages"
                                             f"('{session.message}')/AttachmentSessions/$entity",
                           "expirationDateTime": iso(session.expires), "nextExpectedRanges": [str(len(session.data))]})
    with call.store.lock:
        item = call.item(session.message)
        item.replace(attach(item.raw, session.name, session.content_type, bytes(session.data)))
    call.responder.sessions.pop(session.id, None)
    aid = "AAMkA" + uuid.uuid4().hex
    return Reply(201, None, headers={"Location": f"{call.base}/api/v2.0/Users('{call.store.address}')/Messages"
                                                 f"('{session.message}')/Attachments('{aid}')"})
