"""Exchange (on-premises) through EWS, with exchangelib: the shared mailbox is
read, its messages moved and the daemon's mail sent by the Exchange server.

- Connection: an explicit ``service_endpoint`` (or ``server``), no autodiscover;
  NTLM or basic auth over TLS, or OAuth2 client credentials (app-only, with
  impersonation). TLS is always verified, against the system's CAs or the
  ``ca_bundle`` of a municipality's internal CA.
- Reading: ``fetch`` lists the inbox (FindItem, oldest first) and hands out each
  message's full MIME (GetItem with MimeContent) one at a time; ``move`` is a
  MoveItem into the processed or quarantine folder, created under the inbox or
  the mailbox root when missing. ``wait`` polls: it sleeps ``timeout`` seconds
  (the engine passes ``intake.poll_seconds``); EWS notifications are not used.
- Sending: the exact MIME the daemon built (our Message-ID and headers) goes
  to CreateItem, with a copy in the shared mailbox's Sent Items unless
  ``save_sent = false``.

Every failure becomes a one-line :class:`MailError` naming the cause and the fix;
for sending, :class:`TemporaryFailure` (busy, unreachable, misconfigured: retry)
or :class:`PermanentFailure` (the message itself was refused).

Microsoft switches EWS off in Exchange Online (blocked by default from October
2026, shut down April 2027): Microsoft 365 tenants use the IMAP/SMTP backends.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import logging
import re
import threading
import time
from contextlib import suppress
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    UTC,
    Account,
    Build,
    Configuration,
    Credentials,
    FailFast,
    Identity,
    Message,
    OAuth2Credentials,
    Version,
)
from exchangelib import errors as ews
from exchangelib.fields import FieldPath
from exchangelib.folders import SHALLOW, Folder, FolderCollection
from exchangelib.protocol import BaseProtocol, Protocol
from exchangelib.services import CreateFolder
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from daemon.config import Backend
from daemon.mail import InboxMessage, MailError, PermanentFailure, TemporaryFailure
from daemon.mail.exchange_settings import VERSIONS

log = logging.getLogger("klg.mail.exchange")

T = TypeVar("T")

AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "oauth2": OAUTH2}
DEFAULT_SCOPE = "https://outlook.office365.com/.default"
FIND_PAGE = 200

# --- TLS: always verified, against the configured CA bundle where there is one ------------------

_CA_BUNDLES: dict[str, str] = {}  # "https://host:port" -> PEM file
_CA_LOCK = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 443}".lower()


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """The HTTP adapter exchangelib uses for EWS and the token endpoint: it
    verifies the server against the CA bundle configured for that address, and
    never turns verification off."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        with _CA_LOCK:
            bundle = _CA_BUNDLES.get(_origin(request.url))
        if bundle:
            verify = bundle
        elif not verify:  # never off, whatever the environment says
            verify = True
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


if BaseProtocol.HTTP_ADAPTER_CLS is requests.adapters.HTTPAdapter:
    BaseProtocol.HTTP_ADAPTER_CLS = _TrustAdapter


