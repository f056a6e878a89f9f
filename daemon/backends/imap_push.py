"""Dovecot's push notification: the wait wakes the moment mail is delivered.

Dovecot tells a client in IDLE about new mail only about half a second after
delivery (a delay compiled into it), and looking at the inbox every tenth of a
second costs more than half a percent of a core while nothing comes. Dovecot's
``push_notification`` plugin with its OX driver instead sends an HTTP PUT to a
URL as soon as a message is saved in a user's INBOX, for users whose METADATA
entry ``/private/vendor/vendor.dovecot/http-notify`` is set. With ``[mailbox]
push_listen`` klg sets that entry when it logs in and listens at that address;
the waiter stays in IDLE and also wakes on a push (README: "Push from
Dovecot").

A push carries nothing klg acts on: it only makes the waiter search the inbox
now rather than at IDLE's announcement or the next timeout. A forged push costs
one search; a lost one, the ordinary IDLE delay. So the listener needs no
secret, answers Dovecot at once (Dovecot's delivery waits for the answer), and
runs in a thread of its own that blocks in ``accept()``: no wake-ups while
nothing comes.
"""

from __future__ import annotations

import errno
import imaplib
import logging
import os
import socket
import threading

log = logging.getLogger("klg.mail.imap")

METADATA_ENTRY = "/private/vendor/vendor.dovecot/http-notify"
REQUEST_SECONDS = 2  # a client this slow with its request is dropped; Dovecot sends it in one go

# imaplib knows only the commands of RFC 3501; imapclient adds its own the same way
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))


def register(client, user: str, host: str) -> bool:
    """Ask the server (Dovecot) to push new mail of this login's INBOX: set its METADATA
    entry. False, with a warning naming the fix, when the server does not take it."""
    if not client.has_capability("METADATA"):
        log.warning("IMAP %s has no METADATA, so klg cannot ask it for push notifications: in Dovecot set "
                    "imap_metadata = yes and mail_attribute_dict (README: Push from Dovecot); klg waits in IDLE "
                    "meanwhile", host)
        return False
    value = '"user=' + user.replace("\\", "\\\\").replace('"', '\\"') + '"'  # an IMAP quoted string
    try:
        typ, data = client._imap._simple_command("SETMETADATA", '""', f"({METADATA_ENTRY} {value})")
    except imaplib.IMAP4.error as exc:
        typ, data = "NO", [str(exc).encode()]
    if typ != "OK":
        reason = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")[:160]
        log.warning("IMAP %s did not accept klg's push registration (%s): in Dovecot set mail_attribute_dict "
                    "(README: Push from Dovecot); klg waits in IDLE meanwhile", host, reason)
        return False
    return True


class PushListener:
    """Dovecot's pushes for ``user``'s INBOX, accepted at ``address`` by a thread of its own.

    :meth:`fileno` is readable once a push came (select on it beside the IMAP
    socket); :meth:`clear` forgets pushes so far, before the search that
    precedes IDLE, so a push after it is one for mail that search did not see."""

    def __init__(self, address: tuple[str, int], user: str, inbox: str = "INBOX"):
        self.address = address
        self.user = user
        self.inbox = inbox
        self.pushes = 0  # accepted since start: for the log and the tests
        self._sock: socket.socket | None = None
        self._read_end, self._write_end = -1, -1
        self._thread: threading.Thread | None = None
        self._failed_once = False

    @property
    def listening(self) -> bool:
        return self._sock is not None

    def start(self) -> bool:
        """Listen (once); False, logged once with the fix, when the address cannot be had."""
        if self._sock is not None:
            return True
        host, port = self.address
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(16)
        except OSError as exc:
            sock.close()
            if not self._failed_once:
                why = "it is in use by another program" if exc.errno == errno.EADDRINUSE else exc.strerror
                log.error("cannot listen for Dovecot's push at %s:%d (%s): choose another port in [mailbox] "
                          "push_listen and in Dovecot's push_notification_driver url; klg waits in IDLE meanwhile",
                          host, port, why)
                self._failed_once = True
            return False
        self._sock = sock
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        os.set_blocking(self._write_end, False)
        self._thread = threading.Thread(target=self._serve, name="klg-push", daemon=True)
        self._thread.start()
        log.info("listening for Dovecot's push at %s:%d", host, port)
        return True

    def fileno(self) -> int:
        return self._read_end

    def clear(self) -> None:
        """Forget the pushes that came so far."""
        try:
            while os.read(self._read_end, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def pushed(self) -> bool:
        """True (and forgotten) if a push came since the last clear()."""
        try:
            came = bool(os.read(self._read_end, 512))
        except (BlockingIOError, OSError):
            return False
        self.clear()
        return came

    def close(self) -> None:
        """Stop listening; the thread ends at its blocked accept()."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() on Linux
        except OSError:
            pass
        sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._read_end, self._write_end):
            try:
                os.close(fd)
            except OSError:
                pass
        self._read_end = self._write_end = -1

    def _serve(self) -> None:
        sock = self._sock
        while True:
            try:
                conn, peer = sock.accept()
            except OSError:
                return  # closed
            try:
                from daemon.backends.push_request import PushRequest  # noqa: PLC0415 -- start-up (issue 19): http.server only once a push comes

                conn.settimeout(REQUEST_SECONDS)
                PushRequest(conn, peer, self)
            except Exception as exc:  # one bad request must not end the listener
                log.debug("push from %s not read: %s", peer, exc)
            finally:
                conn.close()

    def accept(self, push: dict) -> bool:
        """Take one push: True when it announces new mail in this login's inbox."""
        if str(push.get("event", "")).lower() != "messagenew" or push.get("user") != self.user:
            return False
        if str(push.get("folder", "")).upper() != self.inbox.upper():
            return False
        self.pushes += 1
        try:
            os.write(self._write_end, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full of pushes not yet seen: one more changes nothing
        return True
