"""Reading a backlog ahead, in a second process.

Reading a message (``mail.message.parse``) and looking at its attachments
(``attachments.look``: is it hostile, how many pages) depend on nothing but the
bytes and the limits, and take about a third of intake's time. When a pass has
a backlog (from its ``START_AT``-th message on), a worker process (``python -m
daemon.ahead``) does both for the next message of the fetched batch while
intake acts on the current one, so a second core does that part (issue 19).

Nothing depends on the worker. What it cannot read (a bug, its time budget
spent, a worker that died, hung or could not start) is read again in the
daemon, as without it; any other limit it hit is handed over as the same
``LimitExceeded``. Only messages up to
``MAX_BYTES`` go to it; larger ones are read in the daemon, one at a time.

The protocol: frames of an 8-byte length and the bytes, over two pipes. The
daemon sends the limits and its log level once; the worker answers
``("ready", None, [])`` once it has imported what it reads with (about 0.2 s),
and until then the daemon reads the messages itself rather than wait. Then it
sends one message at a time, and the worker answers each with a pickled
``("mail", ParsedMail, log)``, ``("limit", LimitExceeded, log)`` or
``("again", reason, [])``, where ``log`` is what was logged while reading it
(a damaged PDF's page count, pypdf's warnings), which the daemon logs as its
own, as if it had read the message itself. The daemon reads the answer for one
message before it sends the next, so neither side ever waits on a full pipe
while the other waits on it, whatever the pipes' sizes, and the daemon needs no
thread (a thread in the daemon would wait for the interpreter lock on every
piece of the pipe). The answers are unpickled with only the classes a
ParsedMail is made of. The worker ends when its input ends, so it never
outlives the daemon.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import select
import struct
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator

from daemon.mail import InboxMessage
from daemon.mail.limits import LimitExceeded, Limits

if TYPE_CHECKING:
    import subprocess

    from daemon.mail.message import ParsedMail

# Imported by every pass, mail or none: the email package, subprocess and the parser are
# imported only when a backlog starts the worker (start-up, issue 19).

log = logging.getLogger("klg.intake")

START_AT = 10  # a pass's messages before this are read in the daemon: most passes have one or two
MAX_BYTES = 1024 * 1024  # larger messages are read in the daemon (one in memory at a time)
GRACE_SECONDS = 5.0  # beyond the limits' own time budget, before a silent worker is given up
# True: wait for the worker to start rather than read meanwhile. Tests that compare set it, and the
# crash tests set KLG_READ_AHEAD_WAIT=1 for a real `klg tick`, so that a kill finds the worker holding a message.
WAIT_READY = os.environ.get("KLG_READ_AHEAD_WAIT") == "1"
MAX_LOG_LINES = 20  # what the worker logged while reading one message, handed over (more is cut)
_FRAME = struct.Struct("!Q")
_PIPE_BYTES = 1024 * 1024  # asked of the kernel, so a message passes in one write (a 64 KB pipe works too)
# what a ParsedMail is made of: nothing else is unpickled from the worker
_ALLOWED = {
    "daemon.mail.message": {"ParsedMail"}, "daemon.mail.walker": {"Attachment"},
    "daemon.mail.limits": {"LimitExceeded"}, "daemon.officezip": {"Refused"},
    "email.message": {"Message"}, "email._policybase": {"Compat32"},
    "datetime": {"datetime", "timezone", "timedelta"},
}


@dataclass(frozen=True)
class Read:
    """What the worker made of one message: the mail, or the limit reading it went over."""

    mail: ParsedMail | None = None
    limit: LimitExceeded | None = None

    def result(self) -> ParsedMail:
        """The mail; raises the ``LimitExceeded`` the worker met, as ``parse`` would have."""
        if self.limit is not None or self.mail is None:
            raise self.limit or LimitExceeded("time", "the message was not read")
        return self.mail


class _Answers(pickle.Unpickler):
    """Unpickles only what a ParsedMail is made of."""

    def find_class(self, module: str, name: str):
        if name in _ALLOWED.get(module, ()) or (module == "email.errors" and name.endswith("Defect")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the read-ahead worker sent {module}.{name}, which a mail is not made of")


class ReadAhead:
    """The daemon's side: hands out a pass's messages with what the worker read of them.

    Use as a context manager around one pass (``Engine.ingest``); the worker is
    started at the pass's ``START_AT``-th message and stopped when the pass ends."""

    def __init__(self, limits: Callable[[], Limits], start_at: int | None = None):
        self._limits = limits  # asked when the worker starts: most passes never need them
        self.limits: Limits | None = None
        self.start_at = START_AT if start_at is None else start_at
        self.worker: subprocess.Popen | None = None
        self.ready = False  # the worker said it has started (imported what it reads with)
        self.lost = False  # the worker failed in this pass: the rest is read in the daemon
        self.counts = {"ahead": 0, "here": 0}

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def over(self, messages: Iterable[InboxMessage]) -> Iterator[tuple[InboxMessage, Read | None]]:
        """Each message of ``messages`` with what the worker read of it (None: read it yourself).

        The next message is taken from ``messages`` only within a batch (never past
        ``last``), so the backend's batches and moves stay as they are."""
        seen = 0
        sent: InboxMessage | None = None  # the message the worker is reading
        stream = iter(messages)
        current = next(stream, None)
        while current is not None:
            seen += 1
            read = self._answer() if sent is current else None
            following = None if current.last else next(stream, None)
            sent = None
            if following is not None and seen + 1 >= self.start_at and self._send(following):
                sent = following
            self.counts["here" if read is None else "ahead"] += 1
            yield current, read
            current = following if following is not None else next(stream, None)

    def _send(self, message: InboxMessage) -> bool:
        if self.lost or len(message.raw) > MAX_BYTES or not self._started() or not self._is_ready():
            return False
        try:
            _write_frame(self.worker.stdin, message.raw)
            log.debug("message %s was handed to the read-ahead worker", message.key)
            return True
        except OSError as exc:
            self._lose(f"it could not be given a message: {exc}")
            return False

    def _is_ready(self) -> bool:
        """Whether the worker has started. Until it has, messages are read in the daemon, which
        would otherwise wait for the worker's start-up (about 0.2 s of imports) in every pass."""
        if self.ready:
            return True
        if not WAIT_READY and not _readable(self.worker.stdout.fileno(), time.monotonic()):
            return False
        first = self._receive(GRACE_SECONDS, "it did not start")
        if first is None:
            return False
        if first != ("ready", None, []):
            self._lose("it did not start: its first answer was not that it had started")
            return False
        self.ready = True
        log.debug("the read-ahead worker (pid %d) has started", self.worker.pid)
        return True

    def _answer(self) -> Read | None:
        """The worker's answer for the message sent last; None when it has none to give."""
        from daemon.mail.message import ParsedMail  # noqa: PLC0415 -- see the imports

        answer = self._receive(self.limits.seconds + GRACE_SECONDS, "its answer did not come")
        if answer is None:
            return None
        try:
            kind, value, lines = answer
            lines = [(str(name), int(level), str(text)) for name, level, text in lines[:MAX_LOG_LINES]]
        except Exception as exc:  # noqa: BLE001 -- not an answer's shape: read the message here
            self._lose(f"its answer did not come: {type(exc).__name__}: {exc}")
            return None
        if kind == "again":
            return None  # what went wrong is seen, and logged, when the daemon reads it
        for name, level, text in lines:
            logging.getLogger(name).log(level, "%s", text)  # the daemon's levels and handler decide
        if kind == "mail" and isinstance(value, ParsedMail):
            return Read(mail=value)
        if kind == "limit" and isinstance(value, LimitExceeded):
            return Read(limit=value)
        return None  # an answer of no known kind: the daemon reads the message itself

    def _receive(self, timeout: float, failure: str) -> Any:
        """The worker's next frame, unpickled (only what a mail is made of); None, with the
        worker given up and ``failure`` logged, when it does not come or does not unpickle."""
        try:
            return _Answers(io.BytesIO(_read_frame(self.worker.stdout, timeout))).load()  # BytesIO shares the bytes
        except Exception as exc:  # noqa: BLE001 -- any failure of the worker: the daemon reads on by itself
            self._lose(f"{failure}: {type(exc).__name__}: {exc}")
            return None
        except BaseException:  # interrupted while waiting (the daemon's own time budget): out of step now
            self._lose("it was interrupted")
            raise

    def _started(self) -> bool:
        if self.worker is not None:
            return True
        try:
            self.limits = self._limits()
            self.worker = start_worker()
            _write_frame(self.worker.stdin, pickle.dumps((self.limits, logging.getLogger().getEffectiveLevel())))
            return True
        except OSError as exc:
            self._lose(f"it could not be started: {exc}")
            return False

    def _lose(self, why: str) -> None:
        log.warning("reading mail ahead in a second process stopped (%s); the rest of this pass is read in the daemon",
                    why)
        self.lost = True
        self._stop(kill=True)

    def close(self) -> None:
        """End the worker (it ends when its input closes) and log what it did."""
        if self.counts["ahead"]:
            log.info("%d of %d messages were read ahead in a second process", self.counts["ahead"],
                     self.counts["ahead"] + self.counts["here"])
        self._stop(kill=False)

    def _stop(self, kill: bool) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        for pipe in (worker.stdin, worker.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if kill:
            worker.kill()
        try:
            worker.wait(timeout=2)
        except Exception:  # noqa: BLE001 -- subprocess.TimeoutExpired: it did not end by itself
            worker.kill()
            worker.wait()


def start_worker() -> subprocess.Popen:
    """Start ``python -m daemon.ahead`` with this interpreter and this copy of klg."""
    import subprocess  # noqa: PLC0415 -- see the imports

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    worker = subprocess.Popen([sys.executable, "-m", "daemon.ahead"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, close_fds=True, bufsize=0)
    for pipe in (worker.stdin, worker.stdout):
        _widen(pipe.fileno())
    return worker


def _widen(fd: int) -> None:
    try:
        import fcntl  # noqa: PLC0415 -- Linux only, and only when a backlog comes

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass  # the system's size (64 KB): the protocol works with any


def _write_frame(pipe: BinaryIO, data: bytes) -> None:
    view = memoryview(_FRAME.pack(len(data)) + data) if len(data) < 65536 else None
    if view is None:  # large: the length, then the bytes themselves, not a copy of them
        _write_all(pipe, memoryview(_FRAME.pack(len(data))))
        view = memoryview(data)
    _write_all(pipe, view)


def _write_all(pipe: BinaryIO, view: memoryview) -> None:
    fd = pipe.fileno()
    while view:
        view = view[os.write(fd, view):]


def _read_frame(pipe: BinaryIO, timeout: float | None = None) -> bytes:
    """One frame's bytes; EOFError when the pipe ends, TimeoutError after ``timeout`` seconds."""
    fd = pipe.fileno()
    deadline = None if timeout is None else time.monotonic() + timeout
    size = _FRAME.unpack(_read_exactly(fd, _FRAME.size, deadline))[0]
    return _read_exactly(fd, size, deadline)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    pieces: list[bytes] = []
    left = size
    while left:
        if deadline is not None and not _readable(fd, deadline):
            raise TimeoutError("no answer in time")
        piece = os.read(fd, left)  # the bytes themselves when they are all there: no copy of a copy
        if not piece:
            raise EOFError("the pipe ended")
        pieces.append(piece)
        left -= len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _readable(fd: int, deadline: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0.0, deadline - time.monotonic()) * 1000))


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The worker: read messages from ``source`` and answer each on ``sink``, until ``source`` ends."""
    from daemon.attachments import look  # noqa: PLC0415 -- see the imports
    from daemon.mail.limits import Budget  # noqa: PLC0415 -- the worker's own, next to its use
    from daemon.mail.message import parse  # noqa: PLC0415 -- see the imports

    try:
        limits, level = pickle.loads(_read_frame(source))
    except EOFError:
        return
    lines = _Lines(level)
    try:
        import pypdf  # noqa: F401, PLC0415 -- what the page count imports, before the worker says it is ready
    except ImportError:
        pass  # the page count says so for each document, as in the daemon
    _write_frame(sink, pickle.dumps(("ready", None, [])))
    while True:
        try:
            raw = _read_frame(source)
        except EOFError:
            return
        budget = Budget(limits.seconds)
        mail = None
        lines.taken = []
        try:
            with budget.alarm():
                mail = parse(raw, limits, budget)
                for attachment in mail.attachments:
                    look(attachment)
            answer = ("mail", mail, lines.taken)
        except LimitExceeded as exc:  # out of time: the daemon reads it again under its own budget, as before
            answer = ("limit", exc, lines.taken) if exc.what != "time" else ("again", str(exc), [])
        except Exception as exc:  # noqa: BLE001 -- the daemon reads it again and sees for itself
            answer = ("again", f"{type(exc).__name__}: {exc}"[:300], [])
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 -- something in the mail that does not pickle: read it there
            payload = pickle.dumps(("again", f"{type(exc).__name__}: {exc}"[:300], []))
        del raw, answer, mail
        _write_frame(sink, payload)


class _Lines(logging.Handler):
    """The worker's log: what is logged while one message is read, as (logger, level, text),
    to be handed over with the answer."""

    def __init__(self, level: int):
        super().__init__()
        self.taken: list[tuple[str, int, str]] = []
        root = logging.getLogger()
        root.handlers[:] = [self]
        root.setLevel(level)  # the daemon's; each logger's own level is applied when the daemon logs it

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.taken) < MAX_LOG_LINES:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.taken.append((record.name, record.levelno, text))


def main() -> None:
    import signal  # noqa: PLC0415 -- the worker's own

    # Ctrl-C and a service stop reach the daemon too, which finishes its message and closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sink = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # whatever prints goes to the log, never into the answers
    try:
        serve(sys.stdin.buffer, sink)
    except BrokenPipeError:
        pass  # the daemon went away: nothing to answer to


if __name__ == "__main__":
    main()
