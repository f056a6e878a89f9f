"""The graph backend (Microsoft 365 through Microsoft Graph), end to end through MSAL and httpx
against the local Graph responder (tests/graph_responder.py). The responder is a replay of the
documented API, not Microsoft 365: none can run here."""

from __future__ import annotations

import hashlib
import threading
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from daemon import intake
from daemon.backends import open_mailbox, open_transport
from daemon.engine import Engine
from daemon.mail import TemporaryFailure
from daemon.store import Store
from tests.graph_helpers import SECRET, SECRET_ENV, app, graph_instance, inst, m365, tls  # noqa: F401 (fixtures)
from tests.helpers import CHANCELLERY, GROUP, MARIA, Instance, at, make_mail

PROCESSED, QUARANTINE = "Inbox/Behandlat", "Inbox/Karantän"


def subjects(messages) -> list[str]:
    return [" ".join(str(m["Subject"]).split()) for m in messages]


def outbox(instance: Instance) -> list[dict]:
    store = instance.store()
    try:
        return store.all("SELECT * FROM outbox ORDER BY id")
    finally:
        store.close()


def item_titles(instance: Instance) -> list[str]:
    store = instance.store()
    try:
        return [r["title"] for r in store.all("SELECT title FROM items ORDER BY id")]
    finally:
        store.close()


class Running:
    """One engine with its Graph mailbox and transport kept across passes, as `klg run` keeps them."""

    def __init__(self, instance: Instance):
        self.config = instance.config
        self.store = Store(self.config.data_dir)
        self.mailbox, self.transport = open_mailbox(self.config), open_transport(self.config)
        self.engine = Engine(self.config, self.store, self.mailbox, self.transport)

    def tick(self, when: str) -> dict:
        return self.engine.tick(at(when))

    def close(self) -> None:
        self.mailbox.close()
        self.transport.close()
        self.store.close()


# --- reading and sending: the fast path ---------------------------------------------------------


