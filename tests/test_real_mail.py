"""Real mail from real clients (tests/corpus/mail): what klg makes of each one.

Every corpus mail is dropped into a fresh instance of the embedded default as if
a member had sent it (its From rewritten to the member's address, every other
byte as it came) and one real pass runs. Then, per mail, what a user would see:

- the shared inbox is empty and the mail is in ``processed`` or ``quarantine``;
- every attachment the standard library's parser finds (``policy.default``,
  ``iter_attachments``, the files inside a winmail.dat) is kept by name on the
  item, or named in the answer the member got; a mail that made no item is in
  quarantine, never dropped without a trace;
- no item title keeps an undecoded ``=?charset?Q?…?=`` word;
- no mojibake ("Ã¤", "â€") in a title, a description or an answer, unless the
  standard library's own reading of the mail has it too;
- a bounce or an auto-reply is never answered.

Mails that still fail are marked ``xfail(strict=True)`` in ``KNOWN`` with the
exact cause; a mark that starts passing fails the run, so the list cannot go
stale. (The MIME walker's failures of the first run, issue 12's 8-bit names,
mojibake and bulk/list mail, are fixed and their marks gone.)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from tnefparse import TNEF

from tests.helpers import AHMED, ERIK, LENA, MARIA, NAMES, PETER, SOFIA, at, body, new_instance, recipients

CORPUS = Path(__file__).parent / "corpus" / "mail"
NOT_MAIL = {"LICENSE", "NOTICE", "SOURCES.md"}
MAILS = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_MAIL)
IDS = [str(p.relative_to(CORPUS)) for p in MAILS]
SENDERS = [MARIA, ERIK, LENA, AHMED, SOFIA, PETER]
NOW = at("2026-11-18 09:00")  # a Wednesday: no weekly step is due

MOJIBAKE = re.compile(r"Ã[\u0080-\u00bf]|â€|Â[\u00a0-\u00bf]|Ã…|Ã„|Ã–")
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=")
AUTO_SUBJECT = re.compile(r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|autosvar|automatiskt svar|frånvaro)",
                          re.IGNORECASE)

# (check, file) -> the exact cause of a failure that remains.
BOUNCE_BY_FROM = ("a plain-text bounce known only by its MAILER-DAEMON/postmaster From (no multipart/report, "
                  "Return-Path <> or Auto-Submitted) and a subject no delivery report rule knows: with the From "
                  "rewritten to a member it is read as a proposal and acknowledged")
# The other plain-text bounces are known by their subject ("failure notice", "Undeliverable:", …) or X-Loop.
_PLAIN_BOUNCES = "groupwise_03 simple_20 yahoo_12".split()  # subjects "RE: …" and "[List] Re: …"
KNOWN: dict[tuple[str, str], str] = {
    **{("machine", f"flufl.bounce/{name}.txt"): BOUNCE_BY_FROM for name in _PLAIN_BOUNCES},
}


@dataclass
class Run:
    """What one pass made of one corpus mail."""

    sender: str
    inbox_left: int
    folder: str | None  # processed | quarantine | None (lost)
    classification: str | None
    item: dict | None
    kept: list[str]
    answers: list[EmailMessage]
    problems: list[str] = field(default_factory=list)

    @property
    def answer_text(self) -> str:
        return "\n".join(f"{m['Subject']}\n{_text(m)}" for m in self.answers)


def _text(msg: EmailMessage) -> str:
    try:
        return body(msg)
    except (AttributeError, KeyError):
        return ""


def as_member(raw: bytes, sender: str) -> bytes:
    """``raw`` with its From header (every line of it) replaced by the member's address."""
    cut = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[:cut.start()], raw[cut.start():]) if cut else (raw, b"")
    newline = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
    lines = head.split(newline)
    out, skipping = [], False
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = line.lower().startswith(b"from:")
        if not skipping:
            out.append(line)
    name = NAMES[sender].encode("ascii", "replace")  # plain ASCII names keep the header valid
    at_top = 1 if out and out[0].startswith(b"From ") else 0  # an mbox "From " line stays first
    out.insert(at_top, b"From: " + name + b" <" + sender.encode() + b">")
    return newline.join(out) + rest


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    results = {}
    for n, (path, key) in enumerate(zip(MAILS, IDS)):
        sender = SENDERS[n % len(SENDERS)]
        inst = new_instance(tmp_path_factory.mktemp("real") / "klg")
        inst.drop(as_member(path.read_bytes(), sender))
        inst.tick(NOW)
        store = inst.store()
        try:
            row = store.one("SELECT classification, item_id FROM messages_in ORDER BY id DESC LIMIT 1")
            item = store.item(row["item_id"]) if row and row["item_id"] else None
            kept = [a["name"] for a in store.attachments(item["id"])] if item else []
        finally:
            store.close()
        folder = next((f for f in ("processed", "quarantine") if inst.folder(f)), None)
        results[key] = Run(sender, len(inst.folder("inbox")), folder, row["classification"] if row else None, item,
                           kept, [m for m in inst.sent() if sender in recipients(m)])
    return results


