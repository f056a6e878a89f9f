"""The fault suite, short: three simulated days (Monday's draft and final agenda,
Tuesday's meeting, its minutes signed and sent, written procedures and their
comments) with the real daemon killed (SIGKILL) at random moments and named
points, the data disk filled, and — on Dovecot + Postfix — the servers restarted.
Afterwards every proposal is one item, every mail arrived exactly once, and the
inbox is empty. The days after Thursday repeat the same steps, so the long soak
(a month, 200 kills and more) is ``bench/fault_suite.py``, not the normal suite."""

from __future__ import annotations

import pytest

from tests.faultsim import Simulation
from tests.faultsim_run import RunSimulation


def test_three_days_of_faults_on_maildir(tmp_path):
    figures = Simulation(tmp_path, seed=7, kills=12, days=3).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.kills >= 12 and figures.proposals > 0
    assert figures.minutes["meetings"] >= 1 and figures.minutes["signed mails delivered once"] >= 10


def test_klg_run_killed_and_stopped_through_two_days_loses_and_repeats_nothing(tmp_path):
    """The real daemon, ``klg run``, on a test clock: SIGKILLs at random moments and at
    named points, SIGTERMs in the middle of a pass, a full disk; each time it is started
    again, and every mail still arrives exactly once."""
    figures = RunSimulation(tmp_path, seed=5, kills=4, days=2, sigterms=2).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.kills >= 4 and figures.sigterms >= 1 and figures.sigterms == figures.sigterms_clean
    assert figures.daemon_starts >= figures.kills + figures.sigterms and figures.mails_delivered > 0
    minutes = figures.minutes  # the meeting of Tuesday 3 November: form, change round, signatures, audiences
    assert minutes["meetings"] == 1 and minutes["change requests"] == 1 and minutes["edited forms"] == 1
    assert minutes["signed mails delivered once"] == 10 and minutes["lost"] == minutes["duplicated"] == 0


@pytest.mark.servers
def test_three_days_of_faults_on_imap_and_smtp(tmp_path, servers):
    figures = Simulation(tmp_path, seed=11, kills=10, days=3, servers=servers).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.dovecot_restarts + figures.postfix_restarts > 0


@pytest.mark.servers
@pytest.mark.slow
def test_klg_run_on_imap_and_smtp_through_two_days_of_faults(tmp_path, servers):
    figures = RunSimulation(tmp_path, seed=3, kills=4, days=2, sigterms=1, servers=servers).run()
    print(figures.report())
    assert figures.ok(), figures.report()
    assert figures.kills >= 4 and figures.sigterms == figures.sigterms_clean >= 1
    assert figures.minutes["meetings"] == 1 and figures.minutes["signed mails delivered once"] == 10


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
def test_smtp_delivery_interrupted_is_checked_against_the_sent_folder(tmp_path, servers, point, submissions,
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


@pytest.mark.servers
def test_smtp_delivery_interrupted_after_acceptance_is_settled_by_the_copy_to_self(tmp_path, servers):
    """With copy_to_self the shared mailbox is a hidden recipient of the same SMTP
    transaction: its copy coming back proves the member got the mail, so a kill
    between the server's 250 and klg's record sends nothing twice."""
    from tests.faultsim import ServersWorld
    from tests.helpers import GROUP, MARIA, make_mail
    from tests.servers import imap_instance

    inst = imap_instance(tmp_path / "klg", servers, transport={"copy_to_self": True})
    servers.send(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"), MARIA)
    servers.wait_for(GROUP, 1)
    first = inst.klg("tick", "--now", "2026-11-20T10:00", env={"KLG_CRASH_AT": "smtp.after-accept"})
    assert first.returncode == -9, first.stderr[-2000:]
    servers.wait_queue_empty()
    again = inst.klg("tick", "--now", "2026-11-20T10:01")
    assert again.returncode == 0, again.stderr[-2000:]
    [row] = _outbox(inst)
    assert row["state"] == "sent" and row["interrupted"] == 1 and row["resent_unsure"] == 0
    assert ServersWorld(inst, servers).submissions()[row["message_id"]] == 1
    [ack] = servers.messages(MARIA)
    assert ack["Message-ID"].strip("<>") == row["message_id"]
    assert "klg@example.org" not in ack.get("To", "") + ack.get("Cc", "")  # the copy's recipient stays hidden
    assert servers.count(GROUP) == 0  # the copy, like the proposal, went to the processed folder
    assert servers.count(GROUP, "klg/Behandlat") == 2


@pytest.mark.servers
def test_an_interrupted_attempt_waits_for_its_copy_before_sending_again(tmp_path, servers):
    """Killed before the server took the mail: no copy comes back, so after the
    grace period the mail is sent once (and counted as unsure)."""
    from tests.faultsim import ServersWorld
    from tests.helpers import GROUP, MARIA, make_mail
    from tests.servers import imap_instance

    inst = imap_instance(tmp_path / "klg", servers, transport={"copy_to_self": True})
    servers.send(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"), MARIA)
    servers.wait_for(GROUP, 1)
    first = inst.klg("tick", "--now", "2026-11-20T10:00", env={"KLG_CRASH_AT": "outbox.before-send"})
    assert first.returncode == -9, first.stderr[-2000:]
    assert inst.klg("tick", "--now", "2026-11-20T10:05").returncode == 0
    assert servers.messages(MARIA) == [] and _outbox(inst)[0]["state"] == "queued"  # still waiting for a copy
    assert inst.klg("tick", "--now", "2026-11-20T10:11").returncode == 0
    servers.wait_queue_empty()
    [row] = _outbox(inst)
    assert row["state"] == "sent" and row["interrupted"] == 1 and row["resent_unsure"] == 1
    assert ServersWorld(inst, servers).submissions()[row["message_id"]] == 1
    assert len(servers.messages(MARIA)) == 1


# --- klg run's test clock ---------------------------------------------------------

def test_the_test_clock_reads_now_from_its_file_and_wakes_on_a_change(tmp_path):
    from datetime import datetime, timedelta, timezone

    from daemon.running import FileClock

    path = tmp_path / "now.txt"
    path.write_text("2026-11-03T12:00:00+01:00")
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 11, 3, 11, 0, tzinfo=timezone.utc)
    assert clock.now().utcoffset() == timedelta(hours=1)
    assert clock.take() is True and clock.take() is False  # one wake-up per move of the clock
    path.write_text("2026-11-03T12:20:00+01:00")
    assert clock.take() is True


@pytest.mark.parametrize("content, says", [
    (None, "cannot read the test clock"),
    ("tisdag", "not an ISO 8601 time"),
    ("2026-11-03T12:00", "without an offset"),
])
def test_a_broken_test_clock_stops_the_daemon_with_a_message(tmp_path, content, says):
    from daemon.running import FileClock

    path = tmp_path / "now.txt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as stopped:
        FileClock(path).now()
    assert says in str(stopped.value) and "KLG_TEST_CLOCK" in str(stopped.value)
