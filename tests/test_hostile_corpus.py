"""The hostile-mail corpus (``tests/hostile/``, made by its ``make_corpus.py``)
through the real engine: every file, with an ordinary proposal from another
member behind each one, in one pass.

Asserted per file: where it went (classification and folder) and, for the
parser shapes, what the item holds. Asserted for all: the pass handled every
message and left the inbox empty; nothing was sent to a stranger and nothing
answered a machine or a forgery; no forged member's mail made or changed an
item or approved the agenda; a forged delivery report changed nothing; every
good mail behind a bad one became its item in the same pass.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers import AHMED, CHANCELLERY, ERIK, LENA, MARIA, MEMBERS, PETER, SOFIA, at, body, make_mail, recipients
from tests.hostile.make_corpus import HERE, corpus

PROPOSAL, QUARANTINE = ("proposal", "processed"), "quarantine"

EXPECTED = {
    **{name: PROPOSAL for name in ("halt-subject-utf7", "halt-subject-unicode-escape", "halt-subject-raw-unicode-escape",
                                   "halt-subject-unknown-charset", "halt-subject-broken-utf8", "halt-references-utf7",
                                   "halt-from-name-utf7", "halt-to-thousands-of-words", "halt-to-nested-comments",
                                   "halt-million-digits", "halt-meeting-9999")},
    **{name: ("over-limit", QUARANTINE) for name in ("halt-header-fields", "halt-header-field-long",
                                                     "halt-nested-multipart-1000", "halt-nested-rfc822-1000",
                                                     "halt-parts-1500")},
    "halt-base64-like-runs": ("stranger", QUARANTINE),
    **{name: ("ambiguous-sender", QUARANTINE) for name in (
        "forged-display-name-address", "forged-encoded-word-only", "forged-cve-2023-27043", "forged-paren-angle",
        "forged-two-addresses", "forged-group", "forged-semicolons", "forged-zero-width", "forged-bidi",
        "forged-two-from-fields", "forged-chair-approval")},
    **{name: ("stranger", QUARANTINE) for name in ("forged-encoded-word-address", "forged-sender-header",
                                                   "forged-withdrawal")},
    **{name: ("auto-reply", "processed") for name in (
        "auto-x-loop", "auto-precedence-auto-reply", "auto-vacation-mailer", "auto-stranger-out-of-office",
        "auto-subject-ej-pa-kontoret", "auto-subject-auto-ar-ledig", "auto-subject-away-from-office",
        "auto-subject-on-vacation", "auto-subject-vacation-reply", "auto-subject-sv-autosvar",
        "auto-subject-aw-automatische-antwort", "auto-subject-re-out-of-office")},
    **{name: ("maybe-automatic", QUARANTINE) for name in ("auto-x-auto-response-suppress", "auto-precedence-bulk",
                                                          "auto-list-id", "auto-subject-semester", "auto-subject-ledig",
                                                          "auto-list-x-loop", "auto-plain-text-bounce")},
    "report-read-receipt": ("read-receipt", "processed"),
    "report-forged-dsn-stranger-recipient": ("bounce", "processed"),
    "report-forged-dsn-group-address": ("bounce", "processed"),
    **{name: PROPOSAL for name in corpus() if name.startswith("parser-")},
}
AUTH_EXPECTED = {
    **{name: ("spoofed", QUARANTINE) for name in corpus() if name.startswith("auth-") and "-good-" not in name},
    "auth-dmarc-for-attacker-domain": ("ambiguous-sender", QUARANTINE),
    **{name: PROPOSAL for name in corpus() if name.startswith("auth-good-")},
}
# Mail that must never be answered, nor make or change anything.
SILENT = [n for n in EXPECTED if n.startswith(("forged-", "auto-", "report-"))]
FORGED = [n for n in EXPECTED if n.startswith("forged-")] + [n for n, (c, _) in AUTH_EXPECTED.items() if c != "proposal"]
GOOD_SENDERS = [ERIK, LENA, AHMED, SOFIA, PETER]
AUTHENTIC = "X-MS-Exchange-Organization-AuthAs: Internal"


def msgid(name: str) -> str:
    return f"{name}@corpus.example"


def test_the_committed_corpus_is_what_the_script_makes():
    made = corpus()
    assert sorted(p.stem for p in HERE.glob("*.eml")) == sorted(made)
    changed = [name for name, data in made.items() if (HERE / f"{name}.eml").read_bytes() != data]
    assert changed == [], "run tests/hostile/make_corpus.py and commit the files"
    assert set(EXPECTED) | set(AUTH_EXPECTED) == {n for n in made if not n.startswith("mutation-")}


def _drop_all(inst, names: list[str], placeholders: dict[bytes, bytes], authenticated: bool) -> dict[str, str]:
    """Each corpus file, then a good proposal from another member, in this order; returns good Message-IDs."""
    good = {}
    for n, name in enumerate(names):
        data = (HERE / f"{name}.eml").read_bytes()
        for placeholder, real in placeholders.items():
            data = data.replace(placeholder, real)
        bad = inst.drop(data, name=f"{n:03d}a-{name}.eml")
        sender = GOOD_SENDERS[n % len(GOOD_SENDERS)]
        good[name] = f"<good-{n}@example.org>"
        headers = {"X-MS-Exchange-Organization-AuthAs": "Internal"} if authenticated else None
        after = inst.drop(make_mail(sender, f"Ärende bakom {name}", "Tid: 10 min\n\nText.", message_id=good[name],
                                    headers=headers), name=f"{n:03d}b-good.eml")
        os.utime(bad, (1_000_000 + 2 * n, 1_000_000 + 2 * n))
        os.utime(after, (1_000_001 + 2 * n, 1_000_001 + 2 * n))
    return good


def _rows(inst) -> dict[str, dict]:
    store = inst.store()
    try:
        return {r["message_id"]: r for r in store.all("SELECT * FROM messages_in")}
    finally:
        store.close()


def _items(inst) -> dict[str, dict]:
    store = inst.store()
    try:
        items = {r["id"]: r for r in store.all("SELECT * FROM items")}
        for item in items.values():
            item["attachments"] = [a["name"] for a in store.attachments(item["id"])]
        return items
    finally:
        store.close()


def _check_where_each_went(inst, expected: dict, good: dict, sent_before: int) -> None:
    rows = _rows(inst)
    for name, (classification, disposition) in expected.items():
        row = rows.get(msgid(name))
        assert row is not None, f"{name} was not recorded"
        assert (row["classification"], row["disposition"]) == (classification, disposition), (name, row["detail"])
    assert inst.folder("inbox") == []
    items = _items(inst)
    by_source = {i["source_message"]: i for i in items.values()}
    # every good mail behind a bad one became its item in the same pass
    assert [n for n, mid in good.items() if mid.strip("<>") not in by_source] == []
    # no forgery made an item
    assert [n for n in FORGED if msgid(n) in by_source] == []
    sent = inst.sent()[sent_before:]
    # nothing to a stranger, nothing answering a machine or a forgery
    assert [m["To"] for m in sent if not set(recipients(m)) <= set(MEMBERS)] == []
    silent = {f"<{msgid(n)}>" for n in SILENT + FORGED}
    assert [m["Subject"] for m in sent if m["In-Reply-To"] in silent] == []


@pytest.fixture
def drafted(inst):
    """Maria's proposal KLG-2026-001 acknowledged, and the draft agenda of 1 December sent."""
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15"))
    inst.tick(at("2026-11-27 09:00"))
    inst.tick(at("2026-11-30 10:05"))
    return inst


