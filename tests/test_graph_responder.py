"""The local Microsoft Graph responder (tests/graph_responder.py), driven the way a Graph backend
will drive it: MSAL for Python for the sign-in, plain httpx for Graph. It is a replay of the
documented API, not Microsoft 365; these tests prove it answers as the documentation says."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import ssl
import threading
import time

import httpx
import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.graph_responder import GraphResponder, Limits, make_app_certificate, make_certificate
from tests.helpers import CHAIR, GROUP, MARIA, at, make_mail

SECRET = "Vinter-2026~hemligt"
SCOPE = ["https://graph.microsoft.com/.default"]
OTHER = "registrator@example.org"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def ca(tls):
    """What httpx verifies the responder's certificate with."""
    return ssl.create_default_context(cafile=str(tls[0]))


@pytest.fixture
def m365(tmp_path, tls):
    responder = GraphResponder(tmp_path / "m365", *tls).start()
    yield responder
    responder.stop()


@pytest.fixture
def app(m365):
    application = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[application])
    m365.add_mailbox(MARIA)
    return application


def sign_in(m365, tls, client_id, credential):
    """MSAL pointed at the responder: its own authority, no instance discovery. The session does
    not trust the environment, because requests lets REQUESTS_CA_BUNDLE override a Session's
    verify (psf/requests#4726), and this machine sets it."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls[0])
    client = msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=m365.authority,
                                                instance_discovery=False, http_client=session)
    return client.acquire_token_for_client(scopes=SCOPE)


@pytest.fixture
def graph(m365, tls, app, ca):
    """An httpx client signed in as ``app``, with the base URL of the responder's Graph."""
    token = sign_in(m365, tls, app.client_id, SECRET)["access_token"]
    with httpx.Client(base_url=f"{m365.graph_url}/users/{GROUP}/", verify=ca,
                      headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def mime_body(raw: bytes) -> dict:
    return {"content": base64.b64encode(raw), "headers": {"Content-Type": "text/plain"}}


# --- sign-in -------------------------------------------------------------------------------------


def test_msal_signs_in_with_a_client_secret_and_graph_takes_the_token(m365, tls, app, ca):
    result = sign_in(m365, tls, app.client_id, SECRET)
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com" and claims["appid"] == app.client_id
    assert "roles" not in claims  # RBAC for Applications grants per mailbox, not in the token
    assert [e["path"].rsplit("/", 1)[-1] for e in m365.log] == ["openid-configuration", "token"]
    inbox = httpx.get(f"{m365.graph_url}/users/{GROUP}/mailFolders/inbox", verify=ca,
                      headers={"Authorization": f"Bearer {result['access_token']}"})
    assert inbox.status_code == 200 and inbox.json()["displayName"] == "Inbox"


@pytest.mark.parametrize("sha1", [False, True], ids=["PS256-x5t#S256", "RS256-x5t"])
def test_msal_signs_in_with_a_certificate(m365, tls, tmp_path, sha1):
    certfile, keyfile = make_app_certificate(tmp_path / "app")
    application = m365.add_app(certificate=certfile)
    cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    credential = {"private_key": keyfile.read_text()}
    if sha1:  # the legacy form: a SHA-1 thumbprint, so MSAL signs RS256 with x5t
        credential["thumbprint"] = cert.fingerprint(hashes.SHA1()).hex()
    else:
        credential["public_certificate"] = certfile.read_text()
    result = sign_in(m365, tls, application.client_id, credential)
    assert "access_token" in result, result.get("error_description")


def sign_in_error(m365, tls, client_id, credential) -> tuple[str, list[int], str]:
    result = sign_in(m365, tls, client_id, credential)
    assert "access_token" not in result
    return result["error"], result["error_codes"], result["error_description"]


def test_sign_in_errors_are_the_documented_ones(m365, tls, tmp_path):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    good = m365.add_app(secret=SECRET)
    expired = m365.add_app(secret=SECRET, secret_expires=past)
    refused = m365.add_app(secret=SECRET, consent="refused", name="klg-test")
    error, codes, text = sign_in_error(m365, tls, good.client_id, "the secret's id, not its value")
    assert (error, codes) == ("invalid_client", [7000215]) and text.startswith("AADSTS7000215: Invalid client secret")
    error, codes, text = sign_in_error(m365, tls, expired.client_id, SECRET)
    assert (error, codes) == ("invalid_client", [7000222]) and "client secret keys" in text and "are expired" in text
    error, codes, text = sign_in_error(m365, tls, "11111111-2222-3333-4444-555555555555", SECRET)
    assert (error, codes) == ("unauthorized_client", [700016])
    assert "Application with identifier '11111111-2222-3333-4444-555555555555' was not found" in text
    error, codes, text = sign_in_error(m365, tls, refused.client_id, SECRET)
    assert (error, codes) == ("invalid_grant", [65001]) and "named 'klg-test'" in text
    # a certificate that is not the registered one, and one that has expired
    registered, _ = make_app_certificate(tmp_path / "registered")
    other_cert, other_key = make_app_certificate(tmp_path / "other")
    stale_cert, stale_key = make_app_certificate(tmp_path / "stale", days=-3)
    signed = m365.add_app(certificate=registered)
    stale = m365.add_app(certificate=stale_cert)
    error, codes, text = sign_in_error(m365, tls, signed.client_id,
                                       {"private_key": other_key.read_text(), "public_certificate": other_cert.read_text()})
    assert (error, codes) == ("invalid_client", [700027]) and "The key was not found" in text
    error, codes, text = sign_in_error(m365, tls, stale.client_id,
                                       {"private_key": stale_key.read_text(), "public_certificate": stale_cert.read_text()})
    assert (error, codes) == ("invalid_client", [700027]) and "The key used is expired" in text


def test_wrong_scope_and_wrong_tenant(m365, tls, ca):
    application = m365.add_app(secret=SECRET)
    token_url = m365.token_url
    answer = httpx.post(token_url, verify=ca, data={
        "grant_type": "client_credentials", "client_id": application.client_id, "client_secret": SECRET,
        "scope": "https://outlook.office365.com/.default"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert answer.json()["error_description"].startswith("AADSTS70011: The provided value for the input parameter 'scope'")
    wrong = token_url.replace(m365.identity.tenant_id, "00000000-0000-0000-0000-000000000000")
    answer = httpx.post(wrong, verify=ca, data={"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error_codes"] == [90002]
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        session = requests.Session()
        session.trust_env, session.verify = False, str(tls[0])
        msal.ConfidentialClientApplication(application.client_id, client_credential=SECRET, http_client=session,
                                           authority=f"https://localhost:{m365.port}/nosuchtenant", instance_discovery=False)


def test_token_lifetime_is_configurable_and_an_expired_token_gets_401(m365, tls, app, ca):
    m365.identity.token_lifetime = 1
    first = sign_in(m365, tls, app.client_id, SECRET)
    assert first["expires_in"] == 1
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    url = f"{m365.graph_url}/users/{GROUP}/mailFolders/inbox"
    assert httpx.get(url, verify=ca, headers=headers).status_code == 200
    time.sleep(max(0.0, jwt.decode(first["access_token"], options={"verify_signature": False})["exp"] - time.time()) + 0.05)
    late = httpx.get(url, verify=ca, headers=headers)
    assert error_of(late) == (401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
    assert late.headers["WWW-Authenticate"].startswith('Bearer realm=""')
    # an expiry the client did not expect (expire_tokens) reads the same; a new token works
    m365.identity.token_lifetime = 3599
    second = sign_in(m365, tls, app.client_id, SECRET)["access_token"]
    m365.expire_tokens()
    assert httpx.get(url, verify=ca, headers={"Authorization": f"Bearer {second}"}).status_code == 401
    third = sign_in(m365, tls, app.client_id, SECRET)["access_token"]
    assert httpx.get(url, verify=ca, headers={"Authorization": f"Bearer {third}"}).status_code == 200
    assert error_of(httpx.get(url, verify=ca))[:2] == (401, "InvalidAuthenticationToken")


# --- folders and messages -------------------------------------------------------------------------


def test_well_known_folders_child_folders_and_create(m365, graph):
    for name, display in (("inbox", "Inbox"), ("sentitems", "Sent Items"), ("msgfolderroot", "Top of Information Store")):
        assert graph.get(f"mailFolders/{name}").json()["displayName"] == display
    inbox = graph.get("mailFolders/inbox").json()["id"]
    query = {"$filter": "displayName eq 'Behandlat'"}
    assert graph.get(f"mailFolders/{inbox}/childFolders", params=query).json()["value"] == []
    made = graph.post(f"mailFolders/{inbox}/childFolders", json={"displayName": "Behandlat"})
    assert made.status_code == 201 and made.json()["parentFolderId"] == inbox
    found = graph.get(f"mailFolders/{inbox}/childFolders", params=query).json()["value"]
    assert [f["id"] for f in found] == [made.json()["id"]]
    assert error_of(graph.post(f"mailFolders/{inbox}/childFolders", json={"displayName": "behandlat"})) == (
        409, "ErrorFolderExists", "A folder with the specified name already exists.")
    assert (m365.mailbox(GROUP).root / ".Inbox" / ".Behandlat" / "cur").is_dir()  # a real Maildir
    assert error_of(graph.get("mailFolders/AAMkARm5vdGhlcmU="))[:2] == (404, "ErrorItemNotFound")
    assert error_of(graph.get("mailFolders/not-an-id"))[:2] == (400, "ErrorInvalidIdMalformed")


def test_messages_page_by_next_link_with_select_and_orderby(m365, graph):
    for n in range(5):
        m365.deliver(GROUP, make_mail(MARIA, f"Ärende {n}"), received=at(f"2026-11-23 0{n}:00"))
    url, subjects, pages = "mailFolders/inbox/messages", [], 0
    params = {"$select": "subject,receivedDateTime", "$orderby": "receivedDateTime", "$top": "2"}
    while url:
        page = graph.get(url, params=params).json()
        params, pages = None, pages + 1
        for row in page["value"]:
            assert set(row) == {"@odata.etag", "id", "subject", "receivedDateTime"}
            subjects.append(row["subject"])
        url = page.get("@odata.nextLink")
    assert subjects == [f"Ärende {n}" for n in range(5)] and pages == 3
    first = graph.get("mailFolders/inbox/messages", params={"$orderby": "receivedDateTime desc", "$top": "1"}).json()
    assert first["value"][0]["subject"] == "Ärende 4" and first["value"][0]["receivedDateTime"] == "2026-11-23T03:00:00Z"


def test_value_is_the_exact_bytes_dropped_into_the_maildir(m365, graph):
    raw = (b"From: Maria Holm <maria.holm@example.org>\r\nTo: klg@example.org\r\nSubject: =?utf-8?q?R=C3=A5d?=\r\n"
           b"Message-ID: <dropped@example.org>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nH\xe4lsningar,\r\nMaria\r\n")
    new = m365.mailbox(GROUP).root / ".Inbox" / "new"
    (new.parent / "tmp" / "1764000000.M1P1.member").write_bytes(raw)
    os.rename(new.parent / "tmp" / "1764000000.M1P1.member", new / "1764000000.M1P1.member")
    rows = graph.get("mailFolders/inbox/messages", params={"$select": "internetMessageId,subject"}).json()["value"]
    assert [(r["internetMessageId"], r["subject"]) for r in rows] == [("<dropped@example.org>", "Råd")]
    value = graph.get(f"messages/{rows[0]['id']}/$value")
    assert value.status_code == 200 and value.content == raw


def delta_round(client: httpx.Client, link: str, **params) -> tuple[list[dict], int, str]:
    """One round of change tracking: (rows, pages, the deltaLink that ends it)."""
    rows, pages = [], 0
    while True:
        page = client.get(link, params=params or None, headers={"Prefer": "odata.maxpagesize=2"}).json()
        rows, pages, params = rows + page["value"], pages + 1, {}
        if "@odata.deltaLink" in page:
            return rows, pages, page["@odata.deltaLink"]
        link = page["@odata.nextLink"]
        assert "$skiptoken=" in link


def test_delta_pages_then_resumes_from_a_stored_delta_link_with_only_the_changes(m365, graph, ca):
    old = [m365.deliver(GROUP, make_mail(MARIA, f"Gammalt {n}")) for n in range(5)]
    rows, pages, stored = delta_round(graph, "mailFolders/inbox/messages/delta", **{"$select": "subject"})
    assert pages == 3 and sorted(r["id"] for r in rows) == sorted(old) and "$deltatoken=" in stored
    assert set(rows[0]) == {"@odata.type", "@odata.etag", "id", "subject"}
    # new mail arrives, one old message is moved away; a fresh client resumes from the stored link
    fresh = [m365.deliver(GROUP, make_mail(CHAIR, f"Nytt {n}")) for n in range(2)]
    assert graph.post(f"messages/{old[0]}/move", json={"destinationId": "deleteditems"}).status_code == 201
    with httpx.Client(verify=ca, headers=graph.headers) as restarted:
        rows, pages, stored = delta_round(restarted, stored)
    assert pages == 2 and sorted(r["id"] for r in rows if "@removed" not in r) == sorted(fresh)
    assert {r["subject"] for r in rows if "@removed" not in r} == {"Nytt 0", "Nytt 1"}  # $select carried on
    assert [r for r in rows if "@removed" in r] == [
        {"@odata.type": "#microsoft.graph.message", "id": old[0], "@removed": {"reason": "deleted"}}]
    assert delta_round(graph, stored)[:2] == ([], 1)
    m365.forget_delta_tokens()
    gone = graph.get(stored)
    assert error_of(gone)[:2] == (410, "syncStateNotFound") and gone.headers["Location"].endswith("/messages/delta")


def test_move_gives_a_new_id_and_the_old_one_is_gone(m365, graph):
    old = m365.deliver(GROUP, make_mail(MARIA, "Flyttas"))
    inbox = graph.get("mailFolders/inbox").json()["id"]
    target = graph.post(f"mailFolders/{inbox}/childFolders", json={"displayName": "Karantän"}).json()["id"]
    moved = graph.post(f"messages/{old}/move", json={"destinationId": target})
    assert moved.status_code == 201
    new = moved.json()["id"]
    assert new != old and moved.json()["parentFolderId"] == target and moved.json()["subject"] == "Flyttas"
    assert error_of(graph.get(f"messages/{old}")) == (404, "ErrorItemNotFound", "The specified object was not found in the store.")
    assert error_of(graph.post(f"messages/{old}/move", json={"destinationId": target}))[:2] == (404, "ErrorItemNotFound")
    assert graph.get(f"messages/{new}").json()["parentFolderId"] == target
    assert [m["Subject"] for m in m365.messages(GROUP, "Inbox/Karantän")] == ["Flyttas"]
    assert m365.messages(GROUP, "Inbox") == []


# --- sending -------------------------------------------------------------------------------------


def test_send_mail_with_mime_delivers_once_with_the_message_id_and_saves_to_sent_items(m365, graph):
    raw = make_mail(GROUP, "Dagordning", "Hej!", to=f"{MARIA}, {CHAIR}", headers={"Bcc": OTHER},
                    message_id="<agenda-1@klg.example.org>")
    sent = graph.post("sendMail", **mime_body(raw))
    assert sent.status_code == 202 and sent.content == b"", sent.text
    for member in (MARIA, CHAIR, OTHER):
        got = m365.received(member)
        assert [m["Message-ID"] for m in got] == ["<agenda-1@klg.example.org>"]
        assert got[0]["Bcc"] is None  # the transport does not show Bcc to anyone
    assert [m["Message-ID"] for m in m365.messages(GROUP, "Sent Items")] == ["<agenda-1@klg.example.org>"]
    found = graph.get("mailFolders/sentitems/messages",
                      params={"$filter": "internetMessageId eq '<agenda-1@klg.example.org>'", "$select": "internetMessageId"})
    assert [r["internetMessageId"] for r in found.json()["value"]] == ["<agenda-1@klg.example.org>"]
    none = graph.get("mailFolders/sentitems/messages", params={"$filter": "internetMessageId eq '<never@x>'"})
    assert none.json()["value"] == []
    assert error_of(graph.post("sendMail", content=b"not base64 at all!", headers={"Content-Type": "text/plain"})) == (
        400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")


def test_request_size_limit_of_sendmail(m365, graph):
    """Measured on the responder: base64 grows MIME by 4/3, so the largest MIME that fits in Graph's
    4 MiB request (4,194,304 bytes) is 3,145,728 bytes when the base64 has no line breaks."""
    def mime_of(size: int) -> bytes:
        head = make_mail(GROUP, "Stor", "x", to=MARIA)
        return head + b"x" * (size - len(head))

    assert graph.post("sendMail", **mime_body(mime_of(3 * 1024 * 1024))).status_code == 202
    refused = graph.post("sendMail", **mime_body(mime_of(3 * 1024 * 1024 + 1)))
    assert error_of(refused) == (413, "BadRequest", "The maximum request length supported is 4MB.")
    assert len(m365.received(MARIA)) == 1 and len(m365.messages(GROUP, "Sent Items")) == 1


def test_draft_json_with_attachment_then_send(m365, graph):
    draft = graph.post("messages", json={
        "subject": "Protokoll", "body": {"contentType": "Text", "content": "Se bilagan."},
        "toRecipients": [{"emailAddress": {"address": MARIA, "name": "Maria Holm"}}],
        "internetMessageId": "<minutes-1@klg.example.org>"})
    assert draft.status_code == 201 and draft.json()["isDraft"] is True
    added = graph.post(f"messages/{draft.json()['id']}/attachments", json={
        "@odata.type": "#microsoft.graph.fileAttachment", "name": "protokoll.pdf", "contentType": "application/pdf",
        "contentBytes": base64.b64encode(b"%PDF-1.7 protokoll").decode()})
    assert added.status_code == 201 and added.json()["size"] == 18
    assert graph.post(f"messages/{draft.json()['id']}/send").status_code == 202
    got = m365.received(MARIA)
    assert [m["Message-ID"] for m in got] == ["<minutes-1@klg.example.org>"]
    assert [(a.get_filename(), a.get_content()) for a in got[0].iter_attachments()] == [("protokoll.pdf", b"%PDF-1.7 protokoll")]
    assert m365.messages(GROUP, "Drafts") == [] and len(m365.messages(GROUP, "Sent Items")) == 1


def upload_session(graph, message_id: str, size: int, name: str = "bilaga.bin") -> str:
    made = graph.post(f"messages/{message_id}/attachments/createUploadSession", json={
        "AttachmentItem": {"attachmentType": "file", "name": name, "size": size, "contentType": "application/octet-stream"}})
    assert made.status_code == 201 and made.json()["nextExpectedRanges"] == ["0-"], made.text
    return made.json()["uploadUrl"]


def put(ca, url: str, data: bytes, start: int, total: int, **headers) -> httpx.Response:
    return httpx.put(url, content=data, verify=ca, timeout=60, headers={
        "Content-Type": "application/octet-stream", "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}", **headers})


def test_upload_session_attaches_25_mb_in_chunks_and_the_mail_keeps_its_message_id(m365, graph, tls, ca):
    raw = make_mail(GROUP, "Handlingar", "Se bilagan.", to=MARIA, message_id="<big-1@klg.example.org>")
    draft = graph.post("messages", **mime_body(raw)).json()["id"]
    data = os.urandom(25_000_000)
    url = upload_session(graph, draft, len(data))
    chunk, offset, answers = 10 * 320 * 1024, 0, []
    while offset < len(data):
        piece = data[offset:offset + chunk]
        answer = put(ca, url, piece, offset, len(data))
        offset += len(piece)
        answers.append(answer.status_code)
        if offset < len(data):
            assert answer.json()["nextExpectedRanges"] == [str(offset)]
        else:
            assert "/Attachments('" in answer.headers["Location"] and answer.content == b""
    assert answers == [200] * 7 + [201]
    assert graph.post(f"messages/{draft}/send").status_code == 202
    got = m365.received(MARIA)
    assert [m["Message-ID"] for m in got] == ["<big-1@klg.example.org>"]
    [attachment] = list(got[0].iter_attachments())
    assert attachment.get_filename() == "bilaga.bin"
    assert hashlib.sha256(attachment.get_content()).digest() == hashlib.sha256(data).digest()
    saved = graph.get("mailFolders/sentitems/messages", params={"$select": "internetMessageId"}).json()
    assert [r["internetMessageId"] for r in saved["value"]] == ["<big-1@klg.example.org>"]
    assert graph.get("mailFolders/drafts/messages").json()["value"] == []


def test_upload_chunk_rules_are_refused_as_graph_does(m365, graph, tls, ca):
    draft = graph.post("messages", **mime_body(make_mail(GROUP, "Bilaga", "x", to=MARIA))).json()["id"]
    small = graph.post(f"messages/{draft}/attachments/createUploadSession",
                       json={"AttachmentItem": {"attachmentType": "file", "name": "a", "size": 1_000_000}})
    assert error_of(small)[:2] == (400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize")
    total, unit = 5_000_000, 320 * 1024
    url = upload_session(graph, draft, total)
    data = os.urandom(total)
    assert error_of(put(ca, url, data[unit:2 * unit], unit, total))[:2] == (416, "invalidRange")  # out of order
    assert error_of(put(ca, url, data[:unit + 1], 0, total))[:2] == (400, "invalidRequest")  # not n x 320 KiB
    assert error_of(put(ca, url, data[:13 * unit], 0, total))[:2] == (413, "invalidRequest")  # over 4 MB
    wrong_total = put(ca, url, data[:unit], 0, total + 1)
    assert wrong_total.status_code == 400 and wrong_total.json()["error"]["innerError"]["code"] == "fragmentLengthMismatch"
    authorized = put(ca, url, data[:unit], 0, total, Authorization=graph.headers["Authorization"])
    assert authorized.status_code == 401  # the upload URL is pre-authenticated
    assert put(ca, url, data[:unit], 0, total).json()["nextExpectedRanges"] == [str(unit)]
    overlap = put(ca, url, data[:unit], 0, total)
    assert overlap.status_code == 416 and overlap.json()["error"]["innerError"]["code"] == "fragmentOverlap"
    assert put(ca, url, data[unit:12 * unit], unit, total).status_code == 200
    assert put(ca, url, data[12 * unit:], 12 * unit, total).status_code == 201  # the last may be any size
    assert httpx.put(url, content=b"x", verify=ca).status_code == 404  # the session is over


# --- faults --------------------------------------------------------------------------------------


def test_throttling_storm_answers_429_then_503_with_retry_after(m365, graph):
    m365.throttle_next(3, retry_after=2)
    m365.throttle_next(1, status=503, retry_after=5)
    answers = [graph.get("mailFolders/inbox") for _ in range(5)]
    assert [a.status_code for a in answers] == [429, 429, 429, 503, 200]
    assert answers[0].headers["Retry-After"] == "2" and answers[3].headers["Retry-After"] == "5"
    assert error_of(answers[0]) == (429, "TooManyRequests", "Please retry again later.")
    assert error_of(answers[3])[:2] == (503, "serviceNotAvailable")
    assert [e["status"] for e in m365.requests("GET", "/mailFolders/inbox")] == [429, 429, 429, 503, 200]


def test_the_fifth_concurrent_request_to_a_mailbox_gets_429_mailbox_concurrency(m365, graph, ca):
    m365.gate, answers = threading.Event(), []

    def call():
        with httpx.Client(verify=ca, headers=graph.headers, timeout=30) as client:
            answers.append(client.get(f"{m365.graph_url}/users/{GROUP}/mailFolders/inbox"))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while not answers and time.monotonic() < deadline:  # four are held in their slots; the fifth is refused
        time.sleep(0.01)
    m365.gate.set()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [429, 200, 200, 200, 200]
    assert error_of(answers[0]) == (429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
    assert "Retry-After" in answers[0].headers and max(m365.throttle.peak.values()) == 4


def test_request_and_upload_budgets(tmp_path, tls, ca):
    m365 = GraphResponder(tmp_path / "m365", *tls, limits=Limits(requests=3, request_window=60,
                                                                 upload_bytes=1000, upload_window=60)).start()
    try:
        application = m365.add_app(secret=SECRET)
        m365.add_mailbox(GROUP, grant=[application])
        token = sign_in(m365, tls, application.client_id, SECRET)["access_token"]
        with httpx.Client(base_url=f"{m365.graph_url}/users/{GROUP}/", verify=ca,
                          headers={"Authorization": f"Bearer {token}"}) as graph:
            assert graph.post("sendMail", **mime_body(make_mail(GROUP, "Stor", "x" * 2000, to=MARIA))).status_code == 429
            assert [graph.get("mailFolders/inbox").status_code for _ in range(3)] == [200, 200, 429]
            assert 0 < int(graph.get("mailFolders/inbox").headers["Retry-After"]) <= 60
    finally:
        m365.stop()


def test_mailbox_outside_the_apps_scope_gets_403_and_a_wrong_address_404(m365, graph, tls, app, ca):
    other = graph.get(f"{m365.graph_url}/users/{MARIA}/mailFolders/inbox")
    assert error_of(other) == (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    assert error_of(graph.post(f"{m365.graph_url}/users/{MARIA}/sendMail", **mime_body(make_mail(MARIA, to=GROUP))))[0] == 403
    wrong = graph.get(f"{m365.graph_url}/users/klg@exampel.org/mailFolders/inbox")
    assert error_of(wrong) == (404, "ErrorInvalidUser", "The requested user 'klg@exampel.org' is invalid.")
    m365.directory_only.add("nomailbox@example.org")
    assert error_of(graph.get(f"{m365.graph_url}/users/nomailbox@example.org/mailFolders/inbox")) == (
        404, "ResourceNotFound", "Resource could not be discovered.")
    # read-only RBAC: reading works, sending is denied; tenant-wide consent reaches every mailbox
    reader = m365.add_app(secret=SECRET)
    m365.add_mailbox(OTHER, grant=[reader], roles=("Mail.ReadWrite",))
    token = sign_in(m365, tls, reader.client_id, SECRET)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{m365.graph_url}/users/{OTHER}/mailFolders/inbox", verify=ca, headers=headers).status_code == 200
    assert httpx.post(f"{m365.graph_url}/users/{OTHER}/sendMail", verify=ca, headers=headers,
                      content=base64.b64encode(make_mail(OTHER, to=MARIA))).status_code == 403
    everywhere = m365.add_app(secret=SECRET, roles=("Mail.ReadWrite", "Mail.Send"))
    token = sign_in(m365, tls, everywhere.client_id, SECRET)["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["Mail.ReadWrite", "Mail.Send"]
    assert httpx.get(f"{m365.graph_url}/users/{MARIA}/mailFolders/inbox", verify=ca,
                     headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_kill_after_send_drops_the_connection_although_the_mail_was_sent(m365, graph):
    m365.kill_after_send()
    raw = make_mail(GROUP, "Påminnelse", "Hej!", to=MARIA, message_id="<reminder-1@klg.example.org>")
    with pytest.raises(httpx.RemoteProtocolError):
        graph.post("sendMail", **mime_body(raw))
    assert [m["Message-ID"] for m in m365.received(MARIA)] == ["<reminder-1@klg.example.org>"]
    found = graph.get("mailFolders/sentitems/messages",
                      params={"$filter": "internetMessageId eq '<reminder-1@klg.example.org>'"}).json()["value"]
    assert len(found) == 1  # what the outbox will look for before sending again
    logged = m365.requests("POST", "/sendMail")[-1]
    assert logged["dropped"] and logged["status"] == 202
    again = make_mail(GROUP, "Nästa", "Hej!", to=MARIA)
    assert graph.post("sendMail", **mime_body(again)).status_code == 202  # the kill point fires once
    assert len(m365.received(MARIA)) == 2
