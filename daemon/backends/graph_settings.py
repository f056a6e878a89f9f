"""The ``[mailbox]`` / ``[transport]`` keys of the Microsoft Graph backend
(Microsoft 365), checked when the config is loaded without importing msal or
httpx, and the secrets they name.

``check_settings`` is called by ``daemon.backends.settings`` for a section
whose backend is ``graph``; it returns the settings with defaults filled in and
paths resolved, and appends one line per problem (key, bad value, fix) to
``problems``. A ``[transport]`` takes the connection keys of a Graph
``[mailbox]`` unless it sets its own.

Secrets (the client secret, or the private key of a certificate) come from a
file (``<key>_file``, readable by the service user only), an environment
variable (``<key>_env``) or a systemd credential (``<key>_credential``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.backends.netconf import configured_secret
from daemon.config import EMAIL_RE
from daemon.config_reader import unknown_keys
from daemon.mail import MailError
from daemon.redact import remember_secret

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
SECRET_SOURCES = ("_file", "_env", "_credential")
# Keys a Graph [transport] inherits from a Graph [mailbox].
CONNECTION_KEYS = (
    "graph_url", "token_url", "tenant_id", "client_id", "mailbox", "scope",
    "client_secret_file", "client_secret_env", "client_secret_credential",
    "certificate_file", "private_key_file", "private_key_env", "private_key_credential",
    "tls_ca_file", "timeout_seconds", "max_wait_seconds",
)
MAILBOX_KEYS = (*CONNECTION_KEYS, "processed_folder", "quarantine_folder", "create_folders")
TRANSPORT_KEYS = CONNECTION_KEYS
FOLDERS = {"processed_folder": "Behandlat", "quarantine_folder": "Karantän"}


def check_settings(settings: dict[str, Any], section: str, base: Path, problems: list[str],
                   group_address: str, inherit: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the Graph keys of ``[section]``; return them with defaults filled in.

    ``inherit`` holds the settings of a Graph ``[mailbox]`` when ``section`` is
    the transport: its connection keys apply unless the transport sets them.
    Relative paths are resolved against ``base`` (the config's folder).
    """
    if inherit:
        # Inherited keys were checked under [mailbox]: report only what the transport sets itself.
        merged = {**{k: v for k, v in inherit.items() if k in CONNECTION_KEYS}, **settings}
        found: list[str] = []
        result = check_settings(merged, section, base, found, group_address)
        problems += [p for p in found if p.split(" ", 1)[0].removeprefix(f"{section}.") in settings]
        return result
    s = dict(settings)

    def bad(key: str, value: Any, fix: str) -> None:
        problems.append(f"{section}.{key} = {value!r}: {fix}")

    problems += unknown_keys(s, section, MAILBOX_KEYS if section == "mailbox" else TRANSPORT_KEYS)
    for key, example in (("tenant_id", "the directory (tenant) id or the tenant's domain, e.g. \"kommun.onmicrosoft.com\""),
                         ("client_id", "the application (client) id of the app registration")):
        value = s.get(key)
        if (not isinstance(value, str) or not value.strip()) and not (key == "tenant_id" and s.get("token_url")):
            problems.append(f"{section}.{key} is missing: set it to {example}")
    mailbox = s.setdefault("mailbox", group_address)
    if not isinstance(mailbox, str) or not EMAIL_RE.match(mailbox):
        bad("mailbox", mailbox, 'the shared mailbox\'s address, e.g. "klg@kommun.se"')
    for key, default in (("graph_url", GRAPH_URL), ("token_url", None)):
        value = s.get(key, default)
        if value is None:
            s[key] = f"{LOGIN}/{s.get('tenant_id')}/oauth2/v2.0/token"
            continue
        if not isinstance(value, str) or not value.startswith("https://"):
            bad(key, value, f"use an https:// address, e.g. {default or LOGIN + '/<tenant_id>/oauth2/v2.0/token'!r}")
        elif key == "token_url" and not value.rstrip("/").endswith("/oauth2/v2.0/token"):
            bad(key, value, "use the tenant's v2.0 token endpoint, ending in /oauth2/v2.0/token")
        s[key] = value.rstrip("/") if isinstance(value, str) else value
    s.setdefault("scope", SCOPE)
    if not isinstance(s["scope"], str) or not s["scope"].endswith("/.default"):
        bad("scope", s["scope"], f"app-only sign-in asks for a resource's .default, e.g. {SCOPE!r}")

    secrets = [k for k in ("client_secret", "private_key") if any(s.get(k + x) for x in SECRET_SOURCES)]
    if not secrets:
        problems.append(f'{section}.client_secret_file is missing: name where the app\'s credential is, e.g. '
                        f'client_secret_file = "/etc/klg/graph-secret" (or _env, _credential), or use a certificate '
                        f'with certificate_file and private_key_file')
    elif len(secrets) == 2:
        problems.append(f"{section}: both a client secret and a private key are set: keep one (a certificate is "
                        f"the safer choice)")
    for key in ("client_secret", "private_key"):
        named = [key + x for x in SECRET_SOURCES if s.get(key + x)]
        if len(named) > 1:
            problems.append(f"{section}: {' and '.join(named)} both name the {key.replace('_', ' ')}: keep one")
    if "private_key" in secrets and not s.get("certificate_file"):
        problems.append(f'{section}.certificate_file is missing: name the PEM file of the certificate uploaded to '
                        f'the app registration, e.g. "/etc/klg/graph-cert.pem"')
    for key in ("certificate_file", "private_key_file", "client_secret_file", "tls_ca_file"):
        value = s.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            bad(key, value, "name a file, or remove the key")
            continue
        path = (base / value).resolve()
        # The credential files are read at sign-in, where a missing one is explained: they are often
        # in a folder only the service user may open, and `klg status` run by another user must load.
        if key == "tls_ca_file" and not path.is_file():
            bad(key, value, f"{path} does not exist: put the CA's PEM file there or correct the path")
        s[key] = str(path)

    if section == "mailbox":
        names = {}
        for key, default in FOLDERS.items():
            name = s.setdefault(key, default)
            if not isinstance(name, str) or not name.strip() or name.startswith("/") or "//" in name:
                bad(key, name, f'a folder under the inbox, e.g. "{default}" (or a path such as "klg/{default}")')
            elif name.casefold() in names:
                bad(key, name, f"the same folder as {names[name.casefold()]}; use a folder of its own")
            else:
                names[name.casefold()] = key
        if not isinstance(s.setdefault("create_folders", True), bool):
            bad("create_folders", s["create_folders"], "write true or false")
    for key, default, top in (("timeout_seconds", 60, 600), ("max_wait_seconds", 120, 240)):
        value = s.setdefault(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= top:
            bad(key, value, f"use a number of seconds between 1 and {top}")
    return s


def secret(settings: dict[str, Any], section: str, key: str) -> str | None:
    """The secret ``key`` from ``<key>_file``, ``<key>_env`` or ``<key>_credential``;
    None if none is configured; MailError naming the source that is empty or unreadable."""
    path = settings.get(f"{key}_file")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MailError(f"{section}.{key}_file = {path!r} cannot be read ({exc.strerror}): make it readable by "
                            f"the service user only (chown klg, chmod 600)") from None
        if not value:
            raise MailError(f"{section}.{key}_file = {path!r} is empty: put the {key.replace('_', ' ')} there")
        return remember_secret(value)
    return configured_secret(settings, section, key, environment="EnvironmentFile=", instead=f"{key}_file")
