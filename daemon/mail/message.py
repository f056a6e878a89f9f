"""Reading an incoming message into plain facts: who, what, which thread, the
text, the attachments, and whether it is a machine talking (auto-reply, bounce).

Made for the mail municipalities actually get: any charset (wrong ones too),
RFC 2047 headers, HTML-only bodies, nested multiparts, forwarded
``message/rfc822`` parts, Outlook ``winmail.dat`` (TNEF), S/MIME signatures.
Parsing never raises on bad input; what could not be read is listed in
``problems``.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import html2text

from daemon.files import safe_name

MAX_SUBJECT = 250
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MSGID = re.compile(r"<([^<>\s]+)>")
_MESSAGE_ID = re.compile(rb"<[^<>\s]+>")
AUTO_SUBJECTS = re.compile(
    r"^\s*(automatiskt svar|autosvar|frånvaro(meddelande)?|frånvarande|out of (the )?office|automatic reply|"
    r"auto[- ]?reply|autoreply|auto[- ]?response|abwesenheit|fraværende|poissa)\b",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|microsoftexchange[0-9a-f]*)@", re.IGNORECASE)


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    message_id: str
    has_message_id: bool
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: str | None = None
    bounce: bool = False
    bounce_refs: list[str] = field(default_factory=list)
    bounce_recipients: list[str] = field(default_factory=list)
    encrypted: bool = False
    size: int = 0
    problems: list[str] = field(default_factory=list)
    headers: Message | None = field(default=None, repr=False)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]

    def header(self, name: str) -> list[str]:
        return [clean_text(decode_value(v)) for v in (self.headers.get_all(name) or [])] if self.headers else []


def clean_text(text: str) -> str:
    """Drop control and bidi-override characters that have no place in a header or title."""
    return _CONTROL.sub("", text)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset if it works, else UTF-8, else Windows-1252."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate.strip().strip('"').lower())
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("cp1252", errors="replace")


def _unsurrogate(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates; turn them into text."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return decode_bytes(text.encode("utf-8", "surrogateescape"), None)
    return text


def decode_value(value) -> str:
    """A header value with RFC 2047 words decoded, tolerant of every mistake."""
    if value is None:
        return ""
    try:  # a Header object (raw 8-bit header) keeps its original bytes this way
        parts = decode_header(value if isinstance(value, Header) else _unsurrogate(str(value)))
    except Exception:
        return _unsurrogate(str(value))
    out = []
    for n, (chunk, charset) in enumerate(parts):
        text = decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk
        # decode_header drops the white space that began a folded line; RFC 2047 has white
        # space between plain text and an encoded word (dropped only between two encoded words)
        if n and (charset is None or parts[n - 1][1] is None) and text[:1].strip() and out[-1][-1:].strip():
            out.append(" ")
        out.append(text)
    return "".join(out)


def _header(msg: Message, name: str) -> str:
    try:
        return clean_text(decode_value(msg.get(name)))
    except Exception:
        return ""


def _ids(value: str) -> list[str]:
    return [m.lower() for m in _MSGID.findall(value or "")]


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body (links kept as text, images dropped)."""
    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_emphasis = True
    h.ignore_links = True
    h.unicode_snob = True
    try:
        return h.handle(html).strip()
    except Exception:
        return re.sub(r"<[^>]+>", " ", html)


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return data


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        name = part.get_param("name", header="content-type")
        if isinstance(name, tuple):
            name = decode_bytes(name[2].encode("latin-1", "replace") if isinstance(name[2], str) else name[2], name[0])
    return clean_text(decode_value(name)) if name else None


_EXT = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "text/calendar": "ics",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"}


# Large attachments: the email package's parser holds a message as text, as a
# list of its lines and as the joined body at once, about eight times the
# message's size. Runs of base64 lines longer than BLOB_MIN are therefore lifted
# out of the raw bytes before parsing (a token line stands in for each) and
# decoded straight from the raw bytes when their part is read.
BLOB_MIN = 256 * 1024
_B64_RUN = re.compile(rb"[A-Za-z0-9+/=\r\n]{%d,}" % BLOB_MIN)  # one character class: no backtracking memory


def lift_blobs(raw: bytes) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """(skeleton, blobs): ``raw`` with each long base64 run replaced by a token
    line, and where each token's bytes are in ``raw``."""
    if len(raw) < BLOB_MIN:
        return raw, {}
    nonce = os.urandom(6).hex()
    pieces: list[bytes] = []
    blobs: dict[str, tuple[int, int]] = {}
    last = 0
    for run in _B64_RUN.finditer(raw):
        start, end = run.span()
        if start and raw[start - 1:start] != b"\n":  # begun inside a line (a header's tail): from the next line
            start = raw.find(b"\n", start, end) + 1 or end
        while start < end and raw[start:start + 1] in (b"\r", b"\n"):  # not the blank line before a body
            start += 1
        end = raw.rfind(b"\n", start, end) + 1  # whole lines only
        if end - start < BLOB_MIN:
            continue
        token = f"KLGBLOB{nonce}N{len(blobs)}"
        newline = b"\r\n" if raw[end - 2:end] == b"\r\n" else b"\n"
        pieces += [raw[last:start], token.encode("ascii") + newline]
        blobs[token] = (start, end)
        last = end
    if not blobs:
        return raw, {}
    pieces.append(raw[last:])
    return b"".join(pieces), blobs


