"""The HTTP side of Dovecot's push (``daemon.backends.imap_push``): one request,
a PUT of Dovecot's JSON, read and answered 204 at once.

Apart from the listener so that an IMAP pass that never gets a push does not
import http.server (start-up, issue 19).
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Protocol

log = logging.getLogger("klg.mail.imap")

MAX_BODY = 64 * 1024  # Dovecot's JSON is a few hundred bytes (sender, subject, a snippet)


class Listener(Protocol):
    """What a request needs of ``imap_push.PushListener`` (named so, not imported: no circle)."""

    pushes: int

    def accept(self, push: dict) -> bool: ...


class PushRequest(BaseHTTPRequestHandler):
    """One HTTP request from Dovecot: a PUT (or POST) of JSON, answered 204 at once."""

    server_version = "klg-push"

    def __init__(self, conn, peer, listener: Listener):
        self.listener = listener
        super().__init__(conn, peer, None)

    def do_PUT(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self.send_error(400, "expected a JSON body")
            return
        try:
            push = json.loads(self.rfile.read(length))
        except ValueError:
            push = None
        if not isinstance(push, dict):
            self.send_error(400, "expected a JSON object")
            return
        if self.listener.accept(push):
            log.debug("Dovecot pushed new mail (%d so far)", self.listener.pushes)
        self.send_response(204)  # also for other users' or folders' pushes: Dovecot need not retry them
        self.end_headers()

    do_POST = do_PUT

    def do_GET(self) -> None:
        self.send_error(405, "klg takes Dovecot's push notifications here (PUT)")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 -- the base class's name
        log.debug("push listener: " + format, *args)
