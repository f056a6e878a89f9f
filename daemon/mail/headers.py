"""Header and charset decoding that never fails and never yields broken text.

A mail's bytes may claim any charset, including Python's own codecs
(``unicode_escape``, ``utf-7``) that turn a few bytes into lone surrogates,
which then break every later step (SQLite, logging, mail we build). So:

- charsets are looked up with a short list of codecs refused outright;
- text is decoded with the declared charset, and what is not valid is decoded
  byte by byte (a stray Latin-1 byte in UTF-8 text stays one letter, not the
  whole body in the wrong charset);
- RFC 2047 words are decoded one run at a time, tolerant of the mistakes
  clients make (spaces inside a word, a missing end, bad base64 padding);
- whatever comes out has no surrogates and no control or bidi characters.

Headers are read raw from the parsed message (``raw_values``): unfolded, 8-bit
bytes decoded, no RFC 2047 decoding, so a check that must compare what the
server wrote (an authserv-id, a trusted header) never sees an encoded word
turned into the value it is looking for.
"""

from __future__ import annotations

import binascii
import codecs
import email.charset
import re
from email.message import Message

# Control characters, zero-width and bidi formatting characters: nothing a title or a name needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Codecs that are Python's, not a mail charset: they make text out of escape sequences.
_REFUSED = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "palmos"}
# Labels that in real mail often stand for Windows-1252, or for UTF-8 mislabelled.
_WESTERN = {"ascii", "iso8859-1", "cp1252"}
# One encoded word, read tolerantly: spaces inside are allowed (clients write them), "?" is not.
# A word missing its "=" or "?=" (at the end, or damaged on the way) is read up to where it ends.
_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)(?:\?=?|$)")
# Charsets whose ASCII bytes do not mean ASCII text.
_NOT_ASCII = ("utf-7", "utf-16", "utf-32")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def _per_byte_cp1252(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: an invalid byte is read as Windows-1252, one letter each."""
    bad = exc.object[exc.start:exc.end]
    return bad.decode("cp1252", errors="replace"), exc.end


codecs.register_error("klg-cp1252", _per_byte_cp1252)


def no_surrogates(text: str) -> str:
    """``text`` with every surrogate code point replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def clean_text(text: str) -> str:
    """Drop control, zero-width and bidi characters, and surrogates, from a header or title."""
    return _CONTROL.sub("", no_surrogates(text))


def has_invisible(text: str) -> bool:
    """True if ``text`` holds a control, zero-width or bidi character (or a surrogate)."""
    return bool(_CONTROL.search(text) or _SURROGATE.search(text))


def codec(charset: str | None) -> str | None:
    """The Python codec for a mail charset label, or None if unknown or refused."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = email.charset.ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes to text, never failing: the declared charset when it fits; UTF-8 when
    the bytes are UTF-8 whatever the label says; otherwise the declared charset
    (or UTF-8) with each bad byte read as Windows-1252. No surrogates come out."""
    name = codec(charset)
    if data.isascii() and not (name or "").startswith(_NOT_ASCII):
        return data.decode("ascii")
    if name is not None and name not in _WESTERN and name != "utf-8":
        try:
            return no_surrogates(data.decode(name))
        except (UnicodeError, ValueError, LookupError):
            pass
    try:
        return data.decode("utf-8")  # also when labelled ASCII or Latin-1: UTF-8 is what it is then
    except UnicodeDecodeError:
        pass
    if name in _WESTERN:
        return data.decode("cp1252", errors="klg-cp1252")
    if name is not None and name != "utf-8":
        return no_surrogates(data.decode(name, errors="replace"))
    return data.decode("utf-8", errors="klg-cp1252")


def _q_bytes(text: str) -> bytes:
    data = text.replace("_", " ").encode("latin-1", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), data)


