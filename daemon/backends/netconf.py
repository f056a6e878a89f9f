"""What the IMAP and SMTP backends share at run time: TLS contexts, secrets,
XOAUTH2 access tokens, and turning a network or login error into one line an
operator can act on. (Their settings are validated in ``daemon.backends.settings``.)

XOAUTH2 tokens come from exactly one of:

* ``token_env`` / ``token_credential``: a token kept fresh by something else
  (read anew at every login);
* ``token_command``: a program that prints a token (e.g. a script calling
  ``az account get-access-token`` or ``oauth2l fetch``), run at every login;
* ``token_url`` + ``client_id`` + ``client_secret_env``/``client_secret_credential``
  + ``scope``: the OAuth2 client-credentials grant (RFC 6749 4.4), as
  Microsoft 365 offers for IMAP/SMTP with application permissions. The token is
  cached until a minute before it expires.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from daemon.config import read_secret
from daemon.mail import MailError

if TYPE_CHECKING:  # the annotation only; ssl, socket, subprocess and urllib are imported where a connection
    import ssl  # is made, not at the top: start-up (issue 19), every command reads the backends' settings


def tls_context(settings: dict[str, Any]) -> ssl.SSLContext:
    """A verifying TLS context; ``tls_ca_file`` adds a private CA."""
    import ssl  # imported here, not at the top: start-up (issue 19)

    context = ssl.create_default_context(cafile=settings.get("tls_ca_file") or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def secret(settings: dict[str, Any], section: str, key: str) -> str:
    """The secret ``key`` from ``<key>_env``/``<key>_credential``, or MailError naming what is unset."""
    value = configured_secret(settings, section, key, environment="e.g. EnvironmentFile=",
                              instead=f"{key}_credential")
    if value is None:
        raise MailError(f"{section}: no {key} configured: set {key}_env or {key}_credential")
    return value


def configured_secret(settings: dict[str, Any], section: str, key: str, *, environment: str,
                      instead: str) -> str | None:
    """The secret ``key`` from ``<key>_env``/``<key>_credential``; None when neither is set;
    MailError naming the one that is set but empty (``environment`` and ``instead`` are the
    message's hints: where the service's environment comes from, and the other way to give it)."""
    value = read_secret(settings, key)
    if value:
        return value
    if settings.get(f"{key}_env"):
        raise MailError(f"{section}.{key}_env = {settings[f'{key}_env']!r}, but that environment variable is not set: "
                        f"set it in the service's environment ({environment}) or use {instead}")
    if settings.get(f"{key}_credential"):
        raise MailError(f"{section}.{key}_credential = {settings[f'{key}_credential']!r}, but no such credential was "
                        f"passed: add LoadCredential={settings[f'{key}_credential']}:/path to the systemd unit")
    return None


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 SASL initial response (before base64), as Google and Microsoft define it."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


class TokenSource:
    """Access tokens for XOAUTH2 from the configured source (see the module docstring)."""

    def __init__(self, settings: dict[str, Any], section: str):
        self.settings = settings
        self.section = section
        self._cached: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A current access token, or MailError saying why none could be had."""
        s = self.settings
        if s.get("token_url"):
            with self._lock:
                if self._cached and self._cached[1] > time.monotonic():
                    return self._cached[0]
                token, lifetime = self._client_credentials()
                self._cached = (token, time.monotonic() + max(0, lifetime - 60))
                return token
        if s.get("token_command"):
            return self._command()
        return secret(s, self.section, "token")

    def forget(self) -> None:
        """Drop the cached token (after the server refused it)."""
        self._cached = None

    def _command(self) -> str:
        import shlex  # imported here, not at the top: start-up (issue 19)
        import subprocess  # imported here, not at the top: start-up (issue 19)

        command = self.settings["token_command"]
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailError(f"{self.section}.token_command {argv[0]!r} could not run ({exc}): check the path and that "
                            f"the service user may execute it") from None
        token = result.stdout.strip()
        if result.returncode != 0 or not token:
            why = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}, no output"])[-1][:200]
            raise MailError(f"{self.section}.token_command {argv[0]!r} gave no token ({why}): run it by hand as the "
                            f"service user to see why")
        return token.splitlines()[-1].strip()

    def _client_credentials(self) -> tuple[str, float]:
        import urllib.error  # imported here, not at the top: start-up (issue 19)
        import urllib.parse  # imported here, not at the top: start-up (issue 19)
        import urllib.request  # imported here, not at the top: start-up (issue 19)

        s = self.settings
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": s["client_id"],
            "client_secret": secret(s, self.section, "client_secret"), "scope": s["scope"],
        }).encode()
        url = s["token_url"]
        request = urllib.request.Request(url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=float(s.get("timeout_seconds", 30)),
                                        context=tls_context(s) if url.startswith("https:") else None) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read().decode("utf-8"))
            except Exception:
                err = {}
            code, text = err.get("error", f"HTTP {exc.code}"), " ".join(str(err.get("error_description", "")).split())
            fixes = {
                "invalid_client": "check client_id and the client secret (it may have expired in the app registration)",
                "unauthorized_client": "the app may not use the client-credentials grant: check the app registration",
                "invalid_scope": 'check scope (Microsoft 365: "https://outlook.office365.com/.default")',
            }
            raise MailError(f"the token endpoint {url} refused: {code} {text[:160]}: "
                            f"{fixes.get(code, 'check token_url, client_id, scope and the client secret')}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MailError(f"the token endpoint {url} could not be reached ({reason}): check token_url and the "
                            f"network path to it") from None
        token = body.get("access_token")
        if not token:
            raise MailError(f"the token endpoint {url} answered without access_token: check token_url")
        return token, float(body.get("expires_in", 3600))


