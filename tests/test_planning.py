"""Which meeting a proposal lands on: deadlines, holidays, breaks, long documents."""

import io

from pypdf import PdfWriter

from tests.helpers import MARIA, at, body, make_mail


def pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def planned(inst, now):
    [item] = [i for m in inst.status(now)["meetings"] for i in m["items"]]
    meeting = next(m["date"] for m in inst.status(now)["meetings"] if m["items"])
    return meeting, item


def test_before_the_deadline_goes_to_tomorrows_meeting(inst):
    inst.drop(make_mail(MARIA, "I tid", "x"))
    inst.tick(at("2026-11-23 09:59"))
    assert planned(inst, at("2026-11-23 09:59"))[0] == "2026-11-24"
    assert "OBS" not in body(inst.sent()[0])


def test_after_the_deadline_goes_to_the_next_meeting_and_says_so(inst):
    inst.drop(make_mail(MARIA, "Sent", "x"))
    inst.tick(at("2026-11-23 10:01"))
    meeting, item = planned(inst, at("2026-11-23 10:01"))
    assert meeting == "2026-12-01" and item["late"]
    assert "efter sista dag" in body(inst.sent()[0])


def test_easter_moves_the_deadline_to_the_working_day_before(inst):
    # Meeting Tuesday 30 March 2027; Monday 29 is Easter Monday and Friday 26 Good Friday,
    # so proposals are due Thursday 25 March at 10:00.
    inst.drop(make_mail(MARIA, "Påskärende", "x"))
    inst.tick(at("2027-03-25 09:00"))
    assert planned(inst, at("2027-03-25 09:00"))[0] == "2027-03-30"
    inst.drop(make_mail(MARIA, "För sent före påsk", "x"))
    inst.tick(at("2027-03-26 09:00"))
    store = inst.store()
    try:
        late = store.one("SELECT meeting, late FROM items WHERE title = 'För sent före påsk'")
    finally:
        store.close()
    assert late == {"meeting": "2027-04-06", "late": 1}


def test_no_meeting_in_the_summer_break(inst):
    inst.drop(make_mail(MARIA, "Sommarfråga", "x"))
    inst.tick(at("2027-06-16 12:00"))  # after the deadline for 15 June; 22 June – 8 August is the break
    assert planned(inst, at("2027-06-16 12:00"))[0] == "2027-08-10"


def test_long_document_after_its_deadline_is_flagged(inst):
    # Meeting 1 December: long documents were due Tuesday 24 November 09:30.
    inst.drop(make_mail(MARIA, "Strategi", "x", attachments=[("strategi.pdf", pdf(40), "application/pdf")]))
    inst.drop(make_mail(MARIA, "Kort", "x", attachments=[("kort.pdf", pdf(2), "application/pdf")]))
    inst.tick(at("2026-11-25 08:00"))
    store = inst.store()
    try:
        rows = {r["title"]: r["long_document"] for r in store.all("SELECT title, long_document FROM items")}
        pages = store.one("SELECT pages FROM attachments WHERE name = 'strategi.pdf'")["pages"]
    finally:
        store.close()
    assert rows == {"Strategi": 1, "Kort": 0} and pages == 40
    assert "längre dokument" in body(inst.sent_to(MARIA)[0])


def test_long_document_in_good_time_is_not_flagged(inst):
    inst.drop(make_mail(MARIA, "Strategi", "x", attachments=[("strategi.pdf", pdf(40), "application/pdf")]))
    inst.tick(at("2026-11-24 08:00"))  # for 1 December, before the long-document deadline
    store = inst.store()
    try:
        assert store.one("SELECT meeting, long_document FROM items") == {"meeting": "2026-12-01", "long_document": 0}
    finally:
        store.close()


def test_a_moved_item_is_warned_about_for_the_meeting_it_is_on_now(inst):
    """The long-document warning belongs to the meeting: an item that was late for 1 December
    and moved to 15 December came in three weeks early for that one, and its draft says nothing."""
    inst.drop(make_mail(MARIA, "Strategi", "x", attachments=[("strategi.pdf", pdf(40), "application/pdf")]))
    inst.tick(at("2026-11-25 08:00"))  # late for 1 December's long documents (24 November 09:30)
    [ack] = inst.sent_to(MARIA)
    inst.drop(make_mail(MARIA, f"Re: {ack['Subject']}", "Möte: 2026-12-15", reply_to=ack, date=at("2026-11-25 08:30")))
    inst.tick(at("2026-11-25 08:30"))
    # a long document that is late for 15 December (due 8 December 09:30)
    inst.drop(make_mail(MARIA, "Sen strategi", "x", attachments=[("sen.pdf", pdf(40), "application/pdf")],
                        date=at("2026-12-10 09:00")))
    inst.tick(at("2026-12-10 09:00"))
    inst.tick(at("2026-12-14 10:05"))
    [draft] = [m for m in inst.sent() if "[KLG 2026-12-15] Utkast till dagordning" in str(m["Subject"])]
    text = body(draft).replace("\r\n", "\n")
    assert "Strategi" in text and "Sen strategi" in text
    warned = text.split("Långa handlingar som kom in senare än en vecka före mötet:")[1].split("\n\n")[0]
    assert "Sen strategi" in warned and "KLG-2026-001" not in warned, warned
