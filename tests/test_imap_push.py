"""Dovecot's push notification (``[mailbox] push_listen``): klg asks Dovecot to
push new mail of the shared mailbox, listens for the pushes, and its wait in
IDLE wakes on one a few milliseconds after delivery, instead of at Dovecot's
IDLE announcement half a second later, or, for mail delivered between the
search and the start of IDLE, at the wait's timeout.

The test Dovecot (``tests/servers.py``) has the push_notification plugin with
its OX driver, pushing to ``servers.push_port``, as the README tells an
operator to set it up."""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

import pytest

from daemon.backends import open_mailbox, settings
from daemon.backends.imap_push import PushListener
from tests.helpers import GROUP, MARIA, REPO, at, make_mail
from tests.servers import SHARED, acknowledged_one_by_one, free_port, imap_instance

WOKEN = "woken by Dovecot's push"


def push_instance(servers, tmp_path, poll_seconds: float = 1):
    return imap_instance(tmp_path / "klg", servers, poll_seconds=poll_seconds,
                         mailbox={"push_listen": f"127.0.0.1:{servers.push_port}"})


@contextmanager
def opened(inst):
    """The instance's IMAP mailbox as the daemon opens it (its store, a Friday-morning clock)."""
    store = inst.store()
    mailbox = open_mailbox(inst.config, store, lambda: at("2026-11-20 09:00"))
    try:
        yield mailbox
    finally:
        mailbox.close()
        store.close()


def waiting(mailbox, timeout: float) -> tuple[threading.Thread, threading.Event]:
    returned = threading.Event()

    def wait():
        mailbox.wait(timeout)
        returned.set()

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, returned


def mail_comes_in_through_idle(servers, mailbox) -> None:
    """Without a push, the wait still wakes for new mail (IDLE announces it), and the fetch takes it."""
    assert list(mailbox.fetch()) == []
    thread, returned = waiting(mailbox, 30)
    time.sleep(0.5)
    servers.send(make_mail(MARIA, "Ändå mottaget"), MARIA)
    thread.join(15)
    assert returned.is_set() and len(list(mailbox.fetch())) == 1


@pytest.mark.servers
def test_klg_asks_dovecot_to_push_and_its_wait_wakes_on_the_push(servers, tmp_path, caplog):
    inst = push_instance(servers, tmp_path)
    caplog.set_level(logging.DEBUG, logger="klg.mail.imap")
    with opened(inst) as mailbox:
        assert list(mailbox.fetch()) == []
        assert servers.push_registration() == ""  # not before klg listens
        thread, returned = waiting(mailbox, 30)
        time.sleep(0.5)
        assert servers.push_registration() == f"user={SHARED}"
        assert not returned.is_set() and mailbox.session.idling  # in IDLE, as without push
        servers.send(make_mail(MARIA, "Nytt förslag"), MARIA)
        thread.join(10)
        assert returned.is_set()
        assert WOKEN in caplog.text and mailbox.push.pushes == 1
        assert [message_from_bytes(m.raw, policy=default)["Subject"] for m in mailbox.fetch()] == ["Nytt förslag"]


@pytest.mark.servers
def test_mail_delivered_between_the_search_and_idle_wakes_the_wait_at_once(servers, tmp_path, caplog):
    """Without push this mail would wait for the wait's timeout: Dovecot does not
    announce, at the start of IDLE, mail that came before it."""
    inst = push_instance(servers, tmp_path)
    caplog.set_level(logging.DEBUG, logger="klg.mail.imap")
    with opened(inst) as mailbox:
        assert list(mailbox.fetch()) == []
        client = mailbox.session.client
        search = client.search

        def search_then_delivery(*args, **kwargs):
            found = search(*args, **kwargs)
            client.search = search  # once
            servers.send(make_mail(MARIA, "Just efter sökningen"), MARIA)
            servers.wait_for(SHARED, 1, timeout=10)  # delivered, before IDLE starts
            return found

        client.search = search_then_delivery
        started = time.monotonic()
        mailbox.wait(20)
        assert time.monotonic() - started < 10 and WOKEN in caplog.text
        assert len(list(mailbox.fetch())) == 1


@pytest.mark.servers
def test_the_daemon_with_push_acknowledges_each_mail_once(servers, tmp_path, caplog):
    inst = push_instance(servers, tmp_path, poll_seconds=5)
    caplog.set_level(logging.DEBUG, logger="klg.mail.imap")
    assert acknowledged_one_by_one(servers, inst) == {f"[KLG-2026-00{n + 1}] Mottaget: Förslag {n}": 1 for n in range(3)}
    assert caplog.text.count(WOKEN) >= 3


