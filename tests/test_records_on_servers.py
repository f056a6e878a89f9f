"""The records week against real Dovecot and Postfix: members mail by SMTP, the
engine reads over IMAP and sends by SMTP, and what arrives is read back from
the IMAP inboxes of the members, the council, the union group and the
registrar. A case number on every item, a secret item, a public item with one
secret document among two, one conflict of interest: nothing secret reaches an
inbox outside the group (checked by SHA-256 and by text), members get it all,
the minutes show the jäv line, the export holds nothing secret."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest

from tests.agenda_helpers import tiny_pdf
from tests.helpers import CHAIR, ERIK, LENA, MARIA, MEMBERS, attachment, attachment_names, body, make_mail
from tests.minutes_helpers import docx_of, fill_form, pdf_text
from tests.minutes_helpers import DOCX
from tests.servers import imap_instance
from tests.test_week_on_servers import Inboxes, nothing_twice, submit, tick

pytestmark = [pytest.mark.servers, pytest.mark.libreoffice, pytest.mark.slow]

MEETING = "2026-12-01"
COUNCIL = "ksau@example.org"
UNION = "cesam@example.org"
REGISTRAR = "registrator@example.org"
SIGNED = "Minnesanteckningar KLG 2026-12-01.pdf"
PDF = "application/pdf"
PERSON = tiny_pdf("HEMLIG-PERSON-0042 omplacering")
TENDER = tiny_pdf("HEMLIG-ANBUD-4711 anbudsutvardering")
PUBLIC = tiny_pdf("Forfragningsunderlag skolskjuts")
SECRETS = {hashlib.sha256(PERSON).hexdigest(), hashlib.sha256(TENDER).hexdigest()}
WORDS = ("HEMLIG", "Omplacering", "omplacering", "Anbudsutvärdering", "Anbudsutvardering")


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def clean(label: str, msgs) -> None:
    """None of ``msgs`` (mail that left the group) carries a secret document or word."""
    for msg in msgs:
        texts = [subject(msg), body(msg)]
        for name in attachment_names(msg):
            data = attachment(msg, name)
            assert hashlib.sha256(data).hexdigest() not in SECRETS, (label, name)
            if name.endswith(".pdf"):
                texts.append(pdf_text(data))
        for text in texts:
            for word in WORDS:
                assert word not in text, (label, word, subject(msg))


def test_the_records_week_on_dovecot_and_postfix(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    inst.edit_config("addresses = []", f'addresses = ["{COUNCIL}"]')
    inst.edit_config("addresses = []", f'addresses = ["{UNION}"]')
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    with inst.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[records]\nregistrar = ["{REGISTRAR}"]\n')
    box = Inboxes(servers)

    submit(servers,
           (make_mail(MARIA, "Omplacering av en anställd", "Dnr: KS 2026/101\nSekretess: OSL 39 kap. 3 §\nTid: 15\n\n"
                      "HEMLIG-TEXT.", attachments=[("Utredning.pdf", PERSON, PDF)]), MARIA),
           (make_mail(ERIK, "Upphandling av skolskjuts", "Dnr: KS 2026/102\n"
                      "Sekretess: Anbudsutvärdering.pdf OSL 19 kap. 3 §\nTid: 20\nTyp: beslut",
                      attachments=[("Anbudsutvärdering.pdf", TENDER, PDF), ("Underlag.pdf", PUBLIC, PDF)]), ERIK),
           (make_mail(LENA, "Skolskjutsar", "Dnr: KS 2026/103\nTid: 20"), LENA))
    tick(inst, servers, "2026-11-27 09:00")
    assert subject(box.one(MARIA, "Mottaget")).startswith("[SEKRETESS OSL 39:3] [KLG-2026-001]")
    box.one(ERIK, "Mottaget")
    box.one(LENA, "Mottaget")
    # one copy per registered item, in the order of the Dnr: Postfix delivers them in any order
    copies = sorted(box.new(REGISTRAR, 3), key=lambda m: re.search(r"KS 2026/10\d", " ".join(body(m).split()))[0])
    assert [attachment_names(m) for m in copies] == [[], ["Underlag.pdf"], []]
    assert "Sekretessbelagt ärende (Dnr KS 2026/101, OSL 39 kap. 3 §)" in " ".join(body(copies[0]).split())
    assert "KS 2026/102" in body(copies[1]) and attachment(copies[1], "Underlag.pdf") == PUBLIC
    clean("registrar", copies)

    tick(inst, servers, "2026-11-30 10:05")
    box.new(CHAIR, 1)
    box.new("johan.ek@example.org", 1)
    tick(inst, servers, "2026-11-30 14:00")
    told = (CHAIR, "johan.ek@example.org")  # they are also told it went unapproved
    finals = {m: next(f for f in box.new(m, 2 if m in told else 1) if "Dagordning tisdag" in subject(f))
              for m in MEMBERS}
    final = finals[MARIA]
    assert subject(final).startswith("[Innehåller sekretess]")
    assert attachment(final, "Utredning.pdf") == PERSON and attachment(final, "Anbudsutvärdering.pdf") == TENDER

    submit(servers, (make_mail(LENA, f"SV: {subject(finals[LENA])}", "Jäv: KLG-2026-002", reply_to=finals[LENA]), LENA))
    tick(inst, servers, "2026-11-30 15:00")
    assert "Jäv i KLG-2026-002" in body(box.one(LENA, "Antecknat"))
    box.one(CHAIR, "Jäv anmält: Lena Åkesson")

    tick(inst, servers, "2026-12-01 12:00")
    form = box.one("ahmed.karimi@example.org", "Formulär för minnesanteckningar")
    filled = fill_form(docx_of(form), {
        "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter.",
                                            "Kommuniceras": "Ja"},
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "HEMLIG-BESLUT godkänt.", "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Beslut", "Anteckningar / beslut": "Tilldelas.", "Kommuniceras": "Ja"},
        "KLG-2026-003": {"Utfall": "Information", "Anteckningar / beslut": "Noterat.", "Kommuniceras": "Ja"},
    })
    submit(servers, (make_mail("ahmed.karimi@example.org", f"SV: {subject(form)}", "Här.", reply_to=form,
                               attachments=[("Minnesanteckningar.docx", filled, DOCX)]), "ahmed.karimi@example.org"))
    tick(inst, servers, "2026-12-01 15:00")
    box.one("ahmed.karimi@example.org", "mottagna")
    to_sign = box.one(CHAIR, "Justering av minnesanteckningar")
    submit(servers, (make_mail(CHAIR, f"SV: {subject(to_sign)}", "Justerat", reply_to=to_sign), CHAIR))
    tick(inst, servers, "2026-12-02 09:00")

    [signed] = [m for m in box.new(MARIA, 1)]
    full = " ".join(pdf_text(attachment(signed, SIGNED)).split())
    assert "Omplacering av en anställd" in full and "HEMLIG-BESLUT" in full
    assert "Lena Åkesson deltog inte i handläggningen på grund av jäv." in full
    council = box.one(COUNCIL, "Justerade minnesanteckningar")
    union = box.one(UNION, "Justerade minnesanteckningar")
    assert "Sekretessbelagt ärende (Dnr KS 2026/101, OSL 39 kap. 3 §)" in " ".join(
        pdf_text(attachment(council, SIGNED)).split())
    clean("minutes", [council, union])
    box.nothing_new(COUNCIL, UNION, REGISTRAR)
    nothing_twice(servers)

    out = tmp_path / "begaran.zip"
    result = inst.klg("records", "export", "--meeting", MEETING, "--out", str(out))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    assert "handlingar/KLG-2026-002/Underlag.pdf" in parts and "minnesanteckningar/2026-12-01.pdf" in parts
    for name, data in parts.items():
        assert hashlib.sha256(data).hexdigest() not in SECRETS, name
        text = pdf_text(data) if name.endswith(".pdf") else data.decode("utf-8", "replace")
        if not name.endswith(".docx"):
            for word in WORDS:
                assert word not in text, (name, word)
