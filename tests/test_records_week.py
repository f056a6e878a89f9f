"""Public records on the embedded default (Maildir), with a given clock: a week with
a case number on every item, a secret item (its own document secret with it), a
public item with one secret document among two (marked by the chancellery in a
reply to the draft), one conflict of interest (jäv), the signed minutes to every
audience, the registrar's copies and the records export. Nothing secret leaves
the group, checked by the documents' SHA-256 and by their text; members get
everything; the audit log says who marked what when."""

from __future__ import annotations

import hashlib
import io
import zipfile

import docx
import pytest

from tests.agenda_helpers import Agenda, tiny_pdf
from tests.helpers import (CHAIR, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, SOFIA, at, attachment, attachment_names,
                           body, make_mail, recipients)
from tests.minutes_helpers import DOCX, docx_of, fill_form, pdf_text

pytestmark = pytest.mark.libreoffice

MEETING = "2026-12-01"
SIGNED = "Minnesanteckningar KLG 2026-12-01.pdf"
REGISTRAR = "registrator@example.org"
OUTSIDE = ("ksau@example.org", "cesam@example.org", REGISTRAR)

PERSON = tiny_pdf("HEMLIG-PERSON-0042 omplacering av en anstalld")       # secret with its item
TENDER = tiny_pdf("HEMLIG-ANBUD-4711 anbudsutvardering")                 # the secret one of two
PUBLIC = tiny_pdf("Forfragningsunderlag skolskjuts, offentligt")          # the public one of two
SECRETS = {hashlib.sha256(PERSON).hexdigest(), hashlib.sha256(TENDER).hexdigest()}
SECRET_TEXT = ("HEMLIG", "Omplacering", "omplacering", "Anbudsutvärdering", "Anbudsutvardering")


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def only(messages, text: str, to: str | None = None):
    found = [m for m in messages if text in subject(m) and (to is None or recipients(m) == [to])]
    assert len(found) == 1, [(subject(m), recipients(m)) for m in messages]
    return found[0]


def flat(text: str) -> str:
    return " ".join(text.split())


def configure(inst, tmp_path) -> None:
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    text = head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + f'''
[records]
registrar = ["{REGISTRAR}"]

[minutes]

[[minutes.audiences]]
name = "members"

[[minutes.audiences]]
name = "council"
addresses = ["ksau@example.org"]

[[minutes.audiences]]
name = "union"
addresses = ["cesam@example.org"]

[[minutes.audiences]]
name = "intranet"
folder = "{tmp_path / 'intranat'}"
'''
    inst.config_path.write_text(text, encoding="utf-8")


def assert_nothing_secret(label: str, parts: list[tuple[str, bytes]], texts: list[str]) -> None:
    """No secret document's bytes (by hash) and none of the secret words, in what left the group."""
    for name, data in parts:
        assert hashlib.sha256(data).hexdigest() not in SECRETS, f"{label}: {name} is a secret document"
        for secret in (b"HEMLIG-PERSON", b"HEMLIG-ANBUD"):
            assert secret not in data, f"{label}: {name} carries {secret!r}"
        if name.endswith(".pdf"):
            texts.append(pdf_text(data))
    for text in texts:
        for word in SECRET_TEXT:
            assert word not in text, f"{label}: {word!r} in {text[:400]!r}"


def docx_text(data: bytes) -> str:
    return " ".join(t.text for t in docx.Document(io.BytesIO(data)).element.iter() if t.tag.endswith("}t") and t.text)


def mail_parts(msg) -> list[tuple[str, bytes]]:
    return [(n, attachment(msg, n)) for n in attachment_names(msg)]


