"""Documents are converted ahead: a member's attachment becomes its clean PDF
for the meeting book on the pass that takes in its mail, so Monday at 14:00
LibreOffice converts only the agenda itself. A changed document is converted
again; a conversion that hangs is killed and the others still go.

Wrappers of LibreOffice (its listener's and the one-shot soffice, see
tests/converter_helpers.py) note the name of every file it is asked to convert,
then convert it; a file whose name has ``Haenger`` in it hangs instead, as a
hostile document can make LibreOffice do.
"""

from __future__ import annotations

import io
import threading
import time

import pytest
from pypdf import PdfReader

from daemon import pdf as pdflib
from daemon.backends import open_mailbox, open_transport
from daemon.documents import MAX_RETRY, RETRY, retry_after
from daemon.engine import Engine
from daemon.store import Store
from tests.agenda_helpers import DOCX, docx_of, pdf_text, small_docx
from tests.converter_helpers import converting, names
from tests.helpers import (
    CHANCELLERY,
    LENA,
    MARIA,
    MEMBERS,
    at,
    attachment,
    attachment_names,
    make_mail,
    recipients,
)

pytestmark = pytest.mark.libreoffice

MEETING = "2026-12-01"


@pytest.fixture
def converted(tmp_path, monkeypatch):
    """The path of the log of every file LibreOffice was asked to convert (one name a line)."""
    yield from converting(tmp_path, monkeypatch)


def cache(inst) -> dict[str, dict]:
    """pdf_cache by key, as the store has it."""
    store = inst.store()
    try:
        return {r["source_sha256"]: r for r in store.all("SELECT * FROM pdf_cache")}
    finally:
        store.close()


def current_documents(inst) -> list[dict]:
    store = inst.store()
    try:
        return store.all("SELECT * FROM attachments WHERE owner = 'item' AND removed = 0 ORDER BY id")
    finally:
        store.close()


def approve_draft(inst) -> None:
    """The draft at Monday 10:05, and the chancellery's OK to it."""
    inst.tick(at("2026-11-30 10:05"))
    [draft] = [m for m in inst.sent() if "Utkast till dagordning" in str(m["Subject"])]
    inst.drop(make_mail(CHANCELLERY, f"SV: {draft['Subject']}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))


def test_a_document_is_converted_when_it_arrives_and_14_00_converts_only_the_agenda(inst, converted):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15",
                        attachments=[("Budget.docx", small_docx("Budget oktober i sammandrag"), DOCX)]))
    inst.drop(make_mail(LENA, "Skolskjutsar", "Tid: 20",
                        attachments=[("Skolskjuts.docx", small_docx("Utredning om skolskjutsar"), DOCX)]))
    inst.tick(at("2026-11-27 09:00"))
    # Friday's pass took in both mails and converted both documents: their clean PDFs are in the cache
    assert sorted(names(converted)) == ["Budget.docx", "Skolskjuts.docx"]
    made = cache(inst)
    for doc in current_documents(inst):
        assert made[doc["sha256"]]["pdf_sha256"] and not made[doc["sha256"]]["error"], doc["name"]
    acknowledged = [m for m in inst.sent() if MARIA in recipients(m)]
    assert acknowledged  # the acknowledgement went out on the same pass

    approve_draft(inst)
    before = len(names(converted))
    assert inst.tick(at("2026-11-30 14:00"))["steps"] == [f"final:{MEETING}"]
    # 14:00: LibreOffice was asked for the agenda and nothing else
    assert names(converted)[before:] == [f"Dagordning KLG {MEETING}.docx"]
    [final] = [m for m in inst.sent() if "Dagordning tisdag 1 december 2026" in str(m["Subject"])]
    assert recipients(final) == sorted(MEMBERS)
    assert attachment_names(final)[:2] == [f"Dagordning KLG {MEETING}.docx", f"Dagordning KLG {MEETING}.pdf"]
    assert "Budget.docx" in attachment_names(final) and "Skolskjuts.docx" in attachment_names(final)
    book = next((inst.root / "data" / "agendas" / MEETING).glob("Mötesbok*.pdf"))
    text = pdf_text(book.read_bytes())
    assert "Budget oktober i sammandrag" in text and "Utredning om skolskjutsar" in text


def test_a_changed_document_is_converted_again(inst, converted):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15",
                        attachments=[("Budget.docx", small_docx("Första versionen"), DOCX)]))
    inst.tick(at("2026-11-27 09:00"))
    [ack] = [m for m in inst.sent() if MARIA in recipients(m)]
    first = {d["sha256"] for d in current_documents(inst)}
    inst.drop(make_mail(MARIA, f"SV: {ack['Subject']}", "Ny version av bilagan.", reply_to=ack,
                        attachments=[("Budget.docx", small_docx("Andra versionen, rättad"), DOCX)]))
    inst.tick(at("2026-11-27 10:00"))
    assert names(converted) == ["Budget.docx", "Budget (2).docx"]  # once each version, as it came
    made = cache(inst)
    [second] = {d["sha256"] for d in current_documents(inst)} - first
    assert made[second]["pdf_sha256"]
    assert "Andra versionen, rättad" in pdf_text(inst.store().files.get(made[second]["pdf_sha256"]))
    inst.tick(at("2026-11-27 11:00"))
    assert len(names(converted)) == 2  # a pass with nothing new converts nothing


HUNG_TIMEOUT = 2.0  # seconds; the wrapper sleeps an hour, so any timeout is a kill


