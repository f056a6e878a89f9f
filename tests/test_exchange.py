"""The Exchange backend, end to end through exchangelib against a local EWS
responder that replays real-shaped EWS SOAP responses (tests/ews_responder.py).
It is not a real Exchange server: none can run here."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from daemon import config as configlib
from daemon.backends import open_mailbox, open_transport
from daemon.checks import load_config
from daemon.mail import MailError
from tests.ews_responder import Responder, make_certificate
from tests.helpers import CHANCELLERY, GROUP, MARIA, Instance, at, make_mail, new_instance

USER = "KOMMUN\\svc-klg"
PASSWORD = "Vinter-2026!"
PROCESSED, QUARANTINE = "Inbox/Behandlat", "Inbox/Karantän"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for localhost: (cert.pem = the CA bundle, key.pem)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def ews(tls):
    responder = Responder(GROUP, *tls, users={USER: PASSWORD}).start()
    yield responder
    responder.stop()


@pytest.fixture
def inst(tmp_path, ews, tls, monkeypatch) -> Instance:
    """An instance whose [mailbox] and [transport] are the Exchange backend, pointed at the responder."""
    instance = new_instance(tmp_path / "klg", backend="exchange")
    instance.edit_config('service_endpoint = "https://mail.example.org/EWS/Exchange.asmx"',
                         f'service_endpoint = "{ews.endpoint}"\nca_bundle = "{tls[0]}"')
    instance.edit_config('auth = "ntlm"', 'auth = "basic"')
    monkeypatch.setenv("KLG_EXCHANGE_PASSWORD", PASSWORD)
    return instance


def outbox(instance: Instance) -> list[dict]:
    store = instance.store()
    try:
        return store.all("SELECT * FROM outbox ORDER BY id")
    finally:
        store.close()


def mailbox_of(instance: Instance):
    return open_mailbox(instance.config)


# --- the intake through Exchange ---------------------------------------------------------------


def test_proposal_becomes_item_moves_to_processed_and_is_acknowledged(inst, ews):
    ews.mailbox.deliver(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min\nTyp: beslut\n\nUppföljning."))

    result = inst.tick(at("2026-11-20 09:00"))

    assert result["messages"] == 1 and result["outbox"]["sent"] == 1
    store = inst.store()
    try:
        item = store.item("KLG-2026-001")
    finally:
        store.close()
    assert item["title"] == "Budgetuppföljning" and item["minutes"] == 15
    assert ews.mailbox.messages("Inbox") == []
    assert [m["Subject"] for m in ews.mailbox.messages(PROCESSED)] == ["Budgetuppföljning"]
    [sent] = ews.mailbox.sent
    assert sent.disposition == "SendAndSaveCopy" and sent.saved_to == "Sent Items"
    assert sent.recipients == [MARIA]
    assert sent.message["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning"
    [row] = outbox(inst)
    assert sent.message["Message-ID"].strip("<>") == row["message_id"].strip("<>")
    assert [m["Message-ID"] for m in ews.mailbox.messages("Sent Items")] == [sent.message["Message-ID"]]


def test_stranger_lands_in_quarantine_and_is_not_answered(inst, ews):
    ews.mailbox.deliver(make_mail("okand@elsewhere.example", "Köp våra konsulttjänster", "Hej!"))

    inst.tick(at("2026-11-20 09:00"))

    assert [m["Subject"] for m in ews.mailbox.messages(QUARANTINE)] == ["Köp våra konsulttjänster"]
    assert ews.mailbox.messages("Inbox") == [] and ews.mailbox.messages(PROCESSED) == []
    assert ews.mailbox.sent == []


def test_same_message_twice_makes_one_item(inst, ews):
    """The same Message-ID delivered twice makes one item and one acknowledgement."""
    raw = make_mail(MARIA, "Lokalförsörjning", "Beskrivning.", message_id="<same@example.org>")
    ews.mailbox.deliver(raw)
    inst.tick(at("2026-11-20 09:00"))
    ews.mailbox.deliver(raw)
    inst.tick(at("2026-11-20 09:05"))

    assert len(ews.mailbox.messages(PROCESSED)) == 2
    assert len(ews.mailbox.sent) == 1


@pytest.mark.parametrize("fault", ["busy", "503"])
def test_temporary_failure_is_retried_and_the_mail_goes_out_once(inst, ews, fault):
    ews.mailbox.deliver(make_mail(MARIA, "Medarbetarenkät", "Beskrivning."))
    ews.fail_next("CreateItem", fault)

    first = inst.tick(at("2026-11-20 09:00"))

    assert first["outbox"] == {"sent": 0, "retry": 1, "failed": 0}
    assert ews.mailbox.sent == []
    [row] = outbox(inst)
    assert row["state"] == "queued"
    assert ("busy" in row["last_error"]) if fault == "busy" else ("unavailable" in row["last_error"])

    inst.tick(at("2026-11-20 09:00") + timedelta(seconds=10))  # before the back-off: nothing
    assert ews.mailbox.sent == []
    second = inst.tick(at("2026-11-20 09:00") + timedelta(seconds=31))

    assert second["outbox"]["sent"] == 1
    [sent] = ews.mailbox.sent
    assert sent.recipients == [MARIA] and sent.message["Subject"] == "[KLG-2026-001] Mottaget: Medarbetarenkät"
    assert [r["state"] for r in outbox(inst)] == ["sent"]
    inst.tick(at("2026-11-20 10:00"))
    assert len(ews.mailbox.sent) == 1


def test_refused_recipient_fails_for_good_and_the_chancellery_is_told(inst, ews):
    ews.refused_recipients = {MARIA}
    ews.mailbox.deliver(make_mail(MARIA, "Tillgänglighetsplan", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    rows = outbox(inst)
    assert rows[0]["state"] == "failed" and "ErrorInvalidRecipients" in rows[0]["last_error"]
    assert json.loads(rows[0]["failed_recipients"]) == [MARIA]
    [notice] = ews.mailbox.sent
    assert notice.recipients == [CHANCELLERY]


def test_send_only_when_no_copy_is_kept(inst, ews):
    inst.edit_config("save_sent = true", "save_sent = false")
    ews.mailbox.deliver(make_mail(MARIA, "Ett ärende", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    [sent] = ews.mailbox.sent
    assert sent.disposition == "SendOnly" and sent.saved_to is None
    assert ews.mailbox.messages("Sent Items") == []
    create = [r for r in ews.requests if r["operation"] == "CreateItem"]
    assert b"SavedItemFolderId" not in create[0]["xml"]


def test_envelope_recipients_missing_from_the_headers_still_get_the_mail(inst, ews):
    transport = open_transport(inst.config)
    raw = make_mail(GROUP, "Kallelse", "Välkomna.", to=MARIA)
    try:
        assert transport.send(raw, GROUP, [MARIA, CHANCELLERY]) == []
    finally:
        transport.close()
    [sent] = ews.mailbox.sent
    assert sent.recipients == sorted([MARIA, CHANCELLERY])
    assert sent.message["To"] == MARIA


def test_server_version_is_probed_when_not_pinned(inst, ews):
    inst.edit_config('exchange_version = "2019"\n', "")
    ews.mailbox.deliver(make_mail(MARIA, "Ett ärende", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    assert ews.operations()[0] == "ConvertId"
    assert len(ews.mailbox.messages(PROCESSED)) == 1 and len(ews.mailbox.sent) == 1


def test_folders_under_the_mailbox_root(inst, ews):
    inst.edit_config('folders_under = "inbox"', 'folders_under = "root"')
    ews.mailbox.deliver(make_mail(MARIA, "Ett ärende", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    assert [m["Subject"] for m in ews.mailbox.messages("Behandlat")] == ["Ett ärende"]


# --- check(): one line that names the cause and the fix ------------------------------------------


def check_error(instance: Instance) -> str:
    mailbox = mailbox_of(instance)
    try:
        with pytest.raises(MailError) as caught:
            mailbox.check()
    finally:
        mailbox.close()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_check_config_wrong_password_is_one_line_and_exit_1(inst, ews):
    result = inst.klg("check-config", env={"KLG_EXCHANGE_PASSWORD": "fel-lösenord"})

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "refused the login of KOMMUN\\svc-klg (HTTP 401, wrong password?)" in line
    assert line.endswith("check the password in $KLG_EXCHANGE_PASSWORD and that basic authentication is enabled "
                         "on the EWS virtual directory")


def test_check_config_passes_and_creates_the_folders(inst, ews):
    result = inst.klg("check-config")

    assert result.returncode == 0, result.stderr
    assert "mailbox (exchange): connection works" in result.stdout
    assert "transport (exchange): connection works" in result.stdout
    assert ews.mailbox.path(PROCESSED) is not None and ews.mailbox.path(QUARANTINE) is not None


def test_check_missing_folder_when_folders_are_not_created(inst, ews):
    inst.edit_config("create_folders = true", "create_folders = false")
    ews.mailbox.make_folder("Inbox/Behandlat")

    message = check_error(inst)

    assert message == ("the folder 'Karantän' (quarantine_folder) does not exist under the inbox of klg@example.org: "
                       "create it in Outlook or set create_folders = true")


def test_check_missing_parent_folder(inst, ews):
    inst.edit_config('folders_under = "inbox"', 'folders_under = "Inbox/KLG"')

    assert check_error(inst) == ("the folder 'KLG' of folders_under = 'Inbox/KLG' does not exist in klg@example.org: "
                                 "create it in Outlook or change folders_under")


def test_check_unknown_shared_mailbox(inst, ews):
    inst.edit_config('# primary_smtp_address = "klg@example.org"', 'primary_smtp_address = "klgg@example.org"')

    assert check_error(inst).startswith("the mailbox klgg@example.org does not exist on localhost: "
                                        "set primary_smtp_address")


def test_check_untrusted_certificate_without_ca_bundle(inst, ews, tls):
    inst.edit_config(f'ca_bundle = "{tls[0]}"\n', "")

    message = check_error(inst)

    assert message.startswith("the TLS certificate of localhost is not trusted (self-signed certificate")
    assert message.endswith("set ca_bundle to the PEM file of the CA that issued it (e.g. the municipality's internal CA)")


def test_check_certificate_of_another_ca(inst, ews, tmp_path):
    other, _ = make_certificate(tmp_path / "other-ca")
    inst.edit_config(f'ca_bundle = "{inst.config.mailbox.settings["ca_bundle"]}"', f'ca_bundle = "{other}"')

    assert check_error(inst).startswith(f"the TLS certificate of localhost is not signed by the CA in ca_bundle = {other}")


def test_check_unreachable_server(inst, ews):
    endpoint = ews.endpoint
    ews.stop()

    message = check_error(inst)

    assert message == (f"cannot reach Exchange at {endpoint} (connection refused): "
                       f"check service_endpoint, DNS and the firewall")


# --- klg init and the config --------------------------------------------------------------------


def test_init_writes_a_config_that_check_config_parses(tmp_path):
    target = tmp_path / "ny"
    from tests.helpers import REPO
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "daemon", "init", str(target), "--backend", "exchange"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    instance = Instance(target)
    text = instance.config_path.read_text(encoding="utf-8")
    assert 'backend = "exchange"' in text and "password_env" in text

    result = instance.klg("check-config", env={"KLG_EXCHANGE_PASSWORD": ""})

    assert "configuration and templates are valid" in result.stdout
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "klg: mail: the Exchange password of KOMMUN\\svc-klg is not set: set the environment variable "
        "KLG_EXCHANGE_PASSWORD for the service (mailbox.password_env)"]


def test_repo_example_config_is_valid():
    from tests.helpers import REPO

    config = load_config(REPO / "config" / "exchange-example.toml")
    assert config.mailbox.backend == config.transport.backend == "exchange"
    assert config.transport.settings["service_endpoint"] == config.mailbox.settings["service_endpoint"]


def test_bad_exchange_settings_name_the_key_and_the_fix(inst):
    inst.edit_config(f'service_endpoint = "{inst.config.mailbox.settings["service_endpoint"]}"',
                     'service_endpoint = "http://mail.example.org/EWS/Exchange.asmx"')
    inst.edit_config('auth = "basic"', 'auth = "kerberos"')
    inst.edit_config("timeout = 120", "timeout = 120\nverify_tls = false")

    with pytest.raises(configlib.ConfigError) as caught:
        load_config(inst.config_path)

    problems = "\n".join(caught.value.problems)
    assert "mailbox.service_endpoint = 'http://mail.example.org/EWS/Exchange.asmx': use an https:// address" in problems
    assert "mailbox.auth = 'kerberos': use one of ntlm, basic, oauth2" in problems
    assert "mailbox.verify_tls is not a known key: remove it (known keys: access, auth, ca_bundle," in problems
    result = inst.klg("check-config")
    assert result.returncode == 2


# --- other ways to log in ------------------------------------------------------------------------


@pytest.fixture
def ntlm_ews(tls, tmp_path):
    users = tmp_path / "ntlm-users"
    users.write_text(f"KOMMUN:svc-klg:{PASSWORD}\n")
    responder = Responder(GROUP, *tls, auth="ntlm", ntlm_user_file=users).start()
    yield responder
    responder.stop()


def test_ntlm_handshake_reads_and_sends(inst, ntlm_ews, tls):
    inst.edit_config(f'service_endpoint = "{inst.config.mailbox.settings["service_endpoint"]}"',
                     f'service_endpoint = "{ntlm_ews.endpoint}"')
    inst.edit_config('auth = "basic"', 'auth = "ntlm"')
    ntlm_ews.mailbox.deliver(make_mail(MARIA, "Ett ärende", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    assert len(ntlm_ews.mailbox.messages(PROCESSED)) == 1 and len(ntlm_ews.mailbox.sent) == 1
    assert {r["user"].upper() for r in ntlm_ews.requests} == {"KOMMUN\\SVC-KLG"}


def test_ntlm_wrong_password(inst, ntlm_ews, monkeypatch):
    inst.edit_config(f'service_endpoint = "{inst.config.mailbox.settings["service_endpoint"]}"',
                     f'service_endpoint = "{ntlm_ews.endpoint}"')
    inst.edit_config('auth = "basic"', 'auth = "ntlm"')
    monkeypatch.setenv("KLG_EXCHANGE_PASSWORD", "fel")

    assert "refused the login of KOMMUN\\svc-klg (HTTP 401, wrong password?)" in check_error(inst)


APP, SECRET = "5b2c9c1e-2f0a-4d7e-9a51-0c3b7f6d8e21", "app-hemlighet"


@pytest.fixture
def oauth_ews(tls):
    responder = Responder(GROUP, *tls, auth="oauth2", oauth_apps={APP: SECRET},
                          oauth_scope="https://localhost/.default").start()
    yield responder
    responder.stop()


def oauth_instance(inst: Instance, responder: Responder, scope: str, monkeypatch) -> Instance:
    inst.edit_config(f'service_endpoint = "{inst.config.mailbox.settings["service_endpoint"]}"',
                     f'service_endpoint = "{responder.endpoint}"')
    inst.edit_config('auth = "basic"', 'auth = "oauth2"')
    inst.edit_config('access = "delegate"', 'access = "impersonation"')
    inst.edit_config('# client_id = "00000000-0000-0000-0000-000000000000"', f'client_id = "{APP}"')
    inst.edit_config('# tenant_id = "00000000-0000-0000-0000-000000000000"', 'tenant_id = "tenant"')
    inst.edit_config('# client_secret_env = "KLG_EXCHANGE_CLIENT_SECRET"', 'client_secret_env = "KLG_EXCHANGE_CLIENT_SECRET"')
    inst.edit_config('# oauth_scope = "https://outlook.office365.com/.default"', f'oauth_scope = "{scope}"')
    inst.edit_config('# oauth_token_url = "https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token"',
                     f'oauth_token_url = "{responder.token_url}"')
    monkeypatch.setenv("KLG_EXCHANGE_CLIENT_SECRET", SECRET)
    return inst


def test_oauth2_client_credentials_with_impersonation(inst, oauth_ews, monkeypatch):
    oauth_instance(inst, oauth_ews, "https://localhost/.default", monkeypatch)
    oauth_ews.mailbox.deliver(make_mail(MARIA, "Ett ärende", "Beskrivning."))

    inst.tick(at("2026-11-20 09:00"))

    assert len(oauth_ews.mailbox.messages(PROCESSED)) == 1 and len(oauth_ews.mailbox.sent) == 1
    assert {r["impersonated"] for r in oauth_ews.requests} == {GROUP}


def test_oauth2_wrong_scope(inst, oauth_ews, monkeypatch):
    oauth_instance(inst, oauth_ews, "https://outlook.office365.com/.default", monkeypatch)

    message = check_error(inst)

    assert message.startswith(f"the token service {oauth_ews.token_url} refused invalid_scope (AADSTS70011:")
    assert message.endswith("set oauth_scope to the Exchange resource with /.default "
                            "(now https://outlook.office365.com/.default)")


def test_oauth2_app_without_exchange_permission(inst, oauth_ews, monkeypatch):
    oauth_instance(inst, oauth_ews, "https://localhost/.default", monkeypatch)
    oauth_ews.oauth_permitted = False

    assert check_error(inst) == (f"Exchange at localhost refused the OAuth2 token of the app {APP} (HTTP 401): give "
                                 f"the app the Exchange permission full_access_as_app with admin consent, and check "
                                 f"oauth_scope")


def test_transport_does_not_repeat_the_mailbox_problems(inst):
    inst.edit_config('auth = "basic"', 'auth = "kerberos"')
    inst.edit_config("save_sent = true", 'save_sent = "ja"')

    with pytest.raises(configlib.ConfigError) as caught:
        load_config(inst.config_path)

    assert [p.split(" = ")[0] for p in caught.value.problems] == ["mailbox.auth", "transport.save_sent"]


def test_a_full_inbox_is_read_page_by_page_oldest_first(inst, ews, monkeypatch):
    monkeypatch.setattr("daemon.backends.exchange_mailbox.FIND_PAGE", 2)
    titles = [f"Ärende {n}" for n in range(1, 6)]
    for title in titles:
        ews.mailbox.deliver(make_mail(MARIA, title, "Beskrivning."))

    result = inst.tick(at("2026-11-20 09:00"))

    assert result["messages"] == 5 and ews.mailbox.messages("Inbox") == []
    store = inst.store()
    try:
        assert [store.item(f"KLG-2026-00{n}")["title"] for n in range(1, 6)] == titles
    finally:
        store.close()


def test_processed_folder_deleted_in_outlook_is_made_again(inst, ews):
    mailbox = mailbox_of(inst)
    try:
        ews.mailbox.deliver(make_mail(MARIA, "Första", "B."))
        [first] = mailbox.fetch()
        mailbox.move(first.key, "processed")
        ews.mailbox.delete_folder(PROCESSED)
        ews.mailbox.deliver(make_mail(MARIA, "Andra", "B."))
        [second] = mailbox.fetch()
        mailbox.move(second.key, "processed")
    finally:
        mailbox.close()

    assert [m["Subject"] for m in ews.mailbox.messages(PROCESSED)] == ["Andra"]
    assert ews.mailbox.messages("Inbox") == []
