"""The new part of a reply: quoted text, reply headers and signatures removed,
and the stance a member states in it.

The reply headers, separators, sign-offs and disclaimers that mail-parser-reply
knows in Swedish and English (Outlook's "Från:/Skickat:/Till:/Ämne:" blocks,
"Den … skrev:", "On … wrote:", "-----Original Message-----", "Mvh", "Skickat
från min iPhone") are taken from its compiled patterns. This module adds what
the corpus in ``tests/corpus/replies`` showed it misses:

- Gmail wraps a long attribution over two lines ("… skrev Namn <" /
  "namn@kommun.se>:"); the lines are joined first.
- Thunderbird's Swedish forms ("Namn skrev den 2026-12-01 kl. 10:00:",
  "Namn skrev:") and separators ("-------- Ursprungligt meddelande --------",
  Outlook's "-----Ursprungligt meddelande-----").
- Bottom-posting and interleaved answers: when nothing stands above the quote,
  the member's text is every line that is not quoted.
- Swedish sign-offs ("Med vänlig hälsning", "Hälsningar,", "Vh", "/Lena"),
  mobile footers ("Hämta Outlook för iOS", "Skickat från Outlook") and, when
  the caller names the sender, a signature that starts with the sender's name.

Everything here is pure: text in, text out.
"""

from __future__ import annotations

import re
from typing import Iterable

from mailparser_reply.parser import EmailMessage

# The library's patterns, compiled once for Swedish and English.
_LIB = EmailMessage(text="", languages=["sv", "en"], keep_hyphen_lists=True)
_LIB_HEADERS = _LIB.HEADER_REGEX
_LIB_SIGNATURE = _LIB.SIGNATURE_REGEX

