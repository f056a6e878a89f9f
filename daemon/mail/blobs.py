"""Large attachments without the email package holding them several times.

The email package's parser holds a message as text, as a list of its lines
and as the joined body at once, about eight times the message's size. Runs of
base64 lines longer than ``BLOB_MIN`` are therefore lifted out of the raw
bytes before parsing (a token line stands in for each) and decoded straight
from the raw bytes when their part is read.

The scan is linear: a run is only tried where one begins (the character
before it is not a base64 character), so a text of many runs just shorter
than ``BLOB_MIN`` costs one pass, not one pass per position (a 1.6 MB text of
such runs took 286 s with the plain pattern).
"""

from __future__ import annotations

import binascii
import os
import re

BLOB_MIN = 256 * 1024
_B64 = rb"A-Za-z0-9+/=\r\n"
_B64_RUN = re.compile(rb"(?<![%s])[%s]{%d,}" % (_B64, _B64, BLOB_MIN))
_TOKEN = b"KLGBLOB"


def lift_blobs(raw: bytes) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """(skeleton, blobs): ``raw`` with each long base64 run replaced by a token
    line, and where each token's bytes are in ``raw``."""
    if len(raw) < BLOB_MIN:
        return raw, {}
    nonce = os.urandom(6).hex()
    pieces: list[bytes] = []
    blobs: dict[str, tuple[int, int]] = {}
    last = 0
    for run in _B64_RUN.finditer(raw):
        start, end = run.span()
        if start and raw[start - 1:start] != b"\n":  # begun inside a line (a header's tail): from the next line
            start = raw.find(b"\n", start, end) + 1 or end
        while start < end and raw[start:start + 1] in (b"\r", b"\n"):  # not the blank line before a body
            start += 1
        end = raw.rfind(b"\n", start, end) + 1  # whole lines only
        if end - start < BLOB_MIN:
            continue
        token = f"KLGBLOB{nonce}N{len(blobs)}"
        newline = b"\r\n" if raw[end - 2:end] == b"\r\n" else b"\n"
        pieces += [raw[last:start], token.encode("ascii") + newline]
        blobs[token] = (start, end)
        last = end
    if not blobs:
        return raw, {}
    pieces.append(raw[last:])
    return b"".join(pieces), blobs


class Blobs:
    """The lifted runs of one message, put back or decoded on demand."""

    def __init__(self, raw: bytes, blobs: dict[str, tuple[int, int]]):
        self.raw = raw
        self.blobs = blobs

    def restore(self, data: bytes) -> bytes:
        """``data`` with every token line replaced by the bytes it stands for."""
        if not self.blobs or _TOKEN not in data:
            return data
        for token, (start, end) in self.blobs.items():
            at = data.find(token.encode("ascii"))
            if at >= 0:
                cut = data.find(b"\n", at)
                data = data[:at] + self.raw[start:end] + (data[cut + 1:] if cut >= 0 else b"")
        return data

    def base64(self, body: str) -> bytes | None:
        """The decoded bytes when ``body`` is exactly one token of a clean base64
        run (padding only at its end); None when it is not a lifted run."""
        token = body.strip()
        if token not in self.blobs:
            return None
        start, end = self.blobs[token]
        first_pad = self.raw.find(b"=", start, end)
        if first_pad >= 0 and self.raw[first_pad:end].strip(b"=\r\n"):
            return None  # padding inside the run: not one clean base64 text
        try:
            return binascii.a2b_base64(memoryview(self.raw)[start:end])
        except binascii.Error:
            return None

    def __contains__(self, text: str) -> bool:
        return bool(self.blobs) and "KLGBLOB" in text
