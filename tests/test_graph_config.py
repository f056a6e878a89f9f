"""`klg init --backend graph` and `klg check-config` on the graph backend: the keys are checked when
the config loads, and each of the five misconfigurations a Microsoft 365 admin meets is told in one
line. Against the local Graph responder (a replay of the documented API, not Microsoft 365)."""

from __future__ import annotations

import datetime as dt

import pytest

from daemon import cli
from daemon.checks import load_config
from daemon.config import ConfigError
from tests.graph_helpers import SECRET, SECRET_ENV, graph_instance, m365, tls  # noqa: F401 (fixtures)
from tests.graph_responder import make_app_certificate
from tests.helpers import GROUP, new_instance


def check_config(inst, capsys) -> tuple[int, list[str], list[str]]:
    code = cli.main(["--config", str(inst.config_path), "check-config"])
    out, err = capsys.readouterr()
    problems = [line for line in err.strip().splitlines() if " INFO " not in line]  # the log says what it made
    return code, out.strip().splitlines(), problems


@pytest.fixture(autouse=True)
def secret_env(monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)


def test_a_working_config_with_a_certificate_says_both_connections_work(tmp_path, m365, tls, capsys):
    cert = make_app_certificate(tmp_path / "app")
    app = m365.add_app(certificate=cert[0])
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, certificate=cert)

    code, out, err = check_config(inst, capsys)

    assert (code, err) == (0, [])
    assert out[-2:] == ["mailbox (graph): connection works", "transport (graph): connection works"]
    assert [f.name for f in m365.mailbox(GROUP).path("Inbox").children()] == ["Behandlat", "Karantän"]


def test_a_client_secret_from_a_file_signs_in(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    (tmp_path / "secret").write_text(SECRET + "\n")
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, secret_file=tmp_path / "secret")

    code, out, err = check_config(inst, capsys)

    assert (code, err) == (0, []) and out[-1] == "transport (graph): connection works"


def _one_line(code: int, err: list[str]) -> str:
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("klg: mail: ")
    return err[0].removeprefix("klg: mail: ")


def test_no_admin_consent(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET, consent="refused")
    m365.add_mailbox(GROUP, grant=[app])
    line = _one_line(*check_config(graph_instance(tmp_path / "klg", m365, tls, app.client_id), capsys)[::2])
    assert line.startswith(f"no admin consent: the app {app.client_id} in tenant ")
    assert "AADSTS65001" in line and "grant admin consent" in line


def test_an_app_that_reaches_the_tenant_but_not_this_mailbox(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP)  # no RBAC for Applications assignment scopes it in
    line = _one_line(*check_config(graph_instance(tmp_path / "klg", m365, tls, app.client_id), capsys)[::2])
    assert line.startswith(f"the app {app.client_id} signs in to the tenant but may not open the mailbox {GROUP} "
                           f"(403 ErrorAccessDenied")
    assert 'New-ManagementRoleAssignment -App ' in line and '"Application Mail.ReadWrite"' in line


def test_a_wrong_mailbox_address(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, extra='mailbox = "klgg@example.org"')
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line.startswith("the mailbox klgg@example.org does not exist in the tenant (404 ErrorInvalidUser")
    assert "set mailbox to the shared mailbox's primary address" in line


def test_an_expired_client_secret(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET, secret_expires=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
    m365.add_mailbox(GROUP, grant=[app])
    line = _one_line(*check_config(graph_instance(tmp_path / "klg", m365, tls, app.client_id), capsys)[::2])
    assert line.startswith(f"the client secret of app {app.client_id} has expired (AADSTS7000222")
    assert f"client_secret_env = '{SECRET_ENV}'" in line and SECRET not in line


def test_an_expired_certificate(tmp_path, m365, tls, capsys):
    cert = make_app_certificate(tmp_path / "app", days=-1)
    app = m365.add_app(certificate=cert[0])
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, certificate=cert)
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line.startswith(f"the certificate of app {app.client_id} has expired (AADSTS700027")


