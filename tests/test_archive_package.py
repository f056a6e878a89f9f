"""Archive packages (e-arkiv): `klg archive --meeting DATE --out DIR` makes an
E-ARK SIP (CSIP/SIP 2.1, FGS Paketstruktur 2.0) of a meeting whose minutes
were sealed with a real RFC 3161 time-stamp (tests/tsa.py), and eark-validator
1.1.3 (its own venv, tests/eark_run.py) finds no error in it but SIP14, the
validator's known defect (README, "Archive packages").

The meeting's state is written into the store as the week leaves it (the
agenda as sent, the signed minutes' deliveries, the items' documents, the
audit log), so this runs in seconds; tests/test_minutes_week.py plays the week
itself."""

from __future__ import annotations

import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from daemon.minutes.seal import seal, trust_anchors
from daemon.minutes.sealcheck import verify
from daemon.store import Store, iso
from tests.helpers import REPO
from tests.test_seal_timestamp import blank_pdf, settings_for
from tests.tsa import PASSWORD, TimeStampService

EARK_PYTHON = REPO / ".venv-eark" / "bin" / "python"
KNOWN_VALIDATOR_DEFECTS = {"SIP14"}  # demands a NOTETYPE attribute the METS schema forbids (README)
MEETING = "2026-12-01"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
M = "{http://www.loc.gov/METS/}"
P = "{http://www.loc.gov/premis/v3}"
X = "{http://www.w3.org/1999/xlink}"


