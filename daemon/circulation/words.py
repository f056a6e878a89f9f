"""What a written procedure's reply says, read from its text. Pure: the words
STATUS, a thank-you, ``Skriftligt förfarande: nej`` and the items named on a
``Skriftligt förfarande: KLG-2026-042`` line."""

from __future__ import annotations

import re

from daemon import fields as fieldlib

_START_LINE = re.compile(r"^[ \t]*[*_]*(skriftligt förfarande|written procedure)[*_]*[ \t]*:[ \t]*(.+)$",
                         re.IGNORECASE | re.MULTILINE)


def start_request_ids(short: str, text: str) -> list[str]:
    """Item ids (``KLG-2026-042``, with the group's tag ``short``) named on a
    ``Skriftligt förfarande: KLG-2026-042`` line."""
    pattern = re.compile(rf"\b{re.escape(short)}-\d{{4}}-\d{{3,}}\b", re.IGNORECASE)
    ids: list[str] = []
    for m in _START_LINE.finditer(text):
        for found in pattern.findall(m[2]):
            if found.upper() not in ids:
                ids.append(found.upper())
    return ids


def is_status_request(text: str) -> bool:
    """True when the reply's first line is the word STATUS (any case, a word or two of courtesy allowed)."""
    first = next((line.strip().lower() for line in text.split("\n") if line.strip()), "")
    words = re.findall(r"[\wåäö]+", first)
    return bool(words) and words[0] == "status" and len(words) <= 3


_COURTESY = re.compile(r"(tack|tackar|tack så mycket|tack för det|stort tack|ok|okej|okay|bra|fint|toppen|"
                       r"thanks|thank you|thanks a lot|great|perfect)([\s,]+(tack|thanks))?", re.IGNORECASE)


def is_courtesy(text: str) -> bool:
    """True for a bare thank-you or OK, as people send in answer to a receipt."""
    words = re.sub(r"[^\w\s,]", " ", text or "").strip()
    return bool(words) and len(words) <= 30 and bool(_COURTESY.fullmatch(" ".join(words.split())))


def is_cancel_request(text: str) -> bool:
    """``Skriftligt förfarande: nej`` — take the item back to an ordinary meeting."""
    for m in _START_LINE.finditer(text):
        if m[2].strip().lower().rstrip(".!") in fieldlib.NO:
            return True
    return False

