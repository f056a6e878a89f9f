"""One long-lived LibreOffice per conversion slot, shared by every instance on the machine.

Starting soffice costs 1.5 to 2.2 s a document, most of a conversion. So each
slot of :func:`daemon.pdf.slot` has a listener (``daemon/unolistener.py``, run
by LibreOffice's own Python: ``KLG_UNO_PYTHON``, default /usr/bin/python3 with
Debian's python3-uno) that keeps one soffice and converts on request over a
Unix socket in the slot folder. Whoever holds the slot's lock uses the slot's
listener, so one listener serves one conversion at a time, whichever instance
asks, and a machine with many groups runs at most ``KLG_CONVERTERS`` of them.
A listener is started on first use, is kept between passes and processes (a
``klg tick`` finds the one the last tick left), and exits after
``KLG_CONVERTER_IDLE`` seconds (default 1800) without work.

A conversion that outlives its timeout has the listener's whole process group
killed (the next conversion starts a new one), and a listener that does not
answer before it is given a document (left stuck by a klg killed while it
waited) is replaced; a listener that dies under a
document is started again and the document tried once more. When no listener
can start (no python3-uno, or ``KLG_CONVERTER_LISTENER=0``), :mod:`daemon.pdf`
converts with one soffice run per document as before; the reason is logged
once, and a start is tried again ten minutes later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger("klg.pdf")

LISTENER = Path(__file__).with_name("unolistener.py")
START_WAIT = 120.0  # seconds for a listener to say it is ready (soffice's first start on a busy machine)
RETRY_START = 600.0  # after a listener could not start, one run per document for this long
DEFAULT_IDLE = 1800.0
PING_WAIT = 15.0  # seconds for an idle listener to answer (it does at once; a loaded machine may be slow)

_unavailable_until = 0.0  # time.monotonic() before which no listener is started in this process
_told: set[str] = set()  # reasons already logged by this process
_children: dict[int, subprocess.Popen] = {}  # listeners this process started, by slot, to reap them


class Unavailable(Exception):
    """No listener could be started; convert with one soffice run instead."""


class Hung(Exception):
    """The document was not converted within its timeout; the listener was killed."""


class Failed(Exception):
    """LibreOffice could not convert the document; the message says why."""


def enabled() -> bool:
    switch = os.environ.get("KLG_CONVERTER_LISTENER", "1").strip().lower()
    return switch not in ("0", "off", "no", "false") and time.monotonic() >= _unavailable_until


def uno_python() -> str:
    return os.environ.get("KLG_UNO_PYTHON", "").strip() or "/usr/bin/python3"


def idle() -> float:
    text = os.environ.get("KLG_CONVERTER_IDLE", "").strip()
    try:
        return max(1.0, float(text)) if text else DEFAULT_IDLE
    except ValueError:
        return DEFAULT_IDLE


def convert(folder: Path, number: int, binary: str, source: Path, target: Path, options: str, timeout: float) -> None:
    """Convert ``source`` to the PDF ``target`` through slot ``number``'s listener (the caller holds the slot).

    Raises Unavailable (no listener: the caller converts another way), Hung or Failed."""
    key = hashlib.sha256("\0".join((uno_python(), binary, str(LISTENER))).encode()).hexdigest()[:12]
    request = json.dumps({"source": str(source), "target": str(target), "options": options}).encode() + b"\n"
    for attempt in (1, 2):
        if not _alive(folder, number, key) or not _free(folder, number):
            _start(folder, number, binary, key)
        try:
            reply = _ask(folder / f"listener-{number}.sock", request, timeout)
        except TimeoutError:
            _stop(folder, number)
            raise Hung() from None
        if "crashed" in reply:  # LibreOffice died under this document: a new one gets one more try
            _stop(folder, number)
            if attempt == 1:
                log.warning("LibreOffice's listener in slot %d stopped (%s); starting it again", number,
                            reply["crashed"])
                continue
            raise Failed(f"LibreOffice stopped while converting it twice ({reply['crashed']})")
        if "error" in reply:
            raise Failed(reply["error"])
        return


def _free(folder: Path, number: int) -> bool:
    """Whether the slot's listener answers at once; one still stuck in the document of a klg that was
    killed while it waited is stopped here, so that document's hang is not blamed on the next one."""
    try:
        reply = _ask(folder / f"listener-{number}.sock", b'{"ping": true}\n', PING_WAIT)
    except TimeoutError:
        reply = {"crashed": f"no answer within {PING_WAIT:.0f} s"}
    if "crashed" in reply:
        log.warning("LibreOffice's listener in slot %d did not answer (%s); starting a new one", number,
                    reply["crashed"])
        _stop(folder, number)
        return False
    return True


