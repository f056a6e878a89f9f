"""The records' smaller rules, without LibreOffice: an English group end to end
(fields, subject marks, the registrar's copy, a conflict of interest), the
registrar's daily digest and documents added later, and a chair's "OK" with a
marking in the same reply (both happen)."""

from __future__ import annotations

from daemon import items
from daemon.context import Ctx
from daemon.records import disclosure, secrecy
from daemon.records import settings as records_settings
from tests.agenda_helpers import DOCX, Agenda, docx_of, tiny_pdf
from tests.helpers import CHAIR, CHANCELLERY, ERIK, LENA, MARIA, REPO, at, attachment_names, body, make_mail, recipients

REGISTRAR = "registrator@example.org"
PDF = "application/pdf"


def flat(text: str) -> str:
    return " ".join(text.split())


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def with_registrar(inst, mode: str = "each") -> None:
    with inst.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[records]\nregistrar = ["{REGISTRAR}"]\nregistrar_mode = "{mode}"\n'
                 'registrar_digest_time = "16:00"\n')


def test_an_english_group(inst):
    inst.edit_config('language = "sv"', 'language = "en"')
    with_registrar(inst)
    secret = tiny_pdf("HEMLIG staff matter")
    inst.drop(make_mail(MARIA, "Staff matter", "Case: KS 2026/5\nSecrecy: OSL 39 kap. 3 §\nSecrecy reason: personal\n\n"
                        "Text.", attachments=[("Report.pdf", secret, PDF)], date=at("2026-12-02 08:00")))
    inst.drop(make_mail(ERIK, "Premises", "Case: premises-9\n\nText.", date=at("2026-12-02 08:01")))
    inst.tick(at("2026-12-02 08:05"))
    [ack] = inst.sent_to(MARIA)
    assert subject(ack) == "[SECRET OSL 39:3] [KLG-2026-001] Received: Staff matter"
    assert "Case number:   KS 2026/5" in body(ack) and "Secrecy:       OSL 39 kap. 3 §" in body(ack)
    [erik] = inst.sent_to(ERIK)
    assert "The case number ”premises-9” does not have the expected shape (for example KS 2026/123)" in flat(body(erik))
    copies = inst.sent_to(REGISTRAR)
    assert [subject(m) for m in copies] == ["[KLG-2026-001] For registration: Secret item (Case KS 2026/5, OSL 39 kap. 3 §)",
                                           "[KLG-2026-002] For registration: Premises"]
    assert attachment_names(copies[0]) == [] and "HEMLIG" not in body(copies[0])
    assert "Withheld:      Document 1 (Secret under OSL 39 kap. 3 §" in body(copies[0])

    inst.drop(make_mail(LENA, "Conflict", "Conflict of interest: KLG-2026-002", date=at("2026-12-02 09:00")))
    inst.tick(at("2026-12-02 09:05"))
    [answer] = inst.sent_to(LENA)
    assert subject(answer) == "[KLG-2026-002] Recorded: secrecy and conflicts of interest"
    assert "Your conflict of interest in KLG-2026-002 ”Premises” is recorded." in flat(body(answer))
    assert [subject(m) for m in inst.sent_to(CHAIR)] == ["[KLG-2026-002] Conflict of interest: Lena Åkesson"]


def test_the_registrars_digest_and_documents_added_later(inst):
    with_registrar(inst, "digest")
    inst.drop(make_mail(MARIA, "Budget", "Dnr: KS 2026/10\n\nText.", date=at("2026-12-02 08:00")))
    inst.drop(make_mail(ERIK, "Lokaler", "Dnr: KS 2026/11\n\nText.", date=at("2026-12-02 08:01")))
    inst.tick(at("2026-12-02 08:05"))
    [ack] = inst.sent_to(MARIA)
    inst.drop(make_mail(MARIA, f"Re: {ack['Subject']}", "Bilaga.", reply_to=ack, date=at("2026-12-02 10:00"),
                        attachments=[("Budget.pdf", tiny_pdf("Budget"), PDF)]))
    inst.tick(at("2026-12-02 10:05"))
    assert inst.sent_to(REGISTRAR) == []
    inst.tick(at("2026-12-02 15:59"))
    assert inst.sent_to(REGISTRAR) == []
    result = inst.tick(at("2026-12-02 16:00"))
    assert "registrar-digest:2026-12-02" in result["steps"]
    [digest] = inst.sent_to(REGISTRAR)
    assert subject(digest) == "För registrering: 3 poster"
    assert attachment_names(digest) == ["Budget.pdf"]
    text = body(digest)
    assert "KLG-2026-001 (nya handlingar)" in text and "Dnr:           KS 2026/11" in text
    assert "Inkommet:      2026-12-02 10:05" in text  # when the daemon took it in
    inst.tick(at("2026-12-03 16:00"))
    assert len(inst.sent_to(REGISTRAR)) == 1  # nothing new: no empty digest
    inst.drop(make_mail(ERIK, "Parkering", "Text.", date=at("2026-12-04 09:00")))
    inst.tick(at("2026-12-04 09:05"))
    inst.tick(at("2026-12-04 16:00"))
    assert subject(inst.sent_to(REGISTRAR)[-1]) == "[KLG-2026-003] För registrering: Parkering"  # one: named


