"""The new part of a reply and its stance: the hand-made pairs of every client
shape (tests/corpus/replies, each exact) and the real replies from other
projects' test suites (tests/corpus/real-replies, right for at least 95 %)."""

import hashlib
import re
from pathlib import Path

import pytest

from daemon.mail.message import html_to_text, parse
from daemon.mail.replies import latest_reply, read_stance

CORPUS = Path(__file__).parent / "corpus" / "replies"
PAIRS = sorted(CORPUS.glob("*.eml"))
REAL = Path(__file__).parent / "corpus" / "real-replies"
REAL_REPLIES = sorted(p for p in REAL.rglob("*") if p.suffix in (".eml", ".txt", ".html"))
REAL_RATE = 0.95


def expected(eml: Path) -> tuple[str | None, str]:
    head, _, text = eml.with_suffix(".expected").read_text(encoding="utf-8").partition("---\n")
    stance = head.partition(":")[2].strip()
    return (None if stance == "-" else stance), text.rstrip("\n")


def test_the_corpus_is_big_enough_and_covers_every_client():
    names = " ".join(p.stem for p in PAIRS)
    assert len(PAIRS) >= 20
    for client in ("outlook", "gmail", "apple", "thunderbird"):
        assert names.count(client) >= 3, client


@pytest.mark.parametrize("eml", PAIRS, ids=[p.stem for p in PAIRS])
def test_comment_text_and_stance(eml):
    stance, text = expected(eml)
    mail = parse(eml.read_bytes())
    comment = latest_reply(mail.text, [mail.sender_name])
    assert comment == text
    assert read_stance(comment) == stance


@pytest.mark.parametrize("text, stance", [
    ("Inga synpunkter", "none"), ("inga synpunkter.", "none"), ("INGA SYNPUNKTER!", "none"),
    ("Ingen synpunkt", "none"), ("No comments", "none"), ("no comment.", "none"),
    ("Tillstyrker", "support"), ("tillstyrker.", "support"), ("Jag tillstyrker förslaget", "support"),
    ("Support", "support"), ("I support this.", "support"), ("SUPPORT!", "support"),
    ("Avstyrker", "object"), ("avstyrker!", "object"), ("Object", "object"), ("I object.", "object"),
    ("Jag kan inte tillstyrka förslaget", "object"), ("Inga synpunkter, tillstyrker.", "support"),
    ("Tillstyrker del 1 men avstyrker del 2", None), ("Bra förslag, men kolla summan i bilaga 2.", None),
    ("The object of the guideline is clear.", None), ("We need more support staff.", None), ("", None),
])
def test_stance(text, stance):
    assert read_stance(text) == stance


@pytest.mark.parametrize("text, comment", [
    ("", ""),
    ("> only what we sent\n> more of it", ""),
    ("Hej!\n\nAvstyrker, se nedan.\n\nMvh\nErik", "Avstyrker, se nedan."),
    ("Inga synpunkter.\n\n- första punkten\n- andra punkten", "Inga synpunkter.\n\n- första punkten\n- andra punkten"),
    ("Hälsningar från ekonomi: summan i tabell 2 är fel.\n", "Hälsningar från ekonomi: summan i tabell 2 är fel."),
    ("Tillstyrker\n\nErik Sandberg\nSocialchef", "Tillstyrker"),
    # shapes the new rules must leave alone
    ("Hej!\n\nTack!\n\nJag tillstyrker förslaget.\n\nMvh\nErik", "Tack!\n\nJag tillstyrker förslaget."),
    ("Inga synpunkter.\n\n- Ekonomi\n- Personal", "Inga synpunkter.\n\n- Ekonomi\n- Personal"),
    ("Man kan ta det kl 10:30 som Anna skrev\n\nMer text.", "Man kan ta det kl 10:30 som Anna skrev\n\nMer text."),
    ("Datum: 2026-12-08\nTill: alla chefer\n\nText.", "Datum: 2026-12-08\nTill: alla chefer\n\nText."),
])
def test_edges(text, comment):
    assert latest_reply(text, ["Erik Sandberg"]) == comment


# --- the real replies -------------------------------------------------------------

def real_reply(path: Path) -> tuple[str, list[str]]:
    """(the text klg reads from the fixture, the sender's names): a mail is parsed as
    intake parses it, an HTML body is turned into text as intake does, a plain body is
    taken as it is, with the sender's name from ``.sender`` beside it."""
    if path.suffix == ".eml":
        mail = parse(path.read_bytes())
        return mail.text, [mail.sender_name]
    text = path.read_bytes().decode("utf-8")
    sender = path.with_suffix(".sender")
    names = [sender.read_text(encoding="utf-8").strip()] if sender.exists() else []
    return (html_to_text(text) if path.suffix == ".html" else text), names


