"""A written procedure on a secret item: the member with a conflict of interest
(jäv, declared in a new mail) is not asked, every mail about it carries the
marking in its subject, and the compilation is marked and names who did not
take part. Also the smaller rules of the records: who may mark and lift, a
marking without a provision, the case number in a reply, the [records] keys."""

from __future__ import annotations

import io

from docx import Document

from tests.helpers import (CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, at, attachment, attachment_names, body,
                           make_mail, recipients)

ITEM = "KLG-2026-001"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def flat(text: str) -> str:
    return " ".join(text.split())


def paragraphs(docx: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(docx)).paragraphs if p.text]


def test_written_procedure_on_a_secret_item_leaves_out_the_member_with_a_conflict(inst):
    inst.drop(make_mail(MARIA, "Löneöversyn för en enhet", "Dnr: KS 2026/200\nSekretess: OSL 39 kap. 3 §\nTyp: beslut\n\n"
                        "Underlag om enskilda anställdas löner.", attachments=[("Löner.pdf", PDF, "application/pdf")],
                        date=at("2026-12-02 08:00")))
    inst.tick(at("2026-12-02 08:00"))
    inst.drop(make_mail(LENA, "Jäv", f"Jäv: {ITEM}", date=at("2026-12-02 08:30")))
    inst.tick(at("2026-12-02 08:30"))
    answer = [m for m in inst.sent_to(LENA) if "Antecknat" in m["Subject"]]
    assert len(answer) == 1 and f"Jäv i {ITEM}" in body(answer[0])
    assert [m for m in inst.sent_to(CHAIR) if "Jäv anmält: Lena Åkesson" in m["Subject"]]

    inst.drop(make_mail(CHAIR, "Skriftligt förfarande", f"Skriftligt förfarande: {ITEM}", date=at("2026-12-02 09:00")))
    inst.tick(at("2026-12-02 09:00"))
    asked = [m for m in inst.sent() if "Skriftligt förfarande: Löneöversyn" in str(m["Subject"])]
    assert sorted(recipients(m)[0] for m in asked) == sorted(m for m in MEMBERS if m not in (MARIA, LENA))
    assert all(str(m["Subject"]).startswith("[SEKRETESS OSL 39:3]") for m in asked)
    assert all("Löner.pdf" in attachment_names(m) for m in asked)  # members get the documents

    erik = next(m for m in asked if recipients(m) == [ERIK])
    inst.drop(make_mail(ERIK, f"Re: {erik['Subject']}", "Tillstyrker", reply_to=erik, date=at("2026-12-03 10:00")))
    inst.tick(at("2026-12-03 10:00"))
    inst.tick(at("2026-12-09 16:00"))
    inst.tick(at("2026-12-10 16:00"))
    compiled = [m for m in inst.sent_to(MARIA) if "Sammanställning" in str(m["Subject"])]
    assert compiled, [str(m["Subject"]) for m in inst.sent_to(MARIA)]
    assert str(compiled[0]["Subject"]).startswith("[SEKRETESS OSL 39:3]")
    text = paragraphs(attachment(compiled[0], f"Sammanställning synpunkter {ITEM}.docx"))
    assert any(p.startswith("SEKRETESS – Sekretess enligt OSL 39 kap. 3 §") and "2026-12-02" in p for p in text)
    assert "Lena Åkesson deltog inte i handläggningen på grund av jäv." in text
    info = Document(io.BytesIO(attachment(compiled[0], f"Sammanställning synpunkter {ITEM}.docx"))).tables[0]
    assert ["Diarienummer", "KS 2026/200"] in [[c.text for c in row.cells] for row in info.rows]
    assert not [m for m in inst.sent_to(LENA) if "Påminnelse" in str(m["Subject"])]