def test_a_proposal_is_read_moved_and_acknowledged_with_our_message_id(inst, m365):
    m365.deliver(GROUP, make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min\nTyp: beslut\n\nUppföljning."))

    result = inst.tick(at("2026-11-20 09:00"))

    assert result["messages"] == 1 and result["outbox"] == {"sent": 1, "retry": 0, "failed": 0}
    assert item_titles(inst) == ["Budgetuppföljning"]
    assert m365.messages(GROUP, "Inbox") == []
    assert subjects(m365.messages(GROUP, PROCESSED)) == ["Budgetuppföljning"]
    [ack] = m365.received(MARIA)
    assert subjects([ack]) == ["[KLG-2026-001] Mottaget: Budgetuppföljning"]
    [row] = outbox(inst)
    assert ack["Message-ID"].strip("<>") == row["message_id"].strip("<>")  # the one klg chose
    assert [m["Message-ID"] for m in m365.messages(GROUP, "Sent Items")] == [ack["Message-ID"]]
    assert len(m365.requests("POST", "/sendMail")) == 1  # small: one sendMail, no draft
    assert m365.messages(GROUP, "Drafts") == [] and not m365.requests("PUT")


def test_a_stranger_lands_in_quarantine_unanswered(inst, m365):
    m365.deliver(GROUP, make_mail("okand@elsewhere.example", "Köp våra konsulttjänster", "Hej!"))

    inst.tick(at("2026-11-20 09:00"))

    assert subjects(m365.messages(GROUP, QUARANTINE)) == ["Köp våra konsulttjänster"]
    assert m365.messages(GROUP, "Inbox") == [] and m365.messages(GROUP, PROCESSED) == []
    assert m365.messages(GROUP, "Sent Items") == [] and m365.received("okand@elsewhere.example") == []


def test_the_delta_link_is_stored_so_a_restart_reads_only_new_mail(inst, m365):
    m365.deliver(GROUP, make_mail(MARIA, "Lokalförsörjning", "Beskrivning."))
    inst.tick(at("2026-11-20 09:00"))
    values_before = len(m365.requests("GET", "/$value"))

    m365.deliver(GROUP, make_mail(MARIA, "Medarbetarenkät", "Beskrivning."))
    second = inst.tick(at("2026-11-20 09:05"))  # a new process: a new sign-in, the stored link

    assert second["messages"] == 1
    assert len(m365.requests("GET", "/$value")) == values_before + 1  # the first mail is not read again
    assert "deltatoken" in m365.requests("GET", "/delta")[-1]["query"]
    assert item_titles(inst) == ["Lokalförsörjning", "Medarbetarenkät"]
    assert subjects(m365.received(MARIA)) == ["[KLG-2026-001] Mottaget: Lokalförsörjning",
                                              "[KLG-2026-002] Mottaget: Medarbetarenkät"]


def test_a_forgotten_delta_link_lists_the_inbox_again_and_nothing_is_doubled(inst, m365):
    m365.deliver(GROUP, make_mail(MARIA, "Lokalförsörjning", "Beskrivning."))
    inst.tick(at("2026-11-20 09:00"))
    m365.forget_delta_tokens()
    m365.deliver(GROUP, make_mail(MARIA, "Medarbetarenkät", "Beskrivning."))

    inst.tick(at("2026-11-20 09:05"))

    assert any(e["status"] == 410 for e in m365.requests("GET", "/delta"))
    assert item_titles(inst) == ["Lokalförsörjning", "Medarbetarenkät"]
    assert len(m365.received(MARIA)) == 2 and m365.messages(GROUP, "Inbox") == []


def test_a_message_left_in_the_inbox_by_a_failed_pass_is_handled_next_pass(inst, m365, monkeypatch):
    """The delta round names a message once; it stays pending until it has been moved."""
    m365.deliver(GROUP, make_mail(MARIA, "Lokalförsörjning", "Beskrivning."))

    def disk_trouble(ctx, raw, read=None):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(intake, "handle", disk_trouble)
        with pytest.raises(OSError):
            inst.tick(at("2026-11-20 09:00"))
    assert len(m365.messages(GROUP, "Inbox")) == 1

    result = inst.tick(at("2026-11-20 09:05"))

    assert result["messages"] == 1 and item_titles(inst) == ["Lokalförsörjning"]
    assert m365.messages(GROUP, "Inbox") == [] and len(m365.received(MARIA)) == 1


# --- exactly once -------------------------------------------------------------------------------


def test_a_send_whose_answer_is_lost_is_found_in_sent_items_and_not_sent_again(inst, m365):
    m365.deliver(GROUP, make_mail(MARIA, "Budgetuppföljning", "Beskrivning."))
    m365.kill_after_send()  # carried out, then the connection drops before the 202

    first = inst.tick(at("2026-11-20 09:00"))
    inst.tick(at("2026-11-20 09:10"))

    assert first["outbox"]["sent"] == 1
    assert len(m365.received(MARIA)) == 1 and len(m365.messages(GROUP, "Sent Items")) == 1
    [row] = outbox(inst)
    assert row["state"] == "sent" and row["attempts"] == 1


def test_a_crash_between_send_mail_and_the_record_is_settled_from_sent_items(inst, m365):
    """The daemon is SIGKILLed after Graph took the mail and before the outbox recorded it; the next
    pass finds the Message-ID in Sent Items and does not send again."""
    m365.deliver(GROUP, make_mail(MARIA, "Budgetuppföljning", "Beskrivning."))
    env = {SECRET_ENV: SECRET, "KLG_CRASH_AT": "outbox.after-send"}

    crashed = inst.klg("tick", "--now", at("2026-11-20 09:00").isoformat(), env=env)
    assert crashed.returncode < 0 or crashed.returncode == 137, crashed.stderr
    [row] = outbox(inst)
    assert row["state"] == "queued" and row["attempt_started_at"]
    assert len(m365.received(MARIA)) == 1

    after = inst.tick(at("2026-11-20 09:10"))

    assert after["outbox"]["sent"] == 1
    assert len(m365.received(MARIA)) == 1 and len(m365.messages(GROUP, "Sent Items")) == 1
    [row] = outbox(inst)
    assert row["state"] == "sent" and row["interrupted"] == 1 and row["resent_unsure"] == 0
    assert len(m365.requests("POST", "/sendMail")) == 1
    assert m365.requests("GET", "/mailFolders/sentitems/messages")


# --- Graph's limits and tokens ------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_throttling_storm_is_waited_out_and_nothing_fails(inst, m365, status):
    m365.deliver(GROUP, make_mail(MARIA, "Budgetuppföljning", "Beskrivning."))
    m365.deliver(GROUP, make_mail(MARIA, "Medarbetarenkät", "Beskrivning."))
    m365.throttle_next(3, status=status, retry_after=1)

    result = inst.tick(at("2026-11-20 09:00"))

    assert result["messages"] == 2 and result["outbox"] == {"sent": 2, "retry": 0, "failed": 0}
    assert sum(1 for e in m365.log if e["status"] == status) == 3
    assert len(m365.received(MARIA)) == 2 and m365.messages(GROUP, "Inbox") == []
    assert max(m365.throttle.peak.values()) <= 4


def test_throttling_longer_than_max_wait_is_a_temporary_failure_then_sent_once(tmp_path, m365, tls, app,
                                                                               monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    instance = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    instance.edit_config("max_wait_seconds = 120", "max_wait_seconds = 2")
    m365.throttle_next(1, status=429, retry_after=30)  # Graph asks for longer than klg may wait in a pass
    transport = open_transport(instance.config)
    try:
        with pytest.raises(TemporaryFailure, match="throttling"):
            transport.send(_mail(MARIA), GROUP, [MARIA])  # the outbox retries it later
        assert m365.received(MARIA) == []
        transport.send(_mail(MARIA), GROUP, [MARIA])
    finally:
        transport.close()
    assert len(m365.received(MARIA)) == 1


def _mail(to: str, subject: str = "Kallelse") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = GROUP, to, subject
    msg["Message-ID"] = "<kallelse-2026-12-01@example.org>"
    msg.set_content("Välkommen.")
    return msg.as_bytes()


def test_a_token_that_expires_mid_pass_is_renewed(inst, m365, monkeypatch):
    m365.deliver(GROUP, make_mail(MARIA, "Budgetuppföljning", "Beskrivning."))
    handle = intake.handle

    def expire_then_handle(ctx, raw, read=None):
        m365.expire_tokens()  # after the inbox was read, before the move and the send
        return handle(ctx, raw, read)

    monkeypatch.setattr(intake, "handle", expire_then_handle)
    running = Running(inst)
    try:
        result = running.tick("2026-11-20 09:00")
        renewed = running.mailbox.graph.renewed + running.transport.graph.renewed
    finally:
        running.close()

    assert result["messages"] == 1 and result["outbox"]["sent"] == 1
    assert renewed >= 1 and any(e["status"] == 401 for e in m365.log)
    assert subjects(m365.messages(GROUP, PROCESSED)) == ["Budgetuppföljning"] and len(m365.received(MARIA)) == 1


def test_a_mail_over_4_mb_goes_as_a_draft_with_an_upload_session_through_throttling(inst, m365):
    data = hashlib.sha256(b"bok").digest() * (4 * 1024 * 1024 // 32)  # 4 MiB: over sendMail's limit encoded
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = GROUP, MARIA, "Mötesbok"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Mötesboken bifogas.")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="Mötesbok.pdf")
    leftover = EmailMessage()  # an interrupted attempt's draft, its attachment never uploaded
    leftover["From"], leftover["To"], leftover["Subject"] = GROUP, MARIA, "Mötesbok"
    leftover["Message-ID"] = msg["Message-ID"]
    leftover.set_content("Mötesboken bifogas.")
    m365.mailbox(GROUP).well_known("drafts").add(leftover.as_bytes())
    m365.throttle_next(2, status=429, retry_after=1)  # the first requests wait, as Graph asks
    transport = open_transport(inst.config)
    try:
        transport.send(msg.as_bytes(), GROUP, [MARIA])
    finally:
        transport.close()

    [got] = m365.received(MARIA)
    assert got["Message-ID"] == msg["Message-ID"] and got["Subject"] == "Mötesbok"
    assert [(p.get_filename(), p.get_content()) for p in got.iter_attachments()] == [("Mötesbok.pdf", data)]
    assert [e["status"] for e in m365.requests("PUT")] == [200, 201]  # two chunks under 4 MB
    assert m365.requests("POST", "/createUploadSession") and not m365.requests("POST", "/sendMail")
    assert m365.messages(GROUP, "Drafts") == [] and len(m365.messages(GROUP, "Sent Items")) == 1


@pytest.mark.slow
def test_a_25_mb_attachment_goes_by_upload_session_with_our_message_id(inst, m365):
    data = hashlib.sha256(b"seed").digest() * (25 * 1024 * 1024 // 32)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = GROUP, f"{MARIA}, {CHANCELLERY}", "Mötesbok 2026-12-01"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Mötesboken bifogas.")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="Mötesbok 2026-12-01.pdf")
    msg.add_attachment(b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="Dagordning.pdf")
    transport = open_transport(inst.config)
    try:
        assert transport.send(msg.as_bytes(), GROUP, [MARIA, CHANCELLERY]) == []
    finally:
        transport.close()

    for member in (MARIA, CHANCELLERY):
        [got] = m365.received(member)
        assert got["Message-ID"] == msg["Message-ID"]
        files = {p.get_filename(): p.get_content() for p in got.iter_attachments()}
        assert files == {"Mötesbok 2026-12-01.pdf": data, "Dagordning.pdf": b"%PDF-1.4 small"}
    puts = m365.requests("PUT")
    assert len(puts) == 8 and all(e["status"] in (200, 201) for e in puts)
    assert not m365.requests("POST", "/sendMail") and m365.requests("POST", "/send")
    assert [m["Message-ID"] for m in m365.messages(GROUP, "Sent Items")] == [msg["Message-ID"]]


def test_envelope_recipients_missing_from_the_headers_are_sent_as_bcc(inst, m365):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = GROUP, MARIA, "Kallelse"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Välkommen.")
    transport = open_transport(inst.config)
    try:
        transport.send(msg.as_bytes(), GROUP, [MARIA, CHANCELLERY])
    finally:
        transport.close()
    assert len(m365.received(MARIA)) == 1 and len(m365.received(CHANCELLERY)) == 1
    assert m365.received(CHANCELLERY)[0]["Bcc"] is None


def test_no_more_than_four_requests_at_a_time_reach_the_mailbox(inst, m365):
    """Eight sends at once from two transports: Graph's "four concurrent requests" per app and
    mailbox is kept by klg itself, so none is refused for concurrency and all go out once."""
    m365.gate = threading.Event()  # the responder holds each request in its slot until the gate opens
    transports = [open_transport(inst.config), open_transport(inst.config)]
    for t in transports:
        t.graph.token()  # signed in before the race
    threads = [threading.Thread(target=transports[n % 2].send, args=(_mail(MARIA, f"Kallelse {n}").replace(
        b"kallelse-2026-12-01", f"kallelse-{n}".encode()), GROUP, [MARIA])) for n in range(8)]
    for thread in threads:
        thread.start()
    threading.Event().wait(1.0)
    m365.gate.set()
    for thread in threads:
        thread.join(30)
    for t in transports:
        t.close()
    assert len(m365.received(MARIA)) == 8
    assert max(m365.throttle.peak.values()) == 4
    assert not [e for e in m365.log if e["status"] == 429]
