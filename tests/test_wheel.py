"""Issue 17, the annual wheel: ``[[annual_items]]`` go on their meeting's agenda on
their own, the presenter is reminded to mail the documents as a reply, the draft
names what came from the wheel, and `klg status` lists the year's wheel."""

from __future__ import annotations

import pytest

from tests.helpers import CHAIR, CHANCELLERY, MARIA, at, body, make_mail, new_instance, recipients
from tests.minutes_helpers import DOCX

WHEEL = '''
[[annual_items]]
title = "Budget {next_year}"
presenter = "Maria Holm"
minutes = 30
kind = "beslut"
month = 12
documents_due_days = 7

[[annual_items]]
title = "Delårsrapport augusti"
presenter = "Maria Holm"
minutes = 20
kind = "information"
week = 34

[[annual_items]]
title = "Arbetsplatsträff"
rrule = "FREQ=YEARLY;BYMONTH=3,9;BYMONTHDAY=1"
minutes = 45
'''


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def inst(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_SOFFICE", "/nonexistent/soffice")
    instance = new_instance(tmp_path / "klg")
    instance.config_path.write_text(instance.config_path.read_text(encoding="utf-8") + WHEEL, encoding="utf-8")
    return instance


def test_an_annual_item_goes_on_its_meeting_and_the_presenter_is_reminded(inst):
    inst.tick(at("2026-11-17 09:00"))
    assert inst.sent_to(MARIA) == []  # not yet: a week before the long-document deadline of 1 December
    inst.tick(at("2026-11-17 09:30"))
    [reminder] = inst.sent_to(MARIA)
    assert recipients(reminder) == [MARIA]
    assert subject(reminder) == "[KLG-2026-001] Årshjulet: Budget 2027 – handlingar senast tisdag 24 november 2026"
    text = flat(body(reminder))
    assert "Skicka handlingarna till ”Budget 2027” senast tisdag 24 november 2026 kl. 09:30" in text
    assert "står punkten på mötet tisdag 1 december 2026, med dig som föredragande" in text
    assert "senast tisdag 24 november 2026 kl. 09:30" in text
    inst.tick(at("2026-11-17 10:00"))
    assert len(inst.sent_to(MARIA)) == 1  # once

    # Maria replies with the document: it belongs to the item
    inst.drop(make_mail(MARIA, f"SV: {reminder['Subject']}", "Här är budgeten.", reply_to=reminder,
                        attachments=[("Budget 2027.docx", b"PK\x03\x04 not really", DOCX)]))
    inst.tick(at("2026-11-20 09:00"))
    assert "[KLG-2026-001]" in subject(inst.sent_to(MARIA)[-1])
    store = inst.store()
    try:
        [item] = store.all("SELECT * FROM items")
        assert (item["title"], item["presenter"], item["minutes"], item["kind"], item["origin"], item["meeting"]) == (
            "Budget 2027", "Maria Holm", 30, "beslut", "wheel", "2026-12-01")
        assert [a["name"] for a in store.attachments("KLG-2026-001")] == ["Budget 2027.docx"]
    finally:
        store.close()

    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent() if subject(m).startswith("[KLG 2026-12-01] Utkast till dagordning")][-1]
    assert recipients(draft) == sorted([CHAIR, CHANCELLERY])
    assert "Från årshjulet (lagda på dagordningen av klg): KLG-2026-001 Budget 2027 – Maria Holm" in flat(body(draft))
    assert "Budget 2027" in flat(body(draft))


def test_status_lists_the_years_wheel(inst):
    status = inst.status(at("2026-11-10 12:00"))
    wheel = status["wheel"]
    assert [(w["title"], w["meeting"], w["when"]) for w in wheel] == [
        ("Budget 2027", "2026-12-01", "month 12"),
        ("Arbetsplatsträff", "2027-03-02", "FREQ=YEARLY;BYMONTH=3,9;BYMONTHDAY=1"),
        ("Delårsrapport augusti", "2027-08-24", "week 34"),
        ("Arbetsplatsträff", "2027-09-07", "FREQ=YEARLY;BYMONTH=3,9;BYMONTHDAY=1"),
    ]
    assert wheel[0]["presenter"] == "Maria Holm" and wheel[0]["documents_due"].startswith("2026-11-24T09:30")
    assert wheel[2]["documents_due"] is None and wheel[0]["item"] is None
    text = inst.klg("status", "--now", at("2026-11-10 12:00").isoformat()).stdout
    assert "Annual wheel 2026-12-01: Budget 2027 (Maria Holm, month 12), goes on the agenda 2026-11-17T09:30" in text


@pytest.mark.parametrize("entry, problem", [
    ('title = "X"\nmonth = 13', "annual_items[3].month = 13: expected a month, 1 to 12"),
    ('title = "X"\nmonth = 1\nweek = 3', "give exactly one of month = 10, week = 34 or rrule"),
    ('title = "X"\nweek = 3\npresenter = "Kalle Anka"', "annual_items[3].presenter = 'Kalle Anka': not the name of a member"),
    ('title = "X"\nrrule = "FREQ=SOMETIMES"', "expected an RFC 5545 RRULE"),
    ('title = "X"\nweek = 3\nkind = "fika"', "annual_items[3].kind = 'fika': use one of"),
    ('title = "X"\nweek = 3\nminuter = 5', "annual_items[3].minuter is not a known key; did you mean minutes?"),
])
def test_a_bad_annual_item_is_refused(inst, entry, problem):
    inst.config_path.write_text(inst.config_path.read_text(encoding="utf-8") + f"\n[[annual_items]]\n{entry}\n",
                                encoding="utf-8")
    result = inst.klg("check-config")
    assert result.returncode == 2 and problem in result.stderr, result.stderr