class _OAuth2Credentials(OAuth2Credentials):
    """Client-credentials OAuth2 with a configurable token endpoint and scope
    (Entra ID by default; ADFS or a hybrid setup may need their own)."""

    def __init__(self, *args, token_url: str | None = None, scope: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._token_url = token_url
        self._scope = scope

    @property
    def token_url(self) -> str:
        return self._token_url or super().token_url

    @property
    def scope(self) -> list[str]:
        return [self._scope] if self._scope else super().scope


# --- explaining failures in one line ---------------------------------------------------------------

PERMANENT_SEND_ERRORS = (
    ews.ErrorInvalidRecipients, ews.ErrorMessageSizeExceeded, ews.ErrorMimeContentConversionFailed,
    ews.ErrorMimeContentInvalid, ews.ErrorMailRecipientNotFound, ews.ErrorCorruptData,
    ews.ErrorInvalidRecipientSubfilter, ews.ErrorItemCorrupt, ews.ErrorSendMeetingInvitationsRequired,
)


def _one_line(text: Any, limit: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _network_cause(text: str) -> str | None:
    for needle, cause in (("Connection refused", "connection refused"),
                          ("Name or service not known", "unknown host name"),
                          ("nodename nor servname", "unknown host name"),
                          ("Temporary failure in name resolution", "host name not resolvable now"),
                          ("NameResolutionError", "unknown host name"),
                          ("No route to host", "no route to host"),
                          ("timed out", "timed out"), ("Read timed out", "timed out"),
                          ("Connection reset", "connection reset"),
                          ("RemoteDisconnected", "connection closed by the server"),
                          ("Connection aborted", "connection aborted")):
        if needle in text:
            return cause
    return None


class _Exchange:
    """One connection to the shared mailbox, opened on first use. Used by both
    the mailbox and the transport; ``role`` names the config section in messages."""

    def __init__(self, backend: Backend, group_address: str, role: str):
        s = backend.settings
        self.backend = backend
        self.role = role
        self.settings = s
        self.address = (s.get("primary_smtp_address") or group_address).lower()
        self.endpoint = s.get("service_endpoint") or f"https://{s.get('server')}/EWS/Exchange.asmx"
        self.host = urlsplit(self.endpoint).hostname or self.endpoint
        self.auth = s.get("auth", "ntlm")
        self.access = s.get("access", "impersonation" if self.auth == "oauth2" else "delegate")
        self.username = s.get("username", "")
        self.ca_bundle = s.get("ca_bundle")
        self.timeout = float(s.get("timeout", 120))
        self._account: Account | None = None
        self._config: Configuration | None = None

    # -- connecting --

    def _credentials(self):
        if self.auth == "oauth2":
            secret = self.backend.secret("client_secret")
            if not secret:
                raise MailError(f"the OAuth2 client secret for Exchange is not set: {self._secret_hint('client_secret')}")
            return _OAuth2Credentials(
                client_id=self.settings.get("client_id"), client_secret=secret, tenant_id=self.settings.get("tenant_id"),
                identity=Identity(primary_smtp_address=self.address),
                token_url=self.settings.get("oauth_token_url"), scope=self.settings.get("oauth_scope"))
        password = self.backend.secret("password")
        if not password:
            raise MailError(f"the Exchange password of {self.username} is not set: {self._secret_hint('password')}")
        return Credentials(self.username, password)

    def _secret_hint(self, key: str) -> str:
        env = self.settings.get(f"{key}_env")
        cred = self.settings.get(f"{key}_credential")
        if env:
            return f"set the environment variable {env} for the service ({self.role}.{key}_env)"
        return f"provide the systemd credential {cred!r} with LoadCredential= ({self.role}.{key}_credential)"

    def _secret_source(self, key: str) -> str:
        env = self.settings.get(f"{key}_env")
        return f"${env}" if env else f"the systemd credential {self.settings.get(f'{key}_credential')!r}"

    def account(self) -> Account:
        """The exchangelib Account of the shared mailbox (no network traffic until used)."""
        if self._account is None:
            credentials = self._credentials()
            origins = [_origin(self.endpoint)]
            if self.auth == "oauth2" and self.settings.get("oauth_token_url"):
                origins.append(_origin(self.settings["oauth_token_url"]))
            with _CA_LOCK:  # the latest configuration for a server decides what it is checked against
                for origin in origins:
                    if self.ca_bundle:
                        _CA_BUNDLES[origin] = self.ca_bundle
                    else:
                        _CA_BUNDLES.pop(origin, None)
            version = None
            if self.settings.get("exchange_version"):
                major, minor = VERSIONS[str(self.settings["exchange_version"]).lower()]
                version = Version(build=Build(major, minor))
            self._config = Configuration(credentials=credentials, service_endpoint=self.endpoint,
                                         auth_type=AUTH_TYPES[self.auth], version=version, retry_policy=FailFast())
            account = Account(primary_smtp_address=self.address, config=self._config, autodiscover=False,
                              access_type=IMPERSONATION if self.access == "impersonation" else DELEGATE,
                              default_timezone=UTC)
            account.protocol.TIMEOUT = self.timeout
            self._account = account
        return self._account

    def close(self) -> None:
        """Close the HTTP sessions and forget the connection."""
        if self._account is not None:
            with suppress(Exception):
                self._account.protocol.close()
            with suppress(Exception):
                del Protocol[self._config]
        self._account = None

    # -- errors --

    def explain(self, exc: BaseException) -> str:
        """One line: what failed, why, and what to do about it."""
        text = _one_line(exc, 400)
        who = f"the app {self.settings.get('client_id')}" if self.auth == "oauth2" else self.username
        if isinstance(exc, MailError):
            return str(exc)
        if isinstance(exc, OAuth2Error):
            return self._explain_oauth(exc)
        if isinstance(exc, ews.UnauthorizedError):
            if self.auth == "oauth2":
                return (f"Exchange at {self.host} refused the OAuth2 token of {who} (HTTP 401): give the app the "
                        f"Exchange permission full_access_as_app with admin consent, and check oauth_scope")
            return (f"Exchange at {self.host} refused the login of {who} (HTTP 401, wrong password?): check the "
                    f"password in {self._secret_source('password')} and that {self.auth} authentication is "
                    f"enabled on the EWS virtual directory")
        if isinstance(exc, ews.ErrorNonExistentMailbox):
            return (f"the mailbox {self.address} does not exist on {self.host}: set primary_smtp_address "
                    f"to the shared mailbox's primary address")
        if isinstance(exc, (ews.ErrorAccessDenied, ews.ErrorImpersonateUserDenied, ews.ErrorImpersonationDenied,
                            ews.ErrorSendAsDenied)):
            how = ("the ApplicationImpersonation role" if self.access == "impersonation"
                   else "Full Access and Send As on it")
            return (f"{who} may not use the mailbox {self.address} ({type(exc).__name__}: {_one_line(exc, 120)}): "
                    f"grant {how}")
        if isinstance(exc, ews.ErrorServerBusy) and "HTTP 503" in text:
            return f"Exchange at {self.host} is unavailable for now (HTTP 503); it will be tried again"
        if isinstance(exc, ews.ErrorServerBusy) and "Reraised from" not in text:
            return f"Exchange at {self.host} is busy (ErrorServerBusy); it will be tried again"
        if isinstance(exc, ews.ErrorServerBusy):
            return f"Exchange at {self.host} is unavailable for now ({text[:120]}); it will be tried again"
        if isinstance(exc, ews.ErrorInternalServerTransientError):
            return f"Exchange at {self.host} is unavailable for now ({_one_line(exc, 120)}); it will be tried again"
        if isinstance(exc, ews.CASError):
            return f"the Exchange front end at {self.host} failed ({_one_line(exc.cas_error, 120)}); it will be tried again"
        if isinstance(exc, ews.MalformedResponseError) and "Code: 403" in text:
            reason = re.search(r"reason=\\?\"([^\"\\]+)", str(exc))
            detail = reason[1] if reason else "HTTP 403"
            if self.auth == "oauth2":
                return (f"Exchange at {self.host} refused the OAuth2 token of {who} ({detail}): give the app the "
                        f"Exchange application permission full_access_as_app with admin consent")
            return f"Exchange at {self.host} refused the request ({detail}): check the service account's rights"
        if self._is_tls(exc, text):
            return self._explain_tls(text)
        cause = _network_cause(text)
        if cause or isinstance(exc, (ews.ErrorTimeoutExpired, requests.exceptions.ConnectionError)):
            return (f"cannot reach Exchange at {self.endpoint} ({cause or _one_line(exc, 120)}): check "
                    f"service_endpoint, DNS and the firewall")
        if isinstance(exc, ews.ResponseMessageError):
            return f"Exchange refused the request: {type(exc).__name__}: {_one_line(exc, 160)}"
        if isinstance(exc, ews.RedirectError):
            return (f"Exchange at {self.host} redirected to {exc.url}: set service_endpoint to the EWS address "
                    f"(…/EWS/Exchange.asmx)")
        if isinstance(exc, ews.TransportError):
            return f"Exchange at {self.host} answered oddly ({text[:200]}): check service_endpoint"
        return f"Exchange at {self.host}: {type(exc).__name__}: {text[:200]}"

    @staticmethod
    def _is_tls(exc: BaseException, text: str) -> bool:
        return isinstance(exc, requests.exceptions.SSLError) or any(
            s in text for s in ("CERTIFICATE_VERIFY_FAILED", "SSLError", "SSL:", "certificate verify failed"))

    def _explain_tls(self, text: str) -> str:
        detail = re.search(r"certificate verify failed: ([^()\]'\"]+)", text)
        reason = (detail[1].strip() if detail else _one_line(text, 120)).rstrip(" .")
        if "match" in reason.lower() or "hostname" in reason.lower():
            return (f"the TLS certificate of {self.host} is not valid for that name ({reason}): use the host name "
                    f"the certificate was issued for in service_endpoint")
        if "expired" in reason.lower():
            return f"the TLS certificate of {self.host} has expired ({reason}): ask the Exchange administrators to renew it"
        if self.ca_bundle:
            return (f"the TLS certificate of {self.host} is not signed by the CA in ca_bundle = {self.ca_bundle} "
                    f"({reason}): export the CA that issued the server's certificate to that file")
        return (f"the TLS certificate of {self.host} is not trusted ({reason}): set ca_bundle to the PEM file "
                f"of the CA that issued it (e.g. the municipality's internal CA)")

    def _explain_oauth(self, exc: OAuth2Error) -> str:
        description = _one_line((exc.description or "").split("Trace ID")[0], 160)
        code = exc.error or type(exc).__name__
        token_url = self.settings.get("oauth_token_url") or f"login.microsoftonline.com/{self.settings.get('tenant_id')}"
        fixes = {
            "invalid_scope": f"set oauth_scope to the Exchange resource with /.default "
                             f"(now {self.settings.get('oauth_scope') or DEFAULT_SCOPE})",
            "invalid_client": "check client_id and the client secret (it may have expired)",
            "unauthorized_client": "check client_id and tenant_id",
            "invalid_request": "check tenant_id and oauth_token_url",
        }
        fix = fixes.get(code, "check the app registration")
        if "AADSTS65001" in str(exc) or code == "consent_required":
            fix = "an administrator must grant admin consent for the app's Exchange permission"
        return f"the token service {token_url} refused {code} ({description}): {fix}"

    def run(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` and turn any failure into a one-line MailError."""
        try:
            return fn()
        except MailError:
            raise
        except Exception as exc:  # exchangelib, requests, oauthlib: all become one line
            log.debug("exchange: %s failed", what, exc_info=True)
            raise MailError(self.explain(exc)) from exc


class ExchangeMailbox:
    """The shared mailbox on Exchange: its inbox, processed and quarantine folders."""

    def __init__(self, backend_config: Backend, group_address: str):
        self.ex = _Exchange(backend_config, group_address, "mailbox")
        s = backend_config.settings
        self.folders_under = s.get("folders_under", "inbox")
        self.names = {"processed": s.get("processed_folder", "processed"),
                      "quarantine": s.get("quarantine_folder", "quarantine")}
        self.create_folders = s.get("create_folders", True)
        self._inbox: Folder | None = None
        self._parent: Folder | None = None
        self._folders: dict[str, Folder] = {}

    # -- folders --

    def _get_inbox(self) -> Folder:
        if self._inbox is None:
            self._inbox = self.ex.account().inbox
        return self._inbox

    def _children(self, parent: Folder) -> list[Folder]:
        name_field = FieldPath(field=Folder.get_field_by_fieldname("name"))
        found = FolderCollection(account=self.ex.account(), folders=[parent]).find_folders(
            depth=SHALLOW, additional_fields={name_field})
        children = []
        for f in found:
            if isinstance(f, Exception):
                raise f
            children.append(f)
        return children

    def _child(self, parent: Folder, name: str) -> Folder | None:
        wanted = name.casefold()
        return next((f for f in self._children(parent) if (f.name or "").casefold() == wanted), None)

    def _get_parent(self) -> Folder:
        if self._parent is None:
            spec = self.folders_under.strip().strip("/")
            if spec.lower() == "inbox":
                self._parent = self._get_inbox()
            elif spec.lower() == "root":
                self._parent = self.ex.account().msg_folder_root
            else:
                parts = [p for p in spec.split("/") if p]
                folder = self._get_inbox() if parts[0].lower() == "inbox" else self.ex.account().msg_folder_root
                start = 1 if parts[0].lower() == "inbox" else 0
                for part in parts[start:]:
                    child = self._child(folder, part)
                    if child is None:
                        raise MailError(f"the folder {part!r} of folders_under = {self.folders_under!r} does not exist "
                                        f"in {self.ex.address}: create it in Outlook or change folders_under")
                    folder = child
                self._parent = folder
        return self._parent

    def _where(self) -> str:
        spec = self.folders_under
        return {"inbox": "the inbox", "root": "the mailbox root"}.get(spec.lower(), repr(spec))

    def folder(self, which: str) -> Folder:
        """The processed or quarantine folder, created when missing (unless create_folders = false)."""
        if which not in self._folders:
            parent = self._get_parent()
            name = self.names[which]
            found = self._child(parent, name)
            if found is None:
                if not self.create_folders:
                    raise MailError(f"the folder {name!r} ({which}_folder) does not exist under {self._where()} of "
                                    f"{self.ex.address}: create it in Outlook or set create_folders = true")
                found = self._create(parent, name)
            self._folders[which] = found
        return self._folders[which]

    def _create(self, parent: Folder, name: str) -> Folder:
        log.info("creating the folder %r under %s of %s", name, self._where(), self.ex.address)
        new = Folder(root=parent.root, name=name, folder_class="IPF.Note")
        try:
            return CreateFolder(account=self.ex.account()).get(parent_folder=parent, folders=[new])
        except ews.ErrorFolderExists:  # created meanwhile by someone else
            existing = self._child(parent, name)
            if existing is None:
                raise
            return existing

    # -- the Mailbox interface --

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message in the inbox, oldest first: the ids are listed first
        (so moving messages meanwhile skips none), then each MIME is fetched."""
        inbox = self.ex.run("listing the inbox", self._get_inbox)
        ids = self.ex.run("listing the inbox", lambda: self._list(inbox))
        for item_id in ids:
            item = self.ex.run("reading a message", lambda: self._get(inbox, item_id))
            if item is None:
                continue  # moved or deleted by someone else meanwhile
            if not item.mime_content:
                log.warning("inbox item %s has no MIME content (not a mail?); moving it to quarantine", item_id[-12:])
                self.move(item_id, "quarantine")
                continue
            yield InboxMessage(key=item_id, raw=bytes(item.mime_content))

    def _list(self, inbox: Folder) -> list[str]:
        qs = inbox.all().order_by("datetime_received").values_list("id", flat=True)
        qs.page_size = FIND_PAGE
        return [i for i in qs if isinstance(i, str)]

    def _get(self, inbox: Folder, item_id: str):
        for item in self.ex.account().fetch(ids=[(item_id, None)], folder=inbox, only_fields=["mime_content"]):
            if isinstance(item, (ews.ErrorItemNotFound, ews.ErrorInvalidIdMalformed)):
                return None
            if isinstance(item, Exception):
                raise item
            return item
        return None

    def move(self, key: str, folder: str) -> None:
        """Move the message to ``processed`` or ``quarantine``; a message that is no longer there is left be."""
        def do_move() -> None:
            for attempt in (1, 2):
                target = self.folder(folder)
                try:
                    results = self.ex.account().bulk_move(ids=[(key, None)], to_folder=target)
                except (ews.ErrorToFolderNotFound, ews.ErrorFolderNotFound):
                    if attempt == 2:
                        raise
                    self._folders.pop(folder, None)  # deleted or renamed in Outlook meanwhile: find or create it again
                    continue
                for result in results:
                    if isinstance(result, ews.ErrorItemNotFound):
                        log.info("message %s already left the inbox", key[-12:])
                    elif isinstance(result, Exception):
                        raise result
                return

        self.ex.run(f"moving a message to {folder}", do_move)

    def wait(self, timeout: float) -> None:
        """Polling: sleep ``timeout`` seconds; the next fetch asks the server."""
        time.sleep(max(0.0, timeout))

    def check(self) -> None:
        """Log in, open the inbox and the processed and quarantine folders (creating them when allowed)."""
        inbox = self.ex.run("opening the inbox", self._get_inbox)
        self.ex.run("listing the inbox", lambda: inbox.all().count())
        for which in ("processed", "quarantine"):
            self.ex.run(f"opening the {which} folder", lambda: self.folder(which))

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        self.ex.close()
        self._inbox, self._parent, self._folders = None, None, {}


class ExchangeTransport:
    """Sends through Exchange: the exact MIME, from the shared mailbox."""

    def __init__(self, backend_config: Backend, group_address: str):
        self.ex = _Exchange(backend_config, group_address, "transport")
        self.save_sent = backend_config.settings.get("save_sent", True)

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """CreateItem with our MIME (SendAndSaveCopy into Sent Items, or SendOnly).
        Exchange takes the recipients from the MIME headers; envelope recipients
        missing there are added as Bcc. Returns [] (refusals come back as bounces)."""
        raw = _with_bcc(raw, recipients)
        try:
            account = self.ex.account()
            message = Message(account=account, mime_content=raw)
            if self.save_sent:
                message.folder = account.sent
                message.send_and_save()
            else:
                message.send(save_copy=False)
        except MailError as exc:
            raise TemporaryFailure(str(exc)) from exc
        except PERMANENT_SEND_ERRORS as exc:
            raise PermanentFailure(f"Exchange refused the message: {type(exc).__name__}: {_one_line(exc, 160)}") from exc
        except Exception as exc:  # everything else may pass: busy, unreachable, a permission still to be granted
            log.debug("exchange: sending failed", exc_info=True)
            raise TemporaryFailure(self.ex.explain(exc)) from exc
        return []

    def check(self) -> None:
        """Log in and open the Sent Items folder of the shared mailbox."""
        self.ex.run("opening Sent Items", lambda: self.ex.account().sent if self.save_sent else self.ex.account().inbox)

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        self.ex.close()


def _with_bcc(raw: bytes, recipients: list[str]) -> bytes:
    """``raw`` with a Bcc header for envelope recipients its To/Cc/Bcc do not name
    (Exchange delivers to the MIME's recipients). Unchanged in the usual case."""
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    named = {addr.lower() for _, addr in email.utils.getaddresses(
        [v for h in ("To", "Cc", "Bcc") for v in head.get_all(h, [])])}
    extra = [r for r in recipients if r.lower() not in named]
    if not extra:
        return raw
    return f"Bcc: {', '.join(extra)}\r\n".encode() + raw
