from tests.helpers import MARIA, at, body, make_mail


def test_proposal_is_acknowledged(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min\nTyp: beslut\n\nUppföljning."))
    inst.tick(at("2026-11-20 09:00"))
    [ack] = inst.sent()
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning"
    assert "15 minuter" in body(ack)
    status = inst.status(at("2026-11-20 09:00"))
    assert status["meetings"][0]["items"][0]["id"] == "KLG-2026-001"
