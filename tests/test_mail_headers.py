"""Headers as they travel: long subjects folded by members' clients, Swedish
subjects the daemon sends, and the size an attachment has in the mail."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from daemon.mail.compose import build
from daemon.mail.message import parse
from daemon.mail.outgoing import OutAttachment, Outgoing, encoded_size

HEAD = b"From: Sofia Lund <sofia.lund@example.org>\r\nMessage-ID: <a@example.org>\r\n"


@pytest.mark.parametrize("folded, expected", [
    (b"Re: [KLG 2026-12-01] Utkast till dagordning tisdag\r\n 1 december 2026",
     "Re: [KLG 2026-12-01] Utkast till dagordning tisdag 1 december 2026"),
    (b"SV: [KLG-2026-001] Skriftligt =?utf-8?q?f=C3=B6rfarande=3A?=\r\n Riktlinjer",
     "SV: [KLG-2026-001] Skriftligt förfarande: Riktlinjer"),
    (b"SV: [KLG-2026-001]\r\n\t=?utf-8?q?f=C3=B6rfarande=3A?=\r\n\t=?utf-8?q?_Riktlinjer?=",
     "SV: [KLG-2026-001] förfarande: Riktlinjer"),
    (b"=?utf-8?q?SV=3A_Skriftligt_f=C3=B6?=\r\n =?utf-8?q?rfarande?=", "SV: Skriftligt förfarande"),
    (b"=?iso-8859-1?q?=C5terkalla?= punkt =?utf-8?q?=C3=A4ndrad?= nu", "Återkalla punkt ändrad nu"),
    (b"Inbjudan =?utf-8?q?fr=C3=A5n?= Region", "Inbjudan från Region"),
    (b"Inbjudan\r\n =?utf-8?q?fr=C3=A5n?=\r\n Region", "Inbjudan från Region"),
])
def test_folded_subject_is_unfolded_with_its_spaces(folded, expected):
    mail = parse(HEAD + b"Subject: " + folded + b"\r\n\r\nText.\r\n")
    assert mail.subject == expected


def _built(subject: str, attachments=()) -> bytes:
    return build(Outgoing(to=["lena.akesson@example.org"], subject=subject, body="Hej Lena Åkesson!",
                          attachments=list(attachments)),
                 sender="klg@example.org", sender_name="Kommunledningsgruppen Sjövik", message_id="x@example.org",
                 date=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))


def test_swedish_subject_goes_out_rfc2047_encoded_and_comes_back_whole():
    subject = ("[KLG-2026-001] Skriftligt förfarande: Riktlinjer för representation, gåvor och "
               "måltider (svar senast 9 december)")
    raw = _built(subject)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # no SMTPUTF8 needed on any hop
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parse(raw).subject == subject


@pytest.mark.parametrize("size", [0, 1, 2, 3, 1000, 57, 100_000, 1_000_003])
def test_encoded_size_is_what_an_attachment_adds_to_the_mail(size):
    bare = len(_built("s"))
    added = len(_built("s", [OutAttachment("Sammanställning synpunkter KLG-2026-001.pdf", os.urandom(size))])) - bare
    assert added <= encoded_size(size) <= added + 200
    assert encoded_size(size) >= size * 4 / 3