def test_every_hostile_file_lands_where_it_should_and_the_pass_goes_on(drafted):
    inst = drafted
    before = inst.sent()
    ack = next(m for m in before if "Mottaget" in m["Subject"])
    draft = next(m for m in before if "Utkast" in m["Subject"])
    names = [n for n in corpus() if not n.startswith("auth-")]
    good = _drop_all(inst, names, {b"<ACK-ID@klg.invalid>": ack["Message-ID"].encode(),
                                   b"<DRAFT-ID@klg.invalid>": draft["Message-ID"].encode()}, authenticated=False)
    result = inst.tick(at("2026-11-30 11:00"))
    assert result["messages"] == 2 * len(names)  # one pass, every message, none left behind
    _check_where_each_went(inst, EXPECTED, good, len(before))

    items = _items(inst)
    assert items["KLG-2026-001"]["state"] == "planned"  # the forged withdrawal changed nothing
    store = inst.store()
    try:
        assert store.count("SELECT COUNT(*) FROM agenda_versions WHERE approved_at IS NOT NULL") == 0  # no forged approval
        ack_row = store.one("SELECT failed_recipients FROM outbox WHERE message_id = ?", [ack["Message-ID"].strip("<>")])
        assert json.loads(ack_row["failed_recipients"] or "[]") == []  # the forged reports were believed by nobody
        assert store.count("SELECT COUNT(*) FROM outbox WHERE kind = 'delivery-failure'") == 0
    finally:
        store.close()

    by_source = {i["source_message"]: i for i in items.values()}
    item = lambda name: by_source[msgid(name)]  # noqa: E731
    assert item("parser-apple-8bit-file-name")["attachments"] == ["Protokoll år 2026.pdf", "Bilaga två.txt"]
    assert item("parser-rfc2231-continued-name")["attachments"] == ["Årsredovisning 2026.pdf"]
    assert "Vi behöver åtgärder i äldreomsorgen.\nOch övrigt." in item("parser-stray-latin1-byte")["description"]
    assert item("parser-broken-encoded-subject")["title"] == "Protokoll från mötet"
    assert item("parser-html-when-plain-is-empty")["minutes"] == 20
    assert "Förslag om lokaler." in item("parser-html-when-plain-is-empty")["description"]
    assert item("parser-inline-photo-not-shown")["attachments"] == ["bilaga.png"]  # the logo the HTML shows is not
    assert item("parser-unnamed-pdf")["attachments"] == ["bilaga.pdf"]
    assert item("parser-forwarded-subject-with-slash")["attachments"] == ["Delårsrapport 1-2026.eml"]
    assert item("parser-damaged-base64-part")["attachments"] == ["rapport.pdf.eml", "efter.txt"]
    assert item("parser-unknown-transfer-encoding")["attachments"] == ["gammal.pdf.eml"]
    assert item("parser-uuencoded-attachment")["attachments"] == ["gammal.pdf"]
    assert not [i["title"] for i in items.values() if "=?" in i["title"]]
    acks = {m["In-Reply-To"]: body(m) for m in inst.sent()[len(before):] if "Mottaget" in str(m["Subject"])}
    damaged = acks[f"<{msgid('parser-damaged-base64-part')}>"]
    assert "Bilagan rapport.pdf kunde inte läsas och har sparats som den kom (rapport.pdf.eml)." in " ".join(damaged.split())
    assert "Bilagor:       rapport.pdf.eml, efter.txt" in damaged

    # the chancellery's daily list names the forgeries, the limits and what could not be read
    inst.tick(at("2026-11-30 16:00"))
    [digest] = [m for m in inst.sent_to(CHANCELLERY) if "karantän" in str(m["Subject"])]
    text = " ".join(body(digest).split())
    assert "Avsändaradressen går inte att läsa entydigt" in text
    assert "för stort eller för invecklat" in text and "ser automatiskt ut" in text
    assert "rapport.pdf" in text and "gammal.pdf" in text


def test_forged_authentication_never_passes(drafted):
    inst = drafted
    inst.edit_config("require_authentication = false", f'require_authentication = true\nauthserv_id = "mx.example.org"\n'
                                                       f'trusted_headers = ["{AUTHENTIC}"]')
    before = inst.sent()
    names = sorted(AUTH_EXPECTED)
    good = _drop_all(inst, names, {}, authenticated=True)
    result = inst.tick(at("2026-11-30 11:00"))
    assert result["messages"] == 2 * len(names)
    _check_where_each_went(inst, AUTH_EXPECTED, good, len(before))
    answered = {m["In-Reply-To"] for m in inst.sent()[len(before):]}
    assert {f"<{msgid(n)}>" for n in AUTH_EXPECTED if n.startswith("auth-good-")} <= answered
