"""Real mail servers on loopback for tests and benchmarks: Dovecot (IMAP, IMAPS,
LMTP, SASL auth) and Postfix (SMTP with STARTTLS, SMTPS), after the recipe in
``../shared/recipes``. Everything lives in one temporary folder; the ports are
picked free at start, so several developers can run servers at once.

Postfix delivers every address of ``example.org`` to Dovecot by LMTP, so a mail
the daemon sends to a member lands in that member's IMAP inbox. A small HTTP
responder plays the OAuth2 provider: it hands out access tokens for the
client-credentials grant and answers Dovecot's token lookups, so XOAUTH2 runs
end to end.

Needs root (Postfix and Dovecot drop privileges themselves) and the Debian
packages dovecot-imapd, dovecot-lmtpd and postfix (``scripts/system-packages.sh``).
"""

from __future__ import annotations

import datetime as dt
import email
import fcntl
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from imapclient import IMAPClient

from tests.helpers import GROUP, MEMBERS

PASSWORD = "klg-test-password"  # every test user's password
SHARED = GROUP                  # the shared mailbox klg@example.org
PUSH_ENTRY = "/private/vendor/vendor.dovecot/http-notify"  # Dovecot pushes new mail for users who have it
USERS = [SHARED, *MEMBERS, "stranger@example.org", "ksau@example.org", "cesam@example.org",  # + the minutes audiences
         "registrator@example.org"]  # and the registrar (public records)
CLIENT_ID = "klg-test-client"
CLIENT_SECRET = "klg-test-client-secret"
SCOPE = "https://outlook.office365.com/.default"

# Postfix only accepts `postfix -c DIR` for DIRs listed in the default main.cf.
# A fixed pool of such folders, each taken with a lock, keeps that list short
# and the edit to /etc/postfix/main.cf one-off and idempotent.
POSTFIX_SLOTS = Path("/var/lib/klg-test-postfix")
SLOT_COUNT = 12
DEFAULT_MAIN_CF = Path("/etc/postfix/main.cf")


class ServerError(Exception):
    """A test server could not be started; the message says which and why."""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0, what: str = "server") -> None:
    """Wait until something listens on ``port``; ServerError naming ``what`` if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def wait_closed(port: int, timeout: float = 10.0) -> None:
    """Wait until nothing listens on ``port`` any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.05)
        except OSError:
            return


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for localhost/127.0.0.1: (ca, cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "klg test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


class OAuthProvider:
    """A tiny OAuth2 provider: ``POST /token`` (client-credentials grant) and
    ``GET /tokeninfo?access_token=`` (what Dovecot asks). A token is valid for
    the user it was issued for; ``scopes`` lists the scopes it will grant."""

    def __init__(self) -> None:
        self.port = free_port()
        self.tokens: dict[str, str] = {}
        self.token_user = SHARED
        self.requests: list[dict] = []
        self.scopes = {SCOPE}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                provider.requests.append(form)
                if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                    return self._json(401, {"error": "invalid_client",
                                            "error_description": "AADSTS7000215: Invalid client secret provided."})
                if form.get("scope") not in provider.scopes:
                    return self._json(400, {"error": "invalid_scope",
                                            "error_description": f"AADSTS70011: The provided value for scope {form.get('scope')} is not valid."})
                token = f"tok-{len(provider.tokens) + 1}-{os.urandom(6).hex()}"
                provider.tokens[token] = provider.token_user
                self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})

            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
                token = query.get("access_token") or self.path.rpartition("=")[2]
                user = provider.tokens.get(token)
                if user is None:
                    return self._json(401, {"error": "invalid_token"})
                self._json(200, {"email": user, "active": "true"})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def token_url(self) -> str:
        """Where the client-credentials grant is asked."""
        return f"http://127.0.0.1:{self.port}/token"

    def issue(self, user: str = SHARED) -> str:
        """A token valid for ``user``, as another system would hand it out."""
        token = f"static-{os.urandom(6).hex()}"
        self.tokens[token] = user
        return token

    def start(self) -> "OAuthProvider":
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


