"""How texts are written: plural forms by rule, subjects that survive folding, and the
Swedish and English sets complete and each in its own language."""

from __future__ import annotations

import email
import re
import tokenize
from datetime import date, datetime, timezone
from email import policy

import jinja2
import pytest

from daemon.mail.compose import build
from daemon.mail.outgoing import Outgoing
from daemon.texts import long_date, plural, subject
from tests.helpers import REPO

TEMPLATES = REPO / "templates"
# Words that give a text away as the other language (whole words, any case).
TELL_TALE = {
    "en": {"och", "att", "för", "med", "inte", "mötet", "ärende", "ärendet", "svara", "dagordning",
           "dagordningen", "minnesanteckningar", "justera", "senast", "kl", "hej", "möte"},
    "sv": {"the", "and", "of", "to", "is", "meeting", "please", "your", "with", "minutes", "reply", "make",
           "signed", "agenda", "hello"},
}
# Where the other language is meant, and why.
MEANT = {
    ("en", "minutes_sign.txt"): {"justerat"},  # the Swedish answer word is accepted too, and said so
    ("sv", "minutes_report.txt"): {"minutes"},  # the config key [[minutes.audiences]]
    ("sv", "archive_about.txt"): {"meeting"},  # the package's file metadata/descriptive/meeting.xml
}
# "punkt(er)", "point(s)", "uppgift(er)": a plural made by hand instead of by rule
PLURAL_HACK = re.compile(r"\w\((?:er|ar|or|s|n|na|en|e)\)(?![?*+|])")


def templates_of(language: str) -> list:
    return sorted((TEMPLATES / language / "mail").glob("*.txt"))


def words_shown(path) -> str:
    """The words a template shows: its text, and the quoted strings inside {{ … }}."""
    text = re.sub(r"\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    shown = re.findall(r"\{\{(.*?)\}\}", text, flags=re.DOTALL)
    literals = " ".join(s for expr in shown for s in re.findall(r'"([^"]*)"(?!\s*:)', expr))  # not dict keys
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.DOTALL)
    return text + " " + literals


def test_every_template_has_its_twin():
    for kind in ("mail/*.txt", "*.docx"):
        sv = {p.relative_to(TEMPLATES / "sv") for p in (TEMPLATES / "sv").glob(kind)}
        en = {p.relative_to(TEMPLATES / "en") for p in (TEMPLATES / "en").glob(kind)}
        assert sv == en, f"only in Swedish: {sorted(map(str, sv - en))}; only in English: {sorted(map(str, en - sv))}"


@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_template_shows_a_word_of_the_other_language(language):
    found = {}
    for path in templates_of(language):
        words = set(re.findall(r"\w+", words_shown(path).lower()))
        other = (words & TELL_TALE[language]) - MEANT.get((language, path.name), set())
        if other:
            found[path.name] = sorted(other)
    assert not found, f"words of the other language in templates/{language}/mail: {found}"


def shown_strings(path) -> list[tuple[int, str]]:
    """The string literals of a Python file that can reach a reader (not docstrings, not the
    code inside an f-string's braces, not the regular expressions that read replies)."""
    with open(path, encoding="utf-8") as f:
        tokens = list(tokenize.generate_tokens(f.readline))
    return [(t.start[0], re.sub(r"\{[^{}]*\}", " ", t.string)) for t in tokens
            if t.type == tokenize.STRING and not t.string.lstrip("rbfuRBFU").startswith(('"""', "'''"))]


def test_no_plural_made_by_hand():
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in TEMPLATES.glob("*/mail/*.txt")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if PLURAL_HACK.search(line)]
    code = [*TEMPLATES.glob("build_*.py"),
            *[p for p in (REPO / "daemon").rglob("*.py") if p.name not in ("reply_shapes.py", "replies.py")]]
    found += [f"{p.relative_to(REPO)}:{n}: {text}" for p in code for n, text in shown_strings(p)
              if PLURAL_HACK.search(text)]
    assert not found, "write {{ n | plural(\"punkt\", \"punkter\") }} (daemon.texts.plural) instead:\n" + "\n".join(found)


