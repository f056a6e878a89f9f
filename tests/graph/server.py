"""The HTTPS request handler of the Graph responder: read, route, check, answer, log.

Order of checks on a Graph request, as the front door and Exchange take them: request size (the
4 MB limit), bearer token (401), mailbox (404), the app's access to that mailbox (403), then the
throttle (429/503), then the operation.

Sources for the answers made here:
- [SIZE]  413 with "The maximum request length supported is 4MB." (python-o365 issue #472 and #308; the
          code BadRequest as quoted in microsoft-graph-docs-contrib issue #682); the limit is on the whole
          request body: a JSON POST of 3,145,611 bytes of file was the largest that passed, as measured in
          msgraph-sdk-java PR #52 (4 MiB less the base64 growth and the JSON around it).
- [USER]  404 ErrorInvalidUser "The requested user '<address>' is invalid." (microsoft-graph-explorer-v4
          issue #3293; InnoGE/laravel-msgraph-mail #16); a user without an Exchange mailbox: 404
          ResourceNotFound "Resource could not be discovered." (microsoft-graph-docs-contrib #7160).
- [DENY]  403 ErrorAccessDenied "Access is denied. Check credentials and try again." (microsoft-graph-docs
          issue #3289): the app reaches the tenant but not this mailbox (no RBAC for Applications
          assignment that scopes it in, and no tenant-wide permission).
- [SEG]   400 BadRequest "Resource not found for the segment '...'." for a path Graph does not know.
"""

from __future__ import annotations

import base64
import json
import socket
import traceback
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from tests.graph import mail, send
from tests.graph.call import Call, Reply
from tests.graph.errors import GraphError, token_error

if TYPE_CHECKING:
    from tests.graph_responder import GraphResponder

READ, WRITE, SEND = {"Mail.Read", "Mail.ReadWrite"}, {"Mail.ReadWrite"}, {"Mail.Send"}
# (method, path below /users/{address}/ with * for an id, handler, the roles one of which it needs)
ROUTES = [
    ("GET", ("mailfolders",), mail.list_folders, READ),
    ("GET", ("mailfolders", "*"), mail.get_folder, READ),
    ("GET", ("mailfolders", "*", "childfolders"), mail.list_folders, READ),
    ("POST", ("mailfolders", "*", "childfolders"), mail.create_folder, WRITE),
    ("GET", ("mailfolders", "*", "messages"), mail.list_messages, READ),
    ("GET", ("mailfolders", "*", "messages", "delta"), mail.delta, READ),
    ("GET", ("messages",), mail.list_messages, READ),
    ("POST", ("messages",), send.create_message, WRITE),
    ("GET", ("messages", "*"), mail.get_message, READ),
    ("GET", ("messages", "*", "$value"), mail.get_value, READ),
    ("DELETE", ("messages", "*"), mail.delete_message, WRITE),
    ("POST", ("messages", "*", "move"), mail.move, WRITE),
    ("POST", ("messages", "*", "attachments"), send.add_attachment, WRITE),
    ("POST", ("messages", "*", "attachments", "createuploadsession"), send.create_upload_session, WRITE),
    ("POST", ("messages", "*", "send"), send.send_draft, SEND),
    ("POST", ("sendmail",), send.send_mail, SEND),
]


def _segments(path: str) -> list[str]:
    """Path segments, with the key form ``mailfolders('X')`` split into ``mailfolders``, ``X``."""
    out = []
    for raw in path.split("/"):
        seg = unquote(raw)
        if seg.endswith("')") and "('" in seg:
            name, _, key = seg[:-2].partition("('")
            out.extend([name, key])
        elif seg:
            out.append(seg)
    return out


def _match(method: str, rest: list[str]):
    # A message reached through its folder (mailFolders/{f}/messages/{m}/...) is the message itself.
    if len(rest) >= 4 and rest[0].lower() == "mailfolders" and rest[2].lower() == "messages" and rest[3].lower() != "delta":
        rest = rest[2:]
    if rest and rest[-1].lower() == "microsoft.graph.delta":
        rest = [*rest[:-1], "delta"]
    for verb, pattern, handler, roles in ROUTES:
        if verb == method and len(pattern) == len(rest) and all(
                p == "*" or p == s.lower() for p, s in zip(pattern, rest)):
            return handler, [s for p, s in zip(pattern, rest) if p == "*"], roles
    return None, [], set()


