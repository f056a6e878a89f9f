"""Exchange (on-premises) through EWS, with exchangelib: the connection.

:class:`ExchangeAccount` is one connection to the shared mailbox, used by both
the mailbox (``exchange_mailbox``: reading and moving) and the transport
(``exchange_transport``: sending); its failures are put in one line by
``exchange_errors``.

- An explicit ``service_endpoint`` (or ``server``), no autodiscover; NTLM or
  basic auth over TLS, or OAuth2 client credentials (app-only, with
  impersonation). TLS is always verified, against the system's CAs or the
  ``ca_bundle`` of a municipality's internal CA.
- Every failure becomes a one-line :class:`MailError` naming the cause and the fix.

Microsoft switches EWS off in Exchange Online (blocked by default from October
2026, shut down April 2027): Microsoft 365 tenants use the IMAP/SMTP backends.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from typing import Callable, TypeVar
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
    OAuth2Credentials,
    Version,
)
from exchangelib.protocol import BaseProtocol, Protocol

from daemon.backends.exchange_errors import explain
from daemon.backends.exchange_settings import VERSIONS
from daemon.config import Backend
from daemon.mail import MailError

log = logging.getLogger("klg.mail.exchange")

T = TypeVar("T")

AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "oauth2": OAUTH2}

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


class ExchangeAccount:
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

    def secret_source(self, key: str) -> str:
        """Where the secret ``key`` comes from, for a message."""
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

    def explain(self, exc: BaseException) -> str:
        """One line: what failed, why, and what to do about it (see ``exchange_errors``)."""
        return explain(self, exc)

    def run(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` and turn any failure into a one-line MailError."""
        try:
            return fn()
        except MailError:
            raise
        except Exception as exc:  # exchangelib, requests, oauthlib: all become one line
            log.debug("exchange: %s failed", what, exc_info=True)
            raise MailError(self.explain(exc)) from exc
