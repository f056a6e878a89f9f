"""The ``[mailbox]`` / ``[transport]`` keys of the Exchange backend, checked
when the config is loaded (without importing exchangelib, which is slow).

``check_settings`` is called by ``daemon.backends.settings`` for a section whose
backend is ``exchange``; it returns the settings with paths resolved and appends one
line per problem (key, bad value, fix) to ``problems``. ``[transport]`` takes
the connection keys of an Exchange ``[mailbox]`` unless it sets its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.config import EMAIL_RE
from daemon.config_reader import unknown_keys

AUTHS = ("ntlm", "basic", "oauth2")
ACCESS = ("delegate", "impersonation")
FOLDER_PARENTS = ("inbox", "root")
# exchange_version: the name operators know -> (major, minor) build; pinning it
# skips exchangelib's version probe (one request, and a source of odd errors).
VERSIONS = {"2013": (15, 0), "2016": (15, 1), "2019": (15, 2), "se": (15, 2)}
# Keys an Exchange [transport] inherits from an Exchange [mailbox].
CONNECTION_KEYS = (
    "server", "service_endpoint", "username", "auth", "access", "password_env", "password_credential",
    "client_id", "tenant_id", "client_secret_env", "client_secret_credential", "oauth_token_url", "oauth_scope",
    "primary_smtp_address", "ca_bundle", "exchange_version", "timeout",
)
KNOWN_KEYS = set(CONNECTION_KEYS) | {"folders_under", "processed_folder", "quarantine_folder", "create_folders",
                                     "save_sent"}


def check_settings(settings: dict[str, Any], section: str, base: Path, problems: list[str],
                   inherit: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the Exchange keys of ``[section]``; return them normalised.

    ``inherit`` holds the settings of an Exchange ``[mailbox]`` when ``section``
    is the transport: its connection keys apply unless the transport sets them.
    Relative ``ca_bundle`` paths are resolved against ``base`` (the config's folder).
    """
    if inherit:
        # Inherited keys were checked (and any problem reported) under [mailbox]:
        # report only what the transport sets itself.
        merged = {**{k: v for k, v in inherit.items() if k in CONNECTION_KEYS}, **settings}
        found: list[str] = []
        result = check_settings(merged, section, base, found)
        problems += [p for p in found if p.split(" ", 1)[0].removeprefix(f"{section}.") in settings]
        return result
    s = dict(settings)

    def bad(key: str, value: Any, fix: str) -> None:
        problems.append(f"{section}.{key} = {value!r}: {fix}")

    problems += unknown_keys(s, section, KNOWN_KEYS)

    server, endpoint = s.get("server"), s.get("service_endpoint")
    if server and endpoint:
        bad("server", server, "set either server or service_endpoint, not both")
    elif not server and not endpoint:
        problems.append(f"{section}.service_endpoint is missing: set it to the EWS address, "
                        f'e.g. "https://mail.kommun.se/EWS/Exchange.asmx" (autodiscover is not used)')
    elif endpoint is not None:
        if not isinstance(endpoint, str) or not endpoint.lower().startswith("https://"):
            bad("service_endpoint", endpoint, 'use an https:// address, e.g. "https://mail.kommun.se/EWS/Exchange.asmx" '
                                              "(EWS sends the credentials with every request)")
    elif not isinstance(server, str) or "/" in server or not server.strip():
        bad("server", server, 'give the host name only, e.g. "mail.kommun.se", or set service_endpoint instead')

    auth = s.get("auth", "ntlm")
    if auth not in AUTHS:
        bad("auth", auth, f"use one of {', '.join(AUTHS)}")
    access = s.get("access", "impersonation" if auth == "oauth2" else "delegate")
    if access not in ACCESS:
        bad("access", access, "use delegate (the service account has Full Access to the shared mailbox) "
                              "or impersonation (ApplicationImpersonation role)")
    s["auth"], s["access"] = auth, access

    if auth in ("ntlm", "basic"):
        username = s.get("username")
        if not isinstance(username, str) or not username.strip():
            problems.append(f'{section}.username is missing: set the service account, e.g. "KOMMUN\\\\svc-klg" '
                            f'or "svc-klg@kommun.se"')
        if not (s.get("password_env") or s.get("password_credential")):
            problems.append(f'{section}.password_env is missing: name the environment variable holding the password, '
                            f'e.g. password_env = "KLG_EXCHANGE_PASSWORD" (or password_credential for systemd)')
    elif auth == "oauth2":
        for key, example in (("client_id", "the application (client) id"), ("tenant_id", "the directory (tenant) id")):
            if not isinstance(s.get(key), str) or not s.get(key, "").strip():
                problems.append(f"{section}.{key} is missing: set {example} of the app registration")
        if not (s.get("client_secret_env") or s.get("client_secret_credential")):
            problems.append(f'{section}.client_secret_env is missing: name the environment variable holding the '
                            f'client secret, e.g. client_secret_env = "KLG_EXCHANGE_CLIENT_SECRET"')
        if access != "impersonation":
            bad("access", access, "oauth2 (app-only) needs access = \"impersonation\"")
        token_url = s.get("oauth_token_url")
        if token_url is not None and (not isinstance(token_url, str) or not token_url.startswith("https://")):
            bad("oauth_token_url", token_url, "use the https:// token endpoint of your identity provider")

    address = s.get("primary_smtp_address")
    if address is not None and (not isinstance(address, str) or not EMAIL_RE.match(address)):
        bad("primary_smtp_address", address, 'the shared mailbox\'s address, e.g. "klg@kommun.se"')

    ca_bundle = s.get("ca_bundle")
    if ca_bundle is not None:
        if not isinstance(ca_bundle, str) or not ca_bundle.strip():
            bad("ca_bundle", ca_bundle, "give the path of a PEM file with your CA's certificate, or remove the key")
        else:
            path = (base / ca_bundle).resolve()
            if not path.is_file():
                bad("ca_bundle", ca_bundle, f"{path} does not exist: export your internal CA's certificate as PEM there")
            s["ca_bundle"] = str(path)

    version = s.get("exchange_version")
    if version is not None and str(version).lower() not in VERSIONS:
        bad("exchange_version", version, f"use one of {', '.join(VERSIONS)}, or remove it to ask the server")

    parent = s.get("folders_under", "inbox")
    if not isinstance(parent, str) or not parent.strip():
        bad("folders_under", parent, 'use "inbox", "root" or a folder path such as "Inbox/KLG"')
    for key, default in (("processed_folder", "processed"), ("quarantine_folder", "quarantine")):
        name = s.get(key, default)
        if not isinstance(name, str) or not name.strip() or "/" in name:
            bad(key, name, "a folder name without slashes, e.g. \"Behandlat\"")
    if s.get("processed_folder", "processed") == s.get("quarantine_folder", "quarantine"):
        bad("quarantine_folder", s.get("quarantine_folder", "quarantine"), "must differ from processed_folder")
    for key in ("create_folders", "save_sent"):
        if key in s and not isinstance(s[key], bool):
            bad(key, s[key], "expected true or false")
    timeout = s.get("timeout", 120)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        bad("timeout", timeout, "seconds to wait for one EWS response, e.g. 120")
    return s