def test_the_chairs_ok_with_a_marking_approves_and_marks(inst):
    inst.drop(make_mail(MARIA, "Personalfråga", "Text.", date=at("2026-11-27 08:00")))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent_to(CHAIR) if "Utkast" in subject(m)][-1]
    inst.drop(make_mail(CHAIR, f"Re: {subject(draft)}", "OK\nSekretess: KLG-2026-001 OSL 39 kap. 3 §\n\nKarin",
                        reply_to=draft, date=at("2026-11-30 11:00")))
    inst.tick(at("2026-11-30 11:00"))
    fresh = [subject(m) for m in inst.sent_to(CHAIR) if "Utkast" not in subject(m)]
    assert any("Antecknat: sekretess och jäv" in s for s in fresh), fresh
    assert any("godkänd" in s for s in fresh), fresh
    assert inst.status(at("2026-11-30 11:00"))["meetings"][0]["items"][0]["secrecy"][0]["set_by"] == CHAIR
    assert recipients(inst.sent_to(CHANCELLERY)[-1])


def test_the_chancellery_sets_a_case_number_and_a_marking_in_the_word_table(inst):
    inst.drop(make_mail(MARIA, "Personalfråga", "Text.", date=at("2026-11-27 08:00")))
    inst.drop(make_mail(ERIK, "Budget", "Dnr: KS 2026/1\n\nText.", date=at("2026-11-27 08:01")))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent_to(CHANCELLERY) if "Utkast" in subject(m)][-1]
    agenda = Agenda(docx_of(draft))
    assert [r[2] for r in agenda.rows() if r[1] == "KLG-2026-002"] == ["Budget | Dnr KS 2026/1"]
    for row in agenda.table.rows:
        if row.cells[1].text == "KLG-2026-001":
            row.cells[2].add_paragraph("Dnr KS 2026/99 · Sekretess: OSL 39 kap. 3 §")
    inst.drop(make_mail(CHANCELLERY, f"Re: {subject(draft)}", "Ändrat.", reply_to=draft, date=at("2026-11-30 11:00"),
                        attachments=[("Dagordning.docx", agenda.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 11:00"))
    [version] = [m for m in inst.sent_to(CHANCELLERY) if "Dagordning version 2" in subject(m)]
    assert subject(version).startswith("[Innehåller sekretess]")
    text = flat(body(version))
    assert "Dnr – → KS 2026/99: KLG-2026-001 Personalfråga" in text
    assert "Sekretessmarkerad (OSL 39 kap. 3 §): KLG-2026-001 Personalfråga" in text
    [item] = [i for i in inst.status(at("2026-11-30 11:00"))["meetings"][0]["items"] if i["id"] == "KLG-2026-001"]
    assert item["case_number"] == "KS 2026/99" and item["secrecy"][0]["set_by"] == CHANCELLERY
    rows = Agenda(docx_of(version)).rows()
    assert [r[2] for r in rows if r[1] == "KLG-2026-001"] == ["Personalfråga | Dnr KS 2026/99 · Sekretess: OSL 39 kap. 3 §"]


def test_outside_minutes_mask_a_secret_item_and_its_follow_up_from_an_earlier_meeting(inst):
    inst.drop(make_mail(MARIA, "Personalfråga", "Dnr: KS 2026/7\nSekretess: OSL 39 kap. 3 §\n\nText.",
                        date=at("2026-11-27 08:00")))
    inst.drop(make_mail(ERIK, "Budget", "Text.", date=at("2026-11-27 08:01")))
    inst.tick(at("2026-11-27 09:00"))
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-12-08 12:00"))
        with store.atomic():
            secret_followup = store.db["followups"].insert({
                "meeting": "2026-12-01", "item_id": "KLG-2026-001", "title": "Personalfråga", "responsible": "Erik",
                "next_step": "Tala med den anställde", "state": "open", "created_at": "2026-12-01T12:00:00+00:00"}).last_pk
        content = {"rows": [
            {"no": 1, "id": "KLG-2026-001", "type": "item", "title": "Personalfråga", "presenter": "Maria Holm",
             "notes": "Beslut om omplacering.", "responsible": "Erik", "next_step": "Tala med", "communicate": True},
            {"no": 2, "id": "KLG-2026-002", "type": "item", "title": "Budget", "presenter": "Erik Sandberg",
             "notes": "Godkänd.", "responsible": "", "next_step": "", "communicate": True}],
            "followups": [{"id": secret_followup, "title": "Personalfråga", "next_step": "Tala med den anställde"}]}
        kept, masked = disclosure.minutes_content(ctx, content)
    finally:
        store.close()
    assert masked == 1 and kept["followups"] == []
    assert kept["rows"][0]["title"] == "Sekretessbelagt ärende (Dnr KS 2026/7, OSL 39 kap. 3 §)"
    assert (kept["rows"][0]["notes"], kept["rows"][0]["presenter"], kept["rows"][0]["next_step"]) == ("", "", "")
    assert kept["rows"][1] == content["rows"][1]


def test_every_records_key_is_in_the_readme_config_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| `[records]` |")]
    assert [key for key in records_settings.KEYS if f"`{key}`" not in row] == []


def test_a_document_marking_is_lifted_alone_and_an_agenda_notice_is_marked(inst):
    inst.drop(make_mail(MARIA, "Upphandling", "Sekretess: Anbud.pdf OSL 19 kap. 3 §\n\nText.", date=at("2026-11-27 08:00"),
                        attachments=[("Anbud.pdf", tiny_pdf("Anbud"), PDF), ("Underlag.pdf", tiny_pdf("U"), PDF)]))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    [ack] = inst.sent_to(MARIA)
    assert subject(ack).startswith("[Innehåller sekretess] [KLG-2026-001]")
    inst.drop(make_mail(MARIA, f"Re: {ack['Subject']}", "Ny bilaga.", reply_to=ack, date=at("2026-11-30 10:30"),
                        attachments=[("Tillägg.pdf", tiny_pdf("T"), PDF)]))
    inst.tick(at("2026-11-30 10:30"))
    [notice] = [m for m in inst.sent_to(CHAIR) if "ändrat" in subject(m).lower() or "ändrade" in subject(m).lower()]
    assert subject(notice).startswith("[Innehåller sekretess]"), subject(notice)
    inst.drop(make_mail(CHANCELLERY, "Häv", "Häv sekretess: KLG-2026-001 Underlag.pdf", date=at("2026-11-30 11:00")))
    inst.drop(make_mail(CHANCELLERY, "Häv", "Häv sekretess: KLG-2026-001 Anbud.pdf", date=at("2026-11-30 11:01")))
    inst.tick(at("2026-11-30 11:05"))
    answers = [m for m in inst.sent_to(CHANCELLERY) if "sekretess och jäv" in subject(m)]
    assert "Sekretessen för KLG-2026-001 är hävd (0 markering(ar))" not in body(answers[0])
    assert "KLG-2026-001 hade ingen sekretessmarkering." in flat(body(answers[0]))
    assert "Sekretessen för KLG-2026-001 är hävd (1 markering(ar))." in flat(body(answers[1]))
    assert inst.status(at("2026-11-30 11:05"))["meetings"][0]["items"][0]["secrecy"] == []


def test_the_subject_mark_puts_the_whole_items_marking_before_its_documents(inst):
    """A document marked first and the whole item after: a mail about the item names the
    item's provision; with only a document in force it says the item holds secret documents."""
    store = inst.store()
    try:
        ctx = Ctx(inst.config, store, at("2026-11-20 09:00"))
        with store.db.atomic():
            item = items.create(ctx, title="Ärende", presenter=MARIA, proposer=MARIA, meeting="2026-11-23",
                                origin="proposal", source="test", announce_it=False)
            assert secrecy.subject_mark(ctx, item, None) is None
            secrecy.mark(ctx, item, "OSL 21 kap. 7 §", by=CHAIR, document="Underlag.pdf")
            assert secrecy.subject_mark(ctx, item, None) == "[Innehåller sekretess]"
            secrecy.mark(ctx, item, "OSL 39 kap. 3 §", by=CHAIR)
            assert secrecy.subject_mark(ctx, item, None) == "[SEKRETESS OSL 39:3]"
            secrecy.lift(ctx, item, by=CHAIR, document="Underlag.pdf")
            assert secrecy.subject_mark(ctx, item, None) == "[SEKRETESS OSL 39:3]"
            secrecy.lift(ctx, item, by=CHAIR)
            assert secrecy.subject_mark(ctx, item, None) is None
    finally:
        store.close()
