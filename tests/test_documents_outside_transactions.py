"""LibreOffice never runs while klg holds the store's write lock.

A conversion takes seconds; if it ran inside a transaction every other writer
(`klg status` does not write, but a second pass, a migration, an operator's
sqlite3 would) waits that long. The test puts a LibreOffice in front of the
real one that first tries to take the store's write lock itself, without
waiting, and notes whether it could; then plays the demo week, which converts
the agenda, the members' documents for the meeting book and every version of
the minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.pdf import soffice
from tests.helpers import REPO

WRAPPER = '''#!{python}
import os, sqlite3, sys
db = os.environ["KLG_TEST_DB"]
state = "no store yet"
if os.path.exists(db):
    connection = sqlite3.connect(db, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        state = "free"
    except sqlite3.OperationalError as exc:
        state = "locked: " + str(exc)
    connection.close()
with open(os.environ["KLG_TEST_LOCKLOG"], "a") as log:
    log.write(state + "\\n")
os.execv({real!r}, [{real!r}] + sys.argv[1:])
'''


@pytest.mark.libreoffice
def test_no_conversion_runs_inside_a_transaction(tmp_path):
    try:
        real = soffice()
    except Exception as exc:
        pytest.skip(f"LibreOffice is not installed: {exc}")
    real = shutil.which(real) or real
    wrapper = tmp_path / "soffice"
    wrapper.write_text(WRAPPER.format(python=sys.executable, real=real))
    wrapper.chmod(0o755)
    folder, log = tmp_path / "week", tmp_path / "locks.log"
    env = {**os.environ, "KLG_SOFFICE": str(wrapper), "KLG_TEST_DB": str(folder / "data" / "klg.sqlite"),
           "KLG_TEST_LOCKLOG": str(log),
           # one soffice run per conversion, so the wrapper sees each; when klg calls the converter is the
           # same with the listener (tests/test_converter.py), which starts soffice once for many
           "KLG_CONVERTER_LISTENER": "0"}
    result = subprocess.run([sys.executable, "-m", "daemon", "demo", "--folder", str(folder)], capture_output=True,
                            text=True, timeout=300, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    states = Path(log).read_text().split("\n")[:-1]
    # the agenda, the members' Word and Excel files for the book, two versions of the minutes, the signed minutes
    assert len(states) >= 5, states
    assert set(states) == {"free"}, states
    assert list((folder / "data" / "agendas").glob("*/*.pdf"))  # the conversions did happen
