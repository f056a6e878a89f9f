"""Waiting for new IMAP mail with IDLE (RFC 2177).

IDLE is entered after a search that found nothing, and left when a wait times
out: the server syncs on DONE, which announces mail that arrived between the
search and the start of IDLE (servers such as Dovecot do not sync when IDLE
starts). A long wait re-issues IDLE every ``idle_minutes`` (well under the 29
minutes after which servers may drop an idle client); re-issuing also proves
the connection alive, within ``timeout_seconds``. imapclient's ``idle_check``
swallows EOF, so an early, empty return is treated as a possibly dead
connection and probed. A server without IDLE is polled.

With ``check_seconds`` set, within ``check_hours`` on weekdays (the group's
time zone) the waiter searches the inbox every ``check_seconds`` instead:
Dovecot announces new mail in IDLE only about half a second after delivery,
and mail that arrived between the last search and the start of IDLE only at
the next timeout, while a search (the inbox holds only unhandled mail, so it
is nearly always empty and cheap) sees it at once, with no announcement to
miss. Outside those hours it is IDLE as ever.

With ``push_listen`` (Dovecot's push notification, ``imap_push``) the waiter
stays in IDLE at all hours and also wakes on a push, which comes a few
milliseconds after delivery: as fast as looking every few milliseconds, at
IDLE's cost. Pushes are forgotten just before the search that precedes IDLE,
so mail delivered after that search wakes the wait at once, where IDLE alone
would announce it only at the next timeout.
"""

from __future__ import annotations

import logging
import select
import ssl
import time
from datetime import datetime, tzinfo
from typing import Callable

from imapclient.exceptions import IMAPClientError

from daemon.backends.imap_moving import ImapMover
from daemon.backends.imap_push import PushListener, register
from daemon.backends.imap_session import NEW_MAIL, ImapSession
from daemon.backends.settings import parse_hours
from daemon.mail import MailError

log = logging.getLogger("klg.mail.imap")

PUSHED = None  # what _idle_check returns when Dovecot pushed new mail


class ImapWaiter:
    """The wait of an :class:`~daemon.backends.imap.ImapMailbox`."""

    def __init__(self, session: ImapSession, mover: ImapMover, idle_seconds: float, check_seconds: float = 0,
                 check_hours: str = "07:00-18:00", clock: Callable[[], datetime] | None = None,
                 tz: tzinfo | None = None, push: PushListener | None = None):
        self.session = session
        self.push = push
        self.mover = mover
        self.idle_seconds = idle_seconds
        self.check_seconds = check_seconds
        self.hours = parse_hours(check_hours) or parse_hours("07:00-18:00")
        self.clock = clock  # the daemon's; without one (check-config, tools) office hours are always
        self.tz = tz

    def checking(self) -> bool:
        """True when the inbox is to be searched every check_seconds now rather than waited on in IDLE."""
        if not self.check_seconds:
            return False
        if self.clock is None:
            return True
        local = self.clock().astimezone(self.tz) if self.tz else self.clock()
        return local.weekday() < 5 and self.hours[0] <= local.time() < self.hours[1]

    def pushing(self) -> bool:
        """True when pushes will come: the listener is up and the server took the registration
        (asked once per connection, once klg listens, so Dovecot never pushes to a closed port
        on klg's account; not in IDLE, where no other command may be sent)."""
        s = self.session
        if self.push is None or not self.push.start():
            return False
        if s.registered is None and not s.idling:
            s.registered = register(s.client, self.push.user, s.conn.host)
        return bool(s.registered)

    def _check(self, deadline: float) -> None:
        """Look at the inbox every check_seconds until it holds mail, or ``deadline``:
        a search first (it sees whatever came since the last one), then NOOP, which the
        server answers with EXISTS when mail has come since (RFC 3501 6.1.2), at less than
        half a search's CPU on either side: twice as often for the same idle CPU."""
        s = self.session
        s.end_idle()
        if s.dirty or s.client.search(["UNDELETED"]):
            s.dirty = True
            return
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self.check_seconds, remaining))
            responses = s.client.noop()[1]
            if s.dirty or any(isinstance(r, tuple) and len(r) > 1 and r[1] in NEW_MAIL for r in responses):
                s.dirty = True
                return

    def wait(self, timeout: float) -> None:
        """Block until new mail may have arrived or ``timeout`` seconds passed, in
        IDLE when the server has it (left at the timeout, re-issued every idle_minutes meanwhile).
        A connection lost while waiting is replaced at once; MailError only if
        that fails (the engine then pauses and the backoff applies)."""
        s = self.session
        try:
            self._wait(timeout)
        except MailError as lost:
            if s.client is not None or s.failures:
                raise
            log.warning("%s; reconnecting", lost)
            s.ready()  # raises MailError if the server is still away

    def _wait(self, timeout: float) -> None:
        s = self.session
        deadline = time.monotonic() + timeout
        try:
            if not s.ready():
                time.sleep(max(0.0, min(deadline, s.next_attempt) - time.monotonic()))
                return
            self.mover.flush()
            if s.dirty:
                return
            if not s.can_idle:
                time.sleep(max(0.0, deadline - time.monotonic()))
                s.dirty = True
                return
            pushing = self.pushing()
            if self.checking() and not pushing:
                self._check(deadline)
                return
            if not s.idling:
                if pushing:
                    self.push.clear()  # what came before the search, it finds; a push after it is news
                if s.client.search(["UNDELETED"]):  # arrived after the last search, before IDLE
                    s.dirty = True
                    return
                s.start_idle()
            while True:
                now = time.monotonic()
                if now - s.idle_since >= self.idle_seconds:
                    s.end_idle()  # re-issue; also proves the connection alive
                    if s.dirty:
                        return
                    s.start_idle()
                    continue
                remaining = deadline - now
                if remaining <= 0:
                    # Leave IDLE at every timeout: DONE makes the server sync, and mail that came
                    # between the search above and IDLE's start is only announced by a sync
                    # (Dovecot at its next keepalive, about 20 s; other servers perhaps not before
                    # IDLE is re-issued). So it waits at most one wait(), not idle_minutes.
                    s.end_idle()
                    return
                span = min(remaining, self.idle_seconds - (now - s.idle_since))
                responses = self._idle_check(span, pushing)
                if responses is PUSHED:
                    s.dirty = True
                    return
                if any(r[0] == b"BYE" for r in responses if isinstance(r, tuple) and r):
                    raise s.drop(MailError(f"IMAP {s.conn.host} closed the connection (BYE); reconnecting"))
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] in NEW_MAIL for r in responses):
                    s.dirty = True
                    return
                if not responses and time.monotonic() - now < span - 0.05:
                    # idle_check returns early and empty on EOF: probe the connection
                    s.end_idle()
                    s.start_idle()
        except MailError:
            s.drop()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise s.drop(exc) from None

    def _idle_check(self, span: float, pushing: bool) -> list | None:
        """IDLE's responses within ``span`` seconds, or PUSHED as soon as Dovecot pushes new mail."""
        client = self.session.client
        if not pushing:
            return client.idle_check(timeout=span)
        sock = client.socket()
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return client.idle_check(timeout=0)  # already read from the socket, so select would not see it
        ready, _, _ = select.select([sock, self.push.fileno()], [], [], span)
        if self.push.fileno() in ready and self.push.pushed():
            log.debug("woken by Dovecot's push")
            return PUSHED
        return client.idle_check(timeout=0) if sock in ready else []
