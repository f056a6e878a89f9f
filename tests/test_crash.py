"""Crash and restart at every step boundary, with a real SIGKILL.

`klg tick` runs as a separate process with ``KLG_CRASH_AT`` naming a point
where it kills itself (SIGKILL: no cleanup, no finally). Then it runs again
normally. Whatever the point, afterwards every proposal is one item, every
acknowledgement was delivered exactly once, the chancellery's notice was
delivered once, and the inbox is empty.
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.helpers import CHANCELLERY, ERIK, LENA, MARIA, at, make_mail, recipients

POINTS = [
    "intake.before-commit",
    "intake.after-commit",
    "ingest.in-batch",  # handled, the batch not committed: the four messages are one batch
    "ingest.after-move",
    "step.before-commit",
    "step.after-commit",
    "outbox.before-send",
    "outbox.after-send",
    "outbox.after-mark",
]
NOW = at("2026-11-20 16:30")  # after the daily quarantine notice time, so a step is due too


def fill(inst) -> None:
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"), name="1.eml")
    inst.drop(make_mail(ERIK, "Placeringar inom socialtjänsten", "Typ: information"), name="2.eml")
    inst.drop(make_mail("spam@elsewhere.example", "Erbjudande", "Köp!"), name="3.eml")
    inst.drop(make_mail(LENA, "Skolskjuts", "Tid: 1 h"), name="4.eml")


def check_exactly_once(inst) -> None:
    assert inst.folder("inbox") == []
    assert len(inst.folder("processed")) == 3 and len(inst.folder("quarantine")) == 1
    store = inst.store()
    try:
        items = store.all("SELECT title FROM items ORDER BY id")
        assert [i["title"] for i in items] == ["Budgetuppföljning", "Placeringar inom socialtjänsten", "Skolskjuts"]
        assert store.count("SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == 0
    finally:
        store.close()
    sent = inst.sent()
    by_id = Counter(m["Message-ID"] for m in sent)
    assert all(n == 1 for n in by_id.values()), by_id
    acks = Counter(tuple(recipients(m)) for m in sent if "Mottaget" in m["Subject"])
    assert acks == {(MARIA,): 1, (ERIK,): 1, (LENA,): 1}
    notices = [m for m in sent if recipients(m) == [CHANCELLERY]]
    assert len(notices) == 1 and "karantän" in notices[0]["Subject"]
    assert len(sent) == 4


@pytest.mark.parametrize("nth", [1, 2, 3])
@pytest.mark.parametrize("point", POINTS)
def test_kill_at_every_boundary_then_restart(inst, point, nth):
    fill(inst)
    first = inst.klg("tick", "--now", NOW.isoformat(), env={"KLG_CRASH_AT": f"{point}:{nth}"})
    # the step runs once per pass, the other points three or four times
    reachable = 1 if point.startswith("step") else 3
    if nth <= reachable:
        assert first.returncode == -signal.SIGKILL, (first.returncode, first.stderr[-2000:])
    else:
        assert first.returncode == 0
    again = inst.klg("tick", "--now", NOW.isoformat())
    assert again.returncode == 0, again.stderr[-2000:]
    check_exactly_once(inst)


def test_repeated_kills_until_done(inst):
    """Killed again and again, each time just after some progress: every run gets a
    little further, and none repeats what an earlier run did."""
    fill(inst)
    cycle = ["intake.after-commit", "ingest.after-move", "step.after-commit", "outbox.after-send", "outbox.after-mark"]
    runs = kills = 0
    while runs < 40:
        result = inst.klg("tick", "--now", NOW.isoformat(), env={"KLG_CRASH_AT": f"{cycle[runs % len(cycle)]}:1"})
        runs += 1
        if result.returncode == 0:
            break
        assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
        kills += 1
    assert kills >= 5
    check_exactly_once(inst)