def _b_bytes(text: str) -> bytes:
    data = _B64_JUNK.sub(b"", text.encode("ascii", "ignore"))
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def decode_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded words decoded. Adjacent words of one
    charset are joined before decoding (clients split a letter across two);
    white space between two words is dropped, as RFC 2047 says."""
    if "=?" not in text:
        return no_surrogates(text)
    pieces: list[list] = []  # [None, text] or [charset, bytes]
    pos = 0
    for word in _WORD.finditer(text):
        between = text[pos:word.start()]
        charset = word[1].split("*", 1)[0].lower()  # RFC 2231 language suffix: charset*lang
        data = _q_bytes(word[3]) if word[2] in "Qq" else _b_bytes(word[3])
        previous = pieces[-1] if pieces else None
        if previous and previous[0] is not None and not between.strip():
            if previous[0] == charset:
                previous[1] += data
            else:
                pieces.append([charset, data])
        else:
            if between:
                pieces.append([None, between])
            pieces.append([charset, data])
        pos = word.end()
    if pos < len(text):
        pieces.append([None, text[pos:]])
    return no_surrogates("".join(p[1] if p[0] is None else decode_bytes(p[1], p[0]) for p in pieces))


# A Message-ID is printable ASCII without brackets; anything else is not one (it would break the mail we answer with).
MESSAGE_ID = r"[\x21-\x3b\x3d\x3f-\x7e]{1,900}"
_MSGID = re.compile(rf"<({MESSAGE_ID})>")


def message_ids(value: str, limit: int = 1000) -> list[str]:
    """The Message-IDs in a header value, lowercased, without brackets (at most ``limit``)."""
    return [m.lower() for m in _MSGID.findall(value or "")[:limit]]


def unfold(value: str) -> str:
    """A header value on one line: folding removed, stray line breaks made spaces."""
    return re.sub(r"[\r\n]+", " ", re.sub(r"\r?\n(?=[ \t])", "", value)).strip()


def raw_text(value) -> str:
    """A header value as the compat32 parser keeps it (8-bit bytes as surrogate
    escapes) turned into text: unfolded, 8-bit decoded, no RFC 2047 decoding."""
    if not isinstance(value, str):
        value = str(value)
    if _SURROGATE.search(value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"))
    return unfold(value)


def raw_values(msg: Message | None, name: str) -> list[str]:
    """Every occurrence of header ``name``, top first, as raw text (see ``raw_text``)."""
    if msg is None:
        return []
    wanted = name.lower()
    return [raw_text(v) for k, v in msg.raw_items() if k.lower() == wanted]


def decode_value(value) -> str:
    """A header value with RFC 2047 words decoded, tolerant of every mistake."""
    if value is None:
        return ""
    return decode_words(raw_text(value))


def header_text(msg: Message | None, name: str, limit: int = 16384) -> str:
    """The first ``name`` header, decoded and cleaned, on one line (the first
    ``limit`` characters of its raw value are read)."""
    values = raw_values(msg, name)
    if not values:
        return ""
    return " ".join(clean_text(decode_words(values[0][:limit])).split())


def _split_params(value: str) -> list[str]:
    """``value`` split at the semicolons outside quoted strings."""
    items, start, quoted, i = [], 0, False, 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            items.append(value[start:i])
            start = i + 1
        i += 1
    items.append(value[start:])
    return items


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


_PARAM_KEY = re.compile(r"([^*\s]+)(?:\*(\d{1,3}))?(\*)?")


def params(value: str | None) -> tuple[str, dict[str, str]]:
    """The main value (lowercased) and the parameters of a raw Content-Type or
    Content-Disposition value: RFC 2231 continuations and charsets, raw 8-bit
    text and RFC 2047 words in quoted values all decoded."""
    if not value:
        return "", {}
    items = _split_params(value)
    main = items[0].strip().lower()
    plain: dict[str, str] = {}
    pieces: dict[str, dict[int, tuple[str, bool]]] = {}
    for item in items[1:200]:
        key, eq, val = item.partition("=")
        found = _PARAM_KEY.fullmatch(key.strip().lower()) if eq else None
        if not found:
            continue
        name, index, star = found[1], found[2], bool(found[3])
        if index is None and not star:
            plain.setdefault(name, _unquote(val))
        else:
            pieces.setdefault(name, {}).setdefault(int(index or 0), (_unquote(val), star))
    result: dict[str, str] = {}
    for name, parts in pieces.items():
        charset, data = None, b""
        for n, index in enumerate(sorted(parts)):
            val, encoded = parts[index]
            if encoded and n == 0 and val.count("'") >= 2:
                charset, _, rest = val.partition("'")
                val = rest.partition("'")[2]
            if encoded:
                data += re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), val.encode("utf-8"))
            else:
                data += val.encode("utf-8")
        result[name] = decode_bytes(data, charset)
    for name, val in plain.items():
        result.setdefault(name, decode_words(val))
    return main, result
