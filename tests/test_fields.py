"""The body fields members write, in Swedish and English, as people write them."""

from datetime import date

import pytest

from daemon import fields

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("text,minutes", [
    ("15", 15), ("15 min", 15), ("15 minuter", 15), ("15min", 15), ("1 h", 60), ("1h", 60), ("1,5 timmar", 90),
    ("1.5 hours", 90), ("1h30", 90), ("1 h 30 min", 90), ("2 tim", 120), ("90 minutes", 90), ("en kvart", None), ("", None),
])
def test_minutes(text, minutes):
    assert fields.parse_minutes(text) == minutes


@pytest.mark.parametrize("text,day", [
    ("2026-12-01", date(2026, 12, 1)), ("1/12", date(2026, 12, 1)), ("1/12 2026", date(2026, 12, 1)),
    ("1 december", date(2026, 12, 1)), ("1 dec 2026", date(2026, 12, 1)), ("tisdag 1 december", date(2026, 12, 1)),
    ("5 jan", date(2027, 1, 5)), ("12 January 2027", date(2027, 1, 12)), ("2026-02-30", None), ("snart", None),
])
def test_dates(text, day):
    assert fields.parse_date(text, TODAY) == day


def test_fields_and_description():
    parsed = fields.parse("FÖREDRAGANDE: Maria Holm\n**Tid:** 20 min\ntyp: Beslutsärende\nWritten procedure: yes\n\n"
                          "Bakgrund: se bilaga.\nText.\n-- \nMaria Holm\nEkonomichef", TODAY)
    assert parsed.values == {"presenter": "Maria Holm", "minutes": 20, "kind": "beslut", "written_procedure": True}
    assert parsed.description == "Bakgrund: se bilaga.\nText."
    assert parsed.warnings == []  # "Bakgrund:" after the opening block is prose, not an unknown field


def test_unknown_fields_are_reported_not_guessed():
    parsed = fields.parse("Prioritet: hög\nTid: 240\nTyp: kanske\n\nText", TODAY)
    assert parsed.values == {"minutes": 240}
    assert parsed.unknown == ["Prioritet"]
    assert any("kanske" in w for w in parsed.warnings)


def test_several_unknown_fields_are_named_in_the_plural():
    one = fields.parse("Budget: 2026/12\n\nText", TODAY)
    several = fields.parse("Budget: 2026/12\nPrioritet: hög\n\nText", TODAY)
    english = fields.parse("Budget: 2026/12\nPrioritet: hög\n\nText", TODAY, "en")
    assert "Okänt fält ”Budget” lämnades kvar i beskrivningen." in one.warnings
    assert "Okända fält ”Budget”, ”Prioritet” lämnades kvar i beskrivningen." in several.warnings
    assert "Unknown fields ”Budget”, ”Prioritet” were left in the description." in english.warnings


@pytest.mark.parametrize("text,expected", [
    ("ÅTERKALLA", True), ("återkalla tack", True), ("Withdraw", True), ("  \n\nÅterkallar förslaget", True),
    ("Jag vill inte återkalla", False), ("Tid: 20", False),
])
def test_withdrawal(text, expected):
    assert fields.is_withdrawal(text) is expected
