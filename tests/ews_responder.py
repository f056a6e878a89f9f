"""A local EWS responder for the Exchange backend's tests.

This is NOT an Exchange server. No Exchange server can run here, so the tests
talk to this small threaded HTTPS server instead. It keeps a mailbox (folders
and messages) in memory, reads each SOAP request the way Exchange does (the
operation, the folder and item ids it names) and answers with responses shaped
like real EWS responses. Every template below says where its shape comes from:

- [MS-GF]  Microsoft, "GetFolder operation" (web-service-reference/getfolder-operation.md in
           MicrosoftDocs/office-developer-exchange-docs): response and error examples.
- [MS-FF]  Microsoft, "FindFolder operation" (findfolder-operation.md).
- [MS-CF]  Microsoft, "CreateFolder operation" (createfolder-operation.md), incl. ErrorFolderExists.
- [MS-FI]  Microsoft, "FindItem operation" (finditem-operation.md).
- [MS-GI]  Microsoft, "GetItem operation (email message)" (getitem-operation-email-message.md), with
           IncludeMimeContent / MimeContent CharacterSet="UTF-8".
- [MS-MI]  Microsoft, "MoveItem operation" (moveitem-operation.md). (The page prints <t:ItemID>; EWS
           and its schema use <t:ItemId>, which is what we send.)
- [MS-CI]  Microsoft, "CreateItem operation (email message)" (createitem-operation-email-message.md).
- [MS-CV]  Microsoft, "ConvertId operation" (convertid-operation.md): the ErrorInvalidIdMalformed answer
           exchangelib gets when it probes the server version.
- [MS-BATCH] Microsoft, "Verifying the success of an EWS request" batch example: the
           ErrorItemNotFound response message ("The specified object was not found in the store.").
- [EL-374] ecederstrand/exchangelib issue #374: a captured Exchange 2010 SP3 FindFolder response; the
           <h:ServerVersionInfo> header form, RootFolder IndexedPagingOffset, FolderId/ParentFolderId
           ChangeKey="AQAAAA==", EffectiveRights. [EL-1301], [EL-221]: Exchange 2016/2019 report
           Version="V2017_07_11" in that header.
- [EL-TS]  exchangelib's tests/test_services.py: a captured ErrorServerBusy SOAP fault.
- [EL-556] ecederstrand/exchangelib issue #556: the headers of a real EWS 401 (IIS 10, X-FEServer,
           request-id, WWW-Authenticate: Negotiate, NTLM). With basic auth enabled IIS adds
           WWW-Authenticate: Basic realm="<host>".
- [NEM]    a captured ErrorNonExistentMailbox SOAP fault (FindFolder, zh-CN server) in a public Java
           EWS client's test string; the faultstring is given here in its English wording.
- [GO-CI]  a captured CreateItem ErrorInvalidRecipients message ("At least one recipient isn't valid.")
           in a public Go EWS client's tests.
- [EWS-SE]  ErrorToFolderNotFound and its text, "The specified target folder could not be found.", as
           listed in the EWS ServiceError enumeration (EWS Managed API; ews-javascript-api).
- [HTTPSYS] the HTTP.sys "Service Unavailable" page IIS answers with when the EWS app pool is down.
- [AAD]    Microsoft identity platform: the client-credentials token response (token_type, expires_in,
           ext_expires_in, access_token) and a captured AADSTS70011 invalid_scope error (HTTP 400) from
           jonascrevecoeur/terraform-provider-azuresql PR #56; AADSTS7000215 invalid_client.
- [EWS-OA] otris/ews-cpp issue #148: EWS's 401 for a token without Exchange permissions,
           x-ms-diagnostics: 2000008;reason="The token contains no permissions, ...".

Authentication: basic (checked against ``users``), NTLM (a real handshake,
verified with pyspnego's NTLM acceptor and an NTLM_USER_FILE), or OAuth2
bearer tokens issued by the responder's own token endpoint. Faults can be
queued per operation (``fail_next``) to test retries.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import os
import ssl
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"

# [EL-374] header form; build 15.1.2507.6 (Exchange 2016 CU23); Version string per [EL-1301]/[EL-221].
SERVER_VERSION = (
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" '
    'Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
    "<s:Header>{header}</s:Header>"
    '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "{body}</s:Body></s:Envelope>"
)
# [MS-GF] and friends: <m:XResponse xmlns:m xmlns:t><m:ResponseMessages>...</m:ResponseMessages></m:XResponse>
RESPONSE = (
    '<m:{op}Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
    "<m:ResponseMessages>{messages}</m:ResponseMessages></m:{op}Response>"
)
SUCCESS = '<m:{op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>{content}</m:{op}ResponseMessage>'
# [MS-GF] error example: MessageText, ResponseCode, DescriptiveLinkKey, then the (empty) container.
ERROR = ('<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>{text}</m:MessageText>'
         "<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{content}"
         "</m:{op}ResponseMessage>")
# [EL-374]: the rights a mailbox owner (or Full Access delegate) has on a folder.
EFFECTIVE_RIGHTS = (
    "<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated><t:CreateContents>true</t:CreateContents>"
    "<t:CreateHierarchy>true</t:CreateHierarchy><t:Delete>true</t:Delete><t:Modify>true</t:Modify>"
    "<t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>"
)
# [EL-TS]: captured ErrorServerBusy fault (sent with HTTP 500).
SERVER_BUSY_FAULT = (
    "<?xml version='1.0' encoding='utf-8'?>"
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
    '<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>'
    '<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>'
    '<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy'
    '</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server '
    "cannot service this request right now. Try again later.</e:Message>"
    '<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
    '<t:Value Name="BackOffMilliseconds">{backoff}</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>'
)
# [NEM]: ErrorNonExistentMailbox fault (HTTP 500).
NON_EXISTENT_MAILBOX_FAULT = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
    '<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorNonExistentMailbox'
    '</faultcode><faultstring xml:lang="en-US">The SMTP address has no mailbox associated with it.</faultstring>'
    '<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">'
    "ErrorNonExistentMailbox</e:ResponseCode>"
    '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The SMTP address has no '
    "mailbox associated with it.</e:Message>"
    '<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
    '<t:Value Name="SmtpAddress">{address}</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>'
)
# [HTTPSYS]
SERVICE_UNAVAILABLE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
)
NOT_FOUND_TEXT = "The specified object was not found in the store."  # [MS-BATCH]


def _new_id(kind: bytes = b"\x00\x03$\x00") -> str:
    """An id shaped like EWS's (base64 of a binary store id; item ids begin 'AAMkA')."""
    return base64.b64encode(kind + b"\x10\x00\x00\x00" + uuid.uuid4().bytes + uuid.uuid4().bytes + b"\x00\x00").decode()


