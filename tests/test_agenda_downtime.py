"""After downtime the texts know the time: the daemon down from Friday to Tuesday morning
sends each person one mail per step that came due, with an answer time still ahead."""

from __future__ import annotations

from collections import Counter
from tests.helpers import CHAIR, CHANCELLERY, ERIK, MARIA, at, body, make_mail
from tests.text_checks import past_deadlines, sent_at


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def test_a_week_with_the_daemon_down_from_friday_to_tuesday_morning(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min", date=at("2026-11-25 09:00")))
    inst.drop(make_mail(ERIK, "Rekrytering", "Tid: 20 min\nTyp: diskussion", date=at("2026-11-26 09:00")))
    for moment in ("2026-11-25 09:00", "2026-11-26 09:00", "2026-11-27 17:00"):
        inst.tick(at(moment))
    before = len(inst.sent())
    back = at("2026-12-01 07:30")  # the draft (Monday 10:05) and the final time (Monday 14:00) have passed
    inst.tick(back)
    first_pass = inst.sent()[before:]

    # One mail each for the chair and the chancellery: the draft, with an answer time ahead.
    to_reviewers = [m for m in first_pass if {CHAIR, CHANCELLERY} & set(str(m["To"]).replace(" ", "").split(","))]
    assert [subject(m) for m in to_reviewers] == ["[KLG 2026-12-01] Utkast till dagordning – granska och svara senast 09:00"]
    [draft] = to_reviewers
    text = body(draft).replace("\r\n", "\n")
    assert "Utkastet kommer sent: det skulle ha skickats måndag 30 november 2026\nkl. 10:05" in text
    assert "senast tisdag 1 december 2026 kl. 09:00" in text
    assert "så snart den är godkänd" in text and "kl. 14:00" not in text
    # No one gets two mails of one kind in the same pass, and none names a time gone by.
    kinds = Counter((str(m["To"]), subject(m).split("]")[-1].split(":")[0].strip()) for m in first_pass)
    assert all(n == 1 for n in kinds.values()), kinds
    for m in first_pass:
        assert not past_deadlines(subject(m), body(m), "sv", sent_at(m)), (subject(m), past_deadlines(subject(m), body(m), "sv", sent_at(m)))

    # Nothing more until the new answer time; then the notice that it is not approved, once.
    for moment in ("2026-12-01 07:35", "2026-12-01 08:00", "2026-12-01 08:30", "2026-12-01 08:55"):
        inst.tick(at(moment))
    assert len(inst.sent()) == before + len(first_pass)
    inst.tick(at("2026-12-01 09:00"))
    inst.tick(at("2026-12-01 09:05"))
    later = inst.sent()[before + len(first_pass):]
    assert [subject(m) for m in later] == ["[KLG 2026-12-01] Påminnelse: dagordningen är inte godkänd"]
    assert "kl. 09:00, men ingen version är godkänd" in body(later[0]).replace("\r\n", "\n").replace("\n", " ")
