"""The MIME walker: a parsed message's parts into body text and attachments.

It walks with its own stack (no recursion), reads every part's headers raw
(8-bit and RFC 2231 file names included, as Apple Mail and others send them)
and decodes every payload itself. One part that cannot be read never costs
the others: it is kept as an attachment, exactly as it came in the mail
(its MIME headers and body, as ``<name>.eml``), marked ``unreadable`` so the
acknowledgement can say so. Nothing a part holds is dropped silently:

- text is decoded per part with its declared charset (``headers.decode_bytes``);
- the HTML body is used when the plain one is empty, and a body longer than
  the limits is also kept whole as a file;
- an inline image is kept unless the HTML shows it (a ``cid:`` reference);
- a part without a name is named from its type and content (``bilaga.pdf``);
- a forwarded mail is kept as ``<its whole subject>.eml``;
- parts nested deeper than ``Limits.max_depth`` are kept as one file, unread.
"""

from __future__ import annotations

import binascii
import mimetypes
import quopri
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message


from daemon.files import safe_name
from daemon.mail.blobs import Blobs
from daemon.mail.headers import decode_bytes, header_text, message_ids, params, raw_values
from daemon.mail.limits import Budget, LimitExceeded, Limits

ENCRYPTED = ("multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime")
SIGNATURES = ("application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature")
TNEF = ("application/ms-tnef", "application/vnd.ms-tnef")
_CTYPE = re.compile(r"[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+")
_CID = re.compile(r"cid:([^\"'\s>)]+)", re.IGNORECASE)
_B64_TEXT = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_MAGIC = ((b"%PDF", "pdf"), (b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"),
          (b"BEGIN:VCALENDAR", "ics"), (b"BEGIN:VCARD", "vcf"), (b"{\\rtf", "rtf"), (b"\xd0\xcf\x11\xe0", "doc"))
_OOXML = ((b"word/", "docx"), (b"xl/", "xlsx"), (b"ppt/", "pptx"))
_EXT = {"text/plain": "txt", "text/html": "html", "text/calendar": "ics", "message/rfc822": "eml", "message/global": "eml",
        "image/jpeg": "jpg", "application/octet-stream": "bin"}


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    unreadable: str | None = None  # why it could not be read (English); it is kept as it came
    label: str | None = None  # the name the mail gave it, when ``name`` is the kept file's
    # what was found out about the file already, by ``daemon.ahead`` in a second process
    # (``attachments.look``): "pages", "hostile"; whatever is missing is found out when asked
    known: dict = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body (links kept as text, images dropped)."""
    import html2text  # imported here, not at the top: start-up (issue 19)

    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_emphasis = True
    h.ignore_links = True
    h.unicode_snob = True
    try:
        return h.handle(html).strip()
    except LimitExceeded:
        raise
    except Exception:
        return re.sub(r"<[^>]+>", " ", html)


def default_name(content_type: str, data: bytes) -> str:
    """``bilaga.<ext>`` for a part the mail gave no name, from its content, else its type."""
    head = data[:16]
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return f"bilaga.{ext}"
    if head.startswith(b"PK\x03\x04"):
        window = data[:65536]
        return next((f"bilaga.{ext}" for mark, ext in _OOXML if mark in window), "bilaga.zip")
    ext = _EXT.get(content_type) or (mimetypes.guess_extension(content_type, strict=False) or ".bin").lstrip(".")
    return f"bilaga.{ext}"


class Walker:
    """Reads one parsed message; results land on ``mail`` (a ParsedMail)."""

    def __init__(self, mail, blobs: Blobs, limits: Limits, budget: Budget):
        self.mail = mail
        self.blobs = blobs
        self.limits = limits
        self.budget = budget
        self.plain: list[str] = []
        self.html: list[str] = []
        self.inline: list[tuple[str, Attachment]] = []
        self.decoded = 0

    # --- the walk --------------------------------------------------------------

    def walk(self, root: Message) -> None:
        stack = [(root, 0)]
        while stack:
            part, depth = stack.pop()
            self.budget.check()
            try:
                children = self._part(part, depth)
            except LimitExceeded:
                raise
            except Exception as exc:  # a part nobody anticipated: keep it as it came, go on with the rest
                self._keep_as_it_came(part, f"the part could not be read ({type(exc).__name__})")
                continue
            stack.extend((child, depth + 1) for child in reversed(children))
        self._finish()

    def _part(self, part: Message, depth: int) -> list[Message]:
        ctype, cparams = self._content_type(part)
        if depth > self.limits.max_depth:
            self._keep_as_it_came(part, f"the message nests more than {self.limits.max_depth} levels deep")
            return []
        if ctype == "multipart/report":
            kind = cparams.get("report-type", "").strip().lower()
            self.mail.report = self.mail.report or kind or "unknown"
        if ctype in ENCRYPTED:
            smime = cparams.get("smime-type", "").lower()
            if ctype == "multipart/encrypted" or smime in ("enveloped-data", "authenveloped-data", ""):
                self.mail.encrypted = True
                return []
        if ctype == "message/delivery-status":
            self._delivery_status(part)
            return []
        if ctype == "message/disposition-notification":
            self.mail.report = "disposition-notification"
            return []
        if part.is_multipart():
            if ctype.startswith("message/"):
                self._forwarded(part)
                return []
            return [sub for sub in part.get_payload() or [] if isinstance(sub, Message)]
        if ctype in SIGNATURES:
            return []
        disposition, dparams = params((raw_values(part, "Content-Disposition") or [""])[0])
        name = dparams.get("filename") or cparams.get("name")
        data, problem = self._payload(part)
        if problem:
            self._keep_as_it_came(part, problem, name)
            return []
        self._count(len(data))
        if ctype == "text/rfc822-headers":
            found = re.search(r"(?im)^message-id:\s*(.*)$", decode_bytes(data))
            self.mail.bounce_refs += message_ids(found.group(1)) if found else []
            return []
        if ctype in TNEF or (name or "").lower() == "winmail.dat":
            self._tnef(data)
            return []
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not name:
            text = decode_bytes(data, cparams.get("charset"))
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return []
        attachment = Attachment(safe_name(name or default_name(ctype, data)), ctype, data)
        cid = (raw_values(part, "Content-ID") or [""])[0].strip().strip("<>").lower()
        if ctype.startswith("image/") and cid and disposition != "attachment":
            self.inline.append((cid, attachment))  # kept unless the HTML shows it (decided in _finish)
        else:
            self.mail.attachments.append(attachment)
        return []

    def _finish(self) -> None:
        limits = self.limits
        plain = [t.strip("\n") for t in self.plain if t.strip()]
        html = "\n".join(self.html)
        if plain:
            text = "\n\n".join(plain)
            if len(text) > limits.max_text_chars:
                self._keep_text(text, "txt")
        elif html.strip():
            text = html_to_text(html[: limits.max_html_chars])
            if len(html) > limits.max_html_chars or len(text) > limits.max_text_chars:
                self._keep_text(html, "html")
        else:
            text = ""
        text = text[: limits.max_text_chars]
        self.mail.text = text
        shown = {m.strip("<>").lower() for m in _CID.findall(html)}
        self.mail.attachments += [att for cid, att in self.inline if cid not in shown]

    # --- reading parts ------------------------------------------------------------

    def _content_type(self, part: Message) -> tuple[str, dict[str, str]]:
        ctype, cparams = params((raw_values(part, "Content-Type") or [""])[0])
        if not _CTYPE.fullmatch(ctype):
            ctype = part.get_content_type()  # the parser's own reading (text/plain when it has none)
        return ctype, cparams

    def _payload(self, part: Message) -> tuple[bytes, str | None]:
        """(decoded bytes, None) or (b"", why it cannot be read)."""
        # the payload as parsed: get_payload() would replace 8-bit bytes by U+FFFD in the declared charset
        body = part._payload  # noqa: SLF001 (compat32 keeps raw bytes there as surrogate escapes)
        if not isinstance(body, str):
            return b"", "the part has no readable body"
        cte = (raw_values(part, "Content-Transfer-Encoding") or [""])[0].strip().lower()
        if cte == "base64" and body in self.blobs:
            data = self.blobs.base64(body)
            if data is not None:
                return data, None
        try:
            data = body.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            data = body.encode("utf-8", "surrogateescape")
        data = self.blobs.restore(data)
        if cte == "base64":
            return _base64(data)
        if cte == "quoted-printable":
            return quopri.decodestring(data), None
        if cte in ("", "7bit", "8bit", "binary"):
            return data, None
        if cte in ("x-uuencode", "uuencode", "x-uue"):
            return _uudecode(data)
        return b"", f"the transfer encoding {cte[:40]!r} is unknown"

    def _count(self, size: int) -> None:
        self.decoded += size
        if self.decoded > self.limits.max_decoded_bytes:
            raise LimitExceeded("size", f"the parts decode to more than {self.limits.max_decoded_bytes // (1024 * 1024)} MB")

    def _keep_as_it_came(self, part: Message, problem: str, name: str | None = None) -> None:
        """Keep ``part`` with its headers and body as they came, as ``<name>.eml``."""
        try:
            data = self.blobs.restore(part.as_bytes(policy=policy.compat32))
        except LimitExceeded:
            raise
        except Exception:
            payload = part._payload  # noqa: SLF001 (see _payload)
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        self._count(len(data))
        label = safe_name(name) if name else None
        self.mail.problems.append(f"{label or 'a part'}: {problem}; kept as it came")
        self.mail.attachments.append(Attachment(safe_name(f"{label or 'bilaga'}.eml"), "message/rfc822", data,
                                                unreadable=problem, label=label))

    def _keep_text(self, text: str, ext: str) -> None:
        self.mail.problems.append(f"the body text is longer than the limit; kept whole as meddelande.{ext}")
        data = text.encode("utf-8")
        self._count(len(data))
        self.mail.attachments.append(Attachment(f"meddelande.{ext}", f"text/{'plain' if ext == 'txt' else 'html'}", data))

    def _forwarded(self, part: Message) -> None:
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if not isinstance(inner, Message):
            return
        subject = header_text(inner, "Subject", 1000).replace("/", "-").replace("\\", "-") or "vidarebefordrat"
        data = self.blobs.restore(inner.as_bytes(policy=policy.compat32))
        self._count(len(data))
        self.mail.attachments.append(Attachment(safe_name(subject + ".eml"), "message/rfc822", data))
        if self.mail.report:
            self.mail.bounce_refs += message_ids((raw_values(inner, "Message-ID") or [""])[0])

    def _delivery_status(self, part: Message) -> None:
        if part.is_multipart():  # compat32 parses each status block as headers
            blocks = ["\n".join(f"{k}: {v}" for k, v in block.items()) for block in part.get_payload()
                      if isinstance(block, Message)]
        else:
            data, _ = self._payload(part)
            blocks = re.split(r"\n\s*\n", decode_bytes(data).replace("\r\n", "\n"))
        for block in blocks[:1000]:
            action = re.search(r"(?im)^action:\s*(\S+)", block)
            if not action or action.group(1).lower() != "failed":
                continue
            for field in ("final-recipient", "original-recipient"):
                rcpt = re.search(rf"(?im)^{field}:\s*[^;\n]*;\s*(\S+)", block)
                if rcpt:
                    self.mail.bounce_recipients.append(rcpt.group(1).strip("<>").lower())

    def _tnef(self, data: bytes) -> None:
        try:
            from tnefparse import TNEF  # only Outlook's winmail.dat needs it

            tnef = TNEF(data)
        except LimitExceeded:
            raise
        except Exception as exc:  # unreadable winmail.dat: keep it, say so
            self.mail.problems.append(f"winmail.dat could not be unpacked ({type(exc).__name__})")
            self.mail.attachments.append(Attachment("winmail.dat", "application/ms-tnef", data,
                                                    unreadable="winmail.dat could not be unpacked", label="winmail.dat"))
            return
        for att in tnef.attachments:
            content = att.data or b""
            self._count(len(content))
            self.mail.attachments.append(Attachment(safe_name(_tnef_name(att)), "application/octet-stream", content))
        body = getattr(tnef, "body", None)
        html = getattr(tnef, "htmlbody", None)
        if body:
            self.plain.append(body if isinstance(body, str) else decode_bytes(body))
        elif html:
            self.html.append(html if isinstance(html, str) else decode_bytes(html))


def _base64(data: bytes) -> tuple[bytes, str | None]:
    """Strict base64 (white space and missing padding forgiven); anything else cannot be read."""
    text = re.sub(rb"\s+", b"", data)
    if not _B64_TEXT.fullmatch(text) or len(text) % 4 == 1:
        return b"", "its base64 encoding is damaged"
    try:
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4)), None
    except binascii.Error:
        return b"", "its base64 encoding is damaged"


def _uudecode(data: bytes) -> tuple[bytes, str | None]:
    """uuencoded bytes (``begin 644 name`` … ``end``), as old clients send them."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    start = next((n for n, line in enumerate(lines) if line.startswith(b"begin ")), None)
    if start is None:
        return b"", "its uuencoding has no begin line"
    out = []
    for line in lines[start + 1:]:
        if line.strip() == b"end":
            return b"".join(out), None
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:  # padding after the data, as some encoders write (the old uu module's workaround)
            try:
                out.append(binascii.a2b_uu(line[:(((line[0] - 32) & 63) * 4 + 5) // 3]))
            except (binascii.Error, IndexError):
                return b"", "its uuencoding is damaged"
    return b"", "its uuencoding has no end line"


def _tnef_name(att) -> str:
    """tnefparse decodes names as UTF-8; Outlook writes them in the ANSI code page."""
    try:
        name = att.long_filename()
    except Exception:
        name = None
    if not name:
        raw = getattr(att, "_name", b"") or b""
        name = decode_bytes(raw.rstrip(b"\0"), "cp1252") if isinstance(raw, bytes) else str(raw)
    return name if isinstance(name, str) else decode_bytes(name)