@pytest.mark.servers
def test_a_taken_port_is_reported_with_the_fix_and_klg_waits_in_idle(servers, tmp_path, caplog):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the earlier tests' closed connections
    blocker.bind(("127.0.0.1", servers.push_port))
    blocker.listen()
    inst = push_instance(servers, tmp_path)
    try:
        with opened(inst) as mailbox:
            mail_comes_in_through_idle(servers, mailbox)  # Dovecot's push to the taken port times out
            error = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert error == [f"cannot listen for Dovecot's push at 127.0.0.1:{servers.push_port} (it is in use by another "
                             f"program): choose another port in [mailbox] push_listen and in Dovecot's "
                             f"push_notification_driver url; klg waits in IDLE meanwhile"]
    finally:
        blocker.close()


@pytest.mark.servers
def test_a_refused_registration_is_reported_with_the_fix_and_klg_waits_in_idle(servers, tmp_path, caplog):
    """Dovecot answers SETMETADATA with NO when it cannot keep the entry (here its
    attribute dictionary, a file in the user's home, cannot be written): klg says so,
    naming the setting to look at, and mail still comes in through IDLE."""
    attributes = servers.root / "mail" / SHARED / "dovecot-attributes"
    kept = attributes.read_bytes() if attributes.is_file() else None
    attributes.unlink(missing_ok=True)
    attributes.mkdir()  # a folder where Dovecot keeps its file: every write of the dictionary fails
    inst = push_instance(servers, tmp_path)
    try:
        with opened(inst) as mailbox:
            mail_comes_in_through_idle(servers, mailbox)  # no push comes
            warned = [r.getMessage() for r in caplog.records if "push registration" in r.getMessage()]
            assert len(warned) == 1 and warned[0].startswith("IMAP 127.0.0.1 did not accept klg's push registration (")
            assert warned[0].endswith("in Dovecot set mail_attribute_dict (README: Push from Dovecot); klg waits in "
                                      "IDLE meanwhile")
            assert WOKEN not in caplog.text
    finally:
        attributes.rmdir()
        # the lock Dovecot took for the write that failed stays behind, and would hold up the next write
        attributes.with_name("dovecot-attributes.lock").unlink(missing_ok=True)
        if kept is not None:
            attributes.write_bytes(kept)
            shutil.chown(attributes, "nobody", "nogroup")


def test_the_listener_takes_only_new_mail_in_this_logins_inbox():
    listener = PushListener(("127.0.0.1", free_port()), "klg@example.org")
    assert listener.start()

    def request(body, method: str = "PUT") -> int:
        conn = http.client.HTTPConnection(*listener.address, timeout=5)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request(method, "/notify", body=data, headers={"Content-Type": "application/json"})
        status = conn.getresponse().status
        conn.close()
        return status

    new = {"user": "klg@example.org", "event": "messageNew", "folder": "INBOX", "imap-uid": 7,
           "from": "Maria Holm <maria.holm@example.org>", "subject": "Förslag", "unseen": 1}
    try:
        assert request(new | {"user": "someone@example.org"}) == 204
        assert request(new | {"folder": "Arkiv"}) == 204
        assert request(new | {"event": "FlagsSet"}) == 204
        assert request(b"{not json") == 400
        assert request(b"", "GET") == 405
        assert not listener.pushed() and listener.pushes == 0
        assert request(new) == 204 and request(new) == 204
        assert listener.pushed() and listener.pushes == 2
        assert not listener.pushed()  # two pushes before a look: one wake-up
    finally:
        listener.close()
    assert not listener.listening


def test_a_bad_push_address_is_refused_with_the_fix():
    problems = settings.imap({"host": "h", "username": "u", "password_env": "X", "push_listen": "8011"})
    assert problems == ["mailbox.push_listen = '8011': write the address and port klg listens at for Dovecot's "
                        "push, e.g. \"127.0.0.1:8011\" (README: Push from Dovecot)"]
    assert settings.parse_listen("[::1]:8011") == ("::1", 8011)
    assert settings.parse_listen("127.0.0.1:70000") is None


def test_a_tick_without_push_takes_a_mail_and_loads_no_http_server(servers, tmp_path):
    """The push's HTTP side (daemon/backends/push_request.py) is loaded when a push comes,
    not for every IMAP pass: a `klg tick` that handles a proposal never imports http.server."""
    inst = imap_instance(tmp_path / "klg", servers)
    servers.send(make_mail(MARIA, "Förslag utan push", "Tid: 5 min\n\nText."), MARIA)
    servers.wait_for(GROUP, 1)
    probe = ("import sys\nfrom daemon import cli\ncode = cli.main(sys.argv[1:])\n"
             "print('LOADED', 'http.server' in sys.modules, code)")
    result = subprocess.run([sys.executable, "-c", probe, "--config", str(inst.config_path), "tick",
                             "--now", "2026-11-20T09:00"], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED False 0", result.stdout
    assert servers.count(GROUP, "klg/Behandlat") == 1  # the pass did its work over IMAP
    [ack] = servers.wait_for(MARIA, 1)
    assert "Förslag utan push" in ack["Subject"]