def real_results() -> list[tuple[str, bool, str, str]]:
    out = []
    for path in REAL_REPLIES:
        text, names = real_reply(path)
        want = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
        got = latest_reply(text, names)
        out.append((str(path.relative_to(REAL)), got == want, want, got))
    return out


def test_every_real_reply_has_its_origin_and_ground_truth():
    listed = {}
    for line in (REAL / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## (\S+)/$", line)
        if m:
            folder = m[1]
        m = re.match(r"^\| (\S+) \| .+ \| ([0-9a-f]{64}) \|$", line)
        if m:
            listed[f"{folder}/{m[1]}"] = m[2]
    names = [str(p.relative_to(REAL)) for p in REAL_REPLIES]
    assert sorted(listed) == sorted(names)
    for path, name in zip(REAL_REPLIES, names):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name
        assert path.with_suffix(".expected").is_file(), name
        assert (path.parent / "LICENSE").is_file(), name


def test_real_replies_are_read_right_at_the_rate():
    """The share of real replies whose registered text is exactly the ground truth."""
    results = real_results()
    assert len(results) >= 160
    wrong = [(name, want, got) for name, ok, want, got in results if not ok]
    rate = 1 - len(wrong) / len(results)
    report = "\n".join(f"{name}:\n  want {want!r}\n  got  {got!r}" for name, want, got in wrong)
    assert rate >= REAL_RATE, f"{rate:.1%} right ({len(wrong)} of {len(results)} wrong):\n{report}"


@pytest.mark.parametrize("lang, text, comment", [
    ("da", "Det lyder godt, jeg støtter forslaget.\n\nMed venlig hilsen\nLars\n\nFra: KLG <klg@kommune.dk>\n"
           "Sendt: 1. december 2026 10:00\nTil: Lars Holm <lars@kommune.dk>\nEmne: Skriftlig procedure\n\nOriginal.",
     "Det lyder godt, jeg støtter forslaget."),
    ("no", "Ingen innvendinger.\n\nSendt fra min iPad\n\nDen 1. des. 2026 kl. 10:00 skrev KLG <klg@kommune.no>:\n\n> Hei",
     "Ingen innvendinger."),
    ("no", "Enig.\n\nMed vennlig hilsen\nKari\n\n-----Opprinnelig melding-----\nFra: KLG\nSendt: 1. desember 2026\n"
           "Til: Kari\nEmne: Sak", "Enig."),
    ("da", "Fint.\n\nSendt fra min iPhone\n\n> Den 1. dec. 2026 kl. 10.00 skrev KLG <klg@kommune.dk>:\n>\n> Hej",
     "Fint."),
    ("fi-sv", "Tillstyrker.\n\nMed vänlig hälsning\nMikael\n\nLähettäjä: KLG <klg@kunta.fi>\n"
              "Lähetetty: tiistai 1. joulukuuta 2026 10.00\nVastaanottaja: Mikael\nAihe: Ärende", "Tillstyrker."),
    ("fi-sv", "Inga synpunkter.\n\n-----Alkuperäinen viesti-----\nFrån: KLG\nSkickat: den 1 december 2026 10:00\n"
              "Till: Mikael\nÄmne: Ärende", "Inga synpunkter."),
    ("sv", "Hej,\n\n> Ska vi ta ärendet på tisdag?\n\nJa, det går bra.\n\n/Anna", "Ja, det går bra."),
    ("sv", "Tillstyrker\nDen tis 1 dec. 2026 kl. 10:00 skrev KLG\n<klg@kommun.se>\n\n> Original", "Tillstyrker"),
    ("en", "Fine by me.\n\nOn Tue, 1 Dec 2026 at 10:00, KLG <klg@example.org> wrote\n> Original", "Fine by me."),
], ids=["da-outlook", "no-ipad", "no-outlook", "da-iphone-quoted", "fi-sv-finnish-outlook", "fi-sv-finnish-separator",
        "sv-bottom-under-hej", "sv-wrapped-no-colon", "en-no-colon"])
def test_nordic_and_wrapped_shapes(lang, text, comment):
    """Shapes the real corpus lacks: Danish, Norwegian and Finland-Swedish clients,
    a bottom-posted answer under a "Hej," and attributions wrapped or without a colon."""
    assert latest_reply(text) == comment
