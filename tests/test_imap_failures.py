"""Servers that go away under the daemon: nothing lost, nothing twice.

Each test runs the real engine loop against Dovecot and Postfix, breaks
something the way production breaks (a restart, a connection reset in the
middle of a FETCH, a peer that stops answering, Postfix down for a while, a
recreated folder), and then looks at what the members got."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from daemon import intake
from daemon.context import Ctx
from daemon.backends import open_mailbox, open_transport
from daemon.engine import Engine
from tests.helpers import GROUP, LENA, MARIA, SOFIA, at, make_mail
from tests.servers import Daemon, imap_instance

pytestmark = pytest.mark.servers

START = at("2026-11-20 09:00")


def acks(servers, member: str) -> Counter:
    """How often each acknowledgement subject arrived in ``member``'s inbox."""
    return Counter(m["Subject"] for m in servers.messages(member))


def settle(servers, daemon: Daemon | None = None, seconds: float = 2.0) -> None:
    """Give a duplicate, if there were going to be one, time to show up."""
    time.sleep(seconds)
    servers.wait_queue_empty()


def wait_until(condition, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_dovecot_restarted_while_the_daemon_idles(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    with Daemon(inst, START):
        servers.send(make_mail(MARIA, "Före omstarten"), MARIA)
        servers.wait_for(MARIA, 1)
        time.sleep(1.0)  # the daemon is back in IDLE
        servers.stop_dovecot()
        servers.send(make_mail(MARIA, "Under omstarten"), MARIA)  # Postfix holds it until LMTP is back
        time.sleep(1.5)
        servers.start_dovecot()
        servers.wait_for(MARIA, 2, timeout=30)
        settle(servers)
    assert acks(servers, MARIA) == {"[KLG-2026-001] Mottaget: Före omstarten": 1,
                                    "[KLG-2026-002] Mottaget: Under omstarten": 1}
    assert servers.count(GROUP, "INBOX") == 0 and servers.count(GROUP, "klg/Behandlat") == 2


def test_connection_killed_in_the_middle_of_a_fetch(servers, imap_proxy, tmp_path):
    big = b"x" * 700_000
    for n in (1, 2, 3):
        servers.append(make_mail(MARIA, f"Förslag {n}", attachments=[(f"bilaga{n}.pdf", big, "application/pdf")]))
    inst = imap_instance(tmp_path / "klg", servers, imap_port=imap_proxy.port, mailbox={"fetch_batch_mb": 1})
    # the daemon's first connection dies once 1.5 MB came down: during the second message's FETCH
    imap_proxy.cut_next_after(1_500_000)
    with Daemon(inst, START):
        servers.wait_for(MARIA, 3, timeout=30)
        settle(servers)
    assert imap_proxy.accepted >= 2, "the connection was never cut"
    assert acks(servers, MARIA) == {f"[KLG-2026-00{n}] Mottaget: Förslag {n}": 1 for n in (1, 2, 3)}
    assert servers.count(GROUP, "INBOX") == 0 and servers.count(GROUP, "klg/Behandlat") == 3


def test_a_silent_dead_connection_is_noticed_and_replaced(servers, imap_proxy, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers, imap_port=imap_proxy.port,
                         mailbox={"idle_minutes": 0.05, "timeout_seconds": 2})
    with Daemon(inst, START):
        time.sleep(1.0)  # connected and idling
        imap_proxy.blackhole()  # packets vanish; no FIN, no RST, like a dropped NAT entry
        servers.send(make_mail(LENA, "Efter avbrottet"), LENA)
        servers.wait_for(LENA, 1, timeout=20)  # renewed IDLE times out, the daemon reconnects
        settle(servers)
    assert imap_proxy.accepted >= 2
    assert acks(servers, LENA) == {"[KLG-2026-001] Mottaget: Efter avbrottet": 1}


def test_postfix_stopped_for_a_while(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    with Daemon(inst, START) as daemon:
        servers.send(make_mail(SOFIA, "Innan Postfix stannar"), SOFIA)
        servers.wait_for(SOFIA, 1)
        servers.stop_postfix()
        servers.append(make_mail(SOFIA, "Medan Postfix står"))  # already in the mailbox; the answer cannot leave
        wait_until(lambda: daemon.outbox().get("queued") == 1, what="the acknowledgement to wait in the outbox")
        time.sleep(1.5)  # a pass or two while the server refuses connections
        assert servers.count(SOFIA) == 1
        servers.start_postfix()
        deadline = time.monotonic() + 30
        while servers.count(SOFIA) < 2 and time.monotonic() < deadline:
            daemon.skip(60)  # the daemon's clock runs past the outbox's backoff
            time.sleep(0.5)
        servers.wait_for(SOFIA, 2, timeout=1)
        settle(servers)
        assert daemon.outbox() == {"sent": 2}
    assert acks(servers, SOFIA) == {"[KLG-2026-001] Mottaget: Innan Postfix stannar": 1,
                                    "[KLG-2026-002] Mottaget: Medan Postfix står": 1}


def test_uidvalidity_changes_under_the_daemon(servers, tmp_path):
    """The inbox folder is deleted and recreated with the same mail in it (a
    restore from backup): what was handled is only moved, never handled again."""
    inst = imap_instance(tmp_path / "klg", servers, mailbox={"inbox": "Delad"})
    first, second, third = (make_mail(MARIA, f"Ärende {n}") for n in (1, 2, 3))
    with servers.imap() as admin:
        admin.create_folder("Delad")
        for raw in (first, second):
            admin.append("Delad", raw)
    config = inst.config
    store = inst.store()
    engine = Engine(config, store, open_mailbox(config), open_transport(config))
    try:
        ctx = Ctx(config, store, START)
        messages = engine.mailbox.fetch()
        one = next(messages)              # handled and committed ...
        outcome = intake.handle(ctx, one.raw)
        two = next(messages)              # ... and this one handled, but the daemon "crashed" before moving it
        intake.handle(ctx, two.raw)
        messages.close()
        # someone restores the folder from a backup: new UIDVALIDITY, the old mail back, plus a new one;
        # the daemon's session is cut on the way
        with servers.imap() as admin:
            before = admin.folder_status("Delad", ["UIDVALIDITY"])[b"UIDVALIDITY"]
            admin.delete_folder("Delad")
            admin.create_folder("Delad")
            for raw in (third, first, second):  # the old UID 1 now names another message
                admin.append("Delad", raw)
            assert admin.folder_status("Delad", ["UIDVALIDITY"])[b"UIDVALIDITY"] != before
        servers.kick()
        engine.mailbox.move(one.key, outcome.disposition)  # reconnects; the old key is found again by Message-ID
        assert [m["Subject"] for m in servers.messages(GROUP, "klg/Behandlat")] == ["Ärende 1"]
        result = engine.tick(START)
        assert result["messages"] == 2  # the restored copy of the second (a duplicate) and the new third
    finally:
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    servers.wait_for(MARIA, 3)
    settle(servers)
    assert acks(servers, MARIA) == {f"[KLG-2026-00{n}] Mottaget: Ärende {n}": 1 for n in (1, 2, 3)}
    assert servers.count(GROUP, "Delad") == 0 and servers.count(GROUP, "klg/Behandlat") == 3


def test_uidvalidity_changed_while_klg_was_stopped(servers, tmp_path):
    """UIDVALIDITY is kept in the store: a folder restored from a backup while
    klg was stopped is noticed at the next start and written to the audit log,
    and the restored mail is only moved, never handled again; the new mail is
    handled once."""
    inst = imap_instance(tmp_path / "klg", servers, mailbox={"inbox": "Delad"})
    first, second, third = (make_mail(MARIA, f"Ärende {n}") for n in (1, 2, 3))
    with servers.imap() as admin:
        admin.create_folder("Delad")
        for raw in (first, second):
            admin.append("Delad", raw)
        before = admin.folder_status("Delad", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    inst.tick(START)  # the first process: both handled and moved, the value stored
    store = inst.store()
    try:
        assert store.all("SELECT folder, uidvalidity FROM imap_state") == [{"folder": "Delad", "uidvalidity": before}]
    finally:
        store.close()
    # while klg is stopped the folder is restored from a backup taken before the first pass
    with servers.imap() as admin:
        admin.delete_folder("Delad")
        admin.create_folder("Delad")
        for raw in (first, second, third):
            admin.append("Delad", raw)
        after = admin.folder_status("Delad", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert after != before
    result = inst.tick(START.replace(minute=5))  # a new process: nothing in memory
    assert result["messages"] == 3  # two recognised duplicates, moved, and the new third
    servers.wait_for(MARIA, 3)
    settle(servers)
    assert acks(servers, MARIA) == {f"[KLG-2026-00{n}] Mottaget: Ärende {n}": 1 for n in (1, 2, 3)}
    assert servers.count(GROUP, "Delad") == 0 and servers.count(GROUP, "klg/Behandlat") == 5
    store = inst.store()
    try:
        assert store.all("SELECT uidvalidity FROM imap_state") == [{"uidvalidity": after}]
        recreated = [e["what"] for e in store.all("SELECT what FROM events WHERE what LIKE 'IMAP folder%'")]
        assert recreated == [f"IMAP folder Delad was recreated (UIDVALIDITY {before} -> {after}); its mail is "
                             "matched by Message-ID, nothing is handled twice"]
        assert store.count("SELECT COUNT(*) FROM items") == 3
    finally:
        store.close()