def test_a_hung_conversion_is_killed_and_the_others_still_go(inst, converted, monkeypatch):
    # The hung file gets a short timeout, the others the default: the hung one is tried on four
    # passes (and for the book), so each second here is four in the run, while a cold LibreOffice
    # on a busy machine may need many seconds for a real document.
    real_to_pdf = pdflib.to_pdf

    def to_pdf(data, filename, **kwargs):
        if "Haenger" in filename:
            kwargs.setdefault("timeout", HUNG_TIMEOUT)
        return real_to_pdf(data, filename, **kwargs)

    monkeypatch.setattr(pdflib, "to_pdf", to_pdf)
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15",
                        attachments=[("Haenger.docx", small_docx("Hänger"), DOCX),
                                     ("Budget.docx", small_docx("Budget oktober i sammandrag"), DOCX)]))
    inst.drop(make_mail(LENA, "Skolskjutsar", "Tid: 20",
                        attachments=[("Skolskjuts.docx", small_docx("Utredning om skolskjutsar"), DOCX)]))
    inst.tick(at("2026-11-27 09:00"))
    assert names(converted) == ["Haenger.docx", "Budget.docx", "Skolskjuts.docx"]
    made = cache(inst)
    docs = {d["name"]: d["sha256"] for d in current_documents(inst)}
    assert made[docs["Budget.docx"]]["pdf_sha256"] and made[docs["Skolskjuts.docx"]]["pdf_sha256"]
    assert docs["Haenger.docx"] not in made  # killed: a failure of the moment, tried again later, not kept
    store = inst.store()
    [waiting] = store.all("SELECT * FROM conversion_attempts")
    store.close()
    assert (waiting["key"], waiting["attempts"]) == (docs["Haenger.docx"], 1)
    assert "did not finish converting Haenger.docx" in waiting["error"]
    assert waiting["retry_at"] == "2026-11-27T08:05:00+00:00"  # five minutes on, not on every pass

    approve_draft(inst)
    inst.tick(at("2026-11-30 14:00"))
    [final] = [m for m in inst.sent() if "Dagordning tisdag 1 december 2026" in str(m["Subject"])]
    assert recipients(final) == sorted(MEMBERS)
    # the agenda's PDF is there; the hung document was tried once more and left out of the book, not the mail
    assert f"Dagordning KLG {MEETING}.pdf" in attachment_names(final)
    assert PdfReader(io.BytesIO(attachment(final, f"Dagordning KLG {MEETING}.pdf"))).pages
    assert "Haenger.docx" in attachment_names(final)
    assert docx_of(final)


def test_conversions_share_the_machines_slots(tmp_path, monkeypatch):
    """At most KLG_CONVERTERS conversions run at once across every instance: a
    conversion waits for a slot, and gives up (tried again later) when none comes free."""
    monkeypatch.setenv("KLG_CONVERTER_LOCKS", str(tmp_path / "locks"))
    monkeypatch.setenv("KLG_CONVERTERS", "2")
    with pdflib.slot(wait=1) as first, pdflib.slot(wait=1) as second:
        assert {first, second} == {0, 1}
        started = time.monotonic()
        with pytest.raises(pdflib.ConversionError, match="all 2 conversion slots of this machine stayed busy"):
            with pdflib.slot(wait=0.5):
                pass
        assert time.monotonic() - started >= 0.5
        # the conversion itself waits the same way, and says so as a failure of the moment
        with pytest.raises(pdflib.ConversionError, match="did not finish"):
            pdflib.to_pdf(small_docx("x"), "x.docx", timeout=0.3)
    with pdflib.slot(wait=0) as again:  # a slot is free again once its holder is done
        assert again == 0
    monkeypatch.setenv("KLG_CONVERTERS", "many")
    with pytest.raises(pdflib.ConversionError, match="KLG_CONVERTERS must be a whole number"):
        pdflib.slots()


def test_the_running_daemon_converts_between_mails_and_yields_to_the_inbox(inst, converted):
    """`klg run`: the acknowledgement goes first, the conversion follows in the same wake-up;
    a pass whose budget is spent leaves the rest for the next, after a look at the inbox."""
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15",
                        attachments=[("Budget.docx", small_docx("Budget oktober i sammandrag"), DOCX)]))
    config = inst.config
    engines: list[Engine] = []

    def daemon(first_only: bool) -> None:
        store = Store(config.data_dir)
        mailbox, transport = open_mailbox(config), open_transport(config)
        engine = Engine(config, store, mailbox, transport)
        engines.append(engine)
        try:
            if first_only:
                assert engine.ingest(at("2026-11-27 09:00")) == 1
                assert engine.prepare(at("2026-11-27 09:00"), budget=0) is True  # spent: the document waits
            else:
                engine.run(clock=lambda: at("2026-11-27 09:01"))
        finally:
            mailbox.close()
            transport.close()
            store.close()

    daemon(first_only=True)
    assert names(converted) == []
    thread = threading.Thread(target=daemon, args=(False,))
    thread.start()
    store = inst.store()
    try:
        deadline = time.monotonic() + 120
        while not store.one("SELECT * FROM pdf_cache") and time.monotonic() < deadline:
            time.sleep(0.2)
        engines[-1].stop.set()
        thread.join(timeout=60)
        [row] = store.all("SELECT * FROM pdf_cache")
    finally:
        store.close()
    assert row["pdf_sha256"] and names(converted) == ["Budget.docx"]
    assert [m for m in inst.sent() if MARIA in recipients(m)]  # the acknowledgement went out


def test_the_back_off_doubles_to_six_hours_and_stays_there():
    """A document whose conversion fails for the moment for weeks (LibreOffice missing, say)
    waits 5 minutes, then twice as long each time, never more than 6 hours, and never overflows."""
    assert [retry_after(n) for n in (1, 2, 3)] == [RETRY, 2 * RETRY, 4 * RETRY]
    assert retry_after(8) == MAX_RETRY and retry_after(5000) == MAX_RETRY
