import pytest

from tests.helpers import new_instance


@pytest.fixture
def inst(tmp_path):
    """A fresh instance of the embedded default (Maildir + SQLite) in a temporary folder."""
    return new_instance(tmp_path / "klg")
