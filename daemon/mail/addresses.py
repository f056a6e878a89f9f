"""Who is speaking: the one From mailbox, read strictly.

The member is matched on the addr-spec alone, so that addr-spec must be
beyond doubt. Python 3.11's ``email.utils`` parses leniently (CVE-2023-27043:
``alice@example.org)<bob@example.org>`` gives the wrong address) and
``getaddresses`` recurses on nested comments, so the From field is read here
by a small parser of its own, on the raw value (before RFC 2047 decoding: an
encoded word is never an address). Anything but exactly one mailbox is refused
with a reason: several addresses, a group, a semicolon list, an unquoted
display name holding "@", unbalanced quotes, comments or brackets, an
obsolete route, comments inside the address, or an invisible character in it.
Sender and Reply-To are not read: they never widen who is speaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.mail.headers import clean_text, decode_words, has_invisible

MAX_FROM = 2000  # characters; a real From line is a name and an address
MAX_COMMENT_DEPTH = 10
# Non-ASCII is written [^\x00-\x7f], not \u0080-\U0010ffff inside the class: the same characters, but
# Python compiles a class spanning all of Unicode in 0.05-0.1 s, at every start of klg (issue 19).
_ATEXT = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]|[^\x00-\x7f])+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = r"(?:[A-Za-z0-9]|[^\x00-\x7f])(?:(?:[A-Za-z0-9\-]|[^\x00-\x7f])*(?:[A-Za-z0-9]|[^\x00-\x7f]))?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?|\[[^\[\]\\\s]*\]")
_LIST_ADDRESS = re.compile(r"[^\s<>(),;:\"@\[\]]+@[^\s<>(),;:\"@\[\]]+")


@dataclass(frozen=True)
class Sender:
    address: str  # the addr-spec, lowercased; "" when refused or absent
    name: str  # the display name, decoded and cleaned, for greetings and the log
    problem: str | None = None  # why the From field was refused (English, for the log and the digest)


class _Refused(Exception):
    pass


def parse_from(values: list[str]) -> Sender:
    """The sender from the raw From field(s) (see ``headers.raw_values``)."""
    if not values:
        return Sender("", "")
    if len(values) > 1:
        return Sender("", "", "the mail has more than one From field")
    value = values[0]
    if len(value) > MAX_FROM:
        return Sender("", "", f"the From field is {len(value)} characters long")
    try:
        address, name = _mailbox(value)
    except _Refused as refused:
        return Sender("", "", str(refused))
    return Sender(address, " ".join(clean_text(decode_words(name)).split()))


def _mailbox(value: str) -> tuple[str, str]:
    phrase: list[str] = []  # display-name words (quoted strings unquoted)
    comments: list[str] = []
    bare_at = False  # an "@" outside quotes, comments and brackets
    split = False  # a comment between two pieces of text (inside a bare address: obsolete, refused)
    angle: str | None = None
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == '"':
            end, text = _quoted(value, i)
            if angle is not None:
                raise _Refused("text after the address in angle brackets")
            phrase.append(text)
            i = end
        elif ch == "(":
            end, text = _comment(value, i)
            comments.append(text)
            split = split or any(p.strip() for p in phrase)
            i = end
        elif ch == "<":
            end = value.find(">", i + 1)
            if end < 0:
                raise _Refused("an angle bracket is not closed")
            if angle is not None:
                raise _Refused("the From field has more than one address")
            angle = value[i + 1:end]
            if any(c in angle for c in '<"(),;\\') or angle.strip().startswith("@"):
                raise _Refused("the address in angle brackets is not a plain address")
            i = end + 1
        elif ch in ",;":
            raise _Refused("the From field lists several addresses")
        elif ch == ":":
            raise _Refused("the From field is a group")
        elif ch in ">)[]\\":
            raise _Refused(f"an unbalanced {ch!r} in the From field")
        else:
            end = i
            while end < n and value[end] not in '"(<>,;:)[]\\':
                end += 1
            if angle is not None and value[i:end].strip():
                raise _Refused("text after the address in angle brackets")
            if split and value[i:end].strip() and angle is None and "@" in "".join(phrase) + value[i:end]:
                raise _Refused("a comment inside the address")
            phrase.append(value[i:end])
            bare_at = bare_at or "@" in value[i:end]
            i = end
    if angle is not None:
        if bare_at:
            raise _Refused("the display name looks like an address")
        name = " ".join(" ".join(phrase).split()) or " ".join(comments)
        return _addr_spec(angle.strip()), name
    bare = "".join(phrase).strip()
    if not bare or any(c.isspace() for c in bare):
        raise _Refused("the From field has no address")
    return _addr_spec(bare), " ".join(comments)


def _quoted(value: str, start: int) -> tuple[int, str]:
    i, out = start + 1, []
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        if ch == '"':
            return i + 1, "".join(out)
        out.append(ch)
        i += 1
    raise _Refused("a quoted name is not closed")


def _comment(value: str, start: int) -> tuple[int, str]:
    depth, i, out = 0, start, []
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        if ch == "(":
            depth += 1
            if depth > MAX_COMMENT_DEPTH:
                raise _Refused("comments nested too deep")
            if depth > 1:
                out.append(ch)
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1, "".join(out)
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    raise _Refused("a comment is not closed")


def _addr_spec(text: str) -> str:
    """The addr-spec ``text`` checked and normalised (lowercase, needless quotes dropped)."""
    if has_invisible(text) or "\ufffd" in text:
        raise _Refused("the address holds an invisible or unreadable character")
    if any(c.isspace() for c in text):
        raise _Refused("the address holds a space")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise _Refused("the address has no @ between name and domain")
    if local.startswith('"') and local.endswith('"') and len(local) >= 2:
        inner = local[1:-1]
        if '"' in inner or "\\" in inner:
            raise _Refused("the address has an unusual quoted part")
        local = inner if _DOT_ATOM.fullmatch(inner) else local
    elif not _DOT_ATOM.fullmatch(local):
        raise _Refused("the part before @ is not a plain address")
    if not _DOMAIN.fullmatch(domain):
        raise _Refused("the domain of the address is not a domain name")
    return f"{local}@{domain.rstrip('.')}".lower()


def address_list(values: list[str], limit: int = 200) -> list[str]:
    """The addresses in raw To or Cc fields, leniently and at most ``limit``:
    they are for information, never for deciding who speaks."""
    found: list[str] = []
    for value in values:
        for match in _LIST_ADDRESS.finditer(value[:65536]):
            found.append(match[0].lower())
            if len(found) >= limit:
                return found
    return found
