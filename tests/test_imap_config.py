"""Configuring the IMAP and SMTP backends: `klg check-config` explains every
failure in one line; XOAUTH2 against Dovecot's oauth2 passdb; the Sent copy;
MOVE-less servers; what SMTP refusals become."""

from __future__ import annotations

import json
import sys

import pytest

from daemon import cli
from daemon.config import Backend, ConfigError
from daemon.mail import PermanentFailure, TemporaryFailure
from daemon.backends.imap import ImapMailbox
from daemon.backends.imap_session import ImapSession
from daemon.backends.smtp import SmtpTransport
from tests.helpers import AHMED, CHANCELLERY, GROUP, MARIA, PETER, at, body, make_mail
from tests.servers import CLIENT_ID, PASSWORD_ENV, SCOPE, SECRET_ENV, SHARED, free_port, imap_instance

pytestmark = pytest.mark.servers
NOW = at("2026-11-20 09:00")


def check_config(inst, capsys) -> tuple[int, str, str]:
    code = cli.main(["--config", str(inst.config_path), "check-config"])
    out, err = capsys.readouterr()
    return code, out, err.strip()


def oauth(servers, **extra) -> dict:
    return {"auth": "xoauth2", "password_env": None, "token_url": servers.oauth.token_url, "client_id": CLIENT_ID,
            "client_secret_env": SECRET_ENV, "scope": SCOPE, **extra}


def test_check_config_passes_with_starttls_and_with_implicit_tls(servers, tmp_path, capsys):
    inst = imap_instance(tmp_path / "a", servers)
    code, out, err = check_config(inst, capsys)
    assert code == 0, err
    assert "mailbox (imap): connection works" in out and "transport (smtp): connection works" in out
    inst = imap_instance(tmp_path / "b", servers, mailbox={"security": "tls", "port": servers.imaps_port},
                         transport={"security": "tls", "port": servers.smtps_port})
    code, out, err = check_config(inst, capsys)
    assert code == 0, err


@pytest.mark.parametrize("case, mailbox, transport, expected", [
    ("wrong IMAP password", {"password_env": "KLG_TEST_WRONG"}, {},
     ["IMAP 127.0.0.1: login as 'klg@example.org' refused", "wrong user name or password", "KLG_TEST_WRONG"]),
    ("wrong SMTP password", {}, {"password_env": "KLG_TEST_WRONG"},
     ["SMTP 127.0.0.1: login as 'klg@example.org' refused", "wrong user name or password"]),
    ("untrusted certificate", {"tls_ca_file": None}, {},
     ["TLS certificate is not trusted", "set tls_ca_file"]),
    ("implicit TLS on the STARTTLS port", {"security": "tls"}, {},
     ["TLS handshake failed", 'security = "starttls"']),
    ("nothing listens", {"port": "FREE"}, {}, ["connection refused", "check host and port"]),
    ("missing folder", {"create_folders": False}, {},
     ["the processed folder 'klg/Behandlat' does not exist", "create_folders = true"]),
    ("missing inbox", {"inbox": "Saknas"}, {}, ["the inbox folder 'Saknas' does not exist"]),
    ("unset variable", {"password_env": "KLG_TEST_UNSET"}, {},
     ["mailbox.password_env = 'KLG_TEST_UNSET', but that environment variable is not set"]),
    ("OAuth scope", "OAUTH_SCOPE", {}, ["invalid_scope", "check scope"]),
    ("OAuth secret", "OAUTH_SECRET", {}, ["invalid_client", "client secret"]),
    ("token not accepted", "BAD_TOKEN", {}, ["XOAUTH2 login as 'klg@example.org' refused", "scope"]),
])
def test_check_config_explains_a_failure_in_one_line(servers, tmp_path, capsys, monkeypatch, case, mailbox, transport,
                                                      expected):
    monkeypatch.setenv("KLG_TEST_WRONG", "not-the-password")
    monkeypatch.delenv("KLG_TEST_UNSET", raising=False)
    if mailbox == "OAUTH_SCOPE":
        mailbox = oauth(servers, scope="https://graph.microsoft.com/.default")
    elif mailbox == "OAUTH_SECRET":
        monkeypatch.setenv("KLG_TEST_WRONG_SECRET", "expired")
        mailbox = oauth(servers, client_secret_env="KLG_TEST_WRONG_SECRET")
    elif mailbox == "BAD_TOKEN":
        monkeypatch.setenv("KLG_TEST_TOKEN", "revoked-token")
        mailbox = {"auth": "xoauth2", "password_env": None, "token_env": "KLG_TEST_TOKEN"}
    elif mailbox.get("port") == "FREE":
        mailbox = {"port": free_port()}
    inst = imap_instance(tmp_path / "klg", servers, mailbox=mailbox, transport=transport)
    code, out, err = check_config(inst, capsys)
    assert code == 1, (case, out, err)
    assert len(err.splitlines()) == 1, err
    assert err.startswith("klg: mail: ")
    for phrase in expected:
        assert phrase in err, (case, err)


