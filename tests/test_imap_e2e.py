"""The intake of the foundation issue against real Dovecot and Postfix: members
mail the shared mailbox by SMTP, the daemon (the real engine loop, waiting in
IMAP IDLE) handles the mail, and the answers arrive in the members' IMAP inboxes."""

from __future__ import annotations

import logging

import pytest

from daemon.backends.imap_connection import ImapConnection
from tests.helpers import CHANCELLERY, ERIK, GROUP, MARIA, at, body, make_mail, recipients
from tests.servers import Daemon, imap_instance

pytestmark = pytest.mark.servers

PDF = b"%PDF-1.4\n" + b"0" * 5000 + b"\n%%EOF\n"


def test_intake_round_trip_over_imap_and_smtp(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    proposal = make_mail(MARIA, "Budgetuppföljning oktober", "Tid: 15 min\nTyp: beslut\n\nUppföljning av budgeten.",
                         attachments=[("budget.pdf", PDF, "application/pdf")])
    with Daemon(inst, at("2026-11-20 09:00")) as daemon:
        servers.send(proposal, MARIA)
        servers.send(make_mail("stranger@example.org", "Köp billiga klockor", "Erbjudande"), "stranger@example.org")
        servers.send(make_mail(ERIK, "Automatiskt svar: Frånvaro", "Jag är ledig.",
                               headers={"Auto-Submitted": "auto-replied"}), ERIK)
        [ack] = servers.wait_for(MARIA, 1)
        assert ack["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning oktober"
        assert recipients(ack) == [MARIA]
        assert "15 minuter" in body(ack)
        assert ack["In-Reply-To"] and ack["From"].addresses[0].addr_spec == GROUP

        # the member withdraws the item by replying to the acknowledgement
        servers.send(make_mail(MARIA, "Re: " + ack["Subject"], "ÅTERKALLA", reply_to=ack), MARIA)
        msgs = servers.wait_for(MARIA, 2)
        assert [m["Subject"] for m in msgs][1] == "[KLG-2026-001] Återkallat: Budgetuppföljning oktober"
        servers.wait_for(GROUP, 2, folder="klg/Behandlat")
    servers.wait_queue_empty()

    # nobody else was answered: no backscatter to the stranger, no reply to the auto-reply
    assert servers.messages("stranger@example.org") == []
    assert servers.messages(ERIK) == []
    assert servers.messages(CHANCELLERY) == []
    assert len(servers.messages(MARIA)) == 2
    # the shared mailbox: inbox empty, handled mail moved into the folders klg created
    assert servers.count(GROUP, "INBOX") == 0
    processed = servers.messages(GROUP, "klg/Behandlat")
    assert sorted(m["Subject"] for m in processed) == sorted(
        ["Budgetuppföljning oktober", "Automatiskt svar: Frånvaro", "Re: [KLG-2026-001] Mottaget: Budgetuppföljning oktober"])
    [quarantined] = servers.messages(GROUP, "klg/Karantän")
    assert quarantined["Subject"] == "Köp billiga klockor"
    # and what the item looks like to the chancellery
    status = inst.status(at("2026-11-20 09:05"))
    [item] = [i for m in status["meetings"] for i in m["items"] if i["id"] == "KLG-2026-001"]
    assert item["state"] == "withdrawn" and item["attachments"] == ["budget.pdf"]
    assert status["outbox"]["sent"] == 2 and status["outbox"]["queued"] == 0


def test_idle_wakes_the_daemon_when_mail_arrives(servers, tmp_path):
    """With poll_seconds = 300 the loop would not look again for five minutes;
    the answer arriving within the wait below shows that IDLE woke it."""
    import time

    inst = imap_instance(tmp_path / "klg", servers, poll_seconds=300)
    daemon = Daemon(inst, at("2026-11-20 09:00")).__enter__()
    try:
        time.sleep(1.5)  # connected, first pass done, in IDLE
        servers.send(make_mail(MARIA, "Väcker IDLE"), MARIA)
        [ack] = servers.wait_for(MARIA, 1, timeout=20)
        assert ack["Subject"] == "[KLG-2026-001] Mottaget: Väcker IDLE"
    finally:
        daemon.engine.stop.set()
        servers.kick()  # the loop stops between waits; end this 300-second one
        daemon.stop()


def test_a_second_pass_without_waiting_finds_new_mail(servers, tmp_path):
    """Out of IDLE the server reports nothing unasked: every pass on the same connection must search."""
    from daemon.engine import Engine
    from daemon.backends import open_mailbox, open_transport
    from daemon.store import Store

    inst = imap_instance(tmp_path / "klg", servers)
    config = inst.config
    store = Store(config.data_dir)
    engine = Engine(config, store, open_mailbox(config), open_transport(config))
    try:
        servers.append(make_mail(MARIA, "Första förslaget", "Tid: 10"))
        assert engine.tick(at("2026-11-20 09:00"))["messages"] == 1
        servers.append(make_mail(MARIA, "Andra förslaget", "Tid: 10"))
        assert engine.tick(at("2026-11-20 09:01"))["messages"] == 1
    finally:
        engine.mailbox.close()
        engine.transport.close()
        store.close()
    assert servers.count(GROUP, "klg/Behandlat") == 2


def test_imaplib_formats_no_trace_unless_an_administrator_asks_for_it(servers, tmp_path, caplog):
    """imapclient turns imaplib's trace on (debug = 5): every fetched literal is
    formatted with %r, even though klg's logging drops it. klg's connection
    formats nothing, unless the imapclient.imaplib logger is at DEBUG."""
    inst = imap_instance(tmp_path / "klg", servers)
    servers.send(make_mail(MARIA, "Spårtest", "Tid: 5 min\n\nText.", attachments=[("a.pdf", PDF, "application/pdf")]),
                 MARIA)
    servers.wait_for(GROUP, 1)

    def fetch_all(client) -> list[str]:
        formatted: list[str] = []
        original = client._imap._mesg
        client._imap._mesg = lambda text, *a: (formatted.append(text), original(text, *a))
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        client.logout()
        assert [b"Sp" in f[b"BODY[]"] for f in fetched.values()] == [True]
        return formatted

    connection = ImapConnection(inst.config.mailbox.settings, "mailbox")
    assert fetch_all(connection.open()) == []

    logging.getLogger("imapclient.imaplib").setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="imapclient.imaplib"):
            traced = fetch_all(connection.open())
    finally:
        logging.getLogger("imapclient.imaplib").setLevel(logging.NOTSET)
    assert any("BODY[]" in line and "a.pdf" in line for line in traced)
    assert any("a.pdf" in r.getMessage() for r in caplog.records if r.name == "imapclient.imaplib")
