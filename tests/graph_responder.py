"""A local Microsoft Graph responder for the tests of a Graph mail backend.

This is NOT Microsoft 365 and not Microsoft Graph. Neither can run here, so the tests talk to this
small threaded HTTPS server on loopback instead. It is a replay of the documented API: each
endpoint answers with the status codes, headers and JSON shapes Microsoft's documentation (or a
published capture of a real answer) gives, and every answer names its source in the module that
makes it:

- ``tests/graph/identity.py``  the token endpoint (client credentials with a client secret or a
  certificate-signed client assertion, verified against the registered certificate), the OpenID
  configuration MSAL reads first, and the AADSTS errors of a wrong or expired credential;
- ``tests/graph/mail.py``      mail folders, child folders, messages with $select/$filter/$orderby/
  $top and paging, delta with nextLink/deltaLink and @removed, $value, move, delete;
- ``tests/graph/send.py``      sendMail with MIME, drafts (JSON or MIME), attachments, upload sessions
  with their chunk rules, send;
- ``tests/graph/limits.py``    Outlook's per-mailbox limits (4 concurrent requests, 10,000 requests
  per 10 minutes, 150 MB uploaded per 5 minutes) and switchable throttling storms (429/503);
- ``tests/graph/server.py``    the order of checks and the 401/403/404/413 answers;
- ``tests/graph/store.py``     the mailboxes, which are real Maildir folders on disk.

What it does not replay: anything a mail backend does not use (calendars, users, change
notifications, JSON batching), Exchange's transport (there is no queue, no NDR and no message size
limit: a sent mail is in the recipients' Maildirs when sendMail answers), and the 35 MB default
message size limit of a mailbox.

Use from a test::

    responder = GraphResponder(tmp_path / "m365", *make_certificate(tmp_path / "tls")).start()
    app = responder.add_app(secret="s3cret")                # or certificate=<cert.pem>
    responder.add_mailbox("klg@sjovik.se", grant=[app])     # RBAC for Applications: this mailbox only
    responder.deliver("klg@sjovik.se", raw_mime)            # a member's mail arrives in the Inbox
    ...                                                     # the code under test signs in and works
    responder.received("maria@sjovik.se")                   # what was delivered to a recipient
    responder.messages("klg@sjovik.se", "Sent Items")       # the copies Graph saved
    responder.throttle_next(5)                              # a throttling storm: five 429s
    responder.kill_after_send()                             # sent, but the answer never comes
    responder.expire_tokens()                               # every token issued so far gets 401
    responder.gate = threading.Event()                      # hold requests in their slots (concurrency)
    responder.log, responder.throttle.peak                  # what was asked, and the most at once
"""

from __future__ import annotations

import datetime as dt
import mailbox
import ssl
import threading
import uuid
from collections.abc import Iterable
from email.message import EmailMessage
from email.parser import BytesParser
from email import policy
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography import x509

from tests.ews_responder import make_certificate
from tests.graph.identity import App, Identity, make_app_certificate
from tests.graph.limits import Limits, Throttle
from tests.graph.mail import DeltaTokens
from tests.graph.send import Session
from tests.graph.server import Handler
from tests.graph.store import MailStore, drop_header, headers_of, recipients

__all__ = ["GraphResponder", "make_certificate", "make_app_certificate", "Limits"]

TENANT_ID = "5f1c3e2a-8d4b-4c6e-9a7f-2b1d0e3c4a5b"
DOMAIN = "sjovik.onmicrosoft.com"
ROLES = ("Mail.ReadWrite", "Mail.Send")