def test_a_week_with_secrecy_case_numbers_and_a_conflict_of_interest(inst, tmp_path):
    configure(inst, tmp_path)

    # Friday: four proposals, each with a case number; Maria's is secret as a whole (proposer's marking).
    inst.drop(make_mail(MARIA, "Omplacering av en anställd", "Dnr: KS 2026/101\nSekretess: OSL 39 kap. 3 §\n"
                        "Sekretesskäl: uppgifter om en enskilds personliga förhållanden\nTid: 15\n\n"
                        "HEMLIG-TEXT om omplaceringen.",
                        attachments=[("Utredning omplacering.pdf", PERSON, "application/pdf")]))
    inst.drop(make_mail(ERIK, "Upphandling av skolskjuts", "Dnr: KS2026/0102\nSekretess: Anbudsutvärdering.pdf OSL 19 kap. 3 §\n"
                        "Tid: 20\nTyp: beslut\n\nUpphandlingen.",
                        attachments=[("Anbudsutvärdering.pdf", TENDER, "application/pdf"),
                                     ("Förfrågningsunderlag.pdf", PUBLIC, "application/pdf")]))
    inst.drop(make_mail(LENA, "Skolskjutsar", "Diarienummer: 2026/103\nTid: 20\nTyp: information"))
    inst.drop(make_mail(SOFIA, "Lokalfrågan", "Case: lokaler 17\nTid: 10"))
    inst.tick(at("2026-11-27 09:00"))
    sent = inst.sent()

    ack = only(sent, "Mottaget: Omplacering", MARIA)
    assert subject(ack).startswith("[SEKRETESS OSL 39:3] [KLG-2026-001]")
    assert "Dnr:           KS 2026/101" in body(ack) and "Sekretess:     OSL 39 kap. 3 §" in body(ack)
    assert "Okänt fält" not in body(ack)
    sofia = only(sent, "Mottaget: Lokalfrågan", SOFIA)
    assert "Diarienumret ”lokaler 17” har inte den form vi väntade oss (till exempel KS 2026/123)" in flat(body(sofia))
    assert "Dnr:           lokaler 17" in body(sofia)

    # The registrar gets one copy per proposal, secret parts withheld and listed.
    to_registrar = [m for m in sent if recipients(m) == [REGISTRAR]]
    assert len(to_registrar) == 4
    erik_copy = only(to_registrar, "KLG-2026-002")
    assert attachment_names(erik_copy) == ["Förfrågningsunderlag.pdf"]
    assert "KS2026/0102" in body(erik_copy) and "Handling 1 (Sekretess enligt OSL 19 kap. 3 §" in flat(body(erik_copy))
    maria_copy = only(to_registrar, "KLG-2026-001")
    assert attachment_names(maria_copy) == []
    assert "Sekretessbelagt ärende (Dnr KS 2026/101, OSL 39 kap. 3 §)" in flat(body(maria_copy))
    assert "Handling 1 (Sekretess enligt OSL 39 kap. 3 §" in flat(body(maria_copy))
    assert_nothing_secret("registrar (new)", [p for m in to_registrar for p in mail_parts(m)],
                          [subject(m) + body(m) for m in to_registrar])

    # Monday: the draft; the chancellery marks Sofia's item secret in a reply to it.
    inst.tick(at("2026-11-30 10:05"))
    draft = [m for m in inst.sent() if "utkast" in subject(m).lower() and CHANCELLERY in recipients(m)][-1]
    before = len(inst.sent())
    inst.drop(make_mail(CHANCELLERY, "Re: " + subject(draft),
                        "Sekretess: KLG-2026-004 OSL 19 kap. 1 §\n\nMvh Johan", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    answer = only(inst.sent()[before:], "Antecknat: sekretess och jäv", CHANCELLERY)
    assert "Sekretess enligt OSL 19 kap. 1 § gäller nu KLG-2026-004 ”Lokalfrågan”." in flat(body(answer))

    # 14:00: the final agenda to the members, marked, with every document.
    before = len(inst.sent())
    inst.tick(at("2026-11-30 14:00"))
    finals = [m for m in inst.sent()[before:] if recipients(m) == sorted(MEMBERS)]
    [final] = finals
    assert subject(final).startswith("[Innehåller sekretess]")
    names = attachment_names(final)
    assert {"Utredning omplacering.pdf", "Anbudsutvärdering.pdf", "Förfrågningsunderlag.pdf"} <= set(names)
    [agenda_name] = [n for n in names if n.endswith(".docx")]
    kept = inst.config.data_dir / "agendas" / MEETING / "versions" / "v1" / agenda_name
    assert kept.read_bytes() == attachment(final, agenda_name)  # every version kept as sent
    members_agenda = docx_text(attachment(final, agenda_name))
    for expected in ("Omplacering av en anställd", "Dnr KS 2026/101", "Sekretess: OSL 39 kap. 3 §",
                     "Dnr KS2026/0102", "Sekretess: OSL 19 kap. 3 § (Anbudsutvärdering.pdf)", "Dnr lokaler 17",
                     "Sekretess: OSL 19 kap. 1 §"):
        assert expected in members_agenda, expected

    # Lena has a conflict of interest in the procurement: she answers the final agenda.
    before = len(inst.sent())
    inst.drop(make_mail(LENA, "Re: " + subject(final), "Hej!\n\nJäv: KLG-2026-002\n\n/Lena", reply_to=final))
    inst.tick(at("2026-11-30 15:00"))
    fresh = inst.sent()[before:]
    assert sorted(recipients(m)[0] for m in fresh) == [CHAIR, LENA]  # one answer, and the chair told
    assert "Jäv i KLG-2026-002 ”Upphandling av skolskjuts” är antecknat." in flat(
        body(only(fresh, "Antecknat", LENA)))
    told = only(fresh, "Jäv anmält: Lena Åkesson", CHAIR)
    assert "deltar inte i handläggningen" in flat(body(told))

    # Tuesday 12:00: the form; the secretary fills it in, the chair signs.
    before = len(inst.sent())
    inst.tick(at("2026-12-01 12:00"))
    form = only(inst.sent()[before:], "Formulär för minnesanteckningar")
    assert subject(form).startswith("[Innehåller sekretess]")
    filled = fill_form(docx_of(form), {
        "Information från verksamheterna": {"Utfall": "Information", "Anteckningar / beslut": "Rapporter.",
                                            "Kommuniceras": "Ja"},
        "KLG-2026-001": {"Utfall": "Beslut", "Anteckningar / beslut": "HEMLIG-BESLUT omplacering godkänns.",
                         "Kommuniceras": "Ja"},
        "KLG-2026-002": {"Utfall": "Beslut", "Anteckningar / beslut": "Upphandlingen tilldelas.",
                         "Kommuniceras": "Ja"},
        "KLG-2026-003": {"Utfall": "Information", "Anteckningar / beslut": "Noterat. Jäv: Sofia Lund.",
                         "Kommuniceras": "Ja"},
        "KLG-2026-004": {"Utfall": "Diskussion", "Anteckningar / beslut": "Fortsatt dialog.", "Kommuniceras": "Ja"},
    })
    [secretary] = recipients(form)
    before = len(inst.sent())
    inst.drop(make_mail(secretary, "Re: " + subject(form), "Här.", reply_to=form,
                        attachments=[("Minnesanteckningar.docx", filled, DOCX)]))
    inst.tick(at("2026-12-01 15:00"))
    to_sign = [m for m in inst.sent()[before:] if "Justering av minnesanteckningar" in subject(m)]
    assert to_sign, [subject(m) for m in inst.sent()[before:]]
    before = len(inst.sent())
    for m in to_sign:
        inst.drop(make_mail(recipients(m)[0], "Re: " + subject(m), "Justerat", reply_to=m))
    inst.tick(at("2026-12-02 09:00"))
    fresh = inst.sent()[before:]
    signed = [m for m in fresh if "Justerade minnesanteckningar" in subject(m)]
    [members] = [m for m in signed if recipients(m) == sorted(MEMBERS)]
    full = pdf_text(attachment(members, SIGNED))
    for expected in ("Omplacering av en anställd", "HEMLIG-BESLUT", "Upphandling av skolskjuts", "KLG-2026-002 · Dnr KS2026/0102",
                     "Lena Åkesson deltog inte i handläggningen på grund av jäv.",
                     "Sofia Lund deltog inte i handläggningen på grund av jäv. Noterat."):
        assert expected in flat(full), expected
    outside_mail = [m for m in signed if recipients(m) != sorted(MEMBERS)]
    assert sorted(recipients(m)[0] for m in outside_mail) == ["cesam@example.org", "ksau@example.org"]
    intranet = (tmp_path / "intranat" / SIGNED).read_bytes()
    council = pdf_text(attachment(only(outside_mail, "", "ksau@example.org"), SIGNED))
    assert "Sekretessbelagt ärende (Dnr KS 2026/101, OSL 39 kap. 3 §)" in flat(council)
    assert "Sekretessbelagt ärende (Dnr lokaler 17, OSL 19 kap. 1 §)" in flat(council)
    assert "Lokalfrågan" not in council and "Fortsatt dialog" not in council
    assert "Upphandling av skolskjuts" in council and "Upphandlingen tilldelas." in council
    assert_nothing_secret("minutes", [p for m in outside_mail for p in mail_parts(m)] + [("intranet.pdf", intranet)],
                          [subject(m) + body(m) for m in outside_mail])

    # The audit log: who marked what, when.
    store = inst.store()
    try:
        events = store.all("SELECT at, actor, item_id, what FROM events WHERE what LIKE 'secrecy:%' ORDER BY id")
    finally:
        store.close()
    assert [(e["actor"], e["item_id"], e["what"]) for e in events] == [
        (MARIA, "KLG-2026-001", "secrecy: item marked secret (OSL 39 kap. 3 §)"),
        (ERIK, "KLG-2026-002", "secrecy: document 'Anbudsutvärdering.pdf' marked secret (OSL 19 kap. 3 §)"),
        (CHANCELLERY, "KLG-2026-004", "secrecy: item marked secret (OSL 19 kap. 1 §)")]
    assert events[2]["at"].startswith("2026-11-30T10:00")  # 11:00 local

    # klg status --json: case numbers and markings.
    items = {i["id"]: i for m in inst.status(at("2026-12-02 09:00"))["meetings"] for i in m["items"]}
    assert items.get("KLG-2026-001", {"case_number": "KS 2026/101"})["case_number"] == "KS 2026/101"

    # The records export: everything public, the secret parts withheld and listed, nothing secret inside.
    out = tmp_path / "begaran.zip"
    result = inst.klg("records", "export", "--meeting", MEETING, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        names = z.namelist()
        parts = [(n, z.read(n)) for n in names]
    index = dict(parts)["index.txt"].decode("utf-8")
    assert "dagordningar/v1 (offentlig version).docx" in names
    assert "handlingar/KLG-2026-002/Förfrågningsunderlag.pdf" in names
    assert not [n for n in names if n.startswith("handlingar/KLG-2026-001/") or "Anbud" in n]
    assert "minnesanteckningar/2026-12-01.pdf" in names and "post.csv" in names
    assert "KLG-2026-002: Handling 1 (Sekretess enligt OSL 19 kap. 3 §" in index
    assert "KLG-2026-001: Handling 1 (Sekretess enligt OSL 39 kap. 3 §" in index
    assert "dagordning version 1 som den skickades" in index
    for name, data in parts:
        if name != "index.txt" and not name.endswith("/"):
            assert hashlib.sha256(data).hexdigest() in index, name
    public_agenda = dict(parts)["dagordningar/v1 (offentlig version).docx"]
    agenda_text = docx_text(public_agenda)
    assert "Sekretessbelagt ärende (Dnr KS 2026/101, OSL 39 kap. 3 §)" in agenda_text
    assert "Upphandling av skolskjuts" in agenda_text and "Dnr KS2026/0102" in agenda_text
    assert "Sekretess: OSL 19 kap. 3 §" not in agenda_text  # the document's marking is listed in the index
    mail_list = dict(parts)["post.csv"].decode("utf-8")
    assert "Sekretessbelagt ärende" in mail_list and "Upphandling av skolskjuts" in mail_list
    assert_nothing_secret("export", parts,
                          [agenda_text, mail_list, index])


def test_the_export_holds_every_agenda_version_as_sent(inst, tmp_path):
    """Nothing secret this week: each agenda version goes into the export as the members got it."""
    inst.edit_config('unapproved_agenda = "remind"', 'unapproved_agenda = "send_draft"')
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Dnr: KS 2026/1\nTid: 15", date=at("2026-11-27 08:00")))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    inst.tick(at("2026-11-30 14:00"))
    [v1] = [m for m in inst.sent() if recipients(m) == sorted(MEMBERS) and "Dagordning tisdag" in subject(m)]
    name = "Dagordning KLG 2026-12-01.docx"
    edited = Agenda(attachment(v1, name))
    edited.set("KLG-2026-001", 5, "25")
    inst.drop(make_mail(CHAIR, f"SV: {subject(v1)}", "Godkänd", reply_to=v1, date=at("2026-11-30 16:00"),
                        attachments=[(name, edited.bytes(), DOCX)]))
    inst.tick(at("2026-11-30 16:00"))
    [update] = [m for m in inst.sent() if "Uppdaterad dagordning" in subject(m)]
    result = inst.klg("records", "export", "--meeting", MEETING)
    assert result.returncode == 0, result.stderr
    out = inst.config.data_dir / "exports" / f"records {MEETING}.zip"
    assert str(out) in result.stdout
    with zipfile.ZipFile(out) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    versions = sorted(n for n in parts if n.startswith("dagordningar/"))
    assert [n for n in versions if n.endswith(".docx")] == ["dagordningar/v1.docx", "dagordningar/v2.docx"]
    assert parts["dagordningar/v1.docx"] == attachment(v1, name)
    assert parts["dagordningar/v2.docx"] == attachment(update, name)
    assert parts["dagordningar/v2.pdf"] == attachment(update, "Dagordning KLG 2026-12-01.pdf")
    index = parts["index.txt"].decode("utf-8")
    withheld = index.split("Inte utlämnat (sekretess) eller saknas:\n")[1].splitlines()
    assert withheld == ["  justerade minnesanteckningar i offentlig version finns inte (inte utskickade utanför gruppen)"]
