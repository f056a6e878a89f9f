"""Conversions go through one long-lived LibreOffice per slot (daemon/converter.py).

The listener converts as the one-shot soffice did, is kept from one conversion
to the next, is killed and replaced when a document hangs it, is started again
when LibreOffice dies under a document (which is tried once more), and when no
listener can start (no python3-uno) every document is still converted, by one
soffice run each, with one log line saying so. Real LibreOffice throughout; the
wrappers of tests/converter_helpers.py note each document and hang or crash on
the names that ask for it.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pytest

from daemon import converter
from daemon import pdf as pdflib
from tests.agenda_helpers import pdf_text, small_docx
from tests.converter_helpers import converting, names

pytestmark = pytest.mark.libreoffice


@pytest.fixture
def log(tmp_path, monkeypatch):
    """One conversion slot in a folder of this test's; the log of the documents converted."""
    if subprocess.run([converter.uno_python(), "-c", "import uno"], capture_output=True).returncode:
        pytest.skip(f"{converter.uno_python()} has no uno module (Debian: apt-get install python3-uno)")
    monkeypatch.setenv("KLG_CONVERTER_LOCKS", str(tmp_path / "locks"))
    monkeypatch.setenv("KLG_CONVERTERS", "1")
    monkeypatch.setattr(converter, "_unavailable_until", 0.0)
    monkeypatch.setattr(converter, "_told", set())
    yield from converting(tmp_path, monkeypatch)


def listener(tmp_path: Path) -> int | None:
    return converter.running(tmp_path / "locks", 0)


def live_members(group: int) -> list[int]:
    """The processes of process group ``group`` that still run (not zombies)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def gone(group: int, within: float = 5.0) -> bool:
    """Whether every process of ``group`` has ended within ``within`` seconds (SIGKILL takes a moment)."""
    deadline = time.monotonic() + within
    while live_members(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def pdfa_part(data: bytes) -> str | None:
    with pikepdf.open(io.BytesIO(data)) as document:
        return document.open_metadata().get("pdfaid:part")


def test_the_listener_converts_as_soffice_did_and_is_kept(log, tmp_path, monkeypatch):
    budget = small_docx("Budget oktober i sammandrag")
    through = pdflib.to_pdf(budget, "Budget.docx", filter_options=pdflib.export_options())
    first = listener(tmp_path)
    assert first and live_members(first)
    again = pdflib.to_pdf(small_docx("Skolskjutsar i glesbygd"), "Skolskjuts.docx")
    assert listener(tmp_path) == first  # the same LibreOffice converted the second document
    monkeypatch.setenv("KLG_CONVERTER_LISTENER", "0")  # the way before: one soffice run for the document
    once = pdflib.to_pdf(budget, "Budget.docx", filter_options=pdflib.export_options())
    assert names(log) == ["Budget.docx", "Skolskjuts.docx", "Budget.docx"]
    assert pdf_text(through) == pdf_text(once) and "Budget oktober i sammandrag" in pdf_text(through)
    assert "Skolskjutsar i glesbygd" in pdf_text(again)
    assert pdfa_part(through) == pdfa_part(once) == "2"  # the export options reach the listener's filter


def test_a_hung_document_is_timed_out_the_listener_replaced_and_the_next_converts(log, tmp_path):
    pdflib.to_pdf(small_docx("Först"), "Forst.docx")  # a listener runs
    hung = listener(tmp_path)
    started = time.monotonic()
    with pytest.raises(pdflib.ConversionError, match="did not finish converting Haenger.docx within 5 s"):
        pdflib.to_pdf(small_docx("Hänger"), "Haenger.docx", timeout=5)
    assert time.monotonic() - started < 10
    assert listener(tmp_path) is None and gone(hung)  # LibreOffice and the listener are gone
    after = pdflib.to_pdf(small_docx("Nästa dokument"), "Nasta.docx")
    assert "Nästa dokument" in pdf_text(after)
    assert listener(tmp_path) not in (None, hung)
    assert names(log) == ["Forst.docx", "Haenger.docx", "Nasta.docx"]  # the hung one was not tried again


def test_a_listener_left_stuck_by_a_killed_klg_is_replaced_and_the_next_document_not_blamed(log, tmp_path,
                                                                                               monkeypatch):
    monkeypatch.setattr(converter, "PING_WAIT", 3.0)
    stuck = subprocess.Popen([sys.executable, "-c", "import sys; from daemon import pdf; "
                              "from tests.agenda_helpers import small_docx; "
                              "pdf.to_pdf(small_docx('Hänger'), 'Haenger.docx', timeout=600)"],
                             cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 120
    while names(log) != ["Haenger.docx"]:
        assert time.monotonic() < deadline and stuck.poll() is None, names(log)
        time.sleep(0.2)
    left = listener(tmp_path)
    stuck.kill()  # klg dies while it waits; its slot comes free, the listener stays stuck in the document
    stuck.wait()
    assert left and live_members(left)
    made = pdflib.to_pdf(small_docx("Nästa dokument"), "Nasta.docx", timeout=20)
    assert "Nästa dokument" in pdf_text(made)
    assert names(log) == ["Haenger.docx", "Nasta.docx"]
    assert listener(tmp_path) not in (None, left) and gone(left)


def test_libreoffice_dying_under_a_document_restarts_it_and_the_document_is_tried_once_more(log, tmp_path):
    pdflib.to_pdf(small_docx("Först"), "Forst.docx")
    first = listener(tmp_path)
    made = pdflib.to_pdf(small_docx("Efter omstarten"), "Absturz.docx")
    assert "Efter omstarten" in pdf_text(made)
    assert names(log) == ["Forst.docx", "Absturz.docx", "Absturz.docx"]
    assert listener(tmp_path) not in (None, first)


def test_without_a_listener_each_document_gets_its_own_soffice_and_one_log_line(log, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KLG_UNO_PYTHON", sys.executable)  # klg's own Python: no uno module
    caplog.set_level(logging.INFO, logger="klg.pdf")
    first = pdflib.to_pdf(small_docx("Budget oktober"), "Budget.docx")
    second = pdflib.to_pdf(small_docx("Skolskjutsar"), "Skolskjuts.docx")
    assert "Budget oktober" in pdf_text(first) and "Skolskjutsar" in pdf_text(second)
    assert names(log) == ["Budget.docx", "Skolskjuts.docx"]  # noted by the one-shot soffice's wrapper
    said = [r.getMessage() for r in caplog.records if "listener" in r.getMessage()]
    assert len(said) == 1, said
    assert "could not start" in said[0] and "no uno module" in said[0] and "one LibreOffice run per document" in said[0]
    assert listener(tmp_path) is None
    assert not list((tmp_path / "locks").glob("*.sock"))
