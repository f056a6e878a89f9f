"""Reading hostile and broken mail, piece by piece: header decoding that never
yields broken text, the one strict sender, the limits checked before parsing,
and the MIME walker that keeps every part (issues 11 and 12)."""

from __future__ import annotations

import base64
import time

import pytest

from daemon.mail.addresses import parse_from
from daemon.mail.blobs import lift_blobs
from daemon.mail.headers import decode_bytes, decode_words, params
from daemon.mail.limits import Budget, LimitExceeded, Limits
from daemon.mail.message import parse

HEAD = "From: Maria Holm <maria.holm@example.org>\r\nTo: klg@example.org\r\nMessage-ID: <r@example.org>\r\n"


def raw(headers: str, body: str | bytes = "Text.\r\n") -> bytes:
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return (HEAD + headers).encode("utf-8") + b"\r\n" + data


# --- header decoding -------------------------------------------------------------

SURROGATE_WORDS = ["=?utf-7?q?+2AA-?=", "=?unicode_escape?q?=5Cud800?=", "=?raw_unicode_escape?q?=5Cudc80?=",
                   "=?utf-8?q?=ED=A0=80=FF?=", "=?x-unknown?q?=E4?=", "=?utf-16?b?ANg=?=", "=?idna?q?xn--?=",
                   "=?utf-8*sv?q?=C3?="]


@pytest.mark.parametrize("word", SURROGATE_WORDS)
def test_no_encoded_word_yields_a_surrogate(word):
    text = decode_words(f"Före {word} efter")
    text.encode("utf-8")  # would raise on a lone surrogate
    assert text.startswith("Före ") and text.endswith(" efter")
    mail = parse(raw(f"Subject: {word}\r\nReferences: {word}\r\nIn-Reply-To: {word}\r\n"))
    for value in (mail.subject, mail.message_id, *mail.references, *mail.in_reply_to):
        value.encode("utf-8")


@pytest.mark.parametrize("value, expected", [
    ("=?iso-8859-1?Q?Protokoll fr=E5n m=F6tet?=", "Protokoll från mötet"),  # spaces inside the word
    ("=?utf-8?b?w4Vyc3BsYW4?", "Årsplan"),  # no "=" at the end, no padding
    ("=?utf-8?q?Budget_f=C3=B6r?", "Budget för"),
    ("=?utf-8?q?Del=C3?= =?utf-8?q?=A5rsrapport?=", "Delårsrapport"),  # a letter split over two words
    ("=?UTF-8?Q?a?=  =?UTF-8?Q?b?=", "ab"),
    ("Vad betyder =? här", "Vad betyder =? här"),
])
def test_broken_encoded_words_are_still_read(value, expected):
    assert decode_words(value) == expected


def test_one_stray_latin1_byte_does_not_garble_the_text():
    data = "Vi behöver åtgärder i äldreomsorgen".encode() + b" och \xf6vrigt"
    assert decode_bytes(data, "utf-8") == "Vi behöver åtgärder i äldreomsorgen och övrigt"
    assert decode_bytes("Åtgärd".encode(), "us-ascii") == "Åtgärd"  # labelled ASCII, written UTF-8
    assert decode_bytes(b"\x93Plan\x94", "iso-8859-1") == "“Plan”"  # Latin-1 label, Windows-1252 bytes


@pytest.mark.parametrize("value, name", [
    ('attachment; filename="Protokoll år 2026.pdf"', "Protokoll år 2026.pdf"),  # raw 8-bit, as Apple Mail sends it
    ("attachment; filename*=UTF-8''%C3%85rsredovisning%202026.pdf", "Årsredovisning 2026.pdf"),
    ("attachment; filename*0*=UTF-8''%C3%85rs; filename*1=\"plan.pdf\"", "Årsplan.pdf"),
    ("attachment; filename*=iso-8859-1'sv'%E5terkoppling.docx; filename=fallback.docx", "återkoppling.docx"),
    ('attachment; filename="=?utf-8?B?w4Vyc3BsYW4ucGRm?="', "Årsplan.pdf"),
    ('attachment; filename="a;b.pdf"; size=10', "a;b.pdf"),
])
def test_file_names_in_every_form(value, name):
    assert params(value)[1]["filename"] == name


