"""The words of every mail the daemon sends, from ``templates/<language>/mail/``.

A mail template is a Jinja2 text file whose first line is ``Subject: …``; the
rest after one blank line is the body. Swedish is the default, English lies
beside it, and a chancellery can reword either without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

WEEKDAYS = {
    "sv": ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
MONTHS = {
    "sv": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
}
KIND_NAMES = {
    "sv": {"information": "information", "diskussion": "diskussion", "beslut": "beslut"},
    "en": {"information": "information", "diskussion": "discussion", "beslut": "decision"},
}


class TemplateProblem(Exception):
    """A template is missing or broken; the message names the file and the fix."""


def long_date(value: date | datetime, language: str = "sv") -> str:
    """'tisdag 1 december 2026' / 'Tuesday 1 December 2026', from the CLDR data Babel carries."""
    from babel.dates import format_date  # imported here, not at the top: start-up (issue 19)

    d = value.date() if isinstance(value, datetime) else value
    return format_date(d, "EEEE d MMMM y", locale=language)


def weekday(value: date | datetime, language: str = "sv") -> str:
    """'tisdag' / 'Tuesday'."""
    from babel.dates import format_date  # imported here, not at the top: start-up (issue 19)

    return format_date(value.date() if isinstance(value, datetime) else value, "EEEE", locale=language)


def day_month(value: date | datetime, language: str = "sv") -> str:
    """'2 december' / '2 December'."""
    from babel.dates import format_date  # imported here, not at the top: start-up (issue 19)

    return format_date(value.date() if isinstance(value, datetime) else value, "d MMMM", locale=language)


def number(n: int | float, language: str = "sv") -> str:
    """A number as the group's language writes it ('1 250' / '1,250')."""
    from babel.numbers import format_decimal  # imported here, not at the top: start-up (issue 19)

    return format_decimal(n, locale=language)


def plural(n: int, one: str, other: str, language: str = "sv") -> str:
    """``n`` with the word in the form the language's plural rule asks for:
    ``plural(1, "punkt", "punkter")`` → '1 punkt', ``plural(3, …)`` → '3 punkter'.
    Templates write ``{{ n | plural("punkt", "punkter") }}``; never "punkt(er)".

    English whole numbers need no Babel: CLDR's rule is "one" for 1 and -1 alone, its digits are
    grouped by commas, so the operator's lines of ``klg tick`` and ``klg status`` do not load
    Babel's locale data (a twentieth of a second; start-up, issue 19). A test compares the two."""
    if language == "en" and isinstance(n, int):
        return f"{n:,} {one if abs(n) == 1 else other}"
    from babel import Locale  # imported here, not at the top: start-up (issue 19)

    word = one if Locale.parse(language).plural_form(n) == "one" else other
    return f"{number(n, language)} {word}"


def subject(text: str) -> str:
    """The one way a subject is made: one line, single spaces, nothing at either end.
    Every subject klg sends is a template's first line through this, and
    ``mail/compose`` folds it without losing a space."""
    return " ".join((text or "").split())


def clock(value: time | datetime) -> str:
    return value.strftime("%H:%M")


def kind_name(kind: str, language: str = "sv") -> str:
    return KIND_NAMES[language].get(kind, kind)


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Text:
    """A rendered mail template: its subject line and its body."""

    subject: str
    body: str


@lru_cache(maxsize=8)
def _environment(folder: str, language: str) -> jinja2.Environment:
    import jinja2  # imported here, not at the top: start-up (issue 19)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # so an included block ends its last line
        autoescape=False,  # plain-text mail; nothing here is HTML
    )
    env.filters["long_date"] = lambda v: long_date(v, language)
    env.filters["clock"] = clock
    env.filters["weekday"] = lambda v: weekday(v, language)
    env.filters["plural"] = lambda n, one, other: plural(n, one, other, language)
    env.filters["number"] = lambda n: number(n, language)
    env.filters["kind"] = lambda v: kind_name(v, language)
    env.filters["first_name"] = lambda v: (v or "").split(" ")[0]
    return env


def render(templates_dir: Path, language: str, name: str, context: dict) -> Text:
    """Render mail template ``name`` in ``language`` with ``context``."""
    import jinja2  # imported here, not at the top: start-up (issue 19)

    folder = Path(templates_dir) / language / "mail"
    try:
        template = _environment(str(folder), language).get_template(f"{name}.txt")
        text = template.render(**context)
    except jinja2.TemplateNotFound:
        raise TemplateProblem(f"the mail template {folder / (name + '.txt')} is missing: restore it from the klg package") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.filename or folder / (name + '.txt')}, line {exc.lineno}: {exc.message}; fix the tag there") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"the mail template {folder / (name + '.txt')} uses an unknown value ({exc.message}); remove or correct that tag") from None
    head, _, body = text.partition("\n")
    if not head.startswith("Subject:"):
        raise TemplateProblem(f"the mail template {folder / (name + '.txt')} must start with a line 'Subject: …'")
    return Text(subject=subject(head[len("Subject:"):]), body=body.lstrip("\n").rstrip() + "\n")
