"""``klg quarantine list`` and ``klg quarantine release``: a quarantined mail
is handed back to intake once, as the member the chancellery names, answered
at the member's registered address, never at the stranger's; recorded in the
audit log; never released twice, and a redelivery is still a duplicate."""

from __future__ import annotations

import getpass
import json

import pytest

from tests.helpers import CHANCELLERY, MARIA, at, body, make_mail, new_instance
from tests.servers import imap_instance

PRIVATE = "maria.holm.privat@gmail.example"
NOW = "2026-11-20T10:00"


def stranger_mail(subject: str = "Förslag hemifrån") -> bytes:
    raw = make_mail(MARIA, subject, "Tid: 10\nVi behöver prata om sommarens bemanning.")
    return raw.replace(f"<{MARIA}>".encode(), f"<{PRIVATE}>".encode())


def listed(inst) -> list[dict]:
    result = inst.klg("quarantine", "list", "--json", "--now", NOW)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def inst(tmp_path):
    return new_instance(tmp_path / "klg")


def test_a_strangers_mail_released_as_a_member_becomes_her_proposal_once(inst):
    raw = stranger_mail()
    inst.drop(raw)
    inst.tick(at("2026-11-20 09:00"))
    assert inst.sent() == [] and len(inst.folder("quarantine")) == 1  # a stranger is never answered
    [row] = listed(inst)
    assert (row["sender"], row["subject"], row["classification"], row["releasable"]) == (
        PRIVATE, "Förslag hemifrån", "stranger", True)

    refused = inst.klg("quarantine", "release", str(row["id"]), "--now", NOW)
    assert refused.returncode == 2 and "would go to quarantine again" in refused.stderr
    assert "--as-member" in refused.stderr and inst.sent() == []

    done = inst.klg("quarantine", "release", str(row["id"]), "--as-member", MARIA, "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert "released and handled: proposal KLG-2026-001" in done.stdout
    [ack] = inst.sent()
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Förslag hemifrån"
    assert [a.addr_spec for a in ack["To"].addresses] == [MARIA]  # her registered address, not the private one
    assert listed(inst) == []
    assert inst.status()["quarantine"]["count"] == 0

    again = inst.klg("quarantine", "release", str(row["id"]), "--as-member", MARIA, "--now", NOW)
    assert again.returncode == 2 and "released already" in again.stderr
    inst.drop(raw)  # the same mail delivered once more: a duplicate, only moved
    assert inst.tick(at("2026-11-20 11:00"))["messages"] == 1
    assert len(inst.sent()) == 1

    log = inst.klg("log", "--json")
    released = [e for e in json.loads(log.stdout) if e["what"].startswith("mail released from quarantine")]
    assert [(e["what"], e["actor"], e["item"], e["detail"]["as_member"]) for e in released] == [
        ("mail released from quarantine: stranger -> proposal", getpass.getuser(), "KLG-2026-001", MARIA)]


def test_a_members_mail_that_looked_automatic_is_released_as_it_is(inst):
    inst.drop(make_mail(MARIA, "Budget 2027", "Tid: 15", headers={"Precedence": "bulk"}))
    inst.tick(at("2026-11-20 09:00"))
    [row] = listed(inst)
    assert row["classification"] == "maybe-automatic" and inst.sent() == []
    done = inst.klg("quarantine", "release", str(row["id"]), "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert [m["Subject"] for m in inst.sent_to(MARIA)] == ["[KLG-2026-001] Mottaget: Budget 2027"]


def test_release_refuses_what_it_cannot_do(inst):
    inst.drop(make_mail(MARIA, "Ett vanligt förslag", "Tid: 5"))
    inst.drop(stranger_mail())
    inst.tick(at("2026-11-20 09:00"))
    handled = inst.klg("quarantine", "release", "1", "--now", NOW)
    assert handled.returncode == 2 and "not in quarantine" in handled.stderr
    missing = inst.klg("quarantine", "release", "99", "--now", NOW)
    assert missing.returncode == 2 and "no message number 99" in missing.stderr
    nobody = inst.klg("quarantine", "release", "2", "--as-member", "okand@example.org", "--now", NOW)
    assert nobody.returncode == 2 and "not the address of a member" in nobody.stderr
    assert len(inst.sent()) == 1  # only the ordinary acknowledgement


def test_the_chancellerys_daily_list_says_how_to_release(inst):
    inst.drop(stranger_mail())
    inst.tick(at("2026-11-20 09:00"))
    [row] = listed(inst)
    inst.tick(at("2026-11-20 16:00"))
    [digest] = inst.sent_to(CHANCELLERY)
    text = body(digest)
    assert f"Nr {row['id']}, 2026-11-20" in text and PRIVATE in text
    assert "klg quarantine release NUMMER" in text and "--as-member" in text


@pytest.mark.servers
def test_release_on_dovecot_answers_the_member_once(servers, tmp_path):
    inst = imap_instance(tmp_path / "klg", servers)
    servers.send(stranger_mail("Förslag via IMAP"), PRIVATE)
    inst.tick(at("2026-11-20 09:00"))
    assert servers.count("klg@example.org", "INBOX") == 0 and servers.count(MARIA) == 0
    [row] = listed(inst)
    done = inst.klg("quarantine", "release", str(row["id"]), "--as-member", MARIA, "--now", NOW)
    assert done.returncode == 0, done.stderr
    [ack] = servers.wait_for(MARIA, 1)
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Förslag via IMAP"
    inst.tick(at("2026-11-20 10:05"))
    servers.wait_queue_empty()
    assert servers.count(MARIA) == 1 and listed(inst) == []