# --- the one strict sender ----------------------------------------------------------

ACCEPTED = {
    "Maria Holm <maria.holm@example.org>": "maria.holm@example.org",
    '"Holm, Maria" <Maria.Holm@Example.ORG>': "maria.holm@example.org",
    "maria.holm@example.org (Maria Holm)": "maria.holm@example.org",
    "<maria.holm@example.org>": "maria.holm@example.org",
    "=?utf-8?q?Maria_Holm?= <maria.holm@example.org>": "maria.holm@example.org",
    '"maria.holm"@example.org': "maria.holm@example.org",
    "=?utf-8?q?maria.holm=40example.org?= <evil@attacker.example>": "evil@attacker.example",  # the name is only a name
    '"maria.holm@example.org" <evil@attacker.example>': "evil@attacker.example",
}
REFUSED = {
    "maria.holm@example.org <evil@attacker.example>": "display name looks like an address",
    "=?utf-8?q?maria.holm=40example.org?=": "no @",
    "maria.holm@example.org)<evil@attacker.example>": "unbalanced",  # CVE-2023-27043
    "maria.holm@example.org(<evil@attacker.example>": "not closed",
    "maria.holm@example.org, evil@attacker.example": "several addresses",
    "maria.holm@example.org; evil@attacker.example": "several addresses",
    "KLG: maria.holm@example.org;": "group",
    "Maria Holm <maria.h\u200bolm@example.org>": "invisible",
    "maria.holm\u202e@example.org": "invisible",
    "Maria <maria.holm@example.org> <evil@attacker.example>": "more than one address",
    "Maria <@relay.example:maria.holm@example.org>": "not a plain address",
    "Maria <maria.holm@example.org> extra": "text after",
    "maria.holm(kommentar)@example.org": "comment inside",
    "(" * 5000 + "maria.holm@example.org": "long",
    "(" * 50 + "maria.holm@example.org" + ")" * 50: "nested too deep",
}


@pytest.mark.parametrize("value, address", ACCEPTED.items(), ids=range(len(ACCEPTED)))
def test_a_plain_mailbox_gives_its_address(value, address):
    sender = parse_from([value])
    assert (sender.address, sender.problem) == (address, None)


@pytest.mark.parametrize("value, why", REFUSED.items(), ids=range(len(REFUSED)))
def test_anything_but_one_plain_mailbox_is_refused_with_a_reason(value, why):
    sender = parse_from([value])
    assert sender.address == "" and why in sender.problem


def test_two_from_fields_are_refused_and_sender_never_counts():
    mail = parse(raw("From: evil@attacker.example\r\nSubject: x\r\n"))
    assert mail.sender == "" and "more than one From" in mail.sender_problem
    mail = parse(raw("Subject: x\r\n").replace(b"From: Maria Holm <maria.holm@example.org>", b"From: x@attacker.example")
                 .replace(b"Subject", b"Sender: maria.holm@example.org\r\nReply-To: maria.holm@example.org\r\nSubject"))
    assert mail.sender == "x@attacker.example"


# --- limits, checked before the parser sees the message --------------------------------


def deep(depth: int, kind: str) -> bytes:
    part = "Content-Type: text/plain\r\n\r\nDjupt.\r\n"
    for n in range(depth):
        part = (f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n{part}\r\n--b{n}--\r\n' if kind == "mp"
                else f"Content-Type: message/rfc822\r\n\r\nSubject: {n}\r\n{part}")
    return raw("Subject: djup\r\nMIME-Version: 1.0\r\n" + part.partition("\r\n\r\n")[0] + "\r\n",
               part.partition("\r\n\r\n")[2])


@pytest.mark.parametrize("kind", ["mp", "rfc822"])
def test_thousand_deep_nesting_is_over_a_limit_not_a_recursion_error(kind):
    mail = parse(deep(1000, kind))
    assert mail.over_limit.what == "nesting" and mail.sender == "maria.holm@example.org"


def test_moderate_nesting_is_read_and_the_deeper_rest_kept_as_a_file():
    mail = parse(deep(30, "mp"))
    assert mail.over_limit is None
    [kept] = mail.attachments
    assert kept.unreadable and b"Djupt." in kept.data


