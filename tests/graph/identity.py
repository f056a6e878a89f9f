"""The responder's identity platform: a tenant, its registered apps, and the token endpoint.

Sources:
- [ENTRA]    OAuth 2.0 client credentials flow (entra-docs v2-oauth2-client-creds-grant-flow.md):
             the request (client_secret, or client_assertion_type jwt-bearer + client_assertion; scope
             "<resource>/.default"), the success body (token_type, expires_in, access_token) and the error
             body (see errors.py), incl. the documented AADSTS70011 invalid_scope example; app-only tokens
             may be issued without a ``roles`` claim ("Controlling tokens without the roles claim").
- [CERT]     "Microsoft identity platform certificate credentials" (entra-docs certificate-credentials.md):
             assertion header alg PS256 + x5t#S256 (or RS256 + SHA-1 x5t), claims aud = the token
             endpoint, iss = sub = client_id, exp, jti. MSAL for Python builds exactly this
             (msal/application.py, oauth2cli/assertion.py).
- [AADSTS]   Captured AADSTS answers quoted in public code and issues: 7000215 and 7000222 invalid_client
             (wording as in many clients' error tables), 700016 unauthorized_client (a Java test fixture with
             the full JSON, incl. error_uri), 90002 tenant not found (recorded OIDC discovery), 700027 expired
             or unknown certificate key, 700024 assertion outside its time range, 65001 consent missing.
- [OIDC]     The v2.0 OpenID configuration document of a tenant, as recorded in SDK test fixtures
             (token_endpoint, issuer https://login.microsoftonline.com/{tenant}/v2.0, authorization_endpoint,
             device_authorization_endpoint, jwks_uri, ...): MSAL reads it before the first token request.
- [G401]     Graph's 401 for an expired token (Microsoft365DSC issue #4427, microsofthackathons/tdi #24):
             code InvalidAuthenticationToken, "Lifetime validation failed, the token is expired." and the
             WWW-Authenticate header quoted there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.graph.errors import GraphError, token_error

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's well-known application id
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
WWW_AUTHENTICATE = (f'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    f'client_id="{GRAPH_APP_ID}"')  # [G401]


@dataclass
class App:
    """A registered application. ``consent="refused"`` makes the token endpoint answer AADSTS65001;
    ``roles`` are the Graph application permissions an admin consented to tenant-wide (they appear
    in the token's ``roles`` claim; RBAC for Applications grants per mailbox instead, see
    ``GraphResponder.add_mailbox``)."""

    client_id: str
    name: str = "klg"
    secret: str | None = None
    secret_expires: dt.datetime | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    consent: str = "granted"
    roles: tuple[str, ...] = ()


class Identity:
    """One tenant's token service; ``token_lifetime`` (seconds) is what ``expires_in`` says."""

    def __init__(self, tenant_id: str, domain: str):
        self.tenant_id, self.domain = tenant_id, domain
        self.apps: dict[str, App] = {}
        self.token_lifetime = 3599
        self.revoked: set[str] = set()  # token ids (uti) refused as expired before their time
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.issued: list[tuple[str, str]] = []  # (client id, token id), one per token issued

    def knows(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), self.domain.lower())

    def openid_configuration(self, base: str, tenant: str) -> dict:
        """[OIDC] for ``tenant`` at ``base`` (https://host:port)."""
        root = f"{base}/{tenant}"
        return {"token_endpoint": f"{root}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": f"{root}/discovery/v2.0/keys", "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{self.tenant_id}/v2.0", "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{root}/oauth2/v2.0/logout", "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com", "msgraph_host": "graph.microsoft.com"}

    def jwks(self) -> dict:
        key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**key, "kid": self.kid, "use": "sig"}]}

    # -- the token endpoint --

    def token(self, tenant: str, form: dict[str, str], basic: tuple[str, str] | None, token_url: str) -> tuple[int, bytes]:
        """Answer a POST to /{tenant}/oauth2/v2.0/token: (status, JSON body)."""
        if not self.knows(tenant):  # [AADSTS] 90002
            return token_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                               "have the correct tenant ID and are signing into the correct cloud. Check with your "
                               "subscription administrator, this may happen if there are no active subscriptions for the tenant.")
        if basic:
            form = {**form, "client_id": basic[0], "client_secret": basic[1]}
        if form.get("grant_type") != "client_credentials":
            return token_error(400, "unsupported_grant_type", 70003,
                               "The app requested an unsupported grant type. This replay knows client_credentials only.")
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:  # [AADSTS] 700016
            return token_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                               f"found in the directory '{self.domain}'. This can happen if the application has not been "
                               "installed by the administrator of the tenant or consented to by any user in the tenant. "
                               "You may have sent your authentication request to the wrong tenant.")
        refused = self._credential_refused(app, form, token_url)
        if refused:
            return refused
        scope = form.get("scope", "")
        if scope not in (f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default"):  # [ENTRA] example
            return token_error(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not "
                               f"valid. The scope {scope} is not valid.")
        if app.consent == "refused":  # [AADSTS] 65001
            return token_error(400, "invalid_grant", 65001, f"The user or administrator has not consented to use the "
                               f"application with ID '{app.client_id}' named '{app.name}'. Send an interactive "
                               "authorization request for this user and resource.")
        uti = uuid.uuid4().hex
        self.issued.append((app.client_id, uti))
        return 200, json.dumps({"token_type": "Bearer", "expires_in": self.token_lifetime,
                                "ext_expires_in": self.token_lifetime, "access_token": self._access_token(app, uti)}).encode()

    def _credential_refused(self, app: App, form: dict[str, str], token_url: str) -> tuple[int, bytes] | None:
        now = dt.datetime.now(dt.timezone.utc)
        if "client_secret" in form:
            if app.secret is None or form["client_secret"] != app.secret:  # [AADSTS] 7000215
                return token_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                   "being sent in the request is the client secret value, not the client secret ID, for "
                                   f"a secret added to app '{app.client_id}'.")
            if app.secret_expires is not None and app.secret_expires <= now:  # [AADSTS] 7000222
                return token_error(401, "invalid_client", 7000222, f"The provided client secret keys for app "
                                   f"'{app.client_id}' are expired. Visit the Azure portal to create new keys for your "
                                   "app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                                   "added security: https://aka.ms/certCreds.")
            return None
        if form.get("client_assertion_type") == JWT_BEARER and form.get("client_assertion"):
            return self._assertion_refused(app, form["client_assertion"], token_url, now)
        return token_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: "
                           "'client_assertion' or 'client_secret'.")

    def _assertion_refused(self, app: App, assertion: str, token_url: str, now: dt.datetime) -> tuple[int, bytes] | None:
        """[CERT]: find the registered certificate by thumbprint, check its validity, then the signature."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return token_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        cert, used = _registered(app, header)
        if cert is None:  # [AADSTS] 700027, unknown key
            return token_error(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - "
                               f"The key was not found., Thumbprint of key used by client: '{used}', Please visit the "
                               "Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id "
                               f"'{app.client_id}'.]")
        if cert.not_valid_after_utc <= now:  # [AADSTS] 700027, expired key
            return token_error(401, "invalid_client", 700027, "The certificate with identifier used to sign the client "
                               "assertion is expired on application. [Reason - The key used is expired., Thumbprint of "
                               f"key used by client: '{used}', Found key 'Start={cert.not_valid_before_utc:%m/%d/%Y %H:%M:%S}, "
                               f"End={cert.not_valid_after_utc:%m/%d/%Y %H:%M:%S}']")
        try:
            claims = jwt.decode(assertion, cert.public_key(), algorithms=["PS256", "RS256"],
                                options={"verify_aud": False, "require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:  # [AADSTS] 700024
            return token_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        except jwt.InvalidSignatureError:
            return token_error(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - "
                               "The provided signature value did not match the expected signature value.]")
        except jwt.PyJWTError:
            return token_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        if claims["aud"] != token_url or claims["iss"] != app.client_id or claims["sub"] != app.client_id:
            return token_error(401, "invalid_client", 50027, "JWT token is invalid or malformed: its aud must be the "
                               "token endpoint and its iss and sub the client id.")
        return None

    def expire_all(self) -> None:
        """Every token issued so far reads as expired from now on."""
        self.revoked.update(uti for _, uti in self.issued)

    def _access_token(self, app: App, uti: str) -> str:
        now = time.time()
        claims = {"aud": GRAPH_RESOURCE, "iss": f"https://sts.windows.net/{self.tenant_id}/", "iat": int(now),
                  "nbf": int(now), "exp": math.ceil(now + self.token_lifetime), "appid": app.client_id, "app_displayname": app.name,
                  "idtyp": "app", "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)), "tid": self.tenant_id,
                  "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)), "ver": "1.0", "uti": uti}
        if app.roles:
            claims["roles"] = list(app.roles)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    # -- Graph's side: the bearer token of a request --

    def verify(self, authorization: str) -> dict:
        """The claims of a valid bearer token; GraphError 401 [G401] otherwise."""
        def refuse(message: str) -> GraphError:
            return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})

        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise refuse("Access token is empty.")
        try:
            claims = jwt.decode(authorization[7:].strip(), self.key.public_key(), algorithms=["RS256"],
                                audience=GRAPH_RESOURCE, options={"verify_exp": False})
        except jwt.PyJWTError:
            raise refuse("Access token validation failure.") from None
        if claims["exp"] <= time.time() or claims.get("uti") in self.revoked:
            raise refuse("Lifetime validation failed, the token is expired.")
        return claims


def _registered(app: App, header: dict) -> tuple[x509.Certificate | None, str]:
    """The app's certificate the assertion header names (x5t#S256 or x5t), and that thumbprint in hex."""
    for name, algorithm in (("x5t#S256", hashes.SHA256()), ("x5t", hashes.SHA1())):
        if name in header:
            try:
                thumb = base64.urlsafe_b64decode(header[name] + "=" * (-len(header[name]) % 4))
            except ValueError:
                return None, str(header[name])
            match = next((c for c in app.certificates if c.fingerprint(algorithm) == thumb), None)
            return match, thumb.hex().upper()
    return None, ""


def make_app_certificate(folder: Path, days: int = 365, name: str = "klg") -> tuple[Path, Path]:
    """A self-signed RSA certificate for an app's client assertion: (cert.pem, key.pem). A negative
    ``days`` makes one that expired that many days ago (it was valid for a year before)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=1) if days > 0 else now + dt.timedelta(days=days - 365)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile
