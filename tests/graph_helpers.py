"""An instance of klg on the Graph backend, pointed at the local Graph responder
(tests/graph_responder.py: a replay of the documented API, not Microsoft 365)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graph_responder import GraphResponder, make_certificate
from tests.helpers import GROUP, Instance, new_instance

SECRET = "Vinter-2026~hemligt"
SECRET_ENV = "KLG_GRAPH_CLIENT_SECRET"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """The responder's TLS certificate for localhost: (cert.pem = the CA bundle, key.pem)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def m365(tmp_path, tls):
    responder = GraphResponder(tmp_path / "m365", *tls).start()
    yield responder
    responder.stop()


@pytest.fixture
def app(m365):
    """The app registration klg signs in as, given the shared mailbox alone (RBAC for Applications)."""
    application = m365.add_app(secret=SECRET)
    m365.add_mailbox(GROUP, grant=[application])
    return application


def graph_instance(root: Path, m365: GraphResponder, tls, client_id: str, *, secret_file: Path | None = None,
                   certificate: tuple[Path, Path] | None = None, extra: str = "") -> Instance:
    """A klg instance written by ``klg init --backend graph``, its FILL IN lines filled for the responder.
    The client secret is read from $KLG_GRAPH_CLIENT_SECRET unless a file or a certificate is given."""
    inst = new_instance(root, backend="graph")
    inst.edit_config('tenant_id = "00000000-0000-0000-0000-000000000000"', f'tenant_id = "{m365.identity.tenant_id}"')
    inst.edit_config('client_id = "00000000-0000-0000-0000-000000000000"', f'client_id = "{client_id}"')
    if certificate:
        credential = f'certificate_file = "{certificate[0]}"\nprivate_key_file = "{certificate[1]}"'
    elif secret_file:
        credential = f'client_secret_file = "{secret_file}"'
    else:
        credential = f'client_secret_env = "{SECRET_ENV}"'
    inst.edit_config('certificate_file = "/etc/klg/graph-cert.pem"\nprivate_key_file = "/etc/klg/graph-key.pem"',
                     credential)
    inst.edit_config('# graph_url = "https://graph.microsoft.com/v1.0"', f'graph_url = "{m365.graph_url}"')
    inst.edit_config('# token_url = "https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token"',
                     f'token_url = "{m365.token_url}"')
    inst.edit_config('# tls_ca_file = "/etc/ssl/certs/kommun-proxy-ca.pem"', f'tls_ca_file = "{tls[0]}"\n{extra}')
    return inst


@pytest.fixture
def inst(tmp_path, m365, tls, app, monkeypatch) -> Instance:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return graph_instance(tmp_path / "klg", m365, tls, app.client_id)