def _ask(path: Path, request: bytes, timeout: float) -> dict:
    """Send one request; the reply, or ``{"crashed": ...}`` when the listener went away under it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(path))
            conn.sendall(request)
            answer = conn.makefile("rb").readline()
        except TimeoutError:
            raise
        except OSError as exc:
            return {"crashed": f"{type(exc).__name__}: {exc}"}
    return json.loads(answer) if answer else {"crashed": "the listener closed the connection"}


def _state(folder: Path, number: int) -> dict:
    try:
        return json.loads((folder / f"listener-{number}.json").read_text())
    except (OSError, ValueError):
        return {}


def _alive(folder: Path, number: int, key: str) -> bool:
    """Whether slot ``number`` has a running listener of this LibreOffice; else any other one is stopped."""
    child = _children.get(number)
    if child is not None and child.poll() is not None:
        del _children[number]  # reaped: a listener that exited (idle) is no zombie of ours
    state = _state(folder, number)
    if state.get("key") == key and (folder / f"listener-{number}.sock").exists():
        try:
            os.kill(int(state["pid"]), 0)
            return True
        except (OSError, ValueError, KeyError):
            pass
    _stop(folder, number)
    return False


def _stop(folder: Path, number: int) -> None:
    """Kill slot ``number``'s listener and its soffice (its process group), if any."""
    pid = _state(folder, number).get("pid")
    if isinstance(pid, int) and pid > 1:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    child = _children.pop(number, None)
    if child is not None:
        child.wait()
    for name in (f"listener-{number}.json", f"listener-{number}.sock"):
        (folder / name).unlink(missing_ok=True)


def stop(folder: Path, number: int) -> None:
    """Stop slot ``number``'s listener (the caller holds the slot's lock)."""
    _stop(folder, number)


def running(folder: Path, number: int) -> int | None:
    """The pid of slot ``number``'s listener, if one runs (for ``klg status`` and tests)."""
    pid = _state(folder, number).get("pid")
    try:
        os.kill(pid, 0)
    except (OSError, TypeError):
        return None
    return pid if (folder / f"listener-{number}.sock").exists() else None


def _start(folder: Path, number: int, binary: str, key: str) -> None:
    global _unavailable_until
    sock = folder / f"listener-{number}.sock"
    # the pipe's name must be unique on the machine: one per slot folder and slot
    pipe = f"klg-{os.getuid()}-{hashlib.sha256(str(folder).encode()).hexdigest()[:10]}-{number}"
    cmd = [uno_python(), "-I", str(LISTENER), "--soffice", binary, "--socket", str(sock), "--pipe", pipe,
           "--profile", (folder / f"listener-profile-{number}").as_uri(), "--home", str(folder / f"home-{number}"),
           "--idle", str(idle())]
    started = time.monotonic()
    try:
        with open(folder / f"listener-{number}.log", "wb") as errors:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                    cwd=folder, start_new_session=True)
    except OSError as exc:
        _unavailable(f"{uno_python()} cannot be run ({exc.strerror or exc})")
    line = b""
    if select.select([proc.stdout], [], [], START_WAIT)[0]:
        line = proc.stdout.readline()
    proc.stdout.close()
    if not line.startswith(b"ready"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        # a profile left broken by a killed LibreOffice must not keep every later start from working
        shutil.rmtree(folder / f"listener-profile-{number}", ignore_errors=True)
        said = line.decode("utf-8", "replace").strip().removeprefix("error: ")
        _unavailable(said or f"it said nothing within {START_WAIT:.0f} s (exit {proc.returncode})")
    _children[number] = proc
    (folder / f"listener-{number}.json").write_text(json.dumps({"pid": proc.pid, "key": key}))
    log.info("LibreOffice's listener in conversion slot %d started in %.1f s (pid %d)", number,
             time.monotonic() - started, proc.pid)
    _unavailable_until = 0.0


def _unavailable(reason: str):
    global _unavailable_until
    _unavailable_until = time.monotonic() + RETRY_START
    if reason not in _told:
        _told.add(reason)
        log.warning("LibreOffice's listener could not start (%s): converting with one LibreOffice run "
                    "per document", reason)
    raise Unavailable(reason)