_QUOTED = re.compile(r"^\s*>")
_UNQUOTE = re.compile(r"^(\s*>)+ ?")
# An attribution line: "Den tis 1 dec. 2026 kl 10:00 skrev …:", "1 dec. 2026 kl. 10:00 skrev …:",
# "Den 2026-12-01 kl. 10:00, skrev …:", "Namn skrev den …:", "Namn skrev:", "On … wrote:".
_ATTRIBUTION = re.compile(r"^.{0,250}\b(skrev|wrote)\b[^\n]{0,250}:$", re.IGNORECASE)
_SEPARATORS = re.compile(
    r"^(-{2,}\s*(ursprungligt meddelande|original message|vidarebefordrat meddelande|forwarded message)\s*-{2,}"
    r"|-{5,}\s*(ursprungligt meddelande|original message)\s*-{5,}"
    r"|(vidarebefordrat brev|begin forwarded message|start på vidarebefordrat meddelande):"
    r"|_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(r"^[* ]*(från|skickat|till|ämne|datum|kopia|from|sent|to|subject|date|cc)[* ]*:", re.IGNORECASE)
# Sign-off lines the library does not know (a short line on its own).
_SIGN_OFFS = re.compile(
    r"^((med\s+)?vänlig(a)?\s+hälsning(ar)?|(bästa|många|varma)\s+hälsningar|hälsning(ar)?|hälsar|mvh|vh|vänligen"
    r"|ha det (bra|gott)|trevlig helg|tack på förhand|best regards|kind regards|regards|best wishes|cheers)\b[ ,.!]*",
    re.IGNORECASE,
)
_FOOTERS = re.compile(
    r"^(skickat från (min|mitt|outlook|samsung|yahoo|mail)|sent from (my|outlook|mail)|(hämta|skaffa) outlook för"
    r"|get outlook for|skickat via|sent via)\b",
    re.IGNORECASE,
)
_SLASH_NAME = re.compile(r"^/{1,2}\s?[A-ZÅÄÖÉ][\wåäöéÅÄÖÉ\-]*(\s[A-ZÅÄÖÉ][\wåäöé\-]*)?\s*$")
_GREETING = re.compile(r"^(hej|hejsan|hallå|god (morgon|dag|eftermiddag)|hi|hello|dear)\b[^.!?]{0,40}[,!.]?$", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
MAX_SIGN_OFF = 40  # a sign-off is a short line; a longer one is part of the comment


def _normalise(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return [line.rstrip() for line in text.split("\n")]


def _next_content(lines: list[str], i: int) -> str | None:
    for line in lines[i + 1:]:
        if line.strip() and line.strip() != ">":
            return line
    return None


def _join_wrapped_attributions(lines: list[str]) -> list[str]:
    """Gmail and others wrap a long "… skrev Namn <" / "adress>:" line; join it."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        joined = _wrapped_attribution(lines, i)
        if joined:
            out.append(joined[0])
            i += joined[1]
        else:
            out.append(lines[i])
            i += 1
    return out


def _wrapped_attribution(lines: list[str], i: int) -> tuple[str, int] | None:
    """(the joined line, lines consumed) when an attribution starts on line ``i`` and
    wraps over the next one or two lines, and quoted text follows it."""
    line = lines[i]
    if not line.strip() or line.endswith(":") or i + 1 >= len(lines):
        return None
    if not re.search(r"\b(skrev|wrote|den|on)\b|<$", _UNQUOTE.sub("", line), re.IGNORECASE):
        return None
    prefix = re.match(r"^(\s*>)*\s?", line).group(0) if _QUOTED.match(line) else ""
    for span in (1, 2):
        if i + span >= len(lines):
            break
        parts = [_UNQUOTE.sub("", l).strip() for l in lines[i:i + span + 1]]
        if not all(parts):
            break
        joined = parts[0]
        for part in parts[1:]:
            joined += part if joined.endswith("<") else " " + part
        if _ATTRIBUTION.match(joined) and _is_quote(_next_content(lines, i + span)):
            return prefix + joined, span + 1
    return None


def _is_quote(line: str | None) -> bool:
    return line is not None and bool(_QUOTED.match(line))


def _is_attribution(lines: list[str], i: int) -> bool:
    bare = _UNQUOTE.sub("", lines[i]).strip()
    if not _ATTRIBUTION.match(bare):
        return False
    return _is_quote(_next_content(lines, i))


def _is_header_block(lines: list[str], i: int) -> bool:
    """Two or more reply-header lines ("Från:", "Skickat:", …) starting at ``i``."""
    first = _UNQUOTE.sub("", lines[i])
    if not re.match(r"^[* ]*(från|from|ämne|subject|datum|date)[* ]*:", first, re.IGNORECASE):
        return False
    n = 0
    for line in lines[i:i + 6]:
        if _HEADER_LINE.match(_UNQUOTE.sub("", line)):
            n += 1
        elif line.strip():
            break
    return n >= 2


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


def _quote_starts(lines: list[str]) -> tuple[list[int], set[int]]:
    """(sorted line numbers where quoted material begins, the attribution lines among them)."""
    attributions = {i for i in range(len(lines)) if lines[i].strip() and _is_attribution(lines, i)}
    starts = set(attributions)
    for i, line in enumerate(lines):
        bare = _UNQUOTE.sub("", line).strip()
        if _SEPARATORS.match(bare) or _is_header_block(lines, i):
            starts.add(i)
    for i in _library_starts(lines):
        if i < len(lines) and not _is_quote(lines[i]) and (i in starts or _is_header_block(lines, i)
                                                          or _SEPARATORS.match(lines[i].strip())
                                                          or _ATTRIBUTION.match(lines[i].strip())):
            starts.add(i)
            if _ATTRIBUTION.match(lines[i].strip()):
                attributions.add(i)
    return sorted(starts), attributions


def _cut_signature(lines: list[str], names: Iterable[str]) -> list[str]:
    """Drop the signature: from the first sign-off, mobile footer, '-- ' marker or
    (when ``names`` are given) the line that starts with the sender's name."""
    wanted = set()
    for name in names:
        name = " ".join((name or "").split()).lower()
        if name:
            wanted.add(name)
            wanted.add(name.split(" ")[0])
    for i, line in enumerate(lines):
        bare = line.strip()
        low = bare.lower().rstrip(" ,.!")
        if i == 0 and not _FOOTERS.match(bare):
            continue  # the first line is the comment itself, even "Mvh, tillstyrker"
        if bare in ("--", "-- ", "__") or _FOOTERS.match(bare) or _SLASH_NAME.match(bare):
            return lines[:i]
        if len(bare) <= MAX_SIGN_OFF and _SIGN_OFFS.match(bare):
            return lines[:i]
        if low and (low in wanted or any(low.startswith(w + " ") or low.startswith(w + ",") for w in wanted if " " in w)):
            return lines[:i]
    text = "\n".join(lines)
    m = _LIB_SIGNATURE.search(text)
    if m and m.start() > 0:
        return text[:m.start()].split("\n")
    return lines


def _tidy(lines: list[str]) -> str:
    lines = _trim_blank(lines)
    if len(lines) > 1 and _GREETING.match(lines[0].strip()) and any(l.strip() for l in lines[1:]):
        lines = lines[1:]  # "Hej!" above the comment is not part of it
    text = "\n".join(line.rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    # drop separator debris left at the end ("____", "---", a lone ">")
    text = re.sub(r"(\n\s*([_\-=]{3,}|>)\s*)+$", "", text)
    return text.strip()


def latest_reply(text: str, names: Iterable[str] = ()) -> str:
    """The text the sender wrote in this mail, without what it quotes or its signature.

    ``names`` (the sender's name as configured and as written in the From
    header) lets a signature that starts with the bare name be recognised.
    Top-posted, bottom-posted and interleaved replies are all read; for the
    last two, the member's text is every line that is not quoted.
    """
    if not text or not text.strip():
        return ""
    names = [n for n in names if n]
    lines = _join_wrapped_attributions(_normalise(text))
    starts, attributions = _quote_starts(lines)
    first = starts[0] if starts else len(lines)
    head = [line for line in lines[:first] if not _QUOTED.match(line)]
    if any(line.strip() for line in head):
        return _tidy(_cut_signature(_trim_blank(head), names))
    if first in attributions or (first < len(lines) and _QUOTED.match(lines[first])):
        # bottom-posted or interleaved: what is not quoted (up to an unquoted original) is the reply
        body: list[str] = []
        for i in range(first, len(lines)):
            line = lines[i]
            if i in attributions or _QUOTED.match(line):
                continue
            if i in starts:
                break  # an unquoted original below (a forwarded block): not the member's text
            body.append(line)
        return _tidy(_cut_signature(_trim_blank(body), names))
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
