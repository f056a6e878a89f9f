"""Exchange's failures in one line each: what failed, why, and what to do.

exchangelib, requests and oauthlib raise dozens of exception types, and their
texts name SOAP faults and HTTP internals; :func:`explain` turns each into a
line an operator can act on, naming the key to change or the right to grant.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from exchangelib import errors as ews
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from daemon.mail import MailError

DEFAULT_SCOPE = "https://outlook.office365.com/.default"

PERMANENT_SEND_ERRORS = (
    ews.ErrorInvalidRecipients, ews.ErrorMessageSizeExceeded, ews.ErrorMimeContentConversionFailed,
    ews.ErrorMimeContentInvalid, ews.ErrorMailRecipientNotFound, ews.ErrorCorruptData,
    ews.ErrorInvalidRecipientSubfilter, ews.ErrorItemCorrupt, ews.ErrorSendMeetingInvitationsRequired,
)


def one_line(text: Any, limit: int = 220) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
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


def explain(ex: Any, exc: BaseException) -> str:
    """One line: what failed, why, and what to do about it. ``ex`` is the
    :class:`~daemon.backends.exchange_account.ExchangeAccount` that failed."""
    text = one_line(exc, 400)
    who = f"the app {ex.settings.get('client_id')}" if ex.auth == "oauth2" else ex.username
    if isinstance(exc, MailError):
        return str(exc)
    if isinstance(exc, OAuth2Error):
        return _explain_oauth(ex, exc)
    if isinstance(exc, ews.UnauthorizedError):
        if ex.auth == "oauth2":
            return (f"Exchange at {ex.host} refused the OAuth2 token of {who} (HTTP 401): give the app the "
                    f"Exchange permission full_access_as_app with admin consent, and check oauth_scope")
        return (f"Exchange at {ex.host} refused the login of {who} (HTTP 401, wrong password?): check the "
                f"password in {ex.secret_source('password')} and that {ex.auth} authentication is "
                f"enabled on the EWS virtual directory")
    if isinstance(exc, ews.ErrorNonExistentMailbox):
        return (f"the mailbox {ex.address} does not exist on {ex.host}: set primary_smtp_address "
                f"to the shared mailbox's primary address")
    if isinstance(exc, (ews.ErrorAccessDenied, ews.ErrorImpersonateUserDenied, ews.ErrorImpersonationDenied,
                        ews.ErrorSendAsDenied)):
        how = ("the ApplicationImpersonation role" if ex.access == "impersonation"
               else "Full Access and Send As on it")
        return (f"{who} may not use the mailbox {ex.address} ({type(exc).__name__}: {one_line(exc, 120)}): "
                f"grant {how}")
    if isinstance(exc, ews.ErrorServerBusy) and "HTTP 503" in text:
        return f"Exchange at {ex.host} is unavailable for now (HTTP 503); it will be tried again"
    if isinstance(exc, ews.ErrorServerBusy) and "Reraised from" not in text:
        return f"Exchange at {ex.host} is busy (ErrorServerBusy); it will be tried again"
    if isinstance(exc, ews.ErrorServerBusy):
        return f"Exchange at {ex.host} is unavailable for now ({text[:120]}); it will be tried again"
    if isinstance(exc, ews.ErrorInternalServerTransientError):
        return f"Exchange at {ex.host} is unavailable for now ({one_line(exc, 120)}); it will be tried again"
    if isinstance(exc, ews.CASError):
        return f"the Exchange front end at {ex.host} failed ({one_line(exc.cas_error, 120)}); it will be tried again"
    if isinstance(exc, ews.MalformedResponseError) and "Code: 403" in text:
        reason = re.search(r"reason=\\?\"([^\"\\]+)", str(exc))
        detail = reason[1] if reason else "HTTP 403"
        if ex.auth == "oauth2":
            return (f"Exchange at {ex.host} refused the OAuth2 token of {who} ({detail}): give the app the "
                    f"Exchange application permission full_access_as_app with admin consent")
        return f"Exchange at {ex.host} refused the request ({detail}): check the service account's rights"
    if _is_tls(exc, text):
        return _explain_tls(ex, text)
    cause = _network_cause(text)
    if cause or isinstance(exc, (ews.ErrorTimeoutExpired, requests.exceptions.ConnectionError)):
        return (f"cannot reach Exchange at {ex.endpoint} ({cause or one_line(exc, 120)}): check "
                f"service_endpoint, DNS and the firewall")
    if isinstance(exc, ews.ResponseMessageError):
        return f"Exchange refused the request: {type(exc).__name__}: {one_line(exc, 160)}"
    if isinstance(exc, ews.RedirectError):
        return (f"Exchange at {ex.host} redirected to {exc.url}: set service_endpoint to the EWS address "
                f"(…/EWS/Exchange.asmx)")
    if isinstance(exc, ews.TransportError):
        return f"Exchange at {ex.host} answered oddly ({text[:200]}): check service_endpoint"
    return f"Exchange at {ex.host}: {type(exc).__name__}: {text[:200]}"


def _is_tls(exc: BaseException, text: str) -> bool:
    return isinstance(exc, requests.exceptions.SSLError) or any(
        s in text for s in ("CERTIFICATE_VERIFY_FAILED", "SSLError", "SSL:", "certificate verify failed"))


def _explain_tls(ex: Any, text: str) -> str:
    detail = re.search(r"certificate verify failed: ([^()\]'\"]+)", text)
    reason = (detail[1].strip() if detail else one_line(text, 120)).rstrip(" .")
    if "match" in reason.lower() or "hostname" in reason.lower():
        return (f"the TLS certificate of {ex.host} is not valid for that name ({reason}): use the host name "
                f"the certificate was issued for in service_endpoint")
    if "expired" in reason.lower():
        return f"the TLS certificate of {ex.host} has expired ({reason}): ask the Exchange administrators to renew it"
    if ex.ca_bundle:
        return (f"the TLS certificate of {ex.host} is not signed by the CA in ca_bundle = {ex.ca_bundle} "
                f"({reason}): export the CA that issued the server's certificate to that file")
    return (f"the TLS certificate of {ex.host} is not trusted ({reason}): set ca_bundle to the PEM file "
            f"of the CA that issued it (e.g. the municipality's internal CA)")


def _explain_oauth(ex: Any, exc: OAuth2Error) -> str:
    description = one_line((exc.description or "").split("Trace ID")[0], 160)
    code = exc.error or type(exc).__name__
    token_url = ex.settings.get("oauth_token_url") or f"login.microsoftonline.com/{ex.settings.get('tenant_id')}"
    fixes = {
        "invalid_scope": f"set oauth_scope to the Exchange resource with /.default "
                         f"(now {ex.settings.get('oauth_scope') or DEFAULT_SCOPE})",
        "invalid_client": "check client_id and the client secret (it may have expired)",
        "unauthorized_client": "check client_id and tenant_id",
        "invalid_request": "check tenant_id and oauth_token_url",
    }
    fix = fixes.get(code, "check the app registration")
    if "AADSTS65001" in str(exc) or code == "consent_required":
        fix = "an administrator must grant admin consent for the app's Exchange permission"
    return f"the token service {token_url} refused {code} ({description}): {fix}"
