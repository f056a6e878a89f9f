"""A mail the daemon is to send, before it gets its bytes (``daemon.mail.compose``
builds them): its recipients, text and attachments. Apart from the builder so
that the steps and status that only name or count mail do not import the email
package (start-up, issue 19)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class OutAttachment:
    """A file attached to a mail klg sends."""

    name: str
    data: bytes
    content_type: str | None = None

    def mime(self) -> tuple[str, str]:
        import mimetypes  # imported here, not at the top: start-up (issue 19)

        ctype = self.content_type or mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        if ctype == "application/ms-tnef":
            ctype = "application/octet-stream"
        main, _, sub = ctype.partition("/")
        return main, sub or "octet-stream"


@dataclass
class Outgoing:
    """A mail to send, before it gets its bytes."""

    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    attachments: list[OutAttachment] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"  # Word documents, sent and recognised


# every attachment goes out base64-encoded, in lines of 76 characters plus CRLF,
# with a MIME part header of its own: a size limit on the mail must count that
PART_OVERHEAD = 500


def encoded_size(size: int) -> int:
    """The bytes an attachment of ``size`` bytes takes in the mail (base64 grows it by 4/3)."""
    chars = 4 * ((size + 2) // 3)
    return chars + 2 * ((chars + 75) // 76) + PART_OVERHEAD


def new_message_id(domain: str) -> str:
    return f"klg.{os.urandom(16).hex()}@{domain}"  # as random as uuid4().hex, without uuid's import of platform
