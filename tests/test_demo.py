"""`klg demo`: the real command line plays the week in a folder, narrates it,
and leaves the mails and documents a newcomer is told to look at."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from tests.agenda_helpers import Agenda, docx_of
from tests.helpers import CHAIR, CHANCELLERY, MEMBERS, REPO, attachment_names, recipients


def demo(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", "demo", "--folder", str(folder), *args],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, **(env or {})})


def mails(folder: Path, box: str) -> list:
    paths = [p for sub in ("new", "cur") for p in (folder / "mailboxes" / box / sub).iterdir()]
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(paths, key=lambda p: p.stat().st_mtime_ns)]


def subject(msg) -> str:
    return " ".join(str(msg["Subject"]).split())


def with_subject(sent: list, text: str) -> list:
    return [m for m in sent if text in subject(m)]


@pytest.mark.libreoffice
def test_the_demo_week(tmp_path):
    folder = tmp_path / "week"
    result = demo(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    sent = mails(folder, "sent")

    # Every stage is told, in words, as it happens.
    for stage in ('Maria Holm mails a proposal "Budgetuppföljning oktober" with a Word file → acknowledged as '
                  "KLG-2026-002, planned for the meeting on Tue 1 Dec",
                  "planned for the meeting on Tue 8 Dec (after the deadline)",
                  "not a member: kept in quarantine, no answer",
                  "an automatic reply: recorded and ignored",
                  "klg mails the draft agenda (Word)",
                  "klg answers with the next version of the agenda",
                  'Karin Berg replies "OK" to version 2 → the agenda is approved',
                  'Lena Åkesson replies "Förhinder" to the final agenda → regrets recorded',
                  "klg mails the final agenda to all 8 members",
                  "klg mails the item for written comments",
                  "registered as a comment",
                  "klg mails a reminder to answer the written procedure",
                  "klg mails the compilation of all comments (Word)",
                  "as a decision after written procedure",
                  "klg mails the minutes form",
                  "klg mails the minutes to approve",
                  "approves the minutes → approval registered",
                  "klg mails the signed minutes (PDF/A) to all 8 members",
                  f"Everything is in {folder}", "mailboxes/sent/new"):
        assert stage in out, stage
    assert out.index("Mon 30 Nov 10:05") < out.index("Mon 30 Nov 14:00") < out.index("Wed 02 Dec 16:00")

    # The acknowledgements went to the proposers, each to the one who asked.
    acks = with_subject(sent, "Mottaget:")
    assert len(acks) == 6 and all(len(recipients(m)) == 1 for m in acks)
    # The draft to the chair and the chancellery, with the items' Word files.
    [draft] = with_subject(sent, "Utkast till dagordning")
    assert recipients(draft) == sorted([CHAIR, CHANCELLERY])
    assert attachment_names(draft) == ["Dagordning KLG 2026-12-01 utkast v1.docx", "Budget oktober.docx",
                                       "Skolskjuts.docx"]
    # The final agenda to every member: Word, PDF, invitation and the documents.
    [final] = with_subject(sent, "Dagordning tisdag 1 december 2026")
    assert recipients(final) == sorted(MEMBERS)
    assert attachment_names(final) == ["Dagordning KLG 2026-12-01.docx", "Dagordning KLG 2026-12-01.pdf",
                                       "Kallelse KLG 2026-12-01.ics", "Budget oktober.docx", "Skolskjuts.docx"]
    rows = Agenda(docx_of(final)).rows()  # what the chair changed in Word is what went out
    assert [r[1] for r in rows] == ["Stående", "KLG-2026-005", "KLG-2026-002", "Paus", "KLG-2026-003", "KLG-2026-004",
                                    "Stående"]
    assert rows[5][0] == "11:25–11:40" and rows[5][5] == "15"
    # The written procedure: the item to the seven others, one reminder each to the silent, the compilation.
    assert len(with_subject(sent, "Skriftligt förfarande: Riktlinjer för representation")) == 7
    assert len(with_subject(sent, "Påminnelse")) == 4
    [compiled] = with_subject(sent, "Sammanställning")
    assert attachment_names(compiled) == ["Sammanställning synpunkter KLG-2026-001.docx"]
    # The minutes: the form, the versions to sign, the signed PDF to the members, the council and the union.
    assert len(with_subject(sent, "Formulär för minnesanteckningar")) == 1
    assert len(with_subject(sent, "Justering av minnesanteckningar, version 1")) == 2
    signed = with_subject(sent, "Justerade minnesanteckningar")
    assert sorted(tuple(recipients(m)) for m in signed) == sorted(
        [tuple(sorted(MEMBERS)), ("cesam@example.org",), ("ksau@example.org",)])
    assert all(attachment_names(m) == ["Minnesanteckningar KLG 2026-12-01.pdf"] for m in signed)

    # The stranger got nothing and is in quarantine; the out-of-office got nothing; the inbox is empty.
    assert not [m for m in sent if "info@konferens.example.com" in recipients(m)]
    [kept] = mails(folder, "quarantine")
    assert "info@konferens.example.com" in str(kept["From"])
    assert not [m for m in sent if "Automatiskt svar" in subject(m)]
    assert not [p for sub in ("new", "cur") for p in (folder / "mailboxes" / "inbox" / sub).iterdir()]
    # The documents the closing words point at.
    assert (folder / "data" / "agendas" / "2026-12-01" / "Dagordning KLG 2026-12-01.pdf").is_file()
    assert (folder / "data" / "intranet" / "Minnesanteckningar KLG 2026-12-01.pdf").is_file()


def test_the_demo_without_libreoffice_skips_the_pdfs(tmp_path):
    folder = tmp_path / "week"
    result = demo(folder, "--language", "en", env={"KLG_SOFFICE": str(tmp_path / "no-soffice")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LibreOffice is not installed: the PDFs are skipped" in result.stdout
    sent = mails(folder, "sent")
    [final] = [m for m in sent if subject(m).startswith("[KLG 2026-12-01] Agenda Tuesday")]
    assert recipients(final) == sorted(MEMBERS)
    assert not [n for n in attachment_names(final) if n.endswith(".pdf")]
    assert "Invitation KLG 2026-12-01.ics" in attachment_names(final)
    assert "No PDFs and no signed minutes" in result.stdout


def test_the_demo_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "something.txt").write_text("mine")
    result = demo(tmp_path)
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["something.txt"]