def login_failure(protocol: str, host: str, s: dict[str, Any], exc: BaseException | str) -> str:
    """The one line for a refused login, by auth kind."""
    detail = " ".join(str(exc).split())[:120]
    if s.get("auth") == "xoauth2":
        return (f"{protocol} {host}: XOAUTH2 login as {s.get('username')!r} refused ({detail}): the token was not "
                f"accepted for this mailbox; check the app's permission and scope (Microsoft 365: "
                f"IMAP.AccessAsApp/SMTP.SendAsApp granted, the app given access to the mailbox with "
                f"Add-MailboxPermission; Google: scope https://mail.google.com/)")
    where = s.get("password_env") or s.get("password_credential")
    return (f"{protocol} {host}: login as {s.get('username')!r} refused ({detail}): wrong user name or password; "
            f"check username and the password in {where!r}")


def describe(exc: BaseException, what: str, settings: dict[str, Any]) -> str:
    """One line for the operator: what failed, why, and what to do about it."""
    import socket  # imported here, not at the top: start-up (issue 19)
    import ssl  # imported here, not at the top: start-up (issue 19)

    host, port = settings.get("host"), settings.get("port")
    where = f"{what} {host}:{port}"
    if isinstance(exc, MailError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{where}: the server's TLS certificate is not trusted ({exc.verify_message}): set tls_ca_file to "
                f"the CA that signed it, or set host to the name on the certificate")
    if isinstance(exc, ssl.SSLError):
        hint = ('the port may expect security = "starttls" (or "tls" for the other port)'
                if "WRONG_VERSION" in str(exc) or "wrong version" in str(exc).lower() else "check security and port")
        return f"{where}: the TLS handshake failed ({exc.reason or exc}): {hint}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused: check host and port, and that the server is running"
    if isinstance(exc, socket.gaierror):
        return f"{where}: the name {host!r} cannot be resolved ({exc.strerror}): check host and DNS"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"{where}: no answer within {settings.get('timeout_seconds', 30)} s: check host, port and firewalls"
    if isinstance(exc, (ConnectionError, EOFError)):
        return f"{where}: the connection was closed ({type(exc).__name__}): the server may be restarting; klg reconnects"
    if isinstance(exc, OSError):
        return f"{where}: {exc.strerror or exc}: check host, port and the network"
    text = " ".join(str(exc).split())[:300]
    return f"{where}: {text}"

