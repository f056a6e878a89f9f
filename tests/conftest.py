import os

import pytest

from daemon import pdf, redact
from tests.helpers import new_instance
# The mail servers' fixtures are registered here and only here: a session fixture
# imported into several test modules is a separate fixture in each, so every
# such module would start (and keep, until the session ends) its own Dovecot
# and Postfix.
from tests.servers import imap_proxy, mailservers, servers  # noqa: F401  (fixtures)


@pytest.fixture
def inst(tmp_path):
    """A fresh instance of the embedded default (Maildir + SQLite) in a temporary folder."""
    return new_instance(tmp_path / "klg")


@pytest.fixture(autouse=True)
def keep_umask():
    """`klg` sets umask 077 for itself; a test calling the CLI in-process must not
    leave it on the test process (the mail servers' fixtures need readable files)."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield
    os.umask(saved)


@pytest.fixture(autouse=True)
def forget_secrets():
    """A daemon remembers the secrets of its one config to mask them; a test process reads
    hundreds of configs, and one test's secret (e.g. "expired") must not mask another
    test's message."""
    yield
    redact.forget_secrets()


@pytest.fixture(autouse=True, scope="session")
def stop_listeners():
    """The conversion listeners the tests started go when the tests do, not half an hour later
    (KLG_CONVERTER_IDLE): on a shared machine each holds about 170 MB."""
    yield
    pdf.stop_listeners()
