"""Issue 17, breaks as rules: ``[schedule] skip`` with yearly weeks, "christmas" and
yearly days; dated ranges still work; the default config plans no meeting in July
of any year nor in the weeks of Christmas and New Year."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from daemon.checks import load_config
from daemon.schedule import Calendar
from tests.helpers import MARIA, at, make_mail, new_instance


@pytest.fixture
def inst(tmp_path):
    return new_instance(tmp_path / "klg")


def _calendar(inst) -> Calendar:
    config = load_config(inst.config_path)
    return Calendar(config.schedule, config.group.timezone)


def test_the_default_has_no_meeting_in_july_of_any_year_nor_at_christmas(inst):
    cal = _calendar(inst)
    for year in range(2026, 2046):
        held = cal.meetings(date(year, 1, 1), date(year, 12, 31))
        assert not [d for d in held if d.month == 7], year
        assert not [d for d in held if (d.month, d.day) >= (12, 24) or (d.month, d.day) == (1, 1)], year
        assert [d for d in held if d.month == 8 and d.day > 14], year  # the autumn starts again
    assert cal.skip_reason(date(2028, 7, 11)) == "uppehåll: sommaruppehåll"
    assert cal.skip_reason(date(2026, 12, 29)) == "uppehåll: jul"
    assert cal.next_meeting(date(2026, 12, 15)) == date(2026, 12, 22)
    assert cal.next_meeting(date(2026, 12, 22)) == date(2027, 1, 5)


def test_christmas_is_the_whole_weeks_of_christmas_eve_and_new_years_day(inst):
    inst.edit_config('{ from = "12-24", to = "01-01", name = "jul" }', '"christmas"')
    cal = _calendar(inst)
    for year in range(2026, 2046):
        held = cal.meetings(date(year, 1, 1), date(year, 12, 31))
        for christmas in (date(year, 12, 24), date(year, 1, 1)):
            monday = christmas - timedelta(days=christmas.weekday())
            assert not [d for d in held if monday <= d <= monday + timedelta(days=6)], (year, christmas)
    # 22 December (the week of Christmas Eve) and 29 December (of New Year's Day, a Friday) are off
    assert cal.next_meeting(date(2026, 12, 15)) == date(2027, 1, 5)
    assert cal.skip_reason(date(2026, 12, 22)) == "uppehåll: jul"


@pytest.mark.parametrize("skip, day, reason", [
    ('[{ weeks = "9" }]', date(2027, 3, 2), "uppehåll"),  # sportlov, week 9
    ('[{ weeks = "8,9-10", name = "sportlov" }]', date(2027, 3, 9), "uppehåll: sportlov"),
    ('[{ from = "12-21", to = "01-06" }]', date(2027, 1, 5), "uppehåll"),  # over the new year
    ('[{ from = "12-21", to = "01-06" }]', date(2027, 12, 21), "uppehåll"),
    ('[{ from = "2027-04-19", to = "2027-04-23", name = "påsklov" }]', date(2027, 4, 20), "uppehåll: påsklov"),
    ('["jul"]', date(2031, 12, 23), "uppehåll: jul"),
])
def test_rules(inst, skip, day, reason):
    inst.edit_config('skip = [{ from = "06-22", to = "08-09", name = "sommaruppehåll" }, { from = "12-24", to = "01-01", name = "jul" }]', f"skip = {skip}")
    cal = _calendar(inst)
    assert cal.skip_reason(day) == reason
    assert day not in cal.meetings(day, day)


def test_a_dated_range_is_still_accepted(inst):
    inst.edit_config("skip_ranges = []", 'skip_ranges = [["2027-04-19", "2027-04-23"]]')
    assert _calendar(inst).skip_reason(date(2027, 4, 20)) == "uppehåll"


@pytest.mark.parametrize("skip, problem", [
    ('["easter"]', "schedule.skip[0] = 'easter': use \"christmas\""),
    ('[{ weeks = "27-60" }]', "weeks run from 1 to 53"),
    ('[{ weeks = "summer" }]', 'expected ISO week numbers such as "27-32"'),
    ('[{ from = "12-32", to = "01-06" }]', 'expected month-day such as "12-21"'),
    ('[{ form = "12-21", to = "01-06" }]', "schedule.skip[0].form = '12-21': not a key of a break"),
    ('[{ from = "2027-05-01", to = "2027-04-01" }]', "the last day comes before the first"),
])
def test_a_bad_rule_is_refused_with_the_fix(inst, capsys, skip, problem):
    inst.edit_config('skip = [{ from = "06-22", to = "08-09", name = "sommaruppehåll" }, { from = "12-24", to = "01-01", name = "jul" }]', f"skip = {skip}")
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert problem in result.stderr, result.stderr


def test_a_proposal_for_a_day_in_the_break_is_told_why(inst):
    inst.drop(make_mail(subject="Sommarplanering", body="Möte: 2027-07-06"))
    inst.tick(at("2027-06-01 09:00"))
    [ack] = inst.sent_to(MARIA)
    assert "uppehåll" in ack.get_body(preferencelist=("plain",)).get_content()
