"""The envelope in the headers, for backends whose server takes the recipients
from the MIME (Exchange's CreateItem, Graph's sendMail) rather than from an
SMTP envelope."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils


def with_bcc(raw: bytes, recipients: list[str]) -> bytes:
    """``raw`` with a Bcc header for envelope recipients its To/Cc/Bcc do not name
    (the server delivers to the MIME's recipients). Unchanged in the usual case."""
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    named = {addr.lower() for _, addr in email.utils.getaddresses(
        [v for h in ("To", "Cc", "Bcc") for v in head.get_all(h, [])])}
    extra = [r for r in recipients if r.lower() not in named]
    if not extra:
        return raw
    return f"Bcc: {', '.join(extra)}\r\n".encode() + raw