DOVECOT_CONF = """\
base_dir = {dir}/run
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
log_path = {dir}/log/dovecot.log
mail_location = maildir:{dir}/mail/%u
default_login_user = dovenull
default_internal_user = root
default_internal_group = root
first_valid_uid = 100
mail_uid = nobody
mail_gid = nogroup
imap_idle_notify_interval = 1 mins
mail_max_userip_connections = 50
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/users
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/oauth2.conf.ext
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
  chroot =
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
service anvil {{
  chroot =
}}
# Push notification (README: Push from Dovecot): LMTP delivery PUTs to push_port
# for users whose METADATA entry klg sets when push_listen is configured.
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {{
  imap_metadata = yes
}}
protocol lmtp {{
  mail_plugins = $mail_plugins notify push_notification
}}
plugin {{
  push_notification_driver = ox:url=http://127.0.0.1:{push}/notify user_from_metadata timeout_msecs=2000
}}
"""

OAUTH2_CONF = """\
tokeninfo_url = http://127.0.0.1:{port}/tokeninfo?access_token=
username_attribute = email
"""

POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.example.org
mydomain = example.org
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.org
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access inline:{{ {{ gone@example.org = 550 5.1.1 No such user here }}, {{ full@example.org = 452 4.2.2 Mailbox full }} }}
maillog_file = {dir}/log/postfix.log
maillog_file_prefixes = {dir}
relayhost =
default_transport = error:no outside mail here
meta_directory = /etc/postfix
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
message_size_limit = 104857600
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_error_sleep_time = 0
smtpd_client_connection_rate_limit = 0
lmtp_connection_cache_on_demand = yes
"""

POSTFIX_MASTER = """\
{smtp} inet  n       -       n       -       -       smtpd
  -o smtpd_sasl_auth_enable=no
{submission} inet  n       -       n       -       -       smtpd
{smtps} inet  n       -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o message_size_limit=1000000
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _run(cmd: list[str], what: str, timeout: float = 30) -> None:
    """Run ``cmd``; its output goes to a file, not a pipe (a daemon it starts
    would inherit the pipe and keep it open)."""
    import tempfile

    with tempfile.TemporaryFile() as out:
        result = subprocess.run(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL, timeout=timeout)
        if result.returncode != 0:
            out.seek(0)
            raise ServerError(f"{what} failed ({' '.join(cmd)}): {out.read().decode(errors='replace').strip()[-800:]}")


