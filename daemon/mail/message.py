"""Reading an incoming message into plain facts: who, what, which thread, the
text, the attachments, and whether a machine is talking (auto-reply, bounce,
read receipt).

Made for the mail municipalities actually get: any charset (wrong ones too),
RFC 2047 headers, HTML-only bodies, nested multiparts, forwarded
``message/rfc822`` parts, Outlook ``winmail.dat`` (TNEF), S/MIME signatures,
and for mail written to hurt. Reading is bounded (``limits``): the header is
checked before anything is parsed, the body before the email package sees it,
and a message over a limit is not read further (``over_limit``; intake
quarantines it). What could not be read is listed in ``problems`` and kept as
an attachment marked ``unreadable``. The pieces:

- ``headers``: charsets, RFC 2047 and 2231, raw header values;
- ``addresses``: the one From mailbox, read strictly;
- ``limits``: the limits and the time budget;
- ``blobs``: large base64 attachments decoded from the raw bytes;
- ``walker``: the MIME walk;
- ``machine``: auto-replies, delivery reports, read receipts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from daemon.mail import machine
from daemon.mail.addresses import address_list, parse_from
from daemon.mail.blobs import BLOB_MIN, Blobs, lift_blobs
from daemon.mail.headers import (MESSAGE_ID, clean_text, decode_bytes, decode_value, decode_words, header_text,
                                 message_ids, params, raw_values)
from daemon.mail.limits import Budget, LimitExceeded, Limits, check_body, check_header, header_end
from daemon.mail.walker import Attachment, Walker, html_to_text

__all__ = ["Attachment", "BLOB_MIN", "LimitExceeded", "Limits", "ParsedMail", "clean_text", "decode_bytes",
           "decode_value", "fallback_id", "header_summary", "html_to_text", "lift_blobs", "message_id_of", "parse"]

MAX_SUBJECT = 250
MAX_REFERENCES = 50  # a thread is found by the nearest ids; RFC 5322 lets a client trim the middle too
_RAW_MSGID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<%s>)" % MESSAGE_ID.encode(), re.IGNORECASE | re.MULTILINE)


@dataclass
class ParsedMail:
    message_id: str
    has_message_id: bool
    sender: str  # the one From addr-spec, lowercased; "" when there is none or it was refused
    sender_name: str
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: str | None = None  # a strong sign that a machine wrote it: never answered
    maybe_automatic: str | None = None  # a weak sign (a person's client can write it too)
    bounce: bool = False  # a delivery report
    receipt: bool = False  # a read receipt (MDN): not a delivery failure
    report: str | None = None  # the report-type of a multipart/report
    bounce_refs: list[str] = field(default_factory=list)
    bounce_recipients: list[str] = field(default_factory=list)
    encrypted: bool = False
    size: int = 0
    problems: list[str] = field(default_factory=list)
    headers: Message | None = field(default=None, repr=False)
    sender_problem: str | None = None  # why the From field was refused (ambiguous sender)
    raw_from: str = ""  # the From field as written, for the log and the chancellery's list
    over_limit: LimitExceeded | None = None  # the body was not read: the limit it went over

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]

    def header(self, name: str) -> list[str]:
        """Every ``name`` header, RFC 2047 decoded and cleaned."""
        return [clean_text(decode_words(v)) for v in raw_values(self.headers, name)]

    def raw_header(self, name: str) -> list[str]:
        """Every ``name`` header as written (unfolded, not RFC 2047 decoded), top first."""
        return raw_values(self.headers, name)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID (with brackets, as written) from the header of ``raw``, or
    None; a byte scan of the header only, so it is cheap and never fails."""
    found = _RAW_MSGID.search(raw, 0, header_end(raw))
    return found.group(1).decode("ascii") if found else None


def fallback_id(raw: bytes) -> str:
    """The Message-ID klg records for ``raw``: its own (lowercased, no brackets),
    else one made from the SHA-256 of the bytes, so a redelivery is still known."""
    found = message_id_of(raw)
    return found[1:-1].lower() if found else f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@missing"


def header_summary(raw: bytes) -> ParsedMail:
    """What a message's first 64 KB of header say (Message-ID, the strict sender,
    the subject), for the record of a message that could not be read; never raises."""
    mail = ParsedMail(message_id=fallback_id(raw), has_message_id=message_id_of(raw) is not None, sender="",
                      sender_name="", to=[], cc=[], subject="", date=None, in_reply_to=[], references=[], text="",
                      size=len(raw))
    try:
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:min(header_end(raw), 65536)])
        sender = parse_from(raw_values(head, "From"))
        mail.sender, mail.sender_problem = sender.address, sender.problem
        mail.subject = header_text(head, "Subject", 1000)[:MAX_SUBJECT]
    except Exception:  # the record must be written whatever the header holds
        pass
    return mail


def parse(raw: bytes, limits: Limits | None = None, budget: Budget | None = None) -> ParsedMail:
    """Read ``raw`` (RFC 5322 bytes) into a ParsedMail. Raises ``LimitExceeded``
    only when the header itself is over a limit or the time budget is spent;
    a body over a limit is left unread and named in ``over_limit``."""
    limits = limits or Limits()
    budget = budget or Budget(limits.seconds)
    check_header(raw, limits)
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:header_end(raw)])
    budget.check()
    own_id = message_id_of(raw)
    sender = parse_from(raw_values(head, "From"))
    try:
        date = parsedate_to_datetime(header_text(head, "Date", 200))
    except Exception:
        date = None
    subject = header_text(head, "Subject")
    if len(subject) > MAX_SUBJECT:
        subject = subject[:MAX_SUBJECT].rstrip() + "…"
    references = message_ids(" ".join(raw_values(head, "References")))
    mail = ParsedMail(
        message_id=fallback_id(raw),
        has_message_id=own_id is not None,
        sender=sender.address,
        sender_name=sender.name,
        to=address_list(raw_values(head, "To")),
        cc=address_list(raw_values(head, "Cc")),
        subject=subject,
        date=date,
        in_reply_to=message_ids(" ".join(raw_values(head, "In-Reply-To")))[:MAX_REFERENCES],
        references=references[:1] + references[1:][-(MAX_REFERENCES - 1):],
        text="",
        size=len(raw),
        problems=[f"header defect: {type(d).__name__}" for d in head.defects][:5],
        headers=head,
        sender_problem=sender.problem,
        raw_from=clean_text(" ".join(raw_values(head, "From")))[:300],
    )
    root_type, root_params = params((raw_values(head, "Content-Type") or [""])[0])
    if root_type == "multipart/report":
        mail.report = root_params.get("report-type", "").strip().lower() or "unknown"
    if len(raw) <= limits.max_message_bytes:  # a larger one is answered "too large" from its header alone
        _read_body(raw, mail, limits, budget)
    mail.text = clean_text(mail.text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")).strip()
    mail.auto_reply = machine.strong_sign(head, subject)
    mail.maybe_automatic = None if mail.auto_reply else machine.weak_sign(head, subject)
    mail.receipt = mail.report == "disposition-notification"
    mail.bounce = not mail.receipt and (mail.report is not None or machine.null_sender(head)
                                        or machine.bounce_sender(mail.sender))
    return mail


def _read_body(raw: bytes, mail: ParsedMail, limits: Limits, budget: Budget) -> None:
    try:
        skeleton, blobs = lift_blobs(raw)
        check_body(skeleton, limits)
        msg = message_from_bytes(skeleton, policy=policy.compat32)
        del skeleton
        budget.check()
        Walker(mail, Blobs(raw, blobs), limits, budget).walk(msg)
    except LimitExceeded as exc:
        if exc.what == "time":
            raise
        mail.over_limit = exc
        mail.attachments, mail.text = [], ""
        mail.problems.append(str(exc))
