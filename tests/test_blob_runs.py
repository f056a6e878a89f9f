"""The long base64 runs lifted out before parsing are found without a regular
expression over the whole message (issue 19): the same runs the expression found."""

from __future__ import annotations

import random
import re

from daemon.mail.blobs import BLOB_MIN, _runs, lift_blobs
from daemon.mail.limits import header_end

_CLASS = rb"A-Za-z0-9+/=\r\n"
_REGEX = re.compile(rb"(?<![%s])[%s]{%d,}" % (_CLASS, _CLASS, BLOB_MIN))


def sample(rng: random.Random) -> bytes:
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    pieces = []
    for _ in range(rng.randint(1, 6)):
        size = rng.choice([10, 1000, BLOB_MIN - 1, BLOB_MIN, BLOB_MIN + 1, 2 * BLOB_MIN - 1, 2 * BLOB_MIN,
                           3 * BLOB_MIN + 7, rng.randint(1, 3 * BLOB_MIN)])
        run = bytes(rng.choice(alphabet) for _ in range(min(size, 64))) * (size // 64 + 1)
        pieces.append(run[:size])
        pieces.append(rng.choice([b" ", b"\x00", b"-", b"\xff", b"--boundary--\r\n", b"\r\n\r\nText: x\r\n"]))
    return b"".join(pieces)[rng.randint(0, 3):]


def test_the_runs_are_those_of_the_regular_expression():
    rng = random.Random(19)
    found = 0
    for _ in range(60):
        raw = sample(rng)
        expected = [m.span() for m in _REGEX.finditer(raw)]
        assert list(_runs(raw)) == expected
        found += len(expected)
    assert found > 30


def test_a_message_is_parsed_around_its_lifted_attachment():
    blob = b"QUJD" * (BLOB_MIN // 4 + 1000)
    body = b"\r\n".join(blob[i:i + 76] for i in range(0, len(blob), 76))
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\n" + body + b"\r\n"
    skeleton, blobs = lift_blobs(raw)
    assert len(blobs) == 1 and len(skeleton) < 200
    [(start, end)] = blobs.values()
    assert raw[start:end].startswith(b"QUJD") and raw[end:] == b""


def test_the_header_ends_at_the_first_blank_line_of_either_kind():
    for raw, end in [(b"A: 1\r\n\r\nbody\n\nmore", 4), (b"A: 1\n\nbody\r\n\r\n", 4), (b"A: 1\n\r\nB\n\nC", 8),
                     (b"A: 1\r\n\nB", 5), (b"A: 1", 4), (b"\n\nX", 0), (b"\r\n\r\nX", 0)]:
        ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
        assert header_end(raw) == (min(ends) if ends else len(raw)) == end, raw


def test_a_lifted_run_decodes_to_what_binascii_gives():
    """pybase64 decodes the lifted runs: the same bytes as the standard library, or the
    same refusal (a run cut short), on runs as mail clients write them."""
    import base64
    import binascii

    from daemon.mail.blobs import Blobs

    rng = random.Random(4)
    for case in range(40):
        data = rng.randbytes(BLOB_MIN + rng.randint(0, 4096))
        text = base64.encodebytes(data)  # 76 characters a line
        if case % 2:
            text = text.replace(b"\n", b"\r\n")
        if case % 5 == 4:
            text = text.rstrip(b"=\r\n")[:-rng.randint(1, 3)] + b"\r\n"  # cut short: no longer whole
        raw = b"From: a@example.org\r\nSubject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n" + text
        skeleton, lifted = lift_blobs(raw)
        [(token, (start, end))] = lifted.items()
        try:
            expected = binascii.a2b_base64(raw[start:end])
        except binascii.Error:
            expected = None
        got = Blobs(raw, lifted).base64(token + "\r\n")
        assert got == expected
        assert (got == data) == (case % 5 != 4)
