"""Large attachments are read without the email package holding the message
several times over: what comes out is the same as the plain parse."""

from __future__ import annotations

import os
import tracemalloc
from email import message_from_bytes, policy

from daemon.mail.message import BLOB_MIN, lift_blobs, parse
from tests.helpers import MARIA, make_mail


def plain_attachments(raw: bytes) -> list[tuple[str, bytes]]:
    msg = message_from_bytes(raw, policy=policy.default)
    return [(p.get_filename(), p.get_payload(decode=True)) for p in msg.iter_attachments()]


def test_large_attachments_come_out_whole_and_the_parse_stays_small():
    big, other = os.urandom(3 * 1024 * 1024), os.urandom(BLOB_MIN * 2)
    inner = make_mail(MARIA, "Vidarebefordrat", "Se bilaga", attachments=[("inre.bin", other, "application/octet-stream")])
    outer = message_from_bytes(make_mail(MARIA, "Stora bilagor", "Tid: 15 min\n\nText före bilagorna.",
                                         attachments=[("stor.pdf", big, "application/pdf"),
                                                      ("liten.txt", b"hej\n", "text/plain")]), policy=policy.default)
    outer.add_attachment(message_from_bytes(inner, policy=policy.default))  # a forwarded mail, as clients attach it
    raw = outer.as_bytes().replace(b"\n", b"\r\n")
    skeleton, blobs = lift_blobs(raw)
    assert len(blobs) == 2 and len(skeleton) < 10_000  # both long base64 runs were lifted out
    tracemalloc.start()
    mail = parse(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    names = [a.name for a in mail.attachments]
    assert names[:2] == ["stor.pdf", "liten.txt"]
    assert mail.attachments[0].data == big and mail.attachments[1].data == b"hej\n"
    assert mail.text == "Tid: 15 min\n\nText före bilagorna."
    forwarded = mail.attachments[2].data  # the forwarded mail keeps its own attachment, bytes restored
    assert [d for _, d in plain_attachments(forwarded)] == [other]
    assert peak < len(raw) * 1.5, f"parse peaked at {peak / len(raw):.1f} x the message"


def test_small_mail_is_parsed_as_before():
    raw = make_mail(MARIA, "Litet", "Hej", attachments=[("a.pdf", b"%PDF-1.4 tiny", "application/pdf")])
    assert lift_blobs(raw) == (raw, {})
    assert parse(raw).attachments[0].data == b"%PDF-1.4 tiny"