class _Walker:
    def __init__(self, mail: ParsedMail, raw: bytes = b"", blobs: dict[str, tuple[int, int]] | None = None):
        self.mail = mail
        self.plain: list[str] = []
        self.html: list[str] = []
        self.raw = raw
        self.blobs = blobs or {}

    def _restore(self, data: bytes) -> bytes:
        """``data`` with every token line replaced by the bytes it stands for."""
        if not self.blobs or b"KLGBLOB" not in data:
            return data
        for token, (start, end) in self.blobs.items():
            key = token.encode("ascii")
            at = data.find(key)
            if at >= 0:
                cut = data.find(b"\n", at)
                data = data[:at] + self.raw[start:end] + (data[cut + 1:] if cut >= 0 else b"")
        return data

    def _payload(self, part: Message) -> bytes:
        """The decoded payload of ``part``, reading lifted base64 from the raw bytes."""
        body = part.get_payload() if self.blobs and not part.is_multipart() else None
        if not isinstance(body, str) or "KLGBLOB" not in body:
            return _payload(part)
        cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        token = body.strip()
        if token in self.blobs and cte == "base64":
            start, end = self.blobs[token]
            try:
                return binascii.a2b_base64(memoryview(self.raw)[start:end])
            except binascii.Error:
                pass
        data = self._restore(body.encode("utf-8", "surrogateescape"))
        try:
            if cte == "base64":
                return binascii.a2b_base64(data)
            if cte == "quoted-printable":
                return quopri.decodestring(data)
        except (binascii.Error, ValueError):
            pass
        return data

    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > 20:
            self.mail.problems.append("the message nests more than 20 levels deep; the rest was not read")
            return
        ctype = part.get_content_type()
        if ctype == "multipart/report":
            self.mail.bounce = True
        if ctype in ("multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"):
            smime_type = (part.get_param("smime-type") or "").lower()
            if ctype == "multipart/encrypted" or smime_type in ("enveloped-data", "authenveloped-data", ""):
                self.mail.encrypted = True
                return
        if ctype == "message/delivery-status":
            self._delivery_status(part)
            return
        if part.is_multipart():
            if ctype == "message/rfc822":
                self._forwarded(part)
                return
            for sub in part.get_payload() or []:
                if isinstance(sub, Message):
                    self.walk(sub, depth + 1)
            return
        if ctype in ("application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"):
            return
        if ctype == "text/rfc822-headers":
            found = re.search(r"(?im)^message-id:\s*(.*)$", decode_bytes(self._payload(part), None))
            if found:
                self.mail.bounce_refs += _ids(found.group(1))
            return
        name = _filename(part)
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if ctype in ("application/ms-tnef", "application/vnd.ms-tnef") or (name or "").lower() == "winmail.dat":
            self._tnef(self._payload(part))
            return
        if ctype.startswith("text/") and ctype in ("text/plain", "text/html") and disposition != "attachment" and not name:
            text = decode_bytes(self._payload(part), part.get_content_charset())
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        if disposition == "inline" and part.get("Content-ID") and ctype.startswith("image/") and not (name and disposition == "attachment"):
            return  # pictures embedded in an HTML signature are not documents
        if not name:
            name = f"bilaga.{_EXT.get(ctype, 'bin')}"
        self.mail.attachments.append(Attachment(safe_name(name), ctype, self._payload(part)))

    def _forwarded(self, part: Message) -> None:
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if not isinstance(inner, Message):
            return
        subject = _header(inner, "Subject") or "vidarebefordrat"
        try:
            data = self._restore(inner.as_bytes(policy=policy.compat32))
        except Exception:
            data = self._restore(str(inner).encode("utf-8", "replace"))
        self.mail.attachments.append(Attachment(safe_name(subject[:80] + ".eml"), "message/rfc822", data))
        if self.mail.bounce:
            self.mail.bounce_refs += _ids(inner.get("Message-ID", ""))

    def _delivery_status(self, part: Message) -> None:
        if part.is_multipart():  # compat32 parses each status block as headers
            text = "\n\n".join("\n".join(f"{k}: {v}" for k, v in block.items()) for block in part.get_payload())
        else:
            text = decode_bytes(self._payload(part), None)
        for block in re.split(r"\n\s*\n", text):
            action = re.search(r"(?im)^action:\s*(\S+)", block)
            rcpt = re.search(r"(?im)^final-recipient:\s*[^;]*;\s*(\S+)", block)
            if action and rcpt and action.group(1).lower() == "failed":
                self.mail.bounce_recipients.append(rcpt.group(1).strip("<>").lower())

    def _tnef(self, data: bytes) -> None:
        try:
            from tnefparse import TNEF

            tnef = TNEF(data)
        except Exception as exc:  # unreadable winmail.dat: keep it, say so
            self.mail.problems.append(f"winmail.dat could not be unpacked ({type(exc).__name__})")
            self.mail.attachments.append(Attachment("winmail.dat", "application/ms-tnef", data))
            return
        for att in tnef.attachments:
            self.mail.attachments.append(Attachment(safe_name(_tnef_name(att)), "application/octet-stream", att.data or b""))
        body = getattr(tnef, "body", None)
        html = getattr(tnef, "htmlbody", None)
        if body:
            self.plain.append(body if isinstance(body, str) else decode_bytes(body, None))
        elif html:
            self.html.append(html if isinstance(html, str) else decode_bytes(html, None))


