"""The new part of a reply: quoted text, reply headers and signatures removed,
and the stance a member states in it; and where quoted or forwarded material
begins in any text (:func:`split_quoted`), so that fields are read only from
what the writer wrote.

The reply headers, separators, sign-offs and disclaimers that mail-parser-reply
knows in Swedish, English and Danish (Outlook's "Från:/Skickat:/Till:/Ämne:"
blocks, "Den … skrev:", "On … wrote:", "-----Original Message-----", "Mvh",
"Skickat från min iPhone") are taken from its compiled patterns. What the two
corpora (``tests/corpus/replies``, ``tests/corpus/real-replies``) showed it
misses is in :mod:`daemon.mail.reply_shapes`:

- attributions wrapped over several lines, without a colon, on the same line as
  the answer, in dashes (Android), or in any language when a date and an
  address stand directly above quoted text;
- Thunderbird's Swedish forms and the Nordic header blocks and separators
  (Danish and Norwegian "Fra:/Sendt:/Til:/Emne:", "-----Opprinnelig melding-----",
  Finnish "Lähettäjä:", "-----Alkuperäinen viesti-----"), an HTML rule above a
  header block;
- bottom-posting and interleaved answers: the writer's text is every line that is
  not quoted, also below an embedded quote and under a lone "Hej,";
- sign-offs and mobile footers ("Med vänlig hälsning", "Med venlig hilsen",
  "Sendt fra min iPad", "Thanks,") and, when the caller names the sender, a
  signature that starts with the sender's name or follows a dashed line above it.

Everything here is pure: text in, text out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from mailparser_reply.parser import EmailMessage

from daemon.mail import reply_shapes as rs

# The library's patterns, compiled once: headers in every language the corpus holds, signatures in ours.
_LIB_HEADERS = EmailMessage(text="", languages=["sv", "en", "da", "de", "fr", "nl", "pl"],
                            keep_hyphen_lists=True).HEADER_REGEX
_LIB_SIGNATURE = EmailMessage(text="", languages=["sv", "en"], keep_hyphen_lists=True).SIGNATURE_REGEX
_QUOTED, _UNQUOTE = rs.QUOTED, rs.UNQUOTE


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _normalise(text: str) -> list[str]:
    text = text.translate(rs.INVISIBLE).replace("\u00a0", " ").replace("\u202f", " ")
    # html2text escapes a line that starts with "-" ("\---------- Forwarded message")
    return [re.sub(r"^\\(?=-)", "", line.rstrip()) for line in _split_lines(text)]


def _next_content(lines: list[str], i: int) -> str | None:
    for line in lines[i + 1:]:
        if line.strip() and line.strip() != ">":
            return line
    return None


def _is_quote(line: str | None) -> bool:
    return line is not None and bool(_QUOTED.match(line))


def _attribution_text(text: str, quote_below: bool) -> bool:
    """``text`` (one line, unquoted) says who wrote what follows."""
    text = text.strip()
    if rs.DASHED_ATTRIBUTION.match(text) or rs.STRONG_ATTRIBUTION.match(text) or rs.DATED_ADDRESS_ATTRIBUTION.match(text):
        return True
    return quote_below and any(p.match(text) for p in (rs.ATTRIBUTION, rs.ADDRESS_ATTRIBUTION, rs.DATED_LINE))


def _join_wrapped(lines: list[str]) -> tuple[list[str], list[int]]:
    """(lines with each wrapped attribution joined into one, and split off the answer
    where both share a line; for each line, the index of the original line it starts at)."""
    out: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(lines):
        joined = _wrapped_attribution(lines, i)
        if joined:
            out.append(joined[0])
            origin.append(i)
            i += joined[1]
            continue
        shared = rs.SHARED_LINE.match(lines[i].strip())
        if shared and not _QUOTED.match(lines[i]) and _is_quote(_next_content(lines, i)) \
                and _attribution_text(shared["attr"], True):
            out += [shared["text"], shared["attr"]]
            origin += [i, i]
        else:
            out.append(lines[i])
            origin.append(i)
        i += 1
    return out, origin


def _wrapped_attribution(lines: list[str], i: int) -> tuple[str, int] | None:
    """(the joined line, lines consumed) when an attribution starts on line ``i`` and
    wraps over up to four more lines (blank ones between them too)."""
    line = lines[i]
    if not line.strip() or line.endswith(":") or i + 1 >= len(lines):
        return None
    if not rs.ATTRIBUTION_OPENING.search(_UNQUOTE.sub("", line)):
        return None
    prefix = re.match(r"^(\s*>)*\s?", line).group(0) if _QUOTED.match(line) else ""
    parts = [_UNQUOTE.sub("", line).strip()]
    for span in range(1, 5):
        if i + span >= len(lines):
            break
        part = _UNQUOTE.sub("", lines[i + span]).strip()
        if not part:
            if not rs.STRONG_ATTRIBUTION.match(parts[0] + " wrote:"):
                break  # only a strong opening ("On <date> <time> …") may have blank lines inside
            continue
        parts.append(part)
        joined = parts[0]
        for piece in parts[1:]:
            joined += piece if joined.endswith("<") or piece.startswith(">") else " " + piece
        below = _next_content(lines, i + span)
        if below is not None and rs.VERB_LINE.match(below.strip()):
            continue  # the verb is still to come ("<address>" / "> wrote:")
        if len(parts) > 1 and _attribution_text(joined, _is_quote(below)):
            return prefix + joined, span + 1
    return None


def _is_attribution(lines: list[str], i: int) -> bool:
    return _attribution_text(_UNQUOTE.sub("", lines[i]), _is_quote(_next_content(lines, i)))


def _is_header_block(lines: list[str], i: int) -> bool:
    """Two or more reply-header lines ("Från:", "Skickat:", …) starting at ``i``, one of
    them naming the sender ("Från:") or an address; a line wrapped from the one above
    ("[mailto:" / "bob@example.com]") does not end the block. A member's own field
    lines ("Datum: 2026-12-08" above "Till: alla chefer") are no header block."""
    if not rs.HEADER_FIRST.match(_UNQUOTE.sub("", lines[i])):
        return False
    n, sender = 0, False
    for line in lines[i:i + 8]:
        bare = _UNQUOTE.sub("", line)
        if rs.HEADER_LINE.match(bare):
            n += 1
            sender = sender or bool(rs.HEADER_FROM.match(bare)) or "@" in bare
        elif bare.strip() and not (n and (bare.startswith((" ", "\t", "<")) or bare.strip().endswith(("]", ">")))):
            break
    return n >= 2 and sender


def _library_starts(lines: list[str]) -> set[int]:
    """Line numbers where mail-parser-reply sees a reply header or separator."""
    text = "\n".join(lines)
    starts = set()
    for m in _LIB_HEADERS.finditer(text):
        pos = m.start()
        while pos < len(text) and text[pos] == "\n":
            pos += 1
        starts.add(text.count("\n", 0, pos))
    return starts


def _is_separator(lines: list[str], i: int) -> bool:
    bare = _UNQUOTE.sub("", lines[i]).strip()
    if rs.SEPARATORS.match(bare):
        return True
    if rs.HTML_RULE.match(bare):
        following = _next_content(lines, i)
        return following is not None and bool(rs.HEADER_LINE.match(_UNQUOTE.sub("", following)))
    return bool(i and not lines[i - 1].strip() and rs.LONE_FROM.match(bare))


def _quote_starts(lines: list[str]) -> tuple[list[int], set[int]]:
    """(sorted line numbers where quoted material begins, the attribution lines among them)."""
    attributions = {i for i in range(len(lines)) if lines[i].strip() and _is_attribution(lines, i)}
    starts = set(attributions)
    starts |= {i for i in range(len(lines)) if _is_separator(lines, i) or _is_header_block(lines, i)}
    for i in _library_starts(lines):
        if i < len(lines) and not _is_quote(lines[i]) and (i in starts or _is_header_block(lines, i)
                                                          or rs.ATTRIBUTION.match(lines[i].strip())):
            starts.add(i)
            if rs.ATTRIBUTION.match(lines[i].strip()):
                attributions.add(i)
    return sorted(starts), attributions


def split_quoted(text: str) -> tuple[str, str]:
    """(what the writer wrote above the first quoted or forwarded material, the rest).

    Quoted material begins at an attribution ("Den … skrev:", "On … wrote:"), a
    reply-header block ("Från:/Skickat:", "From:/Sent:", "Fra:/Sendt:"), a separator
    ("-----Ursprungligt meddelande-----", "---------- Forwarded message ---------")
    or the first ">"-quoted line. The two parts are the original text's own lines:
    ``own + "\n" + rest`` is the text with its line breaks made "\n".
    """
    original = _split_lines(text or "")
    lines, origin = _join_wrapped(_normalise(text or ""))
    starts, _ = _quote_starts(lines)
    first = min([*starts, *(i for i, line in enumerate(lines) if _QUOTED.match(line))], default=None)
    if first is None:
        return "\n".join(original), ""
    cut = origin[first]
    return "\n".join(original[:cut]), "\n".join(original[cut:])


def _cut_signature(lines: list[str], names: Iterable[str]) -> list[str]:
    """Drop the signature: from the first sign-off, mobile footer, '-- ' marker or
    (when ``names`` are given) the line that starts with the sender's name, or a
    dashed line with the sender's name below it."""
    wanted = set()
    for name in names:
        name = " ".join((name or "").split()).lower()
        if name:
            wanted.add(name)
            wanted.add(name.split(" ")[0])
    for i, line in enumerate(lines):
        bare = line.strip()
        low = bare.lower().rstrip(" ,.!")
        if i == 0 and not rs.FOOTERS.match(bare):
            continue  # the first line is the comment itself, even "Mvh, tillstyrker"
        if bare in ("--", "-- ", "__", "—") or rs.FOOTERS.match(bare) or rs.SLASH_NAME.match(bare):
            return lines[:i]
        if rs.THANKS.match(bare) and _only_a_name_below(lines[i + 1:]):
            return lines[:i]
        if len(bare) <= rs.MAX_SIGN_OFF and rs.SIGN_OFFS.match(bare):
            return lines[:i]
        if low and (low in wanted or any(low.startswith(w + " ") or low.startswith(w + ",") for w in wanted if " " in w)):
            return lines[:i]
        if rs.DASH_LINE.match(bare) and any(w in " ".join(lines[i + 1:i + 8]).lower() for w in wanted if " " in w):
            return lines[:i]
    text = "\n".join(lines)
    m = _LIB_SIGNATURE.search(text)
    if m and m.start() > 0 and not rs.TITLED_DASH_LINE.match(m.group(0).strip("\n").split("\n")[0]):
        return text[:m.start()].split("\n")
    return lines


