"""The new part of a reply: quoted text, reply headers and signatures removed.

Uses mail-parser-reply, which knows the reply headers of Outlook, Gmail, Apple
Mail and Thunderbird in Swedish and English ("Från:/Skickat:/Till:/Ämne:",
"Den … skrev:", "On … wrote:").
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

_PARSER = EmailReplyParser(languages=["sv", "en"])


def latest_reply(text: str) -> str:
    """The text the sender wrote in this mail, without what it quotes or its signature."""
    if not text.strip():
        return ""
    try:
        replies = _PARSER.read(text).replies
    except Exception:  # a pathological body: fall back to dropping '>' lines
        return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">")).strip()
    if not replies:
        return ""
    body = replies[0].body or ""
    return "\n".join(line for line in body.split("\n") if not re.match(r"^\s*>", line)).strip()