def test_who_may_mark_and_lift_and_what_an_unclear_line_gets(inst):
    inst.drop(make_mail(MARIA, "Upphandling", "Dnr: KS 2026/300\n\nText.", date=at("2026-12-02 08:00")))
    inst.tick(at("2026-12-02 08:00"))
    # Erik is not the proposer, nor chair or chancellery: nothing changes.
    inst.drop(make_mail(ERIK, "Sekretess", f"Sekretess: {ITEM} OSL 19 kap. 3 §", date=at("2026-12-02 09:00")))
    # The chancellery writes no provision: told how to write it.
    inst.drop(make_mail(CHANCELLERY, "Sekretess", f"Sekretess: {ITEM} hemligt", date=at("2026-12-02 09:01")))
    inst.tick(at("2026-12-02 09:05"))
    [erik] = [m for m in inst.sent_to(ERIK) if "sekretess" in str(m["Subject"])]
    assert "Inget antecknades" in str(erik["Subject"])
    assert "Bara förslagsställaren, ordföranden och kansliet kan sekretessmarkera" in flat(body(erik))
    [johan] = [m for m in inst.sent_to(CHANCELLERY) if "sekretess" in str(m["Subject"])]
    assert "nämner ingen bestämmelse" in flat(body(johan))
    assert inst.status(at("2026-12-02 09:05"))["meetings"][0]["items"][0]["secrecy"] == []

    # The chair marks it; Erik cannot lift it; the chancellery can.
    inst.drop(make_mail(CHAIR, "Sekretess", f"Sekretess: {ITEM} OSL 19 kap. 3 § affärsförhållanden",
                        date=at("2026-12-02 10:00")))
    inst.tick(at("2026-12-02 10:00"))
    [item] = inst.status(at("2026-12-02 10:00"))["meetings"][0]["items"]
    assert item["case_number"] == "KS 2026/300"
    assert item["secrecy"] == [{"provision": "OSL 19 kap. 3 §", "document": None, "marked_on": "2026-12-02",
                                "set_by": CHAIR}]
    inst.drop(make_mail(ERIK, "Häv", f"Häv sekretess: {ITEM}", date=at("2026-12-02 11:00")))
    inst.drop(make_mail(CHANCELLERY, "Häv", f"Häv sekretess: {ITEM}", date=at("2026-12-02 11:01")))
    inst.tick(at("2026-12-02 11:05"))
    assert inst.status(at("2026-12-02 11:05"))["meetings"][0]["items"][0]["secrecy"] == []
    store = inst.store()
    try:
        log = [(e["actor"], e["what"]) for e in store.all("SELECT * FROM events WHERE what LIKE 'secrecy:%' ORDER BY id")]
    finally:
        store.close()
    assert log == [(CHAIR, "secrecy: item marked secret (OSL 19 kap. 3 §)"),
                   (CHANCELLERY, "secrecy: item marking lifted (OSL 19 kap. 3 §)")]


def test_a_reply_changes_the_case_number_and_a_bad_pattern_is_refused(inst, capsys):
    inst.drop(make_mail(MARIA, "Budget", "Text.", date=at("2026-12-02 08:00")))
    inst.tick(at("2026-12-02 08:00"))
    [ack] = inst.sent_to(MARIA)
    inst.drop(make_mail(MARIA, f"Re: {ack['Subject']}", "Dnr: KS 2026/77", reply_to=ack, date=at("2026-12-02 09:00")))
    inst.tick(at("2026-12-02 09:00"))
    [amended] = [m for m in inst.sent_to(MARIA) if "Ändrat" in str(m["Subject"])]
    assert "Dnr:           KS 2026/77" in body(amended)
    assert inst.status(at("2026-12-02 09:00"))["meetings"][0]["items"][0]["case_number"] == "KS 2026/77"

    text = inst.config_path.read_text(encoding="utf-8")
    inst.config_path.write_text(text + '\n[records]\ncase_number_pattern = "KS ("\nregistrar_mode = "weekly"\n',
                                encoding="utf-8")
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert "records.case_number_pattern" in result.stderr and "is not a regular expression" in result.stderr
    assert "records.registrar_mode" in result.stderr and '"each"' in result.stderr