def eark_validate(package: Path) -> dict:
    if not EARK_PYTHON.exists():
        pytest.skip("eark-validator is not installed: run `. scripts/setup-eark.sh` (test.sh does)")
    result = subprocess.run([str(EARK_PYTHON), str(REPO / "tests" / "eark_run.py"), str(package),
                             str(REPO / "tests" / "eark-vocabularies")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def errors(report: dict) -> list[tuple[str, str]]:
    found = [(m.get("rule_id") or "structure", m.get("message", "")) for m in report["structure"]["messages"]
             if m.get("severity") == "Error"]
    md = report.get("metadata") or {}
    for part in ("schema_results", "schematron_results"):
        found += [(m.get("rule_id") or part, m.get("message", "")) for m in (md.get(part) or {}).get("messages", [])
                  if m.get("severity") == "Error"]
    return found


def fill_store(inst, minutes_pdf: bytes, agenda_pdf: bytes, *, case_numbers: bool = False) -> None:
    """A held meeting as the week leaves it: two items with documents, a written procedure's compilation,
    the final agenda sent, the minutes signed by two and distributed, and the audit log of it all."""
    store = Store(inst.config.data_dir)
    store.migrate()
    db = store.db
    with store.atomic():
        db["meetings"].insert({"date": MEETING, "state": "held", "agenda_version": 1})
        for seq, title, who in ((41, "Budget 2027", "anna.berg@example.org"), (42, "Ny skolskjuts", "johan.ek@example.org")):
            item_id = f"KLG-2026-0{seq}"
            row = {"id": item_id, "year": 2026, "seq": seq, "title": title, "presenter": "Anna Berg", "proposer": who,
                   "minutes": 20, "kind": "beslut", "meeting": MEETING, "position": seq, "state": "handled",
                   "created_at": iso(T0), "updated_at": iso(T0)}
            if case_numbers:
                row.update(case_number=f"KS 2026/{seq}")
            db["items"].insert(row)
            store.event(T0, f"proposal received: {title}", actor=who, item=item_id, meeting=MEETING)
            doc = f"Underlag {title}".encode()
            db["attachments"].insert({"item_id": item_id, "owner": "item", "owner_id": item_id,
                                            "name": f"Underlag {seq}.pdf", "sha256": store.files.put(doc),
                                            "size": len(doc), "content_type": "application/pdf",
                                            "added_at": iso(T0)})
        if case_numbers:
            marking = {"reason": "", "authority": "Sjöviks kommun", "marked_on": "2026-11-20",
                       "set_by": "registrator@example.org", "set_at": iso(T0)}
            db["secrecy"].insert({**marking, "item_id": "KLG-2026-042", "provision": "OSL 19 kap. 1 §"})
            db["secrecy"].insert({**marking, "item_id": "KLG-2026-041", "attachment_name": "Underlag 41.pdf",
                                  "provision": "OSL 39 kap. 3 §"})
            db["secrecy"].insert({**marking, "item_id": "KLG-2026-041", "provision": "OSL 21 kap. 1 §",
                                  "lifted_by": "registrator@example.org", "lifted_at": iso(T0)})  # lifted: not kept
        compiled = b"PK\x03\x04 a compilation"
        comp = db["attachments"].insert({"item_id": "KLG-2026-042", "owner": "item", "owner_id": "KLG-2026-042",
                                         "name": "Sammanställning synpunkter KLG-2026-042.docx",
                                         "sha256": store.files.put(compiled), "size": len(compiled),
                                         "content_type": "application/vnd.openxmlformats-officedocument."
                                                         "wordprocessingml.document", "added_at": iso(T0)}).last_pk
        db["circulations"].insert({"item_id": "KLG-2026-042", "state": "compiled", "proposer": "johan.ek@example.org",
                                   "started_by": "proposal", "started_at": iso(T0), "deadline": iso(T0),
                                   "meeting": MEETING, "members": "[]", "compilation_attachment": comp})
        store.event(T0 + timedelta(days=2), f"written procedure compiled; decision item on {MEETING}",
                    item="KLG-2026-042", meeting=MEETING)
        sent = T0 + timedelta(days=5)
        rows = [{"id": "KLG-2026-041", "type": "item", "title": "Budget 2027"},
                {"id": None, "type": "break", "title": "Paus"},
                {"id": "KLG-2026-042", "type": "item", "title": "Ny skolskjuts"}]
        db["agenda_versions"].insert({"meeting": MEETING, "version": 1, "created_at": iso(sent), "source": "draft",
                                      "author": "klg", "docx_sha256": "0" * 64, "rows": json.dumps(rows),
                                      "approved_at": iso(sent), "approved_by": "ordf@example.org",
                                      "final_sent_at": iso(sent), "final_kind": "final",
                                      "pdf_sha256": store.files.put(agenda_pdf)})
        store.event(sent, "agenda: version 1 approved", actor="ordf@example.org", meeting=MEETING)
        store.event(sent, "agenda: final agenda sent", meeting=MEETING)
        signed = T0 + timedelta(days=14)
        store.event(signed, "minutes: version 1 approved by Anna Berg", actor="anna.berg@example.org", meeting=MEETING)
        store.event(signed, "minutes: version 1 signed and distributed", meeting=MEETING)
        db["minutes"].insert({"meeting": MEETING, "state": "distributed", "secretary": "johan.ek@example.org",
                              "form_sent_at": iso(T0), "form_docx_sha256": "0" * 64, "form_rows": "[]", "version": 1,
                              "signed_at": iso(signed), "distributed_at": iso(signed), "updated_at": iso(signed)})
        sha = store.files.put(minutes_pdf)
        for audience, omitted in (("members", 0), ("intranet", 1)):
            db["minutes_deliveries"].insert({"meeting": MEETING, "version": 1, "audience": audience, "channel": "mail",
                                             "target": "[]", "pdf_sha256": sha if not omitted else store.files.put(b"x"),
                                             "omitted": omitted, "at": iso(signed)})
            store.event(signed, f"minutes delivered: {audience} (mail)", meeting=MEETING)
        store.event(signed, "minutes delivered: KSAU (skipped)", meeting=MEETING)  # no addresses: not distributed
        store.event(signed, "mail in: stranger -> quarantine", actor="spam@example.net")  # not for the archive
    store.close()


def configure(inst, tmp_path: Path, tsa: TimeStampService, extra: str = "") -> None:
    text = inst.config_path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[minutes]\n")
    text = head + "\n[mailbox]" + rest.partition("\n[mailbox]")[2] + f'''
[minutes]
seal_pkcs12 = "{tmp_path / 'seal.p12'}"
seal_password_env = "KLG_TEST_SEAL_PASSWORD"
seal_trust = ["{tmp_path / 'ca.pem'}"]
seal_tsa_url = "{tsa.url}"
seal_tsa_trust = ["{tmp_path / 'ca.pem'}"]
seal_revocation_files = ["{tmp_path / 'ca.crl'}"]
''' + extra
    inst.config_path.write_text(text, encoding="utf-8")


@pytest.fixture
def tsa(tmp_path, monkeypatch):
    monkeypatch.setenv("KLG_TEST_SEAL_PASSWORD", PASSWORD)
    with TimeStampService(tmp_path) as service:
        yield service


def sealed_minutes(tsa, tmp_path) -> bytes:
    s = settings_for(tsa, tmp_path, seal_revocation_files=(tmp_path / "ca.crl",))
    return seal(blank_pdf(), s, at=T0 + timedelta(days=14), location="Sjöviks kommun", contact="klg@example.org")


def test_klg_archive_makes_a_package_that_passes_eark_validator(inst, tsa, tmp_path):
    configure(inst, tmp_path, tsa, '\n[archive]\nsubmission_agreement = "RA 2026/1234"\nreference_code = "SE/2180/KLG"\n')
    minutes = sealed_minutes(tsa, tmp_path)
    agenda = blank_pdf()
    fill_store(inst, minutes, agenda, case_numbers=True)
    out = tmp_path / "e-arkiv"
    result = inst.klg("archive", "--meeting", MEETING, "--out", str(out), env={"KLG_TEST_SEAL_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    package = out / "KLG-2026-12-01"
    assert str(package) in result.stdout and "minutes PAdES B-LTA" in result.stdout

    # What an archivist opens: the agenda as sent, the signed minutes, every item's documents.
    data = package / "representations" / "rep1" / "data"
    assert (data / "Dagordning KLG 2026-12-01.pdf").read_bytes() == agenda
    archived = (data / "Minnesanteckningar KLG 2026-12-01.pdf").read_bytes()
    assert archived.startswith(minutes[:2000])  # the distributed bytes, with the archive time-stamp appended
    report = verify(archived, trust_anchors(settings_for(tsa, tmp_path)))
    assert report.ok and report.signatures[0].level == "B-LTA"
    assert (data / "KLG-2026-041" / "Underlag 41.pdf").read_bytes() == b"Underlag Budget 2027"
    assert (data / "KLG-2026-042" / "Sammanställning synpunkter KLG-2026-042.docx").is_file()
    assert (package / "documentation" / "Om arkivpaketet.txt").read_text().startswith("Arkivpaket för")

    # The two METS list every file with its checksum; nothing is missing, nothing is extra.
    listed = {}
    mets_root = ET.parse(package / "METS.xml").getroot()
    for mets_file, prefix in ((package / "METS.xml", ""), (package / "representations/rep1/METS.xml",
                                                            "representations/rep1/")):
        mets = ET.parse(mets_file).getroot()
        listed |= {prefix + f.find(f"{M}FLocat").get(f"{X}href"): f.get("CHECKSUM") for f in mets.iter(f"{M}file")}
        listed |= {prefix + r.get(f"{X}href"): r.get("CHECKSUM") for r in mets.iter(f"{M}mdRef")}
    on_disk = {str(p.relative_to(package)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in package.rglob("*") if p.is_file() and p != package / "METS.xml"}
    assert listed == on_disk

    assert {a.get("TYPE"): a.text for a in mets_root.iter(f"{M}altRecordID")} == {
        "SUBMISSIONAGREEMENT": "RA 2026/1234", "REFERENCECODE": "SE/2180/KLG"}

    # PREMIS: the audit log's events, not the stranger's mail; case numbers and the secrecy marking.
    premis = ET.parse(package / "metadata" / "preservation" / "premis.xml").getroot()
    types = [e.findtext(f"{P}eventType") for e in premis.iter(f"{P}event")]
    assert {"received", "registered", "sent", "approved", "signed", "distributed", "compiled"} <= set(types)
    assert types.count("distributed") == 2 and "stranger" not in ET.tostring(premis, encoding="unicode")
    rights = {r.findtext(f".//{P}statuteCitation"): sorted(v.text for v in r.iter(f"{P}linkingObjectIdentifierValue"))
              for r in premis.iter(f"{P}rightsStatement")}
    assert rights == {  # a marking on one document restricts that one; on the item, all of its documents
        "OSL 39 kap. 3 §": ["representations/rep1/data/KLG-2026-041/Underlag 41.pdf"],
        "OSL 19 kap. 1 §": ["representations/rep1/data/KLG-2026-042/Sammanställning synpunkter KLG-2026-042.docx",
                            "representations/rep1/data/KLG-2026-042/Underlag 42.pdf"]}
    meeting = (package / "metadata" / "descriptive" / "meeting.xml").read_text(encoding="utf-8")
    assert "<klg:caseNumber>KS 2026/41</klg:caseNumber>" in meeting
    assert "<klg:accessRestriction>OSL 19 kap. 1 §</klg:accessRestriction>" in meeting
    assert ('<klg:accessRestriction document="representations/rep1/data/KLG-2026-041/Underlag 41.pdf">'
            "OSL 39 kap. 3 §</klg:accessRestriction>") in meeting and "OSL 21 kap." not in meeting
    schema = etree.XMLSchema(etree.parse(str(package / "schemas" / "klg-meeting-1.xsd")))
    schema.assertValid(etree.parse(str(package / "metadata" / "descriptive" / "meeting.xml")))

    report = eark_validate(package)
    found = errors(report)
    assert found and {rule for rule, _ in found} == KNOWN_VALIDATOR_DEFECTS, found


def test_a_package_without_case_numbers_or_secrecy_also_passes(inst, tsa, tmp_path):
    configure(inst, tmp_path, tsa, "\n[archive]\ntimestamp = false\n")
    fill_store(inst, sealed_minutes(tsa, tmp_path), blank_pdf())
    result = inst.klg("archive", "--meeting", MEETING, "--out", str(tmp_path / "ut"),
                      env={"KLG_TEST_SEAL_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    assert "minutes PAdES B-LT" in result.stdout
    package = tmp_path / "ut" / "KLG-2026-12-01"
    assert "rights" not in (package / "metadata" / "preservation" / "premis.xml").read_text()
    assert {rule for rule, _ in errors(eark_validate(package))} <= KNOWN_VALIDATOR_DEFECTS


def test_a_meeting_not_yet_signed_gets_a_plain_answer(inst, tmp_path):
    result = inst.klg("archive", "--meeting", MEETING, "--out", str(tmp_path / "ut"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "has no final agenda" in result.stderr
    result = inst.klg("archive", "--meeting", MEETING)
    assert result.returncode != 0 and "--out DIR, or set [archive] folder" in result.stderr


def test_after_distribution_the_step_writes_the_package_to_the_archive_folder(inst, tsa, tmp_path):
    """[archive] folder: the step archive:<meeting> writes the package; the minutes' document time-stamp
    (a network call) is made by daemon.documents between two runs of the step, with no transaction open."""
    from daemon import documents
    from daemon.archive import workflow
    from daemon.checks import load_config
    from daemon.context import Ctx

    folder = tmp_path / "e-arkiv"
    original = inst.config_path.read_text(encoding="utf-8")
    configure(inst, tmp_path, tsa, f'\n[archive]\nfolder = "{folder}"\n')
    fill_store(inst, sealed_minutes(tsa, tmp_path), blank_pdf())
    config = load_config(inst.config_path)
    store = Store(config.data_dir)
    now = T0 + timedelta(days=14, hours=1)
    ctx = Ctx(config, store, now)
    [step] = workflow.due(ctx)
    assert step.key == f"archive:{MEETING}"
    assert inst.status(now)["archive"] == {"folder": str(folder), "packages": [], "pending": [MEETING]}
    before = tsa.requests

    def commit():
        with store.atomic():
            step.run(ctx)
            store.mark_step(step.key, now)

    documents.run(store, now, commit)
    assert tsa.requests > before  # the B-LTA time-stamp
    package = folder / "KLG-2026-12-01"
    assert (package / "METS.xml").is_file()
    [event] = store.all("SELECT * FROM events WHERE what LIKE 'archive: package%'")
    assert json.loads(event["detail"])["minutes"] == "B-LTA"
    status = inst.status(now)["archive"]
    assert status["pending"] == [] and [(p["meeting"], p["path"], p["minutes"]) for p in status["packages"]] == [
        (MEETING, str(package), "B-LTA")]
    minutes = (package / "representations/rep1/data/Minnesanteckningar KLG 2026-12-01.pdf").read_bytes()
    assert verify(minutes, trust_anchors(settings_for(tsa, tmp_path))).signatures[0].level == "B-LTA"
    # Without [archive] folder nothing is due.
    inst.config_path.write_text(original, encoding="utf-8")
    configure(inst, tmp_path, tsa)
    assert workflow.due(Ctx(load_config(inst.config_path), store, now)) == []
    store.close()


def test_unsealed_minutes_are_archived_and_said_to_be_unsealed(inst, tmp_path):
    fill_store(inst, blank_pdf(), blank_pdf())  # the embedded default has no seal
    result = inst.klg("archive", "--meeting", MEETING, "--out", str(tmp_path / "ut"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("minutes unsealed)")
    package = tmp_path / "ut" / "KLG-2026-12-01"
    assert "förseglade" not in (package / "documentation" / "Om arkivpaketet.txt").read_text()
    assert {rule for rule, _ in errors(eark_validate(package))} <= KNOWN_VALIDATOR_DEFECTS


def test_an_english_group_gets_english_names(inst, tmp_path):
    inst.edit_config('language = "sv"', 'language = "en"')
    fill_store(inst, blank_pdf(), blank_pdf())
    result = inst.klg("archive", "--meeting", MEETING, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    package = tmp_path / "out" / "KLG-2026-12-01"
    data = package / "representations" / "rep1" / "data"
    assert (data / "Agenda KLG 2026-12-01.pdf").is_file() and (data / "Minutes KLG 2026-12-01.pdf").is_file()
    about = (package / "documentation" / "About the archive package.txt").read_text()
    assert about.startswith("Archive package of") and "E-ARK CSIP/SIP 2.1" in about
    assert 'language="en"' in (package / "metadata" / "descriptive" / "meeting.xml").read_text()