class Handler(BaseHTTPRequestHandler):
    responder: "GraphResponder"
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"

    def log_message(self, format, *args):  # quiet; the responder keeps its own log
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        r = self.responder
        url = urlsplit(self.path)
        call = Call(self.command, url.path, {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
                    self.headers, self._read_body(), f"https://{self.headers.get('Host', f'{r.host}:{r.port}')}", r)
        try:
            reply = self._route(call)
        except GraphError as error:
            reply = Reply(error.status, error.body(), headers=error.headers)
        except Exception:  # a fault of the responder itself: answer it, so the test sees it
            error = GraphError(500, "InternalServerError", f"The Graph responder failed: {traceback.format_exc()}")
            reply = Reply(500, error.body())
        r.log.append({"method": self.command, "path": url.path, "query": url.query, "status": reply.status,
                      "mailbox": call.store.address if call.store else None, "app": call.app_id or None,
                      "dropped": reply.drop})
        if reply.drop:  # the kill point: the work is done, the answer never comes
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        body = reply.body if isinstance(reply.body, bytes) else (
            b"" if reply.body is None else json.dumps(reply.body).encode())
        self.send_response(reply.status)
        if body or reply.status not in (201, 202, 204):
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("client-request-id", self.headers.get("client-request-id") or str(uuid.uuid4()))
        self.send_header("Strict-Transport-Security", "max-age=31536000")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self, call: Call) -> Reply:
        r = self.responder
        segs = _segments(call.path)
        low = [s.lower() for s in segs]
        if len(segs) == 4 and low[1:] == ["v2.0", ".well-known", "openid-configuration"] and call.method == "GET":
            if not r.identity.knows(segs[0]):
                status, body = token_error(400, "invalid_tenant", 90002, f"Tenant '{segs[0]}' not found.")
                return Reply(status, body)
            return Reply(200, r.identity.openid_configuration(call.base, segs[0]), content_type="application/json")
        if len(segs) == 4 and low[1:] == ["oauth2", "v2.0", "token"] and call.method == "POST":
            form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            status, body = r.identity.token(segs[0], form, _basic(call), f"{call.base}/{segs[0]}/oauth2/v2.0/token")
            return Reply(status, body, content_type="application/json; charset=utf-8")
        if len(segs) == 4 and low[1:] == ["discovery", "v2.0", "keys"]:
            return Reply(200, r.identity.jwks(), content_type="application/json")
        if len(segs) >= 2 and low[0] == "api" and "attachmentsessions" in low:
            return self._upload(call, segs[-1])
        if low[:1] == ["v1.0"]:
            return self._graph(call, segs[1:])
        raise GraphError(404, "NotFound", f"Nothing is replayed at {call.path}.")

    def _upload(self, call: Call, session_id: str) -> Reply:
        r = self.responder
        session = r.sessions.get(session_id)
        if session is None or call.query.get("authtoken") != session.token or call.method not in ("PUT", "DELETE"):
            raise GraphError(404, "itemNotFound", "Upload session not found.", inner_code="uploadSessionNotFound")
        call.store, call.app_id = session.store, session.app_id
        with r.throttle.admit((session.app_id, session.store.address), len(call.body)):
            return send.upload(call, session)

    def _graph(self, call: Call, segs: list[str]) -> Reply:
        r = self.responder
        if len(call.body) > r.max_request_bytes:  # [SIZE]
            raise GraphError(413, "BadRequest", "The maximum request length supported is 4MB.")
        if len(segs) < 2 or segs[0].lower() != "users":  # [SEG]
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[0] if segs else ''}'.")
        claims = r.identity.verify(call.headers.get("Authorization", ""))
        call.app_id = claims.get("appid", "")
        address = segs[1].lower()
        if address in r.directory_only:  # [USER]
            raise GraphError(404, "ResourceNotFound", "Resource could not be discovered.")
        call.store = r.stores.get(address)
        if call.store is None:  # [USER]
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segs[1]}' is invalid.")
        handler, args, roles = _match(call.method, segs[2:])
        if handler is None:  # [SEG]
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[-1]}'.")
        granted = set(claims.get("roles", [])) | r.grants.get((call.app_id, address), set())
        if not granted & roles:  # [DENY]
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        upload = len(call.body) if call.method in ("POST", "PUT", "PATCH") else 0
        with r.throttle.admit((call.app_id, address), upload):
            if r.gate is not None:  # held in its slot until the test opens the gate
                r.gate.wait(30)
            return handler(call, *args)


def _basic(call: Call) -> tuple[str, str] | None:
    """client_id and secret from an HTTP Basic Authorization header, which the token endpoint also takes."""
    header = call.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return unquote(user), unquote(password)
