"""Building the RFC 5322 bytes of a mail the daemon sends.

Every mail says it is automatic (``Auto-Submitted: auto-generated``,
``X-Auto-Response-Suppress: All``) so well-behaved servers do not answer it
with out-of-office notes, and mail loops die at the first hop.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.contentmanager import _encode_text
from email.header import Header
from email.headerregistry import Address, _default_header_map
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache

# What a mail to send is lives in daemon.mail.outgoing, so that what only queues or counts
# does not load the email package (start-up, issue 19).
from daemon.mail.outgoing import Outgoing

_HEADER_UNSAFE = re.compile(r"[\r\n\x00-\x1f\x7f]+")
_LINE_END = re.compile(r"\r\n|\r|\n")  # as email.generator.NLCRE


class _Policy(EmailPolicy):
    """SMTP's policy, except that klg folds the Subject itself. The standard folder
    (3.11) drops or moves the space between two encoded words (readers saw
    "Riktlinjer  förtjänsteresor") and may break the line right after "Subject:",
    which a reader's client shows as a leading space. Here a subject with
    non-ASCII words goes through ``email.header.Header``, which keeps every space
    inside the encoded words, and a plain one is folded only at its own spaces;
    either way unfolding gives back exactly the subject that was set."""

    def _subject(self, name: str, value) -> str | None:
        text = str(value)
        if name.lower() != "subject":
            return None
        if not text.isascii():
            encoded = Header(text, "utf-8", maxlinelen=self.max_line_length, header_name=name).encode(
                linesep=self.linesep)
            return f"{name}: {encoded}{self.linesep}"
        lines = [f"{name}:"]
        for word in text.split(" "):
            if lines[-1] != f"{name}:" and len(lines[-1]) + 1 + len(word) > self.max_line_length:
                lines.append("")  # the fold: CRLF before the space, which unfolding keeps
            lines[-1] += f" {word}"
        return self.linesep.join(lines) + self.linesep

    def fold(self, name, value):
        return self._subject(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._subject(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


SMTP = _Policy(linesep="\r\n")


def header_safe(text: str) -> str:
    """One line of header text: no CR/LF or control characters (no header injection)."""
    return " ".join(_HEADER_UNSAFE.sub(" ", text or "").split())


def build(out: Outgoing, *, sender: str, sender_name: str, message_id: str, date: datetime) -> bytes:
    """The full message bytes (CRLF line ends) for ``out``."""
    if not out.attachments:
        fast = _plain(out, sender, sender_name, message_id, date)
        if fast is not None:
            return fast
    return _build(out, sender=sender, sender_name=sender_name, message_id=message_id, date=date)


# --- the plain mail (an acknowledgement, a notice) without EmailMessage (issue 19) ---------------
#
# EmailMessage parses every header it is given into a tree and folds it again, and its
# generator copies the body twice; for intake's acknowledgements that was a third of the
# time of a message. A mail without attachments is written here straight from its parts,
# byte for byte what _build writes (tests/test_compose_fast.py compares them): the address
# headers are rendered by the email package once per distinct value and kept, the Subject
# by klg's own folder, the other headers only when they are short ASCII (which the email
# package writes unchanged), the body encoded by the email package's own function. Anything
# else goes the long way.

_PLAIN_MAX = 78  # SMTP.max_line_length: a longer header line is folded, a longer body line encoded
_STRUCTURED = frozenset(_default_header_map)  # headers the email package parses and writes anew
_KNOWN = ("Date", "Message-ID")  # structured, but written back as given when given this way (compared in the tests)


def _header_bytes(name: str, value: str | Address) -> bytes:
    """One header exactly as the email package writes it."""
    msg = EmailMessage(policy=SMTP)
    msg[name] = value
    return msg.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n"


@lru_cache(maxsize=512)
def _address_line(name: str, value: str) -> bytes:
    """One address header (To, Cc), rendered once per distinct value."""
    return _header_bytes(name, value)


def _from_value(sender: str, sender_name: str) -> Address:
    user, _, domain = sender.partition("@")
    return Address(header_safe(sender_name), user, domain)


@lru_cache(maxsize=64)
def _from_line(sender: str, sender_name: str) -> bytes:
    # cached by its parts: an Address is not hashable
    return _header_bytes("From", _from_value(sender, sender_name))


def _simple_headers(out: Outgoing, message_id: str, date: datetime) -> list[tuple[str, str]]:
    """The headers after the Subject, in order, as both builders write them."""
    headers = [("Date", format_datetime(date)), ("Message-ID", f"<{message_id}>")]
    if out.in_reply_to:
        refs = [r for r in out.references if r != out.in_reply_to][-10:] + [out.in_reply_to]
        headers += [("In-Reply-To", f"<{out.in_reply_to}>"), ("References", " ".join(f"<{r}>" for r in refs))]
    headers += [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")]
    return headers + [(name, header_safe(value)) for name, value in out.extra_headers.items()]


def _short(name: str, value: str) -> bytes | None:
    line = f"{name}: {value}"
    if len(line) > _PLAIN_MAX or not line.isascii():
        return None
    return line.encode("ascii") + b"\r\n"


def _plain(out: Outgoing, sender: str, sender_name: str, message_id: str, date: datetime) -> bytes | None:
    """The bytes of ``out`` (no attachments) as ``_build`` writes them, or None when it is not this simple."""
    lines = [_from_line(sender, sender_name), _address_line("To", ", ".join(out.to))]
    if out.cc:
        lines.append(_address_line("Cc", ", ".join(out.cc)))
    lines.append(SMTP._subject("Subject", header_safe(out.subject)).encode("ascii"))
    for name, value in _simple_headers(out, message_id, date):
        line = _short(name, value)
        if line is None or not value or (name.lower() in _STRUCTURED and name not in _KNOWN):
            return None
        lines.append(line)
    # the email package's own choice and encoding of the body (7bit, 8bit, quoted-printable or
    # base64), written as its generator writes it: every line end a CRLF
    cte, payload = _encode_text(out.body, "utf-8", None, SMTP)
    lines.append(b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: %s\r\n'
                 b"MIME-Version: 1.0\r\n\r\n" % cte.encode("ascii"))
    lines.append(_LINE_END.sub("\r\n", payload).encode("ascii", "surrogateescape"))
    return b"".join(lines)


def _build(out: Outgoing, *, sender: str, sender_name: str, message_id: str, date: datetime) -> bytes:
    """The full message bytes by way of EmailMessage: any mail, attachments and all."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _from_value(sender, sender_name)
    msg["To"] = ", ".join(out.to)
    if out.cc:
        msg["Cc"] = ", ".join(out.cc)
    msg["Subject"] = header_safe(out.subject)
    for name, value in _simple_headers(out, message_id, date):
        msg[name] = value
    msg.set_content(out.body, charset="utf-8")
    for att in out.attachments:
        main, sub = att.mime()
        if main == "text" and sub == "calendar":  # the part's method must match the METHOD inside
            found = re.search(rb"^METHOD:([A-Za-z-]+)", att.data, re.MULTILINE)
            method = found[1].decode().upper() if found else "REQUEST"
            msg.add_attachment(att.data, maintype=main, subtype=sub, filename=att.name, params={"method": method})
        else:
            msg.add_attachment(att.data, maintype=main, subtype=sub, filename=att.name)
    return msg.as_bytes()