def _tnef_name(att) -> str:
    """tnefparse decodes names as UTF-8; Outlook writes them in the ANSI code page."""
    try:
        name = att.long_filename()
    except Exception:
        name = None
    if not name:
        raw = getattr(att, "_name", b"") or b""
        name = decode_bytes(raw.rstrip(b"\0"), "cp1252") if isinstance(raw, bytes) else str(raw)
    return name if isinstance(name, str) else decode_bytes(name, None)


def parse(raw: bytes) -> ParsedMail:
    """Read ``raw`` (RFC 5322 bytes) into a ParsedMail; never raises on bad mail."""
    skeleton, blobs = lift_blobs(raw)
    msg = message_from_bytes(skeleton, policy=policy.compat32)
    del skeleton
    problems = [f"header defect: {type(d).__name__}" for d in msg.defects][:5]
    ids = _ids(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@missing"  # of the real bytes
    name, sender = parseaddr(_header(msg, "From"))
    to = [a.lower() for _, a in getaddresses([_header(msg, "To")]) if "@" in a]
    cc = [a.lower() for _, a in getaddresses([_header(msg, "Cc")]) if "@" in a]
    try:
        date = parsedate_to_datetime(_header(msg, "Date"))
    except Exception:
        date = None
    subject = " ".join(_header(msg, "Subject").split())
    if len(subject) > MAX_SUBJECT:
        subject = subject[:MAX_SUBJECT].rstrip() + "…"
    mail = ParsedMail(
        message_id=message_id,
        has_message_id=bool(ids),
        sender=sender.strip().lower() if "@" in sender else "",
        sender_name=" ".join(clean_text(name).split()),
        to=to,
        cc=cc,
        subject=subject,
        date=date,
        in_reply_to=_ids(_header(msg, "In-Reply-To")),
        references=_ids(_header(msg, "References")),
        text="",
        size=len(raw),
        problems=problems,
        headers=msg,
    )
    walker = _Walker(mail, raw, blobs)
    try:
        walker.walk(msg)
    except Exception as exc:  # a structure nobody anticipated: keep what we have
        mail.problems.append(f"part of the message could not be read ({type(exc).__name__})")
    if walker.plain:
        mail.text = "\n\n".join(t.strip("\n") for t in walker.plain)
    elif walker.html:
        mail.text = html_to_text("\n".join(walker.html))
    mail.text = clean_text(mail.text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")).strip()
    mail.auto_reply = _auto_reply(msg, mail)
    if _is_bounce(msg, mail):
        mail.bounce = True
    return mail


def _auto_reply(msg: Message, mail: ParsedMail) -> str | None:
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-MS-Exchange-Inbox-Rules-Loop"):
        if msg.get(name) is not None:
            return name
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        return "mailing list"
    if AUTO_SUBJECTS.match(mail.subject):
        return f"subject: {mail.subject[:40]}"
    return None


def _is_bounce(msg: Message, mail: ParsedMail) -> bool:
    if mail.bounce:
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    if _header(msg, "Return-Path").strip() == "<>":
        return True
    return bool(BOUNCE_SENDERS.match(mail.sender or ""))


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID (with brackets) from the header of ``raw``, or None; reads
    only the header, so it is cheap on a large message."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw[: end if end >= 0 else 65536]
    value = BytesHeaderParser(policy=policy.compat32).parsebytes(head).get("Message-ID")
    found = _MESSAGE_ID.search(str(value).encode("utf-8", "surrogateescape")) if value else None
    return found.group(0).decode("utf-8", "replace") if found else None
