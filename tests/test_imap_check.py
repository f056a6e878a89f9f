"""``[mailbox] check_seconds``: within office hours the IMAP inbox is searched
every few tenths of a second instead of waited on in IDLE (Dovecot announces
mail in IDLE half a second late); outside them it is IDLE as before."""

from __future__ import annotations

import threading
import time

import pytest

from daemon.backends import open_mailbox
from daemon.backends.imap_idle import ImapWaiter
from tests.helpers import MARIA, at, make_mail
from tests.servers import acknowledged_one_by_one, imap_instance


def waiter(clock, hours: str = "07:00-18:00", every: float = 0.1) -> ImapWaiter:
    return ImapWaiter(None, None, 600, every, hours, clock, at("2026-11-20 09:00").tzinfo)


def test_office_hours_are_weekdays_between_the_hours_in_the_groups_time_zone():
    assert waiter(lambda: at("2026-11-20 09:00")).checking()  # a Friday morning
    assert not waiter(lambda: at("2026-11-20 18:00")).checking()  # the end is not inside
    assert not waiter(lambda: at("2026-11-21 10:00")).checking()  # a Saturday
    assert not waiter(lambda: at("2026-11-23 06:59")).checking()
    assert waiter(lambda: at("2026-11-23 21:00"), hours="00:00-24:00").checking()
    assert not waiter(lambda: at("2026-11-20 09:00"), every=0).checking()  # off: IDLE only


def test_bad_values_are_refused_with_the_fix():
    from daemon.backends import settings

    problems = settings.imap({"host": "h", "username": "u", "password_env": "X", "check_seconds": 0.001,
                              "check_hours": "18-07"})
    assert any("check_seconds = 0.001" in p and "0.05 and 60" in p for p in problems)
    assert any("check_hours = '18-07'" in p and "HH:MM-HH:MM" in p for p in problems)


@pytest.mark.servers
def test_in_office_hours_the_daemon_sees_new_mail_by_searching(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers, mailbox={"check_seconds": 0.1})
    config = inst.config
    store = inst.store()
    mailbox = open_mailbox(config, store, lambda: at("2026-11-20 09:00"))
    try:
        assert list(mailbox.fetch()) == []
        returned = threading.Event()
        started = time.monotonic()

        def wait():
            mailbox.wait(30)
            returned.set()

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.5)
        assert not returned.is_set() and not mailbox.session.idling  # searching, not in IDLE
        servers.append(make_mail(MARIA, "Nytt förslag"))
        appended = time.monotonic()
        thread.join(10)
        assert returned.is_set() and time.monotonic() - appended < 5 and time.monotonic() - started < 20
        assert len(list(mailbox.fetch())) == 1
    finally:
        mailbox.close()
        store.close()


@pytest.mark.servers
def test_checking_daemon_acknowledges_each_mail_once(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers, poll_seconds=5, mailbox={"check_seconds": 0.1})
    assert acknowledged_one_by_one(servers, inst) == {f"[KLG-2026-00{n + 1}] Mottaget: Förslag {n}": 1 for n in range(3)}
