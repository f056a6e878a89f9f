"""What a ``Sekretess:`` line says (in a proposal, a reply or the agenda): the
item, the document, the provision under OSL and the reason. Apart from
``daemon.records.secrecy`` (the markings in force, which ``klg status`` and the
documents read) so that they do not compile the reading's patterns (start-up,
issue 19)."""

from __future__ import annotations

import re
from dataclasses import dataclass

ITEM_ID = re.compile(r"\b([A-ZÅÄÖ][A-ZÅÄÖ0-9]{0,9}-\d{4}-\d{3,})\b", re.IGNORECASE)
# "OSL 39 kap. 3 §", "39 kap 3 § OSL", "OSL 19:3", "osl 21 kap. 1 a §"
PROVISION = re.compile(r"(?:\bOSL\s*)?\b(\d{1,2})\s*(?:kap\.?|:)\s*(\d{1,2}(?:\s?[a-z])?)\b\s*§?(?:\s*OSL\b)?",
                       re.IGNORECASE)
DOCUMENT_WORDS = re.compile(r"^(?:bilaga|bilagan|handling|handlingen|dokument|dokumentet|document|attachment)\s+",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Marking:
    """What a ``Sekretess:`` line says: the item (or None: the one the mail is about),
    the document (None: the whole item), the provision (None: none found) and the reason."""

    item_id: str | None
    document: str | None
    provision: str | None
    reason: str


def provision_of(text: str) -> str | None:
    """The provision in ``text``, written the standard way ("OSL 39 kap. 3 §"), or None."""
    m = PROVISION.search(text or "")
    if not m or not re.search(r"osl|kap|§", m[0], re.IGNORECASE):
        return None
    return f"OSL {int(m[1])} kap. {' '.join(m[2].split())} §"


def parse(value: str) -> Marking:
    """Read ``KLG-2026-042 utredning.pdf OSL 39 kap. 3 §, personalärende`` (every part but the
    provision optional)."""
    text = " ".join((value or "").split())
    item_id = None
    m = ITEM_ID.match(text)
    if m:
        item_id = m[1].upper()
        text = text[m.end():].strip(" ,;:")
    p = PROVISION.search(text)
    provision = provision_of(text)
    if provision is None or p is None:
        return Marking(item_id, None, None, "")
    document = DOCUMENT_WORDS.sub("", text[:p.start()].strip(" ,;:-–")).strip(" ,;:-–\"”'") or None
    reason = text[p.end():].strip(" ,;:-–()")
    return Marking(item_id, document, provision, reason)