def test_bad_settings_name_key_value_and_fix(servers, tmp_path, capsys):
    inst = imap_instance(tmp_path / "klg", servers, mailbox={"security": "ssl", "idle_minutes": 40, "inbox": "klg/Behandlat",
                                                             "passwrd_env": "X"},
                         transport={"auth": "xoauth2", "password_env": None})
    code, out, err = check_config(inst, capsys)
    assert code == 2
    assert "mailbox.security = 'ssl': use \"tls\" (implicit TLS), \"starttls\" or \"none\"" in err
    assert "mailbox.idle_minutes = 40: use a number of minutes above 0 and at most 25" in err
    assert "mailbox.processed = 'klg/Behandlat': the same folder as mailbox.inbox" in err
    assert "mailbox.passwrd_env is not a known key; did you mean password_env?" in err
    assert 'transport: auth = "xoauth2" needs exactly one token source, found none' in err


def test_init_writes_an_imap_config_ready_to_fill_in(tmp_path, capsys):
    assert cli.main(["init", str(tmp_path / "kommun"), "--backend", "imap"]) == 0
    text = (tmp_path / "kommun" / "klg.toml").read_text(encoding="utf-8")
    assert 'backend = "imap"' in text and 'backend = "smtp"' in text and "# token_url" in text
    from daemon.checks import load_config

    config = load_config(tmp_path / "kommun" / "klg.toml")  # valid as written
    assert config.mailbox.settings["host"] == "imap.kommun.se"


def test_xoauth2_end_to_end_with_client_credentials_and_token_command(servers, tmp_path, capsys):
    token = servers.oauth.issue(SHARED)
    inst = imap_instance(tmp_path / "klg", servers,
                         mailbox={"auth": "xoauth2", "password_env": None,
                                  "token_command": [sys.executable, "-c", f"print({token!r})"]},
                         transport=oauth(servers))
    code, out, err = check_config(inst, capsys)
    assert code == 0, err
    servers.append(make_mail(MARIA, "Via OAuth"))
    inst.tick(NOW)
    [ack] = servers.wait_for(MARIA, 1)
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Via OAuth"
    grants = [r for r in servers.oauth.requests if r.get("grant_type") == "client_credentials"]
    assert grants and all(r["scope"] == SCOPE for r in grants)


def test_a_sent_copy_is_kept_once(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers, transport={"sent_folder": "Skickat"})
    servers.append(make_mail(MARIA, "Med kopia"))
    inst.tick(NOW)
    [ack] = servers.wait_for(MARIA, 1)
    [copy] = servers.messages(GROUP, "Skickat")
    assert copy["Message-ID"] == ack["Message-ID"]
    # the outbox sends the same stored mail again (a crash after the server's 250): no second copy
    transport = SmtpTransport(inst.config.transport, mailbox=inst.config.mailbox)
    try:
        transport.send(copy.as_bytes(), GROUP, [MARIA])
    finally:
        transport.close()
    assert servers.count(GROUP, "Skickat") == 1


def test_without_move_only_our_message_is_expunged(servers, tmp_path, monkeypatch):
    inst = imap_instance(tmp_path / "klg", servers)
    servers.append(make_mail(MARIA, "Förslag utan MOVE"))
    servers.append(make_mail(PETER, "Någon annans raderade post"))
    with servers.imap() as other:  # another user of the shared mailbox deleted a message, not yet expunged
        other.select_folder("INBOX")
        [theirs] = other.search(["SUBJECT", "raderade"])
        other.add_flags([theirs], [b"\\Deleted"])
    original = ImapSession.connect

    def connect_without_move(self, create=True):
        client = original(self, create)
        self.can_move = False  # as on a server without RFC 6851
        return client

    monkeypatch.setattr(ImapSession, "connect", connect_without_move)
    inst.tick(NOW)
    servers.wait_for(MARIA, 1)
    assert [m["Subject"] for m in servers.messages(GROUP, "klg/Behandlat")] == ["Förslag utan MOVE"]
    assert [m["Subject"] for m in servers.messages(GROUP)] == ["Någon annans raderade post"]  # still there
    assert servers.messages(PETER) == []  # deleted mail is not read