def _new_changekey() -> str:
    return base64.b64encode(b"\x01\x00\x00\x00\x16\x00\x00\x00" + os.urandom(16)).decode()


@dataclass
class FolderRec:
    id: str
    name: str
    parent: str | None
    distinguished: str | None = None
    folder_class: str | None = "IPF.Note"
    changekey: str = field(default_factory=_new_changekey)


@dataclass
class ItemRec:
    id: str
    folder: str
    mime: bytes
    received: dt.datetime
    changekey: str = field(default_factory=_new_changekey)

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.mime, policy=email.policy.default)


@dataclass
class SentRec:
    """One CreateItem the responder accepted: what Exchange would have sent."""

    disposition: str
    mime: bytes
    saved_to: str | None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.mime, policy=email.policy.default)

    @property
    def recipients(self) -> list[str]:
        m = self.message
        return sorted(a.addr_spec.lower() for h in ("To", "Cc", "Bcc") for a in (m[h].addresses if m[h] else []))


class Mailbox:
    """The responder's state: one shared mailbox with its folders and items."""

    def __init__(self, address: str):
        self.address = address.lower()
        self.lock = threading.RLock()
        self.folders: dict[str, FolderRec] = {}
        self.items: dict[str, ItemRec] = {}
        self.sent: list[SentRec] = []
        root = self._add("", None, "root", None)
        top = self._add("Top of Information Store", root.id, "msgfolderroot", None)
        for name, dist in (("Inbox", "inbox"), ("Sent Items", "sentitems"), ("Deleted Items", "deleteditems"),
                           ("Drafts", "drafts")):
            self._add(name, top.id, dist)
        self._clock = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)

    def _add(self, name: str, parent: str | None, distinguished: str | None = None,
             folder_class: str | None = "IPF.Note") -> FolderRec:
        rec = FolderRec(_new_id(b"\x00\x01-\x00"), name, parent, distinguished, folder_class)
        self.folders[rec.id] = rec
        return rec

    def distinguished(self, name: str) -> FolderRec:
        return next(f for f in self.folders.values() if f.distinguished == name)

    def child(self, parent: FolderRec, name: str) -> FolderRec | None:
        return next((f for f in self.folders.values() if f.parent == parent.id and f.name.lower() == name.lower()), None)

    def path(self, path: str) -> FolderRec | None:
        """A folder by display-name path from the mailbox root, e.g. 'Inbox/processed'."""
        folder = self.distinguished("msgfolderroot")
        for part in path.split("/"):
            folder = self.child(folder, part)
            if folder is None:
                return None
        return folder

    def make_folder(self, path: str) -> FolderRec:
        parent_path, _, name = path.rpartition("/")
        parent = self.path(parent_path) if parent_path else self.distinguished("msgfolderroot")
        return self._add(name, parent.id)

    def delete_folder(self, path: str) -> None:
        """Delete a folder and what it holds, as a user might in Outlook."""
        with self.lock:
            folder = self.path(path)
            del self.folders[folder.id]
            self.items = {k: v for k, v in self.items.items() if v.folder != folder.id}

    def deliver(self, raw: bytes) -> str:
        """Put a message into the inbox as the transport service would; return its item id."""
        with self.lock:
            self._clock += dt.timedelta(minutes=1)
            rec = ItemRec(_new_id(), self.distinguished("inbox").id, raw, self._clock)
            self.items[rec.id] = rec
            return rec.id

    def messages(self, path: str) -> list[email.message.EmailMessage]:
        """The messages now in the folder at ``path`` ('Inbox', 'Inbox/processed', ...), oldest first."""
        folder = self.path(path)
        if folder is None:
            return []
        return [i.message for i in sorted(self.items.values(), key=lambda i: i.received) if i.folder == folder.id]


