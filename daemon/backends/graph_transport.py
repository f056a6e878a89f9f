"""Sending from the shared mailbox on Microsoft 365 through Graph.

The exact MIME klg built (its Message-ID, headers and body) is sent:

- up to ``SENDMAIL_LIMIT`` bytes once base64-encoded, in one ``sendMail``
  request (Graph refuses a request body over 4 MB with 413);
- above that, as a draft: the MIME without its large attachments is created in
  Drafts, each attachment of 3 MB or more is uploaded through an upload
  session in chunks under 4 MB (multiples of 320 KiB), smaller ones that still
  do not fit are posted one by one, and the draft is sent.

Graph saves every sent mail in Sent Items, which is how an interrupted attempt
is settled: if the answer to a send never came (the connection dropped), the
transport looks for the Message-ID there before it reports a temporary
failure; and after a crash between the request and the outbox's record,
``delivered`` looks there before the outbox sends again. A mail found is not
sent twice; a mail not found was not sent, and is sent again.

A 400 about the message itself (invalid recipients, bad MIME, too large) is a
:class:`PermanentFailure`; everything else (throttling beyond
``max_wait_seconds``, a permission still to be granted, the network) is a
:class:`TemporaryFailure` for the outbox to retry.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import logging
import time
from email.header import decode_header, make_header
from email.message import Message

from daemon.backends.envelope import with_bcc
from daemon.backends.graph_client import GraphClient
from daemon.backends.graph_errors import GraphError
from daemon.config import Backend
from daemon.mail import MailError, PermanentFailure, TemporaryFailure
from daemon.mail.message import message_id_of
from daemon.systemd import keepalive

log = logging.getLogger("klg.mail.graph")

# Graph's request limit is 4 MB (4,194,304 bytes) for the whole body; keep a margin below it.
SENDMAIL_LIMIT = 4 * 1024 * 1024 - 64 * 1024
SESSION_MIN = 3 * 1024 * 1024  # an upload session takes attachments of 3 MB to 150 MB
CHUNK = 10 * 320 * 1024  # 3,276,800 bytes: under 4 MB, a multiple of 320 KiB
# a JSON attachment carries its bytes in base64 (4/3) inside the 4 MB request
JSON_ATTACHMENT_MAX = 3_000_000
PERMANENT = {"ErrorInvalidRecipients", "ErrorMimeContentInvalidBase64String", "ErrorMessageSizeExceeded",
             "ErrorInvalidRecipientsAddress", "ErrorMimeContentConversionFailed"}
SENT_ITEMS_LOOKS = (0.0, 1.0, 3.0)  # seconds before each look for a lost answer's copy


class GraphTransport:
    """Sends through Graph as the shared mailbox; see the module docstring."""

    def __init__(self, backend_config: Backend):
        self.graph = GraphClient(backend_config.settings, "transport")
        self.address = backend_config.settings["mailbox"]

    # -- the Transport interface --

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """Send ``raw`` (recipients missing from its headers are added as Bcc). Returns []:
        Exchange reports refused recipients later, as bounces to the shared mailbox."""
        raw = with_bcc(raw, recipients)
        message_id = message_id_of(raw)
        try:
            encoded = base64.b64encode(raw)
            if len(encoded) <= SENDMAIL_LIMIT:
                self.graph.request("POST", "/sendMail", "sending a mail", content=encoded,
                                   headers={"Content-Type": "text/plain"})
            else:
                self._send_large(raw)
        except GraphError as exc:
            if exc.code in PERMANENT or exc.status == 413:
                raise PermanentFailure(f"Graph refused the message {message_id}: {exc}") from exc
            if exc.status == 0 and message_id and self._found_after_lost_answer(message_id):
                return []
            raise TemporaryFailure(str(exc)) from exc
        except MailError as exc:  # sign-in problems: the operator fixes them, the mail waits
            raise TemporaryFailure(str(exc)) from exc
        return []

    def delivered(self, message_id: str) -> bool | None:
        """After an interrupted attempt: True if Sent Items holds a mail with this
        Message-ID (Graph saved it when it took the mail), False if not."""
        return bool(self._find("sentitems", message_id))

    def _find(self, folder: str, message_id: str) -> list[dict]:
        wanted = f"<{message_id.strip().strip('<>')}>"
        rows, _ = self.graph.pages(f"/mailFolders/{folder}/messages", f"looking for {wanted} in {folder}",
                                   params={"$filter": f"internetMessageId eq '{wanted.replace(chr(39), chr(39) * 2)}'",
                                           "$select": "id,internetMessageId", "$top": "10"})
        return rows

    def check(self) -> None:
        """Sign in and open Sent Items, where the sent copies are looked for."""
        self.graph.json("GET", "/mailFolders/sentitems", "opening Sent Items", params={"$select": "id"})

    def close(self) -> None:
        """Close the connections; the next send opens new ones."""
        self.graph.close()

    # -- a lost answer --

    def _found_after_lost_answer(self, message_id: str) -> bool:
        """The request may have been carried out though its answer never came: look in Sent Items."""
        for pause in SENT_ITEMS_LOOKS:
            time.sleep(pause)
            try:
                if self.delivered(message_id):
                    log.info("graph: the answer to sending %s was lost, but it is in Sent Items: sent", message_id)
                    return True
            except MailError as exc:
                log.warning("graph: cannot look for %s in Sent Items: %s", message_id, exc)
                return False
        return False

    # -- a large mail: draft, attachments, send --

    def _send_large(self, raw: bytes) -> None:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
        big, small = _take_attachments(msg)
        message_id = message_id_of(raw)
        if message_id:  # the half-made draft of an interrupted attempt goes first
            for row in self._find("drafts", message_id):
                self.graph.request("DELETE", f"/messages/{row['id']}", "removing an unfinished draft", missing_ok=True)
        draft = self.graph.json("POST", "/messages", "creating a draft for a large mail",
                                content=base64.b64encode(msg.as_bytes(policy=email.policy.compat32)),
                                headers={"Content-Type": "text/plain"})
        try:
            self._complete_draft(draft["id"], big, small)
        except GraphError as exc:
            if exc.status == 0:  # the answer to the send may be lost: the draft may be sent; leave it be
                raise
            try:
                self.graph.request("DELETE", f"/messages/{draft['id']}", "removing an unfinished draft",
                                   missing_ok=True)
            except MailError as again:
                log.warning("graph: the unfinished draft of %s stays in Drafts: %s", message_id, again)
            raise

    def _complete_draft(self, mid: str, big: list, small: list) -> None:
        for name, content_type, data in small:
            self.graph.request("POST", f"/messages/{mid}/attachments", f"attaching {name!r}",
                               json={"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
                                     "contentType": content_type, "contentBytes": base64.b64encode(data).decode()})
        for name, content_type, data in big:
            self._upload(mid, name, content_type, data)
        self.graph.request("POST", f"/messages/{mid}/send", "sending a large mail")

    def _upload(self, mid: str, name: str, content_type: str, data: bytes) -> None:
        session = self.graph.json("POST", f"/messages/{mid}/attachments/createUploadSession",
                                  f"starting the upload of {name!r}",
                                  json={"AttachmentItem": {"attachmentType": "file", "name": name,
                                                           "size": len(data), "contentType": content_type}})
        url, total = session["uploadUrl"], len(data)
        start = 0
        while start < total:
            chunk = data[start:start + CHUNK]
            end = start + len(chunk) - 1
            response = self.graph.request("PUT", url, f"uploading {name!r}", content=chunk, auth=False,
                                          headers={"Content-Range": f"bytes {start}-{end}/{total}",
                                                   "Content-Type": "application/octet-stream"})
            start = end + 1
            keepalive()  # a 150 MB attachment is some fifty requests
            ranges = (response.json().get("nextExpectedRanges") if response is not None and response.content
                      else None)
            if ranges:  # the server says where it wants to go on (after a retried chunk, say)
                start = int(str(ranges[0]).split("-")[0])
        log.info("graph: uploaded %s (%d bytes) through an upload session", name, total)


def _take_attachments(msg: Message) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str, bytes]]]:
    """Take attachments out of ``msg`` until its base64 fits in a sendMail-sized request:
    every one of ``SESSION_MIN`` or more (for upload sessions), then smaller ones, largest
    first, while the rest is still too large. Returns (large, small) as (name, type, bytes)."""
    found = []
    for parent in msg.walk():
        if not parent.is_multipart():
            continue
        for part in parent.get_payload():
            if part.is_multipart() or part.get_content_disposition() != "attachment":
                continue
            data = part.get_payload(decode=True) or b""
            found.append((len(data), parent, part, data))
    big, small = [], []

    def take(parent: Message, part: Message, data: bytes, into: list) -> None:
        parent.set_payload([p for p in parent.get_payload() if p is not part])
        name = str(make_header(decode_header(part.get_filename() or "bilaga")))
        into.append((name, part.get_content_type(), data))

    for size, parent, part, data in found:
        if size >= SESSION_MIN:
            take(parent, part, data, big)
    for size, parent, part, data in sorted((f for f in found if f[0] < SESSION_MIN), key=lambda f: -f[0]):
        if len(msg.as_bytes(policy=email.policy.compat32)) * 4 // 3 <= SENDMAIL_LIMIT:
            break
        if size <= JSON_ATTACHMENT_MAX:
            take(parent, part, data, small)
    return big, small