def _allow_postfix_slots() -> None:
    """List the slot folders in /etc/postfix/main.cf's alternate_config_directories
    (creating a minimal main.cf if the package left none). Idempotent."""
    wanted = [str(POSTFIX_SLOTS / f"slot-{i}") for i in range(SLOT_COUNT)]
    POSTFIX_SLOTS.mkdir(parents=True, exist_ok=True)
    with open(POSTFIX_SLOTS / ".main-cf.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = DEFAULT_MAIN_CF.read_text() if DEFAULT_MAIN_CF.exists() else "compatibility_level = 3.6\n"
        current = subprocess.run(["postconf", "-h", "alternate_config_directories"], capture_output=True, text=True)
        listed = [d.strip() for d in current.stdout.replace(",", " ").split()] if current.returncode == 0 else []
        missing = [d for d in wanted if d not in listed]
        if not DEFAULT_MAIN_CF.exists():
            DEFAULT_MAIN_CF.write_text(text)
        if missing:
            value = ", ".join([*listed, *missing])
            _run(["postconf", "-e", f"alternate_config_directories = {value}"], "listing the test Postfix folders")


class MailServers:
    """Dovecot + Postfix + OAuth2 responder in ``root``. Use :meth:`start` and :meth:`stop`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.lmtp_port = free_port()
        self.auth_port = free_port()
        self.smtp_port = free_port()
        self.smtps_port = free_port()
        self.submission_port = free_port()
        self.push_port = free_port()  # where Dovecot pushes new mail; a klg with push_listen takes it
        self.oauth = OAuthProvider()
        self._slot_lock = None
        self.postfix_dir: Path | None = None
        self.dovecot_conf = self.root / "dovecot.conf"

    # --- life cycle ---------------------------------------------------------

    def start(self) -> "MailServers":
        """Write the configs and start Dovecot and Postfix; ServerError says what failed."""
        for tool in ("dovecot", "postfix", "doveadm"):
            if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
                raise ServerError(f"{tool} is not installed: run scripts/system-packages.sh as root")
        os.chmod(self.root, 0o755)
        for sub in ("run", "log", "mail", "data", "queue"):
            (self.root / sub).mkdir(exist_ok=True)
        shutil.chown(self.root / "mail", "nobody", "nogroup")
        shutil.chown(self.root / "data", "postfix", "postfix")
        self.ca, self.cert, self.key = make_certificates(self.root)
        import pwd

        nobody = pwd.getpwnam("nobody")
        (self.root / "users").write_text("".join(
            f"{u}:{{PLAIN}}{PASSWORD}:{nobody.pw_uid}:{nobody.pw_gid}::{self.root}/mail/{u}::\n" for u in USERS))
        self.oauth.start()
        (self.root / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(port=self.oauth.port))
        self.dovecot_conf.write_text(DOVECOT_CONF.format(
            dir=self.root, cert=self.cert, key=self.key, imap=self.imap_port, imaps=self.imaps_port,
            lmtp=self.lmtp_port, auth=self.auth_port, push=self.push_port))
        self.start_dovecot()
        self._take_postfix_slot()
        (self.postfix_dir / "main.cf").write_text(POSTFIX_MAIN.format(
            dir=self.root, lmtp=self.lmtp_port, auth=self.auth_port, cert=self.cert, key=self.key))
        (self.postfix_dir / "master.cf").write_text(POSTFIX_MASTER.format(smtp=self.smtp_port, smtps=self.smtps_port,
                                                                               submission=self.submission_port))
        self.start_postfix()
        return self

    def stop(self) -> None:
        """Stop Postfix, Dovecot and the OAuth2 responder; release the Postfix slot."""
        for action in (self.stop_postfix, self.stop_dovecot, self.oauth.stop):
            try:
                action()
            except Exception:
                pass
        if self._slot_lock is not None:
            self._slot_lock.close()
            self._slot_lock = None

    def _take_postfix_slot(self) -> None:
        _allow_postfix_slots()
        for i in range(SLOT_COUNT):
            folder = POSTFIX_SLOTS / f"slot-{i}"
            folder.mkdir(exist_ok=True)
            handle = open(folder / ".lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self._slot_lock, self.postfix_dir = handle, folder
            return
        raise ServerError(f"all {SLOT_COUNT} test Postfix folders in {POSTFIX_SLOTS} are in use")

    def start_dovecot(self) -> None:
        """Start Dovecot and wait for its IMAP and LMTP ports."""
        _run(["dovecot", "-c", str(self.dovecot_conf)], "starting Dovecot")
        wait_port(self.imap_port, what="Dovecot IMAP")
        wait_port(self.lmtp_port, what="Dovecot LMTP")

    def stop_dovecot(self) -> None:
        """Stop Dovecot and wait until its IMAP port is closed."""
        pid_file = self.root / "run" / "master.pid"
        if not pid_file.exists():
            return
        subprocess.run(["doveadm", "-c", str(self.dovecot_conf), "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_closed(self.imap_port)

    def restart_dovecot(self, down_for: float = 0.0) -> None:
        """Stop Dovecot, wait ``down_for`` seconds, start it again."""
        self.stop_dovecot()
        time.sleep(down_for)
        self.start_dovecot()

    def start_postfix(self) -> None:
        """Start Postfix and wait for all its SMTP ports.

        Postfix writes why it failed to its log, not to a non-terminal stderr, so
        the error quotes the log. The ports were free when they were chosen but
        are not held: one taken since (by another test's outgoing connection) is
        replaced by a fresh one and Postfix is started again, twice at most."""
        log = self.root / "log" / "postfix.log"
        for attempt in range(3):
            try:
                _run(["postfix", "-c", str(self.postfix_dir), "start"], "starting Postfix")
                for port in (self.smtp_port, self.submission_port, self.smtps_port):
                    wait_port(port, what="Postfix SMTP")
                return
            except ServerError as exc:
                text = log.read_text(errors="replace") if log.exists() else ""
                if attempt < 2 and "Address already in use" in text[-2000:]:
                    subprocess.run(["postfix", "-c", str(self.postfix_dir), "stop"], capture_output=True, timeout=30)
                    self.smtp_port, self.smtps_port, self.submission_port = free_port(), free_port(), free_port()
                    (self.postfix_dir / "master.cf").write_text(POSTFIX_MASTER.format(
                        smtp=self.smtp_port, smtps=self.smtps_port, submission=self.submission_port))
                    continue
                raise ServerError(f"{exc}; Postfix's log: {text[-800:] or 'empty'}") from None

    def stop_postfix(self) -> None:
        """Stop Postfix and wait until its SMTP ports are closed."""
        if self.postfix_dir is None:
            return
        subprocess.run(["postfix", "-c", str(self.postfix_dir), "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        for port in (self.smtp_port, self.submission_port, self.smtps_port):
            wait_closed(port)

    def kick(self, user: str = SHARED) -> None:
        """Kill every IMAP connection of ``user`` (the server side closes them)."""
        subprocess.run(["doveadm", "-c", str(self.dovecot_conf), "kick", user], capture_output=True, timeout=30)

    # --- mail in and out -------------------------------------------------------

    def send(self, raw: bytes, sender: str, recipients: list[str] | None = None) -> None:
        """Submit ``raw`` to Postfix as a member's mail client would."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(sender, recipients or [SHARED], raw)

    def imap(self, user: str = SHARED) -> IMAPClient:
        """A logged-in plain IMAP connection as ``user`` (for the tests' own looks)."""
        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=30)
        client.login(user, PASSWORD)
        return client

    def append(self, raw: bytes, user: str = SHARED, folder: str = "INBOX") -> None:
        """Put ``raw`` straight into a folder (faster than SMTP, for backlogs)."""
        folder = folder.replace("/", ".")
        with self.imap(user) as client:
            client.append(folder, raw)

    def messages(self, user: str, folder: str = "INBOX") -> list[EmailMessage]:
        """Every message in ``user``'s ``folder`` ("/" between levels), oldest first."""
        folder = folder.replace("/", ".")
        with self.imap(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [email.message_from_bytes(fetched[u][b"BODY[]"], policy=policy.default) for u in sorted(fetched)]

    def count(self, user: str, folder: str = "INBOX") -> int:
        """How many messages ``user``'s ``folder`` holds."""
        folder = folder.replace("/", ".")
        with self.imap(user) as client:
            if not client.folder_exists(folder):
                return 0
            return client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]

    def folders(self, user: str = SHARED) -> list[str]:
        """The names of ``user``'s folders."""
        with self.imap(user) as client:
            return sorted(name for _, _, name in client.list_folders())

    def wait_for(self, user: str, count: int, folder: str = "INBOX", timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until ``user``'s ``folder`` holds at least ``count`` messages; return them."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.count(user, folder)
            if n >= count or time.monotonic() > deadline:
                return self.messages(user, folder)
            time.sleep(0.1)

    def queue_empty(self) -> bool:
        """True when Postfix has nothing queued."""
        result = subprocess.run(["postqueue", "-c", str(self.postfix_dir), "-j"], capture_output=True, text=True)
        return result.returncode == 0 and not result.stdout.strip()

    def wait_queue_empty(self, timeout: float = 30.0) -> None:
        """Wait until Postfix delivered everything (AssertionError with the queue if not)."""
        deadline = time.monotonic() + timeout
        while not self.queue_empty():
            if time.monotonic() > deadline:
                raise AssertionError("the Postfix queue did not empty: " + subprocess.run(
                    ["postqueue", "-c", str(self.postfix_dir), "-p"], capture_output=True, text=True).stdout[-800:])
            time.sleep(0.1)

    def reset(self) -> None:
        """Empty every mailbox and delete every folder but INBOX (between tests)."""
        if not (self.root / "run" / "master.pid").exists():
            self.start_dovecot()
        if not self.queue_empty():
            subprocess.run(["postsuper", "-c", str(self.postfix_dir), "-d", "ALL"], capture_output=True)
        for user in USERS:
            attributes = self.root / "mail" / user / "dovecot-attributes"  # Dovecot's file dict: key and value lines
            if attributes.exists() and "http-notify" in attributes.read_text(errors="replace"):
                self.doveadm("mailbox", "metadata", "unset", "-u", user, "-s", "", PUSH_ENTRY)  # no push unless asked
            with self.imap(user) as client:
                for flags, _, name in sorted(client.list_folders(), key=lambda f: -len(f[2])):
                    if name.upper() == "INBOX":
                        client.select_folder(name)
                        uids = client.search("ALL")
                        if uids:
                            client.delete_messages(uids)
                            client.uid_expunge(uids)
                        client.close_folder()
                    elif b"\\Noselect" not in flags and b"\\NonExistent" not in flags:
                        client.delete_folder(name)

    def doveadm(self, *args: str) -> str:
        """Run doveadm on this Dovecot; its output (ServerError if it fails)."""
        result = subprocess.run(["doveadm", "-c", str(self.dovecot_conf), *args], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=30)
        if result.returncode != 0:
            raise ServerError(f"doveadm {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[-400:]}")
        return result.stdout

    def push_registration(self, user: str = SHARED) -> str:
        """The user's METADATA entry that asks Dovecot to push new mail ("user=..."), or "" if none."""
        return self.doveadm("mailbox", "metadata", "get", "-u", user, "-s", "", PUSH_ENTRY).strip()

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the test CA."""
        return ssl.create_default_context(cafile=str(self.ca))


class TcpProxy:
    """A loopback TCP forwarder in front of a server, to break connections the
    way networks do: ``kill_all()`` resets every open connection,
    ``cut_after(n)`` kills a connection once it carried ``n`` more bytes from
    the server (e.g. in the middle of a FETCH), ``blackhole()`` stops
    forwarding on the open connections without closing them (a dead peer)."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections: list[list] = []  # [client, server, state]
        self.accepted = 0
        self._cut_at: int | None = None
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            conn = [client, server, {"down": 0, "cut": self._cut_at, "hole": False}]
            self._cut_at = None
            with self._lock:
                self.connections.append(conn)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(conn, client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, server, client, True), daemon=True).start()

    def _pump(self, conn: list, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        state = conn[2]
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if state["hole"]:
                    continue
                if downstream and state["cut"] is not None:
                    room = state["cut"] - state["down"]
                    if len(data) >= room:
                        sink.sendall(data[:max(room, 0)])
                        self._reset(conn)
                        return
                state["down"] += len(data) if downstream else 0
                sink.sendall(data)
        except OSError:
            pass
        finally:
            if not state["hole"]:
                self._reset(conn)

    def _reset(self, conn: list) -> None:
        for sock in conn[:2]:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.close()
            except OSError:
                pass

    def open_connections(self) -> list[list]:
        """The connections the proxy carries now."""
        with self._lock:
            return [c for c in self.connections if c[0].fileno() != -1]

    def kill_all(self) -> None:
        """Reset every open connection."""
        for conn in self.open_connections():
            self._reset(conn)

    def cut_next_after(self, n: int) -> None:
        """The next connection is killed after it carried ``n`` bytes from the server."""
        self._cut_at = n

    def cut_after(self, n: int) -> None:
        """Every open connection is killed after ``n`` more bytes from the server."""
        for conn in self.open_connections():
            conn[2]["cut"] = conn[2]["down"] + n

    def blackhole(self) -> None:
        """Stop forwarding on the open connections without closing them."""
        for conn in self.open_connections():
            conn[2]["hole"] = True

    def close(self) -> None:
        """Stop accepting and reset every connection."""
        self._closed = True
        self.listener.close()
        self.kill_all()


# --- pytest fixtures and instance helpers -----------------------------------------

import pytest  # noqa: E402

from tests.helpers import MARIA, Instance, at, make_mail, new_instance  # noqa: E402

PASSWORD_ENV = "KLG_TEST_MAIL_PASSWORD"
SECRET_ENV = "KLG_TEST_OAUTH_SECRET"


@pytest.fixture(scope="session")
def mailservers(tmp_path_factory):
    """Dovecot, Postfix and the OAuth2 responder, started once per test session."""
    if os.geteuid() != 0:
        pytest.skip("the mail server tests start Dovecot and Postfix and need root")
    import tempfile

    # not under pytest's tmp folder: that is private to root, and Postfix and
    # Dovecot work in it as their own users
    root = Path(tempfile.mkdtemp(prefix="klg-mailservers-"))
    servers = MailServers(root)
    try:
        servers.start()
        os.environ[PASSWORD_ENV] = PASSWORD
        os.environ[SECRET_ENV] = CLIENT_SECRET
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_proxy(servers):
    """A :class:`TcpProxy` in front of Dovecot's IMAP port."""
    proxy = TcpProxy(servers.imap_port)
    yield proxy
    proxy.close()


@pytest.fixture
def servers(mailservers):
    """The session's servers, running, with every mailbox empty."""
    mailservers.reset()
    if not (mailservers.root / "run" / "master.pid").exists():
        mailservers.start_dovecot()
    try:
        with socket.create_connection(("127.0.0.1", mailservers.smtp_port), timeout=1):
            pass
    except OSError:
        mailservers.start_postfix()
    mailservers.oauth.scopes = {SCOPE}
    mailservers.oauth.requests.clear()
    yield mailservers


def mail_sections(servers: MailServers, mailbox: dict | None = None, transport: dict | None = None,
                  imap_port: int | None = None) -> str:
    """The [mailbox] and [transport] TOML of an instance on ``servers``."""
    box = {"backend": "imap", "host": "127.0.0.1", "port": imap_port or servers.imap_port, "security": "starttls",
           "tls_ca_file": str(servers.ca), "username": SHARED, "auth": "password", "password_env": PASSWORD_ENV,
           "timeout_seconds": 5, "reconnect_max_seconds": 2, **(mailbox or {})}
    out = {"backend": "smtp", "host": "127.0.0.1", "port": servers.submission_port, "security": "starttls",
           "tls_ca_file": str(servers.ca), "username": SHARED, "auth": "password", "password_env": PASSWORD_ENV,
           "timeout_seconds": 10, **(transport or {})}

    def table(name: str, values: dict) -> str:
        return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in values.items()
                                      if v is not None) + "\n"

    return table("mailbox", box) + table("transport", out)


def imap_instance(root: Path, servers: MailServers, poll_seconds: float = 1, **kwargs) -> Instance:
    """An instance whose shared mailbox is klg@example.org on ``servers`` (IMAP + SMTP)."""
    inst = new_instance(root)
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("[mailbox]")
    _, _, tail = rest.partition("[storage]")
    text = head + mail_sections(servers, **kwargs) + "[storage]" + tail
    text = text.replace("poll_seconds = 5", f"poll_seconds = {poll_seconds}")
    inst.config_path.write_text(text, encoding="utf-8")
    return inst


def acknowledged_one_by_one(servers: MailServers, inst: Instance, count: int = 3) -> Counter:
    """Run the daemon (``klg run``'s loop) and send ``count`` proposals from Maria
    one at a time, each after the last one's acknowledgement came: the subjects
    Maria got, counted."""
    with Daemon(inst, at("2026-11-20 09:00")):  # a Friday morning: office hours
        time.sleep(1.0)
        for n in range(count):
            servers.send(make_mail(MARIA, f"Förslag {n}"), MARIA)
            servers.wait_for(MARIA, n + 1, timeout=20)
        time.sleep(1.0)
    return Counter(m["Subject"] for m in servers.messages(MARIA))


class Daemon:
    """The real engine loop (``Engine.run``, as ``klg run`` runs it) in a thread,
    with a clock that starts at ``start`` and runs at real speed; ``skip(seconds)``
    moves it forward (backoff waits in seconds, not minutes)."""

    def __init__(self, inst: Instance, start: dt.datetime):
        self.inst = inst
        self.config = inst.config
        self._start, self._t0, self.offset = start, time.monotonic(), dt.timedelta(0)
        self.error: BaseException | None = None
        self.engine = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="klg-engine")

    def now(self) -> dt.datetime:
        """The daemon's clock."""
        return self._start + dt.timedelta(seconds=time.monotonic() - self._t0) + self.offset

    def skip(self, seconds: float) -> None:
        """Move the daemon's clock forward."""
        self.offset += dt.timedelta(seconds=seconds)

    def _run(self) -> None:
        from daemon.engine import Engine
        from daemon.backends import open_mailbox, open_transport
        from daemon.store import Store

        store = Store(self.config.data_dir)  # SQLite connections belong to the thread that made them
        try:
            self.engine = Engine(self.config, store, open_mailbox(self.config, store, self.now), open_transport(self.config))
            if self._stop.is_set():
                self.engine.stop.set()
            self._ready.set()
            self.engine.run(clock=self.now)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self._ready.set()
            if self.engine is not None:
                self.engine.mailbox.close()
                self.engine.transport.close()
            store.close()

    def __enter__(self) -> "Daemon":
        self.thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the loop and wait for it; AssertionError if it hangs or died."""
        self._stop.set()
        if self.engine is not None:
            self.engine.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the engine loop did not stop within 60 s"
        assert self.error is None, f"the engine loop died: {self.error!r}"

    def outbox(self) -> dict:
        """Outbox rows by state, read through a connection of our own."""
        from daemon.store import Store

        store = Store(self.config.data_dir)
        try:
            rows = store.all("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            return {r["state"]: r["n"] for r in rows}
        finally:
            store.close()