def case(check: str):
    """Parametrise over the corpus, with the KNOWN marks for ``check``."""
    params = [pytest.param(key, id=key, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(check, key)])]
                           if (check, key) in KNOWN else []) for key in IDS]
    return pytest.mark.parametrize("key", params)


# --- what the standard library sees --------------------------------------------

def stdlib(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def _shown_cids(msg: EmailMessage) -> set[str]:
    cids = set()
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            try:
                html = part.get_content()
            except Exception:
                continue
            cids |= {c.lower() for c in re.findall(r"cid:([^\"'\s>)]+)", html)}
    return cids


def expected_attachments(msg: EmailMessage) -> list[str | None]:
    """The names of the attachments the standard library finds (None: unnamed),
    with a winmail.dat replaced by the files inside it and pictures the HTML
    shows (``cid:``) left out."""
    shown = _shown_cids(msg)
    names: list[str | None] = []

    def visit(part: EmailMessage) -> None:
        for att in part.iter_attachments():
            ctype = att.get_content_type()
            if att.is_multipart() and ctype != "message/rfc822":
                visit(att)
                continue
            if ctype in ("application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
                         "message/delivery-status", "text/rfc822-headers"):
                continue
            cid = (att.get("Content-ID") or "").strip().strip("<>").lower()
            if cid and cid in shown:
                continue
            try:
                name = att.get_filename()
            except Exception:
                name = None
            if ctype in ("text/plain", "text/html") and not name and att.get_content_disposition() != "attachment":
                continue  # an unnamed text part is more of the body: klg reads it into the description
            if ctype in ("application/ms-tnef", "application/vnd.ms-tnef") or (name or "").lower() == "winmail.dat":
                try:
                    names.extend(a.long_filename() or a.name for a in TNEF(att.get_payload(decode=True)).attachments)
                    continue
                except Exception:
                    pass  # unreadable: winmail.dat itself must be kept
            names.append(name)

    if msg.is_multipart():
        visit(msg)
    return names


def _key(name: str) -> str:
    name = re.sub(r" \(\d+\)(?=\.[^.]*$|$)", "", unicodedata.normalize("NFC", name))
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _same_name(kept: str, name: str) -> bool:
    """``kept`` is ``name`` as klg stores it: made safe, perhaps numbered, a long stem cut."""
    if _key(kept) == _key(name):
        return True
    k_stem, _, k_ext = kept.rpartition(".")
    n_stem, _, n_ext = name.rpartition(".")
    return len(kept) >= 100 and k_ext == n_ext and _key(n_stem).startswith(_key(k_stem))


def _std_text(msg: EmailMessage) -> str:
    parts = [str(msg.get("Subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except Exception:
                pass
    return "\n".join(parts)


def is_machine(path: Path, msg: EmailMessage) -> bool:
    """A bounce or an auto-reply, by the corpus's own labels and the headers that say so."""
    if path.parent.name == "flufl.bounce":
        return True  # every file there is a bounce, collected as such
    if msg.get_content_type() == "multipart/report" or any(
            p.get_content_type() == "message/delivery-status" for p in msg.walk()):
        return True
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return True
    return bool(AUTO_SUBJECT.match(str(msg.get("Subject", ""))))


# --- the checks ------------------------------------------------------------------

def test_the_corpus_is_what_sources_says():
    """At least 300 mails, each listed in SOURCES.md with its sha256, each folder with its licence."""
    listed = {}
    for folder in CORPUS.iterdir():
        if folder.is_dir():
            assert (folder / "LICENSE").is_file(), folder
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## (\S+)/$", line)
        if m:
            folder = m[1]
        m = re.match(r"^\| (\S[^|]*?) \| [^|]+ \| ([0-9a-f]{64}) \|$", line)
        if m:
            listed[f"{folder}/{m[1]}"] = m[2]
    assert len(MAILS) >= 300
    assert sorted(listed) == sorted(IDS)
    for path, key in zip(MAILS, IDS):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[key], key


# one pass for each of the 300 mails (the module's ``runs``), once for all four checks
@case("kept")
def test_nothing_is_lost(runs, key):
    """The inbox is empty, the mail is kept, and every attachment is on the item or named in the answer."""
    run, path = runs[key], CORPUS / key
    assert run.inbox_left == 0
    assert run.folder is not None, "the mail is neither in processed nor in quarantine"
    msg = stdlib(path)
    if is_machine(path, msg):
        return
    if run.item is None:
        assert run.folder == "quarantine", f"no item and not in quarantine: dropped as {run.classification}"
        return
    kept = list(run.kept)
    said = _key(run.answer_text)
    missing = []
    unnamed = 0
    for name in expected_attachments(msg):
        if name is None:
            unnamed += 1
            continue
        same = next((n for n in kept if _same_name(n, name)), None)
        if same is not None:
            kept.remove(same)
        elif not _key(name) or _key(name) not in said:
            missing.append(name)
    assert not missing, f"attachments neither kept nor named in the answer: {missing} (kept: {run.kept})"
    assert len(kept) >= unnamed, f"{unnamed} unnamed attachments, {len(kept)} kept beside the named ones"


@case("title")
def test_titles_are_decoded(runs, key):
    run = runs[key]
    if run.item is not None:
        assert not ENCODED_WORD.search(run.item["title"]), run.item["title"]


@case("mojibake")
def test_no_mojibake(runs, key):
    run = runs[key]
    if MOJIBAKE.search(_std_text(stdlib(CORPUS / key))):
        return  # the mail itself, as the standard library reads it, has it
    texts = [run.answer_text] + ([run.item["title"], run.item["description"]] if run.item else [])
    for text in texts:
        found = MOJIBAKE.search(text or "")
        assert not found, f"mojibake {found.group(0)!r} in: {text[max(0, found.start() - 60):found.end() + 60]!r}"


@case("machine")
def test_machines_are_never_answered(runs, key):
    path = CORPUS / key
    if is_machine(path, stdlib(path)):
        run = runs[key]
        assert not run.answers, f"answered a {run.classification}: {[m['Subject'] for m in run.answers]}"
        assert run.item is None


def test_bounces_as_they_came_are_never_answered(tmp_path):
    """The bounces with their own From (MAILER-DAEMON, postmaster, …): quarantined
    or recorded, never answered, no item."""
    bounces = [p for p in MAILS if p.parent.name == "flufl.bounce"]
    assert len(bounces) >= 100
    for n, path in enumerate(bounces):
        inst = new_instance(tmp_path / f"b{n}")
        inst.drop(path.read_bytes())
        inst.tick(NOW)
        assert not inst.folder("inbox") and (inst.folder("processed") or inst.folder("quarantine")), path.name
        assert not inst.sent(), f"{path.name}: answered {[m['Subject'] for m in inst.sent()]}"
        store = inst.store()
        try:
            assert store.count("SELECT COUNT(*) FROM items") == 0, path.name
        finally:
            store.close()