def _only_a_name_below(lines: list[str]) -> bool:
    """At most three short lines follow, none a sentence: a name, a title, a phone number."""
    rest = [line.strip() for line in lines if line.strip()]
    return len(rest) <= 3 and all(len(line) <= rs.MAX_SIGN_OFF and not line.endswith((".", "!", "?")) for line in rest)


def _tidy(lines: list[str]) -> str:
    lines = _trim_blank(lines)
    if len(lines) > 1 and rs.GREETING.match(lines[0].strip()) and any(l.strip() for l in lines[1:]):
        lines = lines[1:]  # "Hej!" above the comment is not part of it
    text = "\n".join(line.rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    # drop separator debris left at the end ("____", "---", "* * *", a lone ">")
    text = re.sub(r"(\n\s*([_\-=]{3,}|>|(\* ?){3})\s*)+$", "", text)
    return text.strip()


def _unquoted_after(lines: list[str], first: int, starts: list[int], attributions: set[int]) -> list[str]:
    """The lines after ``first`` that are not quoted, up to an unquoted original below."""
    body: list[str] = []
    for i in range(first, len(lines)):
        line = lines[i]
        if i in attributions or _QUOTED.match(line):
            continue
        if i and _QUOTED.match(lines[i - 1]) and (rs.QUOTE_DEBRIS.match(line) or (
                line[:1].islower() and i + 1 < len(lines) and _QUOTED.match(lines[i + 1]))):
            continue  # the tail of a quoted line the client wrapped without its ">"
        if i in starts and i != first:
            break  # an unquoted original below (a forwarded block): not the writer's text
        body.append(line)
    return body


def latest_reply(text: str, names: Iterable[str] = ()) -> str:
    """The text the sender wrote in this mail, without what it quotes or its signature.

    ``names`` (the sender's name as configured and as written in the From
    header) lets a signature that starts with the bare name be recognised.
    Top-posted, bottom-posted and interleaved replies are all read: below an
    embedded quote (an attribution and ">" lines, or ">" lines alone), the
    lines that are not quoted are the writer's too.
    """
    return _latest_reply(text, tuple(n for n in names if n))


@lru_cache(maxsize=8)
def _latest_reply(text: str, names: tuple[str, ...]) -> str:
    # kept for the few mails last read: intake asks for one mail's reply up to three times, once
    # per workflow that looks for its command in it (records, regrets, proposals), issue 19
    if not text or not text.strip():
        return ""
    lines, _ = _join_wrapped(_normalise(text))
    starts, attributions = _quote_starts(lines)
    first = starts[0] if starts else len(lines)
    head = [line for line in lines[:first] if not _QUOTED.match(line)]
    content = [line for line in head if line.strip()]
    lone_greeting = len(content) == 1 and bool(rs.GREETING.match(content[0].strip()))
    embedded = first < len(lines) and (first in attributions or _QUOTED.match(lines[first]))
    if embedded:
        if first in attributions and not _is_quote(_next_content(lines, first)):
            return _tidy(_cut_signature(_trim_blank(head), names))  # an unquoted original below the attribution
        below = _trim_blank(_unquoted_after(lines, first, starts, attributions))
        if content and not lone_greeting:
            return _tidy(_cut_signature(_trim_blank(head + ([""] + below if below else [])), names))
        return _tidy(_cut_signature(below, names)) if below else _tidy(head)
    if content:
        return _tidy(_cut_signature(_trim_blank(head), names))
    return ""


def _trim_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


# --- stance --------------------------------------------------------------------

STANCES = ("support", "object", "none")
_NEGATED_SUPPORT = re.compile(
    r"\b(kan|kunde)\s+(inte|ej)\s+tillstyrka\b|\btillstyrker\s+(inte|ej)\b|\b(cannot|can't|can not|do not|don't)\s+support\b",
    re.IGNORECASE)
_STANCE_PATTERNS = {
    "object": re.compile(r"\bavstyrk(er|es|s|a|t|ande)\b|(^|\n)\s*(i\s+)?object(s|ion)?\b", re.IGNORECASE),
    "support": re.compile(r"\btillstyrk(er|es|s|a|t|ande)\b|(^|\n)\s*(i\s+)?support(s|ed)?\b|(^|\n)\s*(i\s+)?agree\b",
                          re.IGNORECASE),
    "none": re.compile(r"\b(inga|ingen)\s+(som\s+helst\s+)?(synpunkt(er)?|kommentar(er)?|invändning(ar)?)\b"
                       r"|\bno\s+(further\s+)?(comments?|objections?)\b", re.IGNORECASE),
}


def read_stance(text: str) -> str | None:
    """The stance a comment states: ``"support"`` (Tillstyrker / Support),
    ``"object"`` (Avstyrker / Object) or ``"none"`` (Inga synpunkter / No
    comments); None when it states none or is ambiguous.

    Swedish words count anywhere in the comment, in any case and form
    ("tillstyrker", "Jag tillstyrker.", "kan inte tillstyrka" is an objection);
    the English "Support"/"Object" only at the start of a line, since the words
    are common in ordinary sentences. A comment that both supports and objects
    states no clear stance; "Inga synpunkter, tillstyrker" supports.
    """
    if not text:
        return None
    found = {name for name, pattern in _STANCE_PATTERNS.items() if pattern.search(text)}
    if _NEGATED_SUPPORT.search(text):
        found.discard("support")
        found.add("object")
    if "support" in found and "object" in found:
        return None
    for name in ("object", "support", "none"):
        if name in found:
            return name
    return None