class Responder:
    """The threaded HTTPS server around a :class:`Mailbox`."""

    def __init__(self, address: str, certfile: Path, keyfile: Path, users: dict[str, str] | None = None,
                 auth: str = "basic", ntlm_user_file: Path | None = None,
                 oauth_apps: dict[str, str] | None = None, oauth_scope: str = "", oauth_permitted: bool = True):
        self.mailbox = Mailbox(address)
        self.users = users or {}
        self.auth = auth  # "basic", "ntlm" or "oauth2"
        self.ntlm_user_file = ntlm_user_file
        self.oauth_apps = oauth_apps or {}
        self.oauth_scope = oauth_scope
        self.oauth_permitted = oauth_permitted
        self.tokens: set[str] = set()
        self.refused_recipients: set[str] = set()  # CreateItem answers ErrorInvalidRecipients for these
        self.faults: deque[tuple[str, str]] = deque()
        self.requests: list[dict] = []
        self.host = "localhost"
        handler = type("Handler", (_Handler,), {"responder": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="ews-responder", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}:{self.port}/EWS/Exchange.asmx"

    @property
    def token_url(self) -> str:
        return f"https://{self.host}:{self.port}/tenant/oauth2/v2.0/token"

    def start(self) -> "Responder":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, operation: str, kind: str, times: int = 1) -> None:
        """Answer the next ``times`` requests of ``operation`` with ``kind``: "busy"
        (ErrorServerBusy fault) or "503" (HTTP 503 from IIS)."""
        for _ in range(times):
            self.faults.append((operation, kind))

    def operations(self) -> list[str]:
        return [r["operation"] for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    responder: Responder
    protocol_version = "HTTP/1.1"  # keep-alive, as IIS; NTLM authenticates the connection
    server_version = "Microsoft-IIS/10.0"
    ntlm_context = None
    ntlm_user: str | None = None

    def log_message(self, format, *args):  # quiet
        pass

    # -- plumbing --

    def _send(self, status: int, body: bytes | str, content_type: str = "text/xml; charset=utf-8",
              headers: list[tuple[str, str]] = ()) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Powered-By", "ASP.NET")
        self.send_header("X-FEServer", "EXSRV02")
        self.send_header("request-id", str(uuid.uuid4()))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _unauthorized(self, extra: list[tuple[str, str]] = ()) -> None:
        # [EL-556]: empty body, WWW-Authenticate offers; Basic added when basic auth is enabled.
        offers = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
        if self.responder.auth == "basic":
            offers.append(("WWW-Authenticate", f'Basic realm="{self.responder.host}"'))
        self._send(401, b"", content_type="text/html", headers=[*offers, *extra])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if self.path.endswith("/oauth2/v2.0/token"):
            return self._token(data)
        if self.path.lower() != "/ews/exchange.asmx":
            return self._send(404, "<html><body>404 - File or directory not found.</body></html>", "text/html")
        user = self._authenticate()
        if user is None:
            return
        r = self.responder
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            return self._send(400, "Bad Request", "text/html")
        body = root.find(f"{{{SOAP}}}Body")
        op_elem = body[0]
        op = op_elem.tag.split("}")[1]
        impersonated = root.findtext(f".//{{{TNS}}}ExchangeImpersonation//{{{TNS}}}PrimarySmtpAddress")
        r.requests.append({"operation": op, "user": user, "impersonated": impersonated,
                           "anchor": self.headers.get("X-AnchorMailbox"), "xml": data})
        if r.faults and r.faults[0][0] == op:
            _, kind = r.faults.popleft()
            if kind == "busy":
                return self._send(500, SERVER_BUSY_FAULT.format(backoff=100))
            return self._send(503, SERVICE_UNAVAILABLE, "text/html")
        for addr in root.iter(f"{{{TNS}}}EmailAddress"):
            if addr.text and addr.text.lower() != r.mailbox.address and op in ("GetFolder", "FindFolder", "FindItem"):
                return self._send(500, NON_EXISTENT_MAILBOX_FAULT.format(address=escape(addr.text)))
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return self._send(500, _fault("ErrorInvalidRequest", f"The request is invalid: {op} is not replayed."))
        with r.mailbox.lock:
            messages = handler(op_elem)
        self._send(200, ENVELOPE.format(header=SERVER_VERSION, body=RESPONSE.format(op=op, messages="".join(messages))))

    def _authenticate(self) -> str | None:
        r = self.responder
        header = self.headers.get("Authorization", "")
        if r.auth == "basic":
            if header.startswith("Basic "):
                decoded = base64.b64decode(header[6:])
                try:
                    text = decoded.decode()
                except UnicodeDecodeError:  # requests sends latin-1 for non-ASCII passwords
                    text = decoded.decode("latin-1")
                user, _, password = text.partition(":")
                if r.users.get(user) == password:
                    return user
            self._unauthorized()
            return None
        if r.auth == "ntlm":
            return self._ntlm(header)
        if header.startswith("Bearer ") and header[7:] in r.tokens:
            if r.oauth_permitted:
                return "app"
            # [EWS-OA]
            self._unauthorized([("x-ms-diagnostics", '2000008;reason="The token contains no permissions, or '
                                                     'permissions can not be understood.";error_category="invalid_grant"')])
            return None
        self._unauthorized([("WWW-Authenticate", 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                                                 'token_types="app_asserted_user_v1 service_asserted_app_v1"')])
        return None

    def _ntlm(self, header: str) -> str | None:
        import spnego

        if self.ntlm_user and not header:
            return self.ntlm_user  # IIS keeps an NTLM-authenticated connection authenticated
        if not header.startswith("NTLM "):
            self._unauthorized()
            return None
        token = base64.b64decode(header[5:])
        os.environ["NTLM_USER_FILE"] = str(self.responder.ntlm_user_file)
        if token[8:12] == b"\x01\x00\x00\x00":  # NEGOTIATE: answer with a CHALLENGE
            self.ntlm_context = spnego.server(protocol="ntlm")
            challenge = self.ntlm_context.step(token)
            self._send(401, b"", "text/html", [("WWW-Authenticate", "NTLM " + base64.b64encode(challenge).decode())])
            return None
        try:
            self.ntlm_context.step(token)  # AUTHENTICATE: verified against NTLM_USER_FILE
        except Exception:
            self.ntlm_context = None
            self._unauthorized()
            return None
        self.ntlm_user = str(self.ntlm_context.client_principal)
        return self.ntlm_user

    def _token(self, data: bytes) -> None:
        r = self.responder
        form = {k: v[0] for k, v in parse_qs(data.decode()).items()}
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        if r.oauth_apps.get(form.get("client_id")) != form.get("client_secret"):
            # [AAD] invalid_client (HTTP 401)
            return self._send(401, json.dumps({
                "error": "invalid_client",
                "error_description": f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                                     f"in the request is the client secret value, not the client secret ID, for a "
                                     f"secret added to app '{form.get('client_id')}'. Trace ID: {trace} Correlation "
                                     f"ID: {corr} Timestamp: {stamp}",
                "error_codes": [7000215], "timestamp": stamp, "trace_id": trace, "correlation_id": corr}),
                "application/json; charset=utf-8")
        if form.get("scope") != r.oauth_scope:
            # [AAD] invalid_scope (HTTP 400), as captured
            return self._send(400, json.dumps({
                "error": "invalid_scope",
                "error_description": f"AADSTS70011: The provided request must include a 'scope' input parameter. "
                                     f"The provided value for the input parameter 'scope' is not valid. The scope "
                                     f"{form.get('scope')} is not valid. Trace ID: {trace} Correlation ID: {corr} "
                                     f"Timestamp: {stamp}",
                "error_codes": [70011], "timestamp": stamp, "trace_id": trace, "correlation_id": corr}),
                "application/json; charset=utf-8")
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        r.tokens.add(token)
        # [AAD] successful client-credentials response
        self._send(200, json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": token}), "application/json; charset=utf-8")

    # -- folder helpers --

    def _folder_ref(self, elem: ET.Element) -> FolderRec | None:
        mb = self.responder.mailbox
        if elem.tag == f"{{{TNS}}}DistinguishedFolderId":
            return next((f for f in mb.folders.values() if f.distinguished == elem.get("Id")), None)
        return mb.folders.get(elem.get("Id"))

    def _folder_xml(self, f: FolderRec) -> str:
        mb = self.responder.mailbox
        parent = (f'<t:ParentFolderId Id="{f.parent}" ChangeKey="AQAAAA=="/>' if f.parent else "")
        fclass = f"<t:FolderClass>{f.folder_class}</t:FolderClass>" if f.folder_class and f.distinguished not in (
            "root", "msgfolderroot") else ""
        items = [i for i in mb.items.values() if i.folder == f.id]
        children = [c for c in mb.folders.values() if c.parent == f.id]
        # [EL-374] order of elements
        return (f'<t:Folder><t:FolderId Id="{f.id}" ChangeKey="{f.changekey}"/>{parent}{fclass}'
                f"<t:DisplayName>{escape(f.name)}</t:DisplayName><t:TotalCount>{len(items)}</t:TotalCount>"
                f"<t:ChildFolderCount>{len(children)}</t:ChildFolderCount>{EFFECTIVE_RIGHTS}"
                f"<t:UnreadCount>{len(items)}</t:UnreadCount></t:Folder>")

    def _ids(self, container: ET.Element | None) -> list[ET.Element]:
        return list(container) if container is not None else []

    # -- operations --

    def op_GetFolder(self, req: ET.Element) -> list[str]:  # [MS-GF]
        out = []
        for ref in self._ids(req.find(f"{{{MNS}}}FolderIds")):
            f = self._folder_ref(ref)
            if f is None:
                out.append(ERROR.format(op="GetFolder", text=NOT_FOUND_TEXT, code="ErrorItemNotFound",
                                        content="<m:Folders/>"))
            else:
                out.append(SUCCESS.format(op="GetFolder", content=f"<m:Folders>{self._folder_xml(f)}</m:Folders>"))
        return out

    def op_FindFolder(self, req: ET.Element) -> list[str]:  # [MS-FF], paging attributes as [EL-374]
        mb = self.responder.mailbox
        out = []
        for ref in self._ids(req.find(f"{{{MNS}}}ParentFolderIds")):
            parent = self._folder_ref(ref)
            if parent is None:
                out.append(ERROR.format(op="FindFolder", text="Id is malformed.", code="ErrorInvalidIdMalformed",
                                        content=""))
                continue
            children = [f for f in mb.folders.values() if f.parent == parent.id]
            view = req.find(f"{{{MNS}}}IndexedPageFolderView")
            offset = int(view.get("Offset", 0)) if view is not None else 0
            page = children[offset:offset + int(view.get("MaxEntriesReturned", 1000))] if view is not None else children
            last = "true" if offset + len(page) >= len(children) else "false"
            folders = "".join(self._folder_xml(f) for f in page)
            out.append(SUCCESS.format(op="FindFolder", content=(
                f'<m:RootFolder IndexedPagingOffset="{offset + len(page)}" TotalItemsInView="{len(children)}" '
                f'IncludesLastItemInRange="{last}"><t:Folders>{folders}</t:Folders></m:RootFolder>')))
        return out

    def op_CreateFolder(self, req: ET.Element) -> list[str]:  # [MS-CF]
        mb = self.responder.mailbox
        parent = self._folder_ref(req.find(f"{{{MNS}}}ParentFolderId")[0])
        out = []
        for folder in req.find(f"{{{MNS}}}Folders"):
            name = folder.findtext(f"{{{TNS}}}DisplayName")
            if mb.child(parent, name) is not None:
                out.append(ERROR.format(op="CreateFolder", text="A folder with the specified name already exists.",
                                        code="ErrorFolderExists", content="<m:Folders />"))
                continue
            rec = mb._add(name, parent.id, None, folder.findtext(f"{{{TNS}}}FolderClass") or "IPF.Note")
            out.append(SUCCESS.format(op="CreateFolder", content=(
                f'<m:Folders><t:Folder><t:FolderId Id="{rec.id}" ChangeKey="{rec.changekey}"/></t:Folder></m:Folders>')))
        return out

    def op_FindItem(self, req: ET.Element) -> list[str]:  # [MS-FI], paging as [EL-374]
        mb = self.responder.mailbox
        out = []
        for ref in self._ids(req.find(f"{{{MNS}}}ParentFolderIds")):
            folder = self._folder_ref(ref)
            items = sorted((i for i in mb.items.values() if i.folder == folder.id), key=lambda i: i.received)
            order = req.find(f".//{{{TNS}}}FieldOrder")
            if order is not None and order.get("Order") == "Descending":
                items.reverse()
            view = req.find(f"{{{MNS}}}IndexedPageItemView")
            offset = int(view.get("Offset", 0)) if view is not None else 0
            page = items[offset:offset + int(view.get("MaxEntriesReturned", 1000))] if view is not None else items
            last = "true" if offset + len(page) >= len(items) else "false"
            wants_received = any(f.get("FieldURI") == "item:DateTimeReceived" for f in req.iter(f"{{{TNS}}}FieldURI"))
            rows = "".join(
                f'<t:Message><t:ItemId Id="{i.id}" ChangeKey="{i.changekey}"/>'
                + (f"<t:DateTimeReceived>{i.received:%Y-%m-%dT%H:%M:%SZ}</t:DateTimeReceived>" if wants_received else "")
                + "</t:Message>" for i in page)
            out.append(SUCCESS.format(op="FindItem", content=(
                f'<m:RootFolder IndexedPagingOffset="{offset + len(page)}" TotalItemsInView="{len(items)}" '
                f'IncludesLastItemInRange="{last}"><t:Items>{rows}</t:Items></m:RootFolder>')))
        return out

    def op_GetItem(self, req: ET.Element) -> list[str]:  # [MS-GI]; not found as [MS-BATCH]
        mb = self.responder.mailbox
        out = []
        for ref in self._ids(req.find(f"{{{MNS}}}ItemIds")):
            item = mb.items.get(ref.get("Id"))
            if item is None:
                out.append(ERROR.format(op="GetItem", text=NOT_FOUND_TEXT, code="ErrorItemNotFound", content="<m:Items />"))
                continue
            mime = base64.b64encode(item.mime).decode()
            out.append(SUCCESS.format(op="GetItem", content=(
                f'<m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">{mime}</t:MimeContent>'
                f'<t:ItemId Id="{item.id}" ChangeKey="{item.changekey}"/></t:Message></m:Items>')))
        return out

    def op_MoveItem(self, req: ET.Element) -> list[str]:  # [MS-MI]; not found as [MS-BATCH]
        mb = self.responder.mailbox
        target = self._folder_ref(req.find(f"{{{MNS}}}ToFolderId")[0])
        out = []
        for ref in self._ids(req.find(f"{{{MNS}}}ItemIds")):
            if target is None:  # [EWS-SE]
                out.append(ERROR.format(op="MoveItem", text="The specified target folder could not be found.",
                                        code="ErrorToFolderNotFound", content="<m:Items />"))
                continue
            item = mb.items.pop(ref.get("Id"), None)
            if item is None:
                out.append(ERROR.format(op="MoveItem", text=NOT_FOUND_TEXT, code="ErrorItemNotFound", content="<m:Items />"))
                continue
            item.id, item.changekey, item.folder = _new_id(), _new_changekey(), target.id  # a move makes a new item
            mb.items[item.id] = item
            out.append(SUCCESS.format(op="MoveItem", content=(
                f'<m:Items><t:Message><t:ItemId Id="{item.id}" ChangeKey="{item.changekey}"/></t:Message></m:Items>')))
        return out

    def op_CreateItem(self, req: ET.Element) -> list[str]:  # [MS-CI]; ErrorInvalidRecipients as [GO-CI]
        mb = self.responder.mailbox
        disposition = req.get("MessageDisposition")
        saved = req.find(f"{{{MNS}}}SavedItemFolderId")
        saved_to = self._folder_ref(saved[0]) if saved is not None else None
        out = []
        for message in req.find(f"{{{MNS}}}Items"):
            mime = base64.b64decode(message.findtext(f"{{{TNS}}}MimeContent") or "")
            rec = SentRec(disposition, mime, saved_to.name if saved_to else None)
            if set(rec.recipients) & self.responder.refused_recipients:
                out.append(ERROR.format(op="CreateItem", text="At least one recipient isn't valid.",
                                        code="ErrorInvalidRecipients", content="<m:Items />"))
                continue
            mb.sent.append(rec)
            if saved_to is not None and disposition == "SendAndSaveCopy":
                copy = ItemRec(_new_id(), saved_to.id, mime, dt.datetime.now(dt.timezone.utc))
                mb.items[copy.id] = copy
            out.append(SUCCESS.format(op="CreateItem", content="<m:Items />"))
        return out

    def op_ConvertId(self, req: ET.Element) -> list[str]:  # [MS-CV]: what the version probe gets back
        return [ERROR.format(op="ConvertId", text="Id is malformed.", code="ErrorInvalidIdMalformed", content="")]


def _fault(code: str, text: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
            f'<faultcode xmlns:a="{TNS}">a:{code}</faultcode><faultstring xml:lang="en-US">{escape(text)}</faultstring>'
            f'<detail><e:ResponseCode xmlns:e="{ENS}">{code}</e:ResponseCode><e:Message xmlns:e="{ENS}">'
            f"{escape(text)}</e:Message></detail></s:Fault></s:Body></s:Envelope>")


def make_certificate(folder: Path, names: tuple[str, ...] = ("localhost",)) -> tuple[Path, Path]:
    """A self-signed certificate for ``names`` (and 127.0.0.1): (cert.pem, key.pem).
    The cert file doubles as the CA bundle that trusts it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sjöviks kommun test CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([*(x509.DNSName(n) for n in names),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile
