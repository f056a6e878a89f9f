"""Signing in to Microsoft 365 and talking to Graph, for the Graph mailbox and transport.

Sign-in is app-only (the OAuth2 client-credentials grant) through MSAL for
Python, with a client secret or a certificate; MSAL keeps the token in its
cache until shortly before it expires. An access token Graph refuses anyway
(401: revoked, or expired mid-pass) is dropped from the cache and one new
token is fetched for the same request.

Graph's limits for a mailbox are kept: at most four requests at a time
(``CONCURRENT``), and a 429 or 503 is waited out as its ``Retry-After`` says
(exponential back-off without one) up to ``max_wait_seconds`` for one
request; after that the request fails with a MailError, which the outbox
treats as a temporary failure and the inbox as "next pass" -- never a failed
delivery.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx
import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from daemon.backends.graph_errors import GraphError, SignInError, graph_failure, sign_in_failure, unreachable
from daemon.backends.graph_settings import secret
from daemon.mail import MailError
from daemon.systemd import keepalive

log = logging.getLogger("klg.mail.graph")
# httpx logs every request's URL at INFO; an upload session's URL carries its token
logging.getLogger("httpx").setLevel(logging.WARNING)

CONCURRENT = 4  # Outlook's limit per app and mailbox: "Four concurrent requests"
RETRY_STATUS = (429, 503, 504)
FIRST_BACKOFF = 1.0
# One MSAL token cache per app and tenant in this process: the mailbox and the transport (and a
# backend opened again after an error) share the token instead of each fetching its own.
_CACHES: dict[tuple[str, str], msal.TokenCache] = {}
# Graph counts concurrent requests per app and mailbox, so the mailbox and the transport share slots.
_SLOTS: dict[tuple[str, str, str], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


class GraphClient:
    """One app's session with Graph for one mailbox: tokens, requests, throttling."""

    def __init__(self, settings: dict[str, Any], section: str):
        self.settings = settings
        self.section = section
        self.mailbox = settings["mailbox"]
        self.user = f"{settings['graph_url']}/users/{quote(self.mailbox)}"
        self.timeout = float(settings.get("timeout_seconds", 60))
        self.max_wait = float(settings.get("max_wait_seconds", 120))
        with _SLOTS_LOCK:
            self._slots = _SLOTS.setdefault((settings["graph_url"], settings["client_id"], self.mailbox.lower()),
                                            threading.BoundedSemaphore(CONCURRENT))
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._http: httpx.Client | None = None
        self.renewed = 0  # tokens fetched again after Graph refused one (for the log and the tests)

    # -- sign-in --

    def _credential(self) -> str | dict:
        s = self.settings
        key = secret(s, self.section, "private_key")
        if key:
            try:
                with open(s["certificate_file"], encoding="utf-8") as f:
                    certificate = f.read()
            except OSError as exc:
                raise MailError(f"{self.section}.certificate_file = {s['certificate_file']!r} cannot be read "
                                f"({exc.strerror}): make it readable by the service user") from None
            _check_pair(self.section, s, key, certificate)
            return {"private_key": key, "public_certificate": certificate}
        value = secret(s, self.section, "client_secret")
        if not value:
            raise MailError(f"{self.section}: no client secret or private key could be read: set client_secret_file "
                            f"(or _env, _credential), or certificate_file with private_key_file")
        return value

    def _msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            s = self.settings
            session = requests.Session()
            session.verify = s.get("tls_ca_file") or True
            # requests lets REQUESTS_CA_BUNDLE override a session's verify (psf/requests#4726)
            session.trust_env = not s.get("tls_ca_file")
            authority = s["token_url"].rstrip("/").removesuffix("/oauth2/v2.0/token")
            try:
                cache = _CACHES.setdefault((authority, s["client_id"]), msal.TokenCache())
                self._app = msal.ConfidentialClientApplication(
                    s["client_id"], client_credential=self._credential(), authority=authority,
                    instance_discovery=False, http_client=session, timeout=self.timeout, token_cache=cache)
            except MailError:
                raise
            except ValueError as exc:  # MSAL: the authority's OpenID configuration could not be had
                raise SignInError(f"the tenant at {authority} does not answer as a Microsoft Entra tenant "
                                  f"({' '.join(str(exc).split())[:160]}): check tenant_id (or token_url)") from None
            except requests.RequestException as exc:
                raise SignInError(unreachable(authority, "signing in", exc)) from None
        return self._app

    def token(self) -> str:
        """A current access token (MSAL's cached one while it lasts), or SignInError saying why not."""
        with self._lock:
            app = self._msal()
            try:
                result = app.acquire_token_for_client(scopes=[self.settings["scope"]])
            except requests.RequestException as exc:
                raise SignInError(unreachable(self.settings["token_url"], "signing in", exc)) from None
            except ValueError as exc:  # MSAL's own refusal of what it was given
                raise SignInError(f"MSAL could not sign in app {self.settings['client_id']} "
                                  f"({' '.join(str(exc).split())[:160]}): check client_id, tenant_id and the "
                                  f"credential") from None
        if "access_token" not in result:
            raise SignInError(sign_in_failure(self.settings, result))
        return result["access_token"]

    def forget_token(self) -> None:
        """Drop the cached access tokens, so the next request fetches a new one."""
        with self._lock:
            if self._app is not None:
                cache = self._app.token_cache
                for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(entry)

    # -- requests --

    def _client(self) -> httpx.Client:
        if self._http is None:
            ca = self.settings.get("tls_ca_file")
            verify = ssl.create_default_context(cafile=ca) if ca else True
            self._http = httpx.Client(verify=verify, trust_env=not ca, timeout=self.timeout)
        return self._http

    def request(self, method: str, path: str, what: str, *, json: Any = None, content: bytes | None = None,
                headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
                auth: bool = True, missing_ok: bool = False) -> httpx.Response | None:
        """``method`` on ``path`` (below the mailbox's /users/{address}, or a full URL), waiting out
        throttling; the response, or None for a 404 when ``missing_ok``; GraphError otherwise."""
        url = path if path.startswith("https://") else f"{self.user}{path}"
        deadline = time.monotonic() + self.max_wait
        backoff, renewed = FIRST_BACKOFF, False
        while True:
            sent = dict(headers or {})
            if auth:
                sent["Authorization"] = f"Bearer {self.token()}"
            try:
                with self._slots:
                    response = self._client().request(method, url, json=json, content=content, headers=sent,
                                                      params=params)
            except httpx.HTTPError as exc:
                raise GraphError(unreachable(self.settings["graph_url"], what, exc)) from None
            status = response.status_code
            if status < 400:
                return response
            code, message = _error_of(response)
            if status == 401 and auth and not renewed:
                log.info("graph: the token was refused while %s (%s); fetching a new one", what, message[:80])
                self.forget_token()
                renewed = True
                self.renewed += 1
                continue
            if status in RETRY_STATUS:
                asked = _retry_after(response)
                wait = backoff if asked is None else asked
                backoff = min(backoff * 2, 60)
                if time.monotonic() + wait <= deadline:
                    log.info("graph: %d %s while %s; waiting %.0f s as asked", status, code, what, wait)
                    keepalive()
                    time.sleep(wait)
                    continue
                raise GraphError(graph_failure(self.settings, what, status, code, message), status, code, wait)
            if status == 404 and missing_ok:
                return None
            raise GraphError(graph_failure(self.settings, what, status, code, message), status, code)

    def json(self, method: str, path: str, what: str, **kwargs) -> dict:
        """The JSON body of a request that must succeed."""
        response = self.request(method, path, what, **kwargs)
        try:
            return response.json() if response is not None and response.content else {}
        except ValueError:
            raise GraphError(f"Graph answered {what} with something that is not JSON: check graph_url") from None

    def pages(self, path: str, what: str, params: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> tuple[list[dict], dict]:
        """Every row of a collection, following ``@odata.nextLink``; and the last page (for a deltaLink)."""
        rows: list[dict] = []
        body = self.json("GET", path, what, params=params, headers=headers)
        rows += body.get("value", [])
        while body.get("@odata.nextLink"):
            body = self.json("GET", body["@odata.nextLink"], what, headers=headers)
            rows += body.get("value", [])
        return rows, body

    def close(self) -> None:
        """Close the HTTP connections; the next request opens new ones (the token stays cached)."""
        if self._http is not None:
            self._http.close()
            self._http = None


def _check_pair(section: str, s: dict[str, Any], key: str, certificate: str) -> None:
    """MailError unless ``key`` is a PEM private key and ``certificate`` the PEM certificate of its public key
    (MSAL would fail on either only when it signs, with a traceback)."""
    where = next((f"{section}.private_key{x}" for x in ("_file", "_env", "_credential") if s.get("private_key" + x)),
                 f"{section}.private_key")
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        raise MailError(f"{where} does not hold an unencrypted PEM private key: export the key as PEM "
                        f"(-----BEGIN PRIVATE KEY-----) without a passphrase") from None
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise MailError(f"{section}.certificate_file = {s['certificate_file']!r} is not a PEM certificate: give the "
                        f"certificate (-----BEGIN CERTIFICATE-----) uploaded to the app registration") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (private.public_key().public_bytes(serialization.Encoding.DER, public)
            != cert.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise MailError(f"the private key in {where} does not belong to the certificate in "
                        f"{section}.certificate_file: give the key the certificate was made with")


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "", response.text[:200] if response.text else f"HTTP {response.status_code}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