class GraphResponder:
    """The responder: a tenant with apps, hosted mailboxes in ``base``, and the HTTPS server.

    ``graph_url`` and ``authority`` are what the code under test is configured with; the TLS
    certificate (``certfile``) is the CA bundle that trusts the server.
    """

    def __init__(self, base: Path, certfile: Path, keyfile: Path, *, tenant_id: str = TENANT_ID,
                 domain: str = DOMAIN, limits: Limits | None = None):
        self.base = base
        self.identity = Identity(tenant_id, domain)
        self.stores: dict[str, MailStore] = {}
        self.grants: dict[tuple[str, str], set[str]] = {}  # (client id, mailbox) -> roles, by RBAC for Applications
        self.directory_only: set[str] = set()  # users that exist but have no Exchange mailbox
        self.throttle = Throttle(limits or Limits())
        self.delta_tokens = DeltaTokens()
        self.sessions: dict[str, Session] = {}  # upload sessions by id
        self.max_request_bytes = 4 * 1024 * 1024  # Graph's request limit (server.py [SIZE])
        self.gate: threading.Event | None = None  # if set, Graph requests wait in their slot until it opens
        self.log: list[dict] = []  # one entry per request: method, path, query, status, mailbox, app, dropped
        self._kills = 0
        self._lock = threading.Lock()
        self.host = "localhost"
        handler = type("GraphHandler", (Handler,), {"responder": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="graph-responder", daemon=True)

    # -- addresses the code under test is given --

    @property
    def graph_url(self) -> str:
        return f"https://{self.host}:{self.port}/v1.0"

    @property
    def authority(self) -> str:
        """For MSAL: ``ConfidentialClientApplication(..., authority=responder.authority,
        instance_discovery=False, http_client=session)`` with a ``requests.Session`` whose ``verify``
        is the certfile and ``trust_env`` False (else REQUESTS_CA_BUNDLE wins, psf/requests#4726)."""
        return f"https://{self.host}:{self.port}/{self.identity.tenant_id}"

    @property
    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    def start(self) -> "GraphResponder":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the tenant --

    def add_app(self, client_id: str | None = None, *, secret: str | None = None,
                secret_expires: dt.datetime | None = None, certificate: Path | None = None,
                name: str = "klg", consent: str = "granted", roles: Iterable[str] = ()) -> App:
        """Register an app with a client secret and/or a certificate (PEM file). ``roles`` are
        tenant-wide Graph permissions an admin consented to; ``consent="refused"`` makes every
        token request fail with AADSTS65001."""
        certs = [x509.load_pem_x509_certificate(certificate.read_bytes())] if certificate else []
        app = App(client_id or str(uuid.uuid4()), name, secret, secret_expires, certs, consent, tuple(roles))
        self.identity.apps[app.client_id] = app
        return app

    def add_mailbox(self, address: str, grant: Iterable[App | str] = (), roles: Iterable[str] = ROLES) -> MailStore:
        """Host a mailbox (Maildirs under ``base/<address>/``) and give each app in ``grant``
        ``roles`` on it alone, as an RBAC for Applications assignment with a management scope does."""
        store = MailStore(self.base / address.lower(), address)
        self.stores[store.address] = store
        for app in grant:
            self.grants[(app.client_id if isinstance(app, App) else app, store.address)] = set(roles)
        return store

    def mailbox(self, address: str) -> MailStore:
        return self.stores[address.lower()]

    # -- mail in and out, for tests --

    def deliver(self, address: str, raw: bytes, received: dt.datetime | None = None) -> str:
        """Deliver ``raw`` to ``address``: into its Inbox if hosted here (returns the Graph id), else
        into the Maildir ``base/_internet/<address>/`` (returns the Maildir key)."""
        store = self.stores.get(address.lower())
        if store is not None:
            with store.lock:
                return store.well_known("inbox").add(raw, received).id
        self._internet(address).parent.mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(self._internet(address), create=True).add(raw)

    def transport(self, raw: bytes) -> None:
        """What Exchange's transport does with a sent message: a copy (without Bcc) to each recipient."""
        to = recipients(headers_of(raw))
        raw = drop_header(raw, "Bcc")
        for address in to:
            self.deliver(address, raw)

    def received(self, address: str) -> list[EmailMessage]:
        """What was delivered to ``address`` (a hosted Inbox, or the Internet's Maildir), oldest first."""
        if address.lower() in self.stores:
            return self.messages(address, "Inbox")
        root = self._internet(address)
        files = [p for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()]
        return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
                for p in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))]

    def messages(self, address: str, path: str) -> list[EmailMessage]:
        """The messages in a hosted mailbox's folder by display path ('Inbox', 'Inbox/Behandlat',
        'Sent Items', 'Drafts'), oldest first; [] if there is no such folder."""
        folder = self.mailbox(address).path(path)
        return folder.messages() if folder else []

    def _internet(self, address: str) -> Path:
        return self.base / "_internet" / address.lower()

    # -- faults --

    def throttle_next(self, times: int, status: int = 429, retry_after: int = 1, mailbox: str | None = None) -> None:
        """A throttling storm: the next ``times`` Graph requests and upload PUTs (to ``mailbox``, or to
        any) get ``status`` (429 TooManyRequests or 503 serviceNotAvailable) with ``Retry-After``."""
        self.throttle.add_storm(times, status, retry_after, mailbox.lower() if mailbox else None)

    def kill_after_send(self, times: int = 1) -> None:
        """The next ``times`` sends (sendMail or a draft's send) are carried out -- delivered and saved
        in Sent Items -- and then the connection is dropped before the 202 is written."""
        with self._lock:
            self._kills += times

    def take_kill(self) -> bool:
        with self._lock:
            if self._kills:
                self._kills -= 1
                return True
            return False

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (Graph answers 401 InvalidAuthenticationToken)."""
        self.identity.expire_all()

    def forget_delta_tokens(self) -> None:
        """Every delta and skip token is now unknown (Graph answers 410 syncStateNotFound)."""
        self.delta_tokens.forget()

    def requests(self, method: str | None = None, contains: str = "") -> list[dict]:
        """The log, filtered by method and a part of the path."""
        return [e for e in self.log if (method is None or e["method"] == method) and contains in e["path"]]
