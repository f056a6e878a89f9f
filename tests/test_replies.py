"""The new part of a reply and its stance, on real reply shapes (tests/corpus/replies)."""

from pathlib import Path

import pytest

from daemon.mail.message import parse
from daemon.mail.replies import latest_reply, read_stance

CORPUS = Path(__file__).parent / "corpus" / "replies"
PAIRS = sorted(CORPUS.glob("*.eml"))


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
])
def test_edges(text, comment):
    assert latest_reply(text, ["Erik Sandberg"]) == comment
