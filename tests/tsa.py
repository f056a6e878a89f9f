"""A real RFC 3161 time-stamp service on loopback for the seal's tests.

``openssl ts -reply`` answers each request, behind a small HTTP handler; the
same server hands out the test CA's CRL (``/ca.crl``), so a certificate whose
CRL distribution point names it can be checked for revocation. Everything is
made by :class:`TestPKI`: a root CA, the organisation's seal (PKCS#12), the
time-stamp unit's certificate (extended key usage timeStamping, critical, as
RFC 3161 demands) and an empty CRL.

    with TimeStampService(tmp_path) as tsa:
        tsa.url          # http://127.0.0.1:PORT/tsa
        tsa.pki.seal_p12, tsa.pki.ca_pem, tsa.pki.crl_der
        tsa.requests     # how many time-stamps it issued
        tsa.lock_states  # with watch_db: per request, whether klg's store write lock was free
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSWORD = "hemligt"

OPENSSL_CONF = """\
[ tsa ]
default_tsa = klg_test_tsa

[ klg_test_tsa ]
dir = {dir}
serial = $dir/tsa-serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.752.9999.1
other_policies = 1.2.752.9999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sjöviks kommun"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(**on) -> x509.KeyUsage:
    keys = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
            "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{k: on.get(k, False) for k in keys})


class TestPKI:
    """A root CA with a seal certificate and a time-stamp unit certificate, written to ``folder``."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, crl_url: str | None = None, valid_days: int = 3650, ocsp_url: str | None = None):
        self.folder = folder
        start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        self.not_after = start + dt.timedelta(days=valid_days)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = (x509.CertificateBuilder().subject_name(_name("Sjöviks kommun Test-CA")).issuer_name(_name("Sjöviks kommun Test-CA"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(start + dt.timedelta(days=7300))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))

        def leaf(cn: str, key, usage: x509.KeyUsage, eku: list | None = None):
            b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(start).not_valid_after(self.not_after)
                 .add_extension(usage, critical=True)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
            if eku:
                b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
            if ocsp_url:
                b = b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]),
                    critical=False)
            if crl_url:
                b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
            return b.sign(ca_key, hashes.SHA256())

        seal_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        seal = leaf("Kommunledningsgruppen", seal_key, _usage(digital_signature=True, content_commitment=True))
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa = leaf("Sjöviks kommun Tidsstämpel", tsa_key, _usage(digital_signature=True, content_commitment=True),
                   [ExtendedKeyUsageOID.TIME_STAMPING])
        now = dt.datetime.now(dt.timezone.utc)
        crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
               .last_update(now - dt.timedelta(days=1)).next_update(now + dt.timedelta(days=30))
               .add_extension(x509.CRLNumber(1), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

        self.ca, self._ca_key, self.seal_cert, self.tsa_cert = ca, ca_key, seal, tsa
        pem = serialization.Encoding.PEM
        self.ca_pem = folder / "ca.pem"
        self.ca_pem.write_bytes(ca.public_bytes(pem))
        self.seal_p12 = folder / "seal.p12"
        self.seal_p12.write_bytes(pkcs12.serialize_key_and_certificates(
            b"Kommunledningsgruppen", seal_key, seal, [ca], serialization.BestAvailableEncryption(PASSWORD.encode())))
        (folder / "tsa.crt").write_bytes(tsa.public_bytes(pem))
        (folder / "tsa.key").write_bytes(tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
        self.crl_der = folder / "ca.crl"
        self.crl_der.write_bytes(crl.public_bytes(serialization.Encoding.DER))
        (folder / "tsa-serial").write_text("01\n")
        self.openssl_conf = folder / "tsa.cnf"
        self.openssl_conf.write_text(OPENSSL_CONF.format(dir=folder))


    def ocsp_response(self, cert: x509.Certificate) -> bytes:
        """A DER OCSP response by the CA itself: ``cert`` is good (as a CA's responder would answer)."""
        from cryptography.x509 import ocsp

        now = dt.datetime.now(dt.timezone.utc)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.ca, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(hours=1), next_update=now + dt.timedelta(days=7),
            revocation_time=None, revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca)
        return builder.sign(self._ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class TimeStampService:
    """``openssl ts -reply`` behind HTTP on 127.0.0.1 (POST /tsa), the CA's CRL (GET /ca.crl) and, with
    ``ocsp``, its OCSP responder (POST /ocsp, named in the certificates)."""

    def __init__(self, folder: Path, crl_url: bool = True, watch_db: Path | None = None, ocsp: bool = False):
        self.folder = folder
        self.requests = 0
        self.watch_db = watch_db  # klg's SQLite file: each request notes whether its write lock is free
        self.lock_states: list[str] = []
        self.down = False  # True: answer every time-stamp request with 503, as a service that is down
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet in the test output
                pass

            def do_GET(self):
                if self.path != "/ca.crl":
                    self.send_error(404)
                    return
                body = service.pki.crl_der.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/ocsp":
                    body = service.ocsp_reply(query)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/ocsp-response")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if service.down:
                    self.send_error(503, "the time-stamp service is down")
                    return
                if self.path != "/tsa" or self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(400, "expected POST /tsa with application/timestamp-query")
                    return
                try:
                    body = service.reply(query)
                except subprocess.CalledProcessError as exc:
                    self.send_error(500, exc.stderr.decode(errors="replace")[:200])
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/tsa"
        self.crl_url = f"http://127.0.0.1:{port}/ca.crl"
        self.ocsp_url = f"http://127.0.0.1:{port}/ocsp"
        self.pki = TestPKI(folder, crl_url=self.crl_url if crl_url else None, ocsp_url=self.ocsp_url if ocsp else None)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _note_lock(self) -> None:
        """Try to take the store's write lock without waiting, as another writer would."""
        if self.watch_db is None or not self.watch_db.exists():
            return
        connection = sqlite3.connect(self.watch_db, timeout=0)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            self.lock_states.append("free")
        except sqlite3.OperationalError as exc:
            self.lock_states.append(f"locked: {exc}")
        finally:
            connection.close()

    def ocsp_reply(self, request: bytes) -> bytes:
        """The CA's OCSP answer for the seal's or the time-stamp unit's certificate: good."""
        from cryptography.x509 import ocsp

        serial = ocsp.load_der_ocsp_request(request).serial_number
        cert = next(c for c in (self.pki.seal_cert, self.pki.tsa_cert) if c.serial_number == serial)
        return self.pki.ocsp_response(cert)

    def reply(self, query: bytes) -> bytes:
        """The DER time-stamp response openssl makes for ``query``."""
        self._note_lock()
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            subprocess.run(["openssl", "ts", "-reply", "-config", str(self.pki.openssl_conf), "-queryfile", str(q),
                            "-out", str(r)], check=True, capture_output=True, timeout=30)
            self.requests += 1
            return r.read_bytes()

    def __enter__(self) -> "TimeStampService":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
