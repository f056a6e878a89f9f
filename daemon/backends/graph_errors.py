"""What the Microsoft identity platform and Graph answer when something is
wrong, turned into one line an operator can act on (``klg check-config`` prints
it; the log keeps it). No client library is imported here.

The five misconfigurations an admin meets most, told apart:

- no admin consent (AADSTS65001 at the token endpoint);
- the app reaches the tenant but not this mailbox (403 ErrorAccessDenied:
  no RBAC for Applications assignment scopes the mailbox in);
- a wrong mailbox address (404 ErrorInvalidUser, or ResourceNotFound for a
  user without an Exchange mailbox);
- an expired client secret (AADSTS7000222) or certificate (AADSTS700027,
  "expired");
- a missing folder (raised by the mailbox itself, see ``graph_mailbox``).
"""

from __future__ import annotations

from typing import Any

from daemon.mail import MailError

RBAC = ("New-ManagementRoleAssignment -App {client_id} -Role \"Application Mail.ReadWrite\" "
        "-CustomResourceScope klg (and the same with \"Application Mail.Send\")")


class GraphError(MailError):
    """Graph answered ``status`` with an error ``code``; the text is the operator's one line."""

    def __init__(self, text: str, status: int = 0, code: str = "", retry_after: float | None = None):
        super().__init__(text)
        self.status, self.code, self.retry_after = status, code, retry_after


class SignInError(MailError):
    """The token endpoint refused to sign klg in; the text says why and what to do."""


def _where(settings: dict[str, Any], key: str) -> str:
    for suffix in ("_file", "_env", "_credential"):
        if settings.get(key + suffix):
            return f"{key}{suffix} = {settings[key + suffix]!r}"
    return key


def sign_in_failure(settings: dict[str, Any], result: dict[str, Any]) -> str:
    """One line for MSAL's error ``result`` (error, error_description, error_codes)."""
    codes = set(result.get("error_codes") or [])
    text = " ".join(str(result.get("error_description") or result.get("error") or "no answer").split())
    aadsts = text.split(" Trace ID:")[0][:180]
    app, tenant = settings.get("client_id"), settings.get("tenant_id") or settings.get("token_url")
    uses_cert = any(settings.get("private_key" + s) for s in ("_file", "_env", "_credential"))
    if 65001 in codes:
        return (f"no admin consent: the app {app} in tenant {tenant} is not consented to ({aadsts}): in the Entra "
                f"admin center open Enterprise applications, the app, Permissions, and grant admin consent")
    if 7000222 in codes:
        return (f"the client secret of app {app} has expired ({aadsts}): make a new one under App registrations, "
                f"Certificates & secrets, and put it in {_where(settings, 'client_secret')}")
    if 700027 in codes and "expired" in text.lower():
        return (f"the certificate of app {app} has expired ({aadsts}): make a new one, upload it under App "
                f"registrations, Certificates & secrets, and point certificate_file and private_key at it")
    if 700027 in codes:
        return (f"the certificate in certificate_file is not registered with app {app} ({aadsts}): upload it under "
                f"App registrations, Certificates & secrets, or point certificate_file at the registered one")
    if 7000215 in codes:
        return (f"the client secret of app {app} is wrong ({aadsts}): put the secret's Value (not its ID) in "
                f"{_where(settings, 'client_secret')}")
    if 700016 in codes:
        return (f"the app {app} does not exist in tenant {tenant} ({aadsts}): check client_id and tenant_id")
    if 90002 in codes:
        return f"the tenant {tenant} does not exist ({aadsts}): check tenant_id (or token_url)"
    if 70011 in codes:
        return f"the scope {settings.get('scope')!r} was refused ({aadsts}): use scope = \"https://graph.microsoft.com/.default\""
    if 700024 in codes:
        return f"the token endpoint refused the certificate's signed assertion as out of date ({aadsts}): check this machine's clock"
    kind = "certificate" if uses_cert else "client secret"
    return (f"the token endpoint {settings.get('token_url')} refused to sign in app {app} ({aadsts}): check "
            f"tenant_id, client_id and the {kind}")


def graph_failure(settings: dict[str, Any], what: str, status: int, code: str, message: str) -> str:
    """One line for a Graph error answer to ``what`` (e.g. "opening the inbox")."""
    mailbox, app = settings.get("mailbox"), settings.get("client_id")
    detail = f"{status} {code}: {' '.join(message.split())[:160]}"
    if status == 403 and code in ("ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied", ""):
        return (f"the app {app} signs in to the tenant but may not open the mailbox {mailbox} ({detail}): give it "
                f"the mailbox with RBAC for Applications: a management scope for the mailbox and "
                f"{RBAC.format(client_id=app)}; changes take up to two hours to apply")
    if status == 404 and code in ("ErrorInvalidUser", "ResourceNotFound", "MailboxNotEnabledForRESTAPI"):
        return (f"the mailbox {mailbox} does not exist in the tenant ({detail}): set mailbox to the shared "
                f"mailbox's primary address (Get-Mailbox klg | fl PrimarySmtpAddress)")
    if status == 401:
        return (f"Graph refused klg's token while {what} ({detail}): the token was renewed and refused again; check "
                f"that graph_url and token_url belong to the same cloud")
    if status in (429, 503, 504):
        return f"Graph is throttling or unavailable while {what} ({detail}); klg waits and tries again next pass"
    return f"Graph refused {what} for {mailbox} ({detail})"


def unreachable(url: str, what: str, exc: BaseException) -> str:
    """One line for a network failure (refused, DNS, TLS, timeout) on the way to ``url``."""
    full = " ".join(str(exc).split())
    text = full[:160] or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in full or "certificate verify failed" in full.lower():
        return (f"the TLS certificate of {url} is not trusted while {what} (certificate verify failed): a "
                f"TLS-inspecting proxy needs its CA in tls_ca_file; otherwise check the address")
    return f"{url} could not be reached while {what} ({type(exc).__name__}: {text}): check the address and the network path"