def test_plural_and_dates_follow_the_language():
    assert [plural(n, "punkt", "punkter") for n in (0, 1, 2)] == ["0 punkter", "1 punkt", "2 punkter"]
    assert [plural(n, "mail", "mails", "en") for n in (1, 3)] == ["1 mail", "3 mails"]
    assert plural(1250, "punkt", "punkter") == "1\xa0250 punkter"
    assert long_date(date(2026, 12, 1)) == "tisdag 1 december 2026"
    assert long_date(datetime(2026, 12, 7, 9, tzinfo=timezone.utc), "en") == "Monday 7 December 2026"


SUBJECT_PARTS = ["Riktlinjer för tjänsteresor", "Budget 2027, förslag till ramar för nämnderna", "Reminder: the agenda",
                 "Påminnelse: synpunkter på Lokalförsörjningsplan senast onsdag 2 december", "åt ö ä å", "x" * 90]


@pytest.mark.parametrize("part", SUBJECT_PARTS)
def test_a_subject_folds_and_unfolds_to_itself(part):
    """Every length of prefix, so each word in turn lands on a fold: what the reader's client
    shows after unfolding is the subject klg made, space for space."""
    for pad, rest in ((pad, rest) for pad in range(0, 80) for rest in ("och resten av ämnesraden", "and the rest")):
        made = subject(f"[KLG 2026-12-01] {'y' * pad} {part} {rest}")
        raw = build(Outgoing(to=["a@example.org"], subject=made, body="x"), sender="klg@example.org",
                    sender_name="KLG", message_id="m@example.org", date=datetime(2026, 12, 1, tzinfo=timezone.utc))
        head = raw.split(b"\r\n\r\n")[0]
        # a line is at most 78 characters, unless one word alone is longer
        assert all(len(line) <= 78 or len(line.removeprefix(b"Subject:").split()) == 1 for line in head.split(b"\r\n"))
        shown = str(email.message_from_bytes(raw, policy=policy.default)["Subject"])
        assert shown == made, (made, head)
        assert "  " not in shown and shown == shown.strip()


def test_one_function_makes_every_subject():
    assert subject("  [KLG 2026-12-01]  Påminnelse:\n dagordningen ") == "[KLG 2026-12-01] Påminnelse: dagordningen"
    for path in templates_of("sv") + templates_of("en"):
        head = path.read_text(encoding="utf-8").partition("\n")[0]
        assert path.name.startswith("_") or head.startswith("Subject:"), path


class _Anything(jinja2.ChainableUndefined):
    """Whatever a subject line asks of its context: a title with spaces and Swedish letters."""

    def __str__(self) -> str:
        return "Riktlinjer för tjänsteresor, förslag till ändring åt nämnderna"

    def __len__(self) -> int:
        return 2

    def __iter__(self):
        return iter(())

    __hash__ = object.__hash__

    def __call__(self, *args, **kwargs):
        return self

    def __eq__(self, other) -> bool:
        return False


def every_subject(language: str) -> list[tuple[str, str]]:
    """Each mail template's subject line made with such a context, in every branch it has."""
    env = jinja2.Environment(undefined=_Anything, autoescape=False)
    env.filters.update(long_date=lambda v: "tisdag 1 december 2026", clock=lambda v: "14:00",
                       weekday=lambda v: "tisdag", kind=lambda v: "beslut", first_name=lambda v: "Karin",
                       number=lambda v: "2", plural=lambda n, one, other: f"2 {other}")
    out = []
    for path in templates_of(language):
        head = path.read_text(encoding="utf-8").partition("\n")[0]
        if not head.startswith("Subject:"):
            continue
        template = env.from_string(head[len("Subject:"):])
        branches = [{}, {"reminder": True, "late": True, "approved": True, "count": 3, "cancelled_only": True,
                         "audience": "chancellery", "reason": "sent_unapproved", "what": "late"}]
        out += [(path.name, subject(template.render(**b))) for b in branches]
    return out


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_subject_a_template_makes_survives_folding(language):
    made = every_subject(language)
    assert len(made) == 2 * len([p for p in templates_of(language) if not p.name.startswith("_")])
    for name, text in made:
        assert text and "  " not in text and text == text.strip(), (name, text)
        for prefix in ("", "[KLG 2026-12-01] ", "[KLG-2026-001] x "):
            raw = build(Outgoing(to=["a@example.org"], subject=prefix + text, body="x"), sender="klg@example.org",
                        sender_name="KLG", message_id="m@example.org",
                        date=datetime(2026, 12, 1, tzinfo=timezone.utc))
            assert str(email.message_from_bytes(raw, policy=policy.default)["Subject"]) == prefix + text, name