def test_a_missing_folder(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    inst.edit_config("create_folders = true", "create_folders = false")
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line == (f"the folder 'Behandlat' (processed_folder) does not exist under the inbox of {GROUP}: "
                    f"create it in Outlook or set create_folders = true")


def test_a_wrong_client_secret_is_not_an_expired_one(tmp_path, m365, tls, capsys, monkeypatch):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    monkeypatch.setenv(SECRET_ENV, "fel")
    line = _one_line(*check_config(graph_instance(tmp_path / "klg", m365, tls, app.client_id), capsys)[::2])
    assert line.startswith(f"the client secret of app {app.client_id} is wrong (AADSTS7000215")


def test_init_writes_a_commented_graph_config(tmp_path, capsys):
    code = cli.main(["init", str(tmp_path / "inst"), "--backend", "graph"])
    text = (tmp_path / "inst" / "klg.toml").read_text(encoding="utf-8")
    assert code == 0 and 'backend = "graph"' in text and "FILL IN" in text and "RBAC for Applications" in text
    assert "check-config" in capsys.readouterr().out


@pytest.mark.parametrize("old, new, problem", [
    ('client_id = "00000000-0000-0000-0000-000000000000"', "", "mailbox.client_id is missing: set it to the "
     "application (client) id of the app registration"),
    ("create_folders = true", "create_folder = true", "mailbox.create_folder is not a known key; did you mean "
     "create_folders?"),
    ('processed_folder = "Behandlat"', 'processed_folder = "Karantän"', "mailbox.quarantine_folder = 'Karantän': the "
     "same folder as processed_folder; use a folder of its own"),
    ('# graph_url = "https://graph.microsoft.com/v1.0"', 'graph_url = "http://graph.example"',
     "mailbox.graph_url = 'http://graph.example': use an https:// address, e.g. 'https://graph.microsoft.com/v1.0'"),
    ('# client_secret_env = "KLG_GRAPH_CLIENT_SECRET"', 'client_secret_env = "KLG_GRAPH_CLIENT_SECRET"',
     "mailbox: both a client secret and a private key are set: keep one (a certificate is the safer choice)"),
])
def test_the_keys_are_checked_when_the_config_loads(tmp_path, old, new, problem):
    inst = new_instance(tmp_path / "klg", backend="graph")
    inst.edit_config(old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(inst.config_path)
    assert problem in caught.value.problems


def test_the_transport_inherits_the_mailbox_connection(tmp_path, m365, tls):
    app = m365.add_app(secret=SECRET)
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    config = load_config(inst.config_path)
    assert config.transport.settings["client_id"] == app.client_id
    assert config.transport.settings["mailbox"] == GROUP == config.mailbox.settings["mailbox"]
    assert config.transport.settings["token_url"] == m365.token_url


def test_a_client_secret_from_a_systemd_credential_signs_in(tmp_path, m365, tls, capsys, monkeypatch):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "klg-graph").write_text(SECRET)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    inst.edit_config(f'client_secret_env = "{SECRET_ENV}"', 'client_secret_credential = "klg-graph"')

    code, out, err = check_config(inst, capsys)

    assert (code, err) == (0, []) and out[-1] == "transport (graph): connection works"


def test_a_missing_private_key_file_is_named_at_sign_in(tmp_path, m365, tls, capsys):
    cert = make_app_certificate(tmp_path / "app")
    app = m365.add_app(certificate=cert[0])
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, certificate=(cert[0], tmp_path / "nokey.pem"))
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line.startswith(f"mailbox.private_key_file = '{tmp_path / 'nokey.pem'}' cannot be read")


def test_a_private_key_that_is_not_the_certificates_is_named(tmp_path, m365, tls, capsys):
    cert = make_app_certificate(tmp_path / "app")
    other = make_app_certificate(tmp_path / "other")
    app = m365.add_app(certificate=cert[0])
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id, certificate=(cert[0], other[1]))
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line == ("the private key in mailbox.private_key_file does not belong to the certificate in "
                    "mailbox.certificate_file: give the key the certificate was made with")


def test_an_untrusted_tls_certificate_is_named(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    inst.edit_config(f'tls_ca_file = "{tls[0]}"', "")
    line = _one_line(*check_config(inst, capsys)[::2])
    assert "is not trusted while signing in (certificate verify failed)" in line and "tls_ca_file" in line


def test_a_tenant_that_does_not_exist_is_named(tmp_path, m365, tls, capsys):
    app = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[app])
    inst = graph_instance(tmp_path / "klg", m365, tls, app.client_id)
    inst.edit_config(f"{m365.identity.tenant_id}/oauth2", "nosuchtenant/oauth2")
    line = _one_line(*check_config(inst, capsys)[::2])
    assert line.startswith("the tenant at ") and "nosuchtenant does not answer as a Microsoft Entra tenant" in line
