"""A whole Swedish week and a whole English week (``klg demo``), read as a new user reads
them: every mail klg sent and every document it made. None shows a plural made by hand, a
subject that folding spoiled, a word of the other language, a deadline gone by when the
mail went out, or a warning that is not true."""

from __future__ import annotations

import email
import io
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import docx
import pytest

from daemon.checks import load_config
from tests.helpers import REPO
from tests.test_texts import MEANT, TELL_TALE, TEMPLATES, words_shown
from tests.text_checks import PLURAL_HACK, SHOUTED, past_deadlines, sent_at, unclear_writing

# klg's own documents, by the start of their file names; the members' files are theirs
OWN = ("Dagordning", "Minnesanteckningar", "Sammanställning", "Agenda", "Minutes", "Compilation")
# the words of the documents that warn; the demo has no long document, so neither may show
FALSE_WARNINGS = ("Långa handlingar", "Long documents")


def play(folder: Path, language: str) -> None:
    result = subprocess.run([sys.executable, "-m", "daemon", "demo", "--folder", str(folder), "--language", language],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def raw_subject(data: bytes) -> str:
    """The Subject as a reader's client shows it: unfolded (RFC 5322) and decoded (RFC 2047)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    [line] = [h for h in unfolded.split("\r\n") if h.lower().startswith("subject:")]
    return str(email.header.make_header(email.header.decode_header(line[len("subject:"):].strip())))


def document_text(name: str, data: bytes) -> str:
    if name.endswith(".docx"):
        d = docx.Document(io.BytesIO(data))
        cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in d.paragraphs] + cells)
    if name.endswith(".pdf"):
        return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, timeout=60).stdout.decode()
    return ""


def given_names(folder: Path) -> list[str]:
    """What the configuration names (people, titles, standing items, the place): the group's
    own words, not the templates', so they may be in either language."""
    config = load_config(folder / "klg.toml")
    names = [config.group.name, config.group.organisation, config.schedule.location]
    names += [w for m in config.members for w in (m.name, m.title)]
    names += [s.title for s in config.standing_items]
    return sorted((n for n in names if n), key=len, reverse=True)


def week_texts(folder: Path) -> list[tuple[str, str, str, object]]:
    """(where, subject, text, the mail) for every mail in sent/ and every document klg made."""
    out = []
    for path in sorted(p for sub in ("new", "cur") for p in (folder / "mailboxes" / "sent" / sub).iterdir()):
        data = path.read_bytes()
        msg = email.message_from_bytes(data, policy=policy.default)
        shown = raw_subject(data)
        out.append((path.name, shown, msg.get_body(("plain",)).get_content(), msg))
        for part in msg.iter_attachments():
            name = part.get_filename() or ""
            if name.startswith(OWN):
                out.append((f"{path.name} / {name}", shown, document_text(name, part.get_content()), None))
    return out


@pytest.mark.libreoffice
@pytest.mark.parametrize("language", ["sv", pytest.param("en", marks=pytest.mark.slow)])  # en: the same week again
def test_a_whole_week_reads_right(tmp_path, language):
    folder = tmp_path / language
    play(folder, language)
    texts = week_texts(folder)
    assert len([t for t in texts if t[3] is not None]) > 30 and any(t[0].endswith(".pdf") for t in texts)
    names = given_names(folder)
    problems = []
    for where, subject, text, msg in texts:
        if msg is not None:
            if subject != " ".join(subject.split()):
                problems.append(f"{where}: the subject {subject!r} has a double, leading or trailing space")
            if subject != " ".join(str(msg["Subject"]).split()):
                problems.append(f"{where}: the subject unfolds to {subject!r}, not {msg['Subject']!r}")
            problems += [f"{where}: {p}" for p in past_deadlines(subject, text, language, sent_at(msg))]
            problems += [f"{where} ({subject}): {p}" for p in unclear_writing(subject, text, language)]
        if hack := PLURAL_HACK.search(subject + "\n" + text):
            problems.append(f"{where}: a plural by hand: {hack.group(0)!r}")
        if any(w in text for w in FALSE_WARNINGS):
            problems.append(f"{where}: warns of long documents, and the week has none")
        plain = subject + "\n" + text
        for n in names:
            plain = plain.replace(n, " ")
        plain = re.sub(r"\S*[/@]\S*", " ", plain)  # paths and addresses are not words
        other = set(re.findall(r"\w+", plain.lower())) & TELL_TALE[language]
        other -= {w for (lang, _), words in MEANT.items() if lang == language for w in words}
        if other:
            problems.append(f"{where} ({subject}): words of the other language: {sorted(other)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_read_template_shouts(language):
    """Every template, the branches a week does not reach too: no "OBS:"/"NOTE:" before a sentence, no "Det meddelas"."""
    found = {p.name: [m.group(0).strip() for m in SHOUTED[language].finditer(words_shown(p))]
             for p in sorted((TEMPLATES / language / "mail").glob("*.txt"))}
    assert not {name: hits for name, hits in found.items() if hits}
