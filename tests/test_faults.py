"""The fault suite, short: a week of simulated time with the real daemon killed
(SIGKILL) at random moments and named points, the data disk filled, and — on
Dovecot + Postfix — the servers restarted. Afterwards every proposal is one
item, every mail arrived exactly once, and the inbox is empty. The full run
(a month, 200 kills and more) is ``bench/fault_suite.py``."""

from __future__ import annotations

import pytest

from tests.faultsim import Simulation
from tests.servers import mailservers, servers  # noqa: F401  (fixtures)


def test_a_week_of_faults_on_maildir(tmp_path):
    figures = Simulation(tmp_path, seed=7, kills=20, days=7).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.kills >= 20 and figures.proposals > 0


@pytest.mark.servers
def test_a_week_of_faults_on_imap_and_smtp(tmp_path, servers):  # noqa: F811
    figures = Simulation(tmp_path, seed=11, kills=15, days=5, servers=servers).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.dovecot_restarts + figures.postfix_restarts > 0


# --- the outbox's one window, point by point ----------------------------------------

def _outbox(inst) -> list[dict]:
    store = inst.store()
    try:
        return store.all("SELECT message_id, state, interrupted, resent_unsure FROM outbox")
    finally:
        store.close()


def test_maildir_delivery_interrupted_after_the_file_is_written_is_not_repeated(tmp_path):
    from tests.helpers import MARIA, make_mail, new_instance

    inst = new_instance(tmp_path / "klg")
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"))
    first = inst.klg("tick", "--now", "2026-11-20T10:00", env={"KLG_CRASH_AT": "outbox.after-send"})
    assert first.returncode == -9, first.stderr[-2000:]
    again = inst.klg("tick", "--now", "2026-11-20T10:01")
    assert again.returncode == 0, again.stderr[-2000:]
    [row] = _outbox(inst)
    assert row["state"] == "sent" and row["interrupted"] == 1 and row["resent_unsure"] == 0
    assert [m["Message-ID"].strip("<>") for m in inst.sent()] == [row["message_id"]]


@pytest.mark.servers
@pytest.mark.parametrize("point, submissions, unsure", [
    ("outbox.before-send", 1, 1),   # nothing went out; sent once after the restart (it could not know)
    ("outbox.after-send", 1, 0),    # accepted and copied to Sent: found there, not sent again
    ("smtp.after-accept", 2, 1),    # accepted, killed before the Sent copy: sent again, and counted
])
def test_smtp_delivery_interrupted_is_checked_against_the_sent_folder(tmp_path, servers, point, submissions,  # noqa: F811
                                                                        unsure):
    from tests.faultsim import ServersWorld
    from tests.helpers import MARIA, make_mail
    from tests.servers import imap_instance

    inst = imap_instance(tmp_path / "klg", servers, transport={"sent_folder": "Sent"})
    servers.send(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"), MARIA)
    servers.wait_for("klg@example.org", 1)
    first = inst.klg("tick", "--now", "2026-11-20T10:00", env={"KLG_CRASH_AT": point})
    assert first.returncode == -9, first.stderr[-2000:]
    again = inst.klg("tick", "--now", "2026-11-20T10:01")
    assert again.returncode == 0, again.stderr[-2000:]
    servers.wait_queue_empty()
    [row] = _outbox(inst)
    assert row["state"] == "sent" and row["interrupted"] == 1 and row["resent_unsure"] == unsure
    assert ServersWorld(inst, servers).submissions()[row["message_id"]] == submissions
    assert [m["Message-ID"].strip("<>") for m in servers.messages("klg@example.org", "Sent")] == [row["message_id"]]