@pytest.mark.parametrize("headers, what", [
    ("".join(f"X-{n}: {n}\r\n" for n in range(2000)), "header"),
    ("X-Long: " + "a" * 200_000 + "\r\n", "header"),
])
def test_a_header_over_a_limit_is_refused_before_parsing(headers, what):
    with pytest.raises(LimitExceeded) as refused:
        parse(raw(headers))
    assert refused.value.what == what


def test_base64_like_runs_are_scanned_in_linear_time():
    text = ("QUJD" * 60_000 + " ") * 7  # 1.7 MB of runs just shorter than what is lifted: 286 s before
    started = time.monotonic()
    skeleton, blobs = lift_blobs(raw("Subject: runs\r\n", text))
    mail = parse(raw("Subject: runs\r\n", text))
    assert time.monotonic() - started < 3 and blobs == {} and mail.subject == "runs"


def test_the_time_budget_stops_a_long_read():
    budget = Budget(0.05)
    time.sleep(0.06)
    with pytest.raises(LimitExceeded) as spent:
        parse(raw("Subject: x\r\n"), Limits(), budget)
    assert spent.value.what == "time"


def test_the_alarm_interrupts_a_step_that_never_ends():
    budget = Budget(0.2)
    started = time.monotonic()
    with pytest.raises(LimitExceeded):
        with budget.alarm():
            while True:
                pass
    assert time.monotonic() - started < 2 and budget.spent


# --- the MIME walker keeps every part ------------------------------------------------------


def parts(*chunks: str) -> bytes:
    body = "".join(f"--B\r\n{c}\r\n" for c in chunks) + "--B--\r\n"
    return raw('Subject: delar\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n', body)


PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()


def test_an_unreadable_part_is_kept_as_it_came_and_later_parts_are_read():
    mail = parse(parts("Content-Type: text/plain\r\n\r\nSe bilagor.",
                       'Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n'
                       'Content-Disposition: attachment; filename="rapport.pdf"\r\n\r\n!!!not base64@@@',
                       'Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n'
                       f'Content-Disposition: attachment; filename="Protokoll år 2026.pdf"\r\n\r\n{PDF}'))
    assert [(a.name, a.label, bool(a.unreadable)) for a in mail.attachments] == [
        ("rapport.pdf.eml", "rapport.pdf", True), ("Protokoll år 2026.pdf", None, False)]
    assert b"!!!not base64@@@" in mail.attachments[0].data and mail.attachments[1].data == b"%PDF-1.4 tiny"


def test_parts_without_names_are_named_from_their_content():
    mail = parse(parts("Content-Type: text/plain\r\n\r\nText.",
                       f"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{PDF}",
                       "Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR"))
    assert [a.name for a in mail.attachments] == ["bilaga.pdf", "bilaga.ics"]


def test_html_is_the_body_when_the_plain_part_is_empty_and_shown_images_are_not_documents():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nxx").decode()
    body = ('--A\r\nContent-Type: text/plain\r\n\r\n \r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n'
            '<p>Tid: 20 min</p><p>Förslag.</p><img src="cid:logo@x">\r\n--A--\r\n')
    mail = parse(parts(f'Content-Type: multipart/alternative; boundary="A"\r\n\r\n{body}',
                       f"Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}",
                       f"Content-Type: image/png\r\nContent-ID: <foto@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}"))
    assert mail.text == "Tid: 20 min\n\nFörslag."
    assert [a.name for a in mail.attachments] == ["bilaga.png"]


def test_a_forwarded_mail_keeps_its_whole_subject_as_its_name():
    mail = parse(parts("Content-Type: text/plain\r\n\r\nSe nedan.",
                       "Content-Type: message/rfc822\r\n\r\nFrom: a@example.org\r\nSubject: Delårsrapport 1/2026\r\n\r\nR."))
    assert [a.name for a in mail.attachments] == ["Delårsrapport 1-2026.eml"]


def test_a_very_long_body_is_cut_for_the_item_and_kept_whole():
    mail = parse(raw("Subject: lång\r\nContent-Type: text/plain; charset=utf-8\r\n", "rad\r\n" * 200_000))
    assert len(mail.text) <= Limits().max_text_chars
    [whole] = mail.attachments
    assert whole.name == "meddelande.txt" and whole.data.count(b"rad") == 200_000
