"""Stand-ins for LibreOffice that note every document they are asked to convert.

klg converts through a long-lived listener (``daemon/unolistener.py``, run by
``KLG_UNO_PYTHON``) or, without one, by one soffice run per document
(``KLG_SOFFICE``). :func:`noting_converters` wraps both, so a test sees the
same list of names either way: the name of each document, one a line, in the
log; a name with ``hang`` in it hangs as a hostile document can make
LibreOffice do; a name with ``crash`` in it kills the listener's LibreOffice
the first time it is seen, as a crash of LibreOffice would.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

from daemon import converter
from daemon import pdf as pdflib

SOFFICE = '''#!{python}
import os, sys, time
source = sys.argv[-1]
if not source.startswith("-"):  # a document, not the listener's --accept=
    with open({log!r}, "a") as log:
        log.write(os.path.basename(source) + "\\n")
    if {hang!r} in source:
        time.sleep(3600)
os.execv({real!r}, [{real!r}] + sys.argv[1:])
'''

# Runs the real listener with its convert() wrapped; started as ``wrapper -I unolistener.py ARGS``.
LISTENER = '''#!{uno_python}
import importlib.util, os, signal, sys, time
args = [a for a in sys.argv[1:] if a != "-I"]
spec = importlib.util.spec_from_file_location("unolistener", args[0])
listener = importlib.util.module_from_spec(spec)
spec.loader.exec_module(listener)
real = listener.convert
crashed = {log!r} + ".crashed"

def noted(desktop, source, target, options):
    with open({log!r}, "a") as log:
        log.write(os.path.basename(source) + "\\n")
    if {hang!r} in source:
        time.sleep(3600)
    if {crash!r} in source and not os.path.exists(crashed):
        open(crashed, "w").close()
        desktop.terminate()  # LibreOffice goes away under the document
    return real(desktop, source, target, options)

listener.convert = noted
sys.exit(listener.main(args[1:]))
'''


def converting(folder: Path, monkeypatch) -> Iterator[Path]:
    """For a fixture (``yield from``): skip without LibreOffice, else the noting converters'
    log; afterwards this test's listeners are stopped (their wrappers are this test's)."""
    try:
        pdflib.soffice()
    except pdflib.ConversionError as exc:
        pytest.skip(str(exc))
    yield noting_converters(folder, monkeypatch)
    pdflib.stop_listeners()


def noting_converters(folder: Path, monkeypatch, *, hang: str = "Haenger", crash: str = "Absturz") -> Path:
    """Point KLG_SOFFICE and KLG_UNO_PYTHON at noting wrappers; the log's path."""
    real = shutil.which(pdflib.soffice()) or pdflib.soffice()
    log = folder / "converted.log"
    log.write_text("")
    soffice = folder / "soffice"
    soffice.write_text(SOFFICE.format(python=sys.executable, log=str(log), real=real, hang=hang))
    soffice.chmod(0o755)
    listener = folder / "uno-python"
    listener.write_text(LISTENER.format(uno_python=converter.uno_python(), log=str(log), hang=hang, crash=crash))
    listener.chmod(0o755)
    monkeypatch.setenv("KLG_SOFFICE", str(soffice))
    monkeypatch.setenv("KLG_UNO_PYTHON", str(listener))
    return log


def names(log: Path) -> list[str]:
    return log.read_text().split("\n")[:-1]
