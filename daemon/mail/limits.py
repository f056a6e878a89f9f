"""The limits a message is read under, and the time it may take.

Anyone can mail the shared mailbox, so reading a message must cost a bounded
amount of time and memory whatever its bytes are. The checks here are cheap
scans of the raw bytes made *before* the email package parses anything (its
parser recurses on nesting and holds a message several times over), plus a
time budget per message. A message over a limit is not read further: intake
quarantines it and names the limit (``LimitExceeded.what``).

The time budget is checked at the reader's own loops and, in the main thread
(``klg run``, ``klg tick``), also enforced by a one-shot SIGALRM, so that no
single step of reading or handling a message can hold the pass for ever.
It is a CPU budget, measured with the monotonic clock; it says nothing about
the time of day, which stays ``ctx.now``.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one message may hold. ``max_message_bytes`` comes from ``[intake] max_message_mb``."""

    max_message_bytes: int = 50 * MB
    max_header_fields: int = 1000  # fields in the message's own header
    max_field_bytes: int = 128 * 1024  # one header field, folded lines together
    max_header_bytes: int = 1 * MB  # the whole header block
    max_containers: int = 100  # multipart and message/* parts: bounds the nesting the parser recurses on
    max_depth: int = 20  # levels read; a deeper part is kept as a file, unread
    max_parts: int = 1000  # Content-Type fields in the whole message
    max_line_bytes: int = 4 * MB  # one line outside the long base64 runs
    max_skeleton_bytes: int = 16 * MB  # what the email package parses (the long base64 runs lifted out)
    max_decoded_bytes: int = 100 * MB  # all decoded parts together
    max_text_chars: int = 256 * 1024  # body text read into the item; the whole text is kept as a file
    max_html_chars: int = 1 * MB  # HTML turned into text (the rest of a longer body is kept as a file)
    seconds: float = 20.0  # to read and handle one message


class LimitExceeded(Exception):
    """A message went over a limit. ``what`` names it for the plain-language answer
    (explain.txt): header, nesting, parts, lines, size or time; the message says
    how, for the log and the chancellery's list."""

    def __init__(self, what: str, text: str):
        super().__init__(text)
        self.what = what

    def __reduce__(self):  # pickled by what and text: a mail read in a second process carries it (daemon.ahead)
        return (LimitExceeded, (self.what, str(self)))


class Budget:
    """The time one message may take; ``check()`` raises ``LimitExceeded`` once it is spent."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.spent = False

    def check(self) -> None:
        if self.spent or time.monotonic() > self.deadline:
            self.spent = True
            raise LimitExceeded("time", f"reading and handling the message took more than {self.seconds:g} s")

    @contextmanager
    def alarm(self) -> Iterator[None]:
        """Enforce the budget with SIGALRM while the block runs (main thread only;
        elsewhere only ``check()`` enforces it). The alarm fires once and marks the
        budget spent, so a library that swallows the exception is stopped at the
        next ``check()``."""
        if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0]:
            yield
            return
        armed = [True]

        def on_alarm(signum, frame):
            if armed[0]:
                self.spent = True
                raise LimitExceeded("time", f"reading and handling the message took more than {self.seconds:g} s")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline - time.monotonic(), 0.001))
        try:
            self.check()
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            armed[0] = False
            signal.signal(signal.SIGALRM, previous)


_FIELD_START = re.compile(rb"^[^\s:]+:", re.MULTILINE)
_CONTAINER = re.compile(rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?\"?(?:multipart|message)/", re.IGNORECASE | re.MULTILINE)
_CONTENT_TYPE = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)


_BLANK = re.compile(rb"\n\r?\n")


def header_end(raw: bytes) -> int:
    """Where the message's own header ends (the first CRLF CRLF or LF LF: the index of the
    blank line), or len(raw). One search that stops there: looking for both kinds apart
    read all of a message written with the other kind of line ends, several times a message."""
    pos = 0
    while found := _BLANK.search(raw, pos):
        at = found.start()
        if found.end() - at == 2:
            return at  # LF LF
        if at and raw[at - 1] == 0x0D:
            return at - 1  # CR LF CR LF
        pos = at + 1  # LF CR LF without the CR before: not a blank line of either kind
    return len(raw)


def check_header(raw: bytes, limits: Limits) -> None:
    """Raise ``LimitExceeded`` if the message's own header is over a limit."""
    end = header_end(raw)
    if end > limits.max_header_bytes:
        raise LimitExceeded("header", f"the header is {end // 1024} KB (limit {limits.max_header_bytes // 1024} KB)")
    head = raw[:end]
    starts = [m.start() for m in _FIELD_START.finditer(head)]
    if len(starts) > limits.max_header_fields:
        raise LimitExceeded("header", f"the header has {len(starts)} fields (limit {limits.max_header_fields})")
    longest = max((b - a for a, b in zip([0, *starts], [*starts, len(head)])), default=0)
    if longest > limits.max_field_bytes:
        raise LimitExceeded("header", f"a header field is {longest // 1024} KB long "
                                      f"(limit {limits.max_field_bytes // 1024} KB)")


def check_body(skeleton: bytes, limits: Limits) -> None:
    """Raise ``LimitExceeded`` if the message (its long base64 runs lifted out)
    is over a limit the parser would otherwise meet unprepared."""
    if len(skeleton) > limits.max_skeleton_bytes:
        raise LimitExceeded("size", f"{len(skeleton) // MB} MB of the message is not base64-encoded "
                                    f"(limit {limits.max_skeleton_bytes // MB} MB)")
    containers = len(_CONTAINER.findall(skeleton))
    if containers > limits.max_containers:
        raise LimitExceeded("nesting", f"the message has {containers} nested parts (limit {limits.max_containers})")
    parts = len(_CONTENT_TYPE.findall(skeleton))
    if parts > limits.max_parts:
        raise LimitExceeded("parts", f"the message has {parts} parts (limit {limits.max_parts})")
    longest = _longest_line(skeleton)
    if longest > limits.max_line_bytes:
        raise LimitExceeded("lines", f"a line of the message is {longest // MB} MB long "
                                     f"(limit {limits.max_line_bytes // MB} MB)")


def _longest_line(data: bytes) -> int:
    longest, start = 0, 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            return max(longest, len(data) - start)
        longest = max(longest, end - start)
        start = end + 1