def test_smtp_refusals(servers, tmp_path):
    """5xx for everyone: permanent; 4xx for everyone: temporary; mixed: sent to
    the accepted, the refused reported."""
    inst = imap_instance(tmp_path / "klg", servers)
    transport = SmtpTransport(inst.config.transport, mailbox=inst.config.mailbox)
    raw = make_mail(GROUP, "Till många", "Hej", to=f"{MARIA}, gone@example.org")
    try:
        assert transport.send(raw, GROUP, [MARIA, "gone@example.org", "full@example.org"]) == [
            "full@example.org", "gone@example.org"]
        with pytest.raises(PermanentFailure) as refused:
            transport.send(raw, GROUP, ["gone@example.org"])
        assert refused.value.recipients == ["gone@example.org"] and "550" in str(refused.value)
        with pytest.raises(TemporaryFailure, match="452"):
            transport.send(raw, GROUP, ["full@example.org"])
    finally:
        transport.close()
    [got] = servers.wait_for(MARIA, 1)
    assert got["Subject"] == "Till många"
    # the SMTPS port of the test server takes at most 1 MB
    small = SmtpTransport(Backend("smtp", {**inst.config.transport.settings, "security": "tls",
                                           "port": servers.smtps_port}))
    try:
        with pytest.raises(PermanentFailure, match="too large .* send fewer or smaller attachments"):
            small.send(make_mail(GROUP, "Stor", "x" * 10, to=MARIA,
                                 attachments=[("stor.pdf", b"%PDF" + b"0" * 2_000_000, "application/pdf")]),
                       GROUP, [MARIA])
    finally:
        small.close()


def test_a_refused_acknowledgement_is_reported_to_the_chancellery_once(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    inst.edit_config(f'email = "{AHMED}"', 'email = "gone@example.org"')
    servers.append(make_mail("gone@example.org", "Från en adress som inte finns"))
    inst.tick(NOW)
    inst.tick(at("2026-11-20 09:30"))
    inst.tick(at("2026-11-20 12:00"))
    [notice] = servers.wait_for(CHANCELLERY, 1)
    assert "kom inte fram" in notice["Subject"]
    assert "gone@example.org" in body(notice)
    servers.wait_queue_empty()
    assert servers.count(CHANCELLERY) == 1
    assert inst.status(NOW)["outbox"] == {"queued": 0, "sent": 1, "failed": 1}


def test_settings_are_validated_when_the_backend_is_made_directly(servers):
    with pytest.raises(ConfigError, match="mailbox.host is missing"):
        ImapMailbox(Backend("imap", {"password_env": PASSWORD_ENV, "username": SHARED}))
    with pytest.raises(ConfigError, match="transport.sent_folder needs"):
        SmtpTransport(Backend("smtp", {"host": "x", "password_env": PASSWORD_ENV, "username": SHARED,
                                       "sent_folder": "Sent"}))
    with pytest.raises(ConfigError, match="transport.copy_to_self = 'yes': write true or false"):
        SmtpTransport(Backend("smtp", {"host": "x", "password_env": PASSWORD_ENV, "username": SHARED,
                                       "copy_to_self": "yes"}))
    assert json  # keeps the import honest for helpers that dump settings


def test_the_repository_example_is_the_init_template():
    from daemon.checks import load_config
    from daemon.instance import DEFAULTS
    from tests.helpers import REPO

    example = (REPO / "config" / "imap-example.toml").read_text(encoding="utf-8")
    assert (DEFAULTS / "mail-imap.toml").read_text(encoding="utf-8").strip() in example
    assert load_config(REPO / "config" / "imap-example.toml").mailbox.backend == "imap"


def test_check_config_explains_a_refused_smtp_token(servers, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KLG_TEST_TOKEN", "revoked-token")
    inst = imap_instance(tmp_path / "klg", servers,
                         transport={"auth": "xoauth2", "password_env": None, "token_env": "KLG_TEST_TOKEN"})
    code, out, err = check_config(inst, capsys)
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "SMTP 127.0.0.1: XOAUTH2 login as 'klg@example.org' refused" in err
