"""Case numbers (diarienummer): read from a proposal or the agenda's table, checked
against ``[records] case_number_pattern``. Pure.

A number that does not have the expected shape is kept as written (the
registrar knows their own numbers better than a pattern does) and the
acknowledgement says what shape was expected.
"""

from __future__ import annotations

from daemon.config import Config
from daemon.records.settings import settings

EXAMPLE = "KS 2026/123"
MAX_LENGTH = 60


def normalise(text: str | None) -> str:
    """The number as it will be shown: one space between words, nothing around it."""
    return " ".join((text or "").split())[:MAX_LENGTH]


def check(config: Config, text: str | None) -> tuple[str | None, str | None]:
    """(the number to keep or None, a warning in the group's language or None)."""
    value = normalise(text)
    if not value:
        return None, None
    if settings(config).case_number_pattern.search(value):
        return value, None
    if config.group.language == "sv":
        return value, (f"Diarienumret ”{value}” har inte den form vi väntade oss (till exempel {EXAMPLE}); "
                       "det sparades som du skrev det. Rätta det gärna med en rad ”Dnr: …” i ett svar.")
    return value, (f"The case number ”{value}” does not have the expected shape (for example {EXAMPLE}); "
                   "it was kept as you wrote it. Correct it with a line ”Case: …” in a reply if needed.")
