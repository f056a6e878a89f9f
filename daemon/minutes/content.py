"""The minutes' content: what signatories approve and what each audience gets.
Pure: no store, no clock, no mail.

The content is a dict (``format``, ``meeting``, ``secretary``, ``signatories``,
``attendance``, ``rows``, ``followups``) that ``formcheck.check`` makes from the
secretary's form. Its canonical JSON is stored with each version, and its
SHA-256 is what an approval binds to; ``for_audience`` is the content an
audience that must not see the rows marked "not communicated" gets.
"""

from __future__ import annotations

import json

from daemon.config import Config, Member

FORMAT = 1

# The outcome of a row (``rows[].outcome``, one of these keys) as the documents name it.
OUTCOME_NAMES = {
    "sv": {"information": "Information", "diskussion": "Diskussion", "beslut": "Beslut", "politiken": "Till politiken"},
    "en": {"information": "Information", "diskussion": "Discussion", "beslut": "Decision",
           "politiken": "To the politicians"},
}


def canonical(content: dict) -> bytes:
    """The bytes that are hashed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def content_hash(content: dict) -> str:
    """The SHA-256 (hex) of the canonical bytes: what an approval binds to."""
    import hashlib  # imported here, not at the top: start-up (issue 19): OpenSSL, not for klg status

    return hashlib.sha256(canonical(content)).hexdigest()


def signatories(config: Config, appointed: list[Member]) -> list[dict]:
    """The chair(s), members with the signatory role, then those appointed for the meeting."""
    out: list[dict] = []
    for role, people in (("chair", config.with_role("chair")), ("signatory", config.with_role("signatory")),
                         ("appointed", appointed)):
        for m in people:
            if m.email not in [s["email"] for s in out]:
                out.append({"name": m.name, "email": m.email, "title": m.title, "role": role})
    return out


def for_audience(content: dict, omit_not_communicated: bool) -> tuple[dict, int]:
    """The content an audience gets, and how many rows were left out."""
    if not omit_not_communicated:
        return content, 0
    rows = [r for r in content["rows"] if r["communicate"]]
    kept = {**content, "rows": rows,
            "followups": [f for f in content["followups"] if f.get("communicate", True)]}
    return kept, len(content["rows"]) - len(rows)
