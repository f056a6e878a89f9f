"""PDF output through LibreOffice headless.

Each conversion runs with a timeout and a LibreOffice profile folder no other
running conversion uses (two at once would fight over one profile and hang):
the profile of its slot, kept between conversions and made anew after one
failed. A missing LibreOffice is an error that says what to install.

One LibreOffice takes a core and about 200 MB while it runs. On a machine with
many groups, every instance converts its agenda at the same 14:00, so the
conversions of all instances share a bounded pool of slots (:func:`slot`): at
most ``KLG_CONVERTERS`` (default: the number of cores) run at once, the others
wait their turn. The slots are lock files in ``KLG_CONVERTER_LOCKS`` (default a
folder in the temporary directory), which every instance must share: the
systemd unit points it at ``/run/klg-converters``.

Each slot converts through one long-lived LibreOffice (:mod:`daemon.converter`),
started on first use and shared by every instance; without one (no python3-uno,
``KLG_CONVERTER_LISTENER=0``) each conversion starts soffice for itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon import converter
from daemon.files import safe_name
from daemon.systemd import keepalive

DEFAULT_TIMEOUT = 180.0
CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice")


def export_options() -> str:
    """LibreOffice's PDF export filter options for every PDF klg makes of its own documents.

    PDF/A-2b (SelectPdfVersion 2: fonts embedded, XMP metadata, an sRGB output
    intent), tagged for PDF/UA-1 (a structure tree with headings from the
    paragraph styles' outline levels, table header rows as TH with a scope,
    headers and footers as artifacts, /Lang from the document's language, the
    title shown in the window title) and bookmarks from the headings."""
    return json.dumps({"SelectPdfVersion": {"type": "long", "value": "2"},
                       "UseTaggedPDF": {"type": "boolean", "value": "true"},
                       "PDFUACompliance": {"type": "boolean", "value": "true"},
                       "ExportBookmarks": {"type": "boolean", "value": "true"}})


SLOT_POLL = 0.2  # seconds between looks for a free slot


class ConversionError(Exception):
    """A document could not be turned into PDF; the message says which and why."""


def soffice() -> str:
    """Path of the LibreOffice binary, or ConversionError saying how to install it."""
    configured = os.environ.get("KLG_SOFFICE")
    for candidate in ((configured,) if configured else CANDIDATES):
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None)
        if found:
            return found
    raise ConversionError(
        "LibreOffice is not installed, so no PDF can be made: install it "
        "(Debian: apt-get install libreoffice-writer-nogui) or set KLG_SOFFICE to the soffice binary"
    )


def slots() -> int:
    """How many conversions may run at once on this machine (``KLG_CONVERTERS``, default the cores)."""
    text = os.environ.get("KLG_CONVERTERS", "").strip()
    try:
        return max(1, int(text)) if text else max(1, os.cpu_count() or 1)
    except ValueError:
        raise ConversionError(f"KLG_CONVERTERS must be a whole number of conversions at once, not {text!r}") from None


def _locks() -> Path:
    configured = os.environ.get("KLG_CONVERTER_LOCKS", "").strip()
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / f"klg-converters-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@contextmanager
def slot(wait: float) -> Iterator[int]:
    """Hold one of the machine's conversion slots (its number) while the block runs.

    Waits at most ``wait`` seconds for one to come free (pinging the watchdog),
    then raises ConversionError (a failure of the moment: tried again later). A
    slot is an flock on a file, so a killed process frees its slot at once."""
    folder, count = _locks(), slots()
    deadline = time.monotonic() + wait
    while True:
        for number in range(count):
            fd = os.open(folder / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield number
                return
            finally:
                os.close(fd)  # closing releases the lock
        if time.monotonic() >= deadline:
            raise ConversionError(f"LibreOffice did not finish: all {count} conversion slots of this machine "
                                  f"stayed busy for {wait:.0f} s (KLG_CONVERTERS); tried again on a later pass")
        keepalive()
        time.sleep(SLOT_POLL)


def to_pdf(data: bytes, filename: str, *, filter_options: str = "", timeout: float | None = None) -> bytes:
    """Convert one document (docx, xlsx, pptx, odt, …) given as bytes to PDF bytes.

    ``filter_options`` is LibreOffice's JSON for the PDF export filter, e.g. to ask
    for PDF/A; empty means the default export. ``timeout`` defaults to
    :data:`DEFAULT_TIMEOUT` as it is when called.
    """
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    binary = soffice()
    with slot(wait=timeout) as number:
        if converter.enabled():
            try:
                return _through_listener(binary, data, filename, filter_options, timeout, number)
            except converter.Unavailable:
                pass  # logged once by the converter; one soffice run for this document
        # Each slot keeps its LibreOffice profile: only one conversion uses a slot at a time, and
        # a profile made once spares every later start its first-start set-up. A conversion that
        # fails may have left it broken, so the next one in that slot starts from a new profile.
        profile = _locks() / f"profile-{number}"
        try:
            return _convert(binary, data, filename, filter_options, timeout, profile)
        except ConversionError:
            shutil.rmtree(profile, ignore_errors=True)
            raise


def _through_listener(binary: str, data: bytes, filename: str, filter_options: str, timeout: float,
                      number: int) -> bytes:
    keepalive()
    name = safe_name(filename, "dokument.docx")
    # In the slot folder, not the temporary one: the listener may have been started by another
    # instance, and under systemd each instance has a /tmp of its own (PrivateTmp=).
    with tempfile.TemporaryDirectory(prefix="klg-lo-", dir=_locks()) as work:
        source, target = Path(work) / name, Path(work) / (Path(name).stem + ".out.pdf")
        source.write_bytes(data)
        try:
            converter.convert(_locks(), number, binary, source, target, filter_options, timeout)
        except converter.Hung:
            raise ConversionError(f"LibreOffice did not finish converting {name} within {timeout:.0f} s; "
                                  "the document may be damaged or very large") from None
        except converter.Failed as exc:
            raise ConversionError(f"LibreOffice could not convert {name} to PDF: {exc}") from None
        if not target.is_file():
            raise ConversionError(f"LibreOffice could not convert {name} to PDF (no file came out)")
        return target.read_bytes()


def stop_listeners() -> None:
    """Stop this machine's idle conversion listeners now rather than when their idle time runs out.

    A slot in use (its lock held) keeps its listener."""
    folder = _locks()
    for number in range(slots()):
        fd = os.open(folder / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            converter.stop(folder, number)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)


def _convert(binary: str, data: bytes, filename: str, filter_options: str, timeout: float, profile: Path) -> bytes:
    keepalive()  # one conversion is bounded by ``timeout``; a step converting many pings between them
    name = safe_name(filename, "dokument.docx")
    with tempfile.TemporaryDirectory(prefix="klg-lo-") as work:
        work_path = Path(work)
        source = work_path / "in" / name
        source.parent.mkdir()
        source.write_bytes(data)
        out_dir = work_path / "out"
        target = "pdf" + (f":writer_pdf_Export:{filter_options}" if filter_options else "")
        cmd = [binary, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nologo", "--nodefault", "--nolockcheck", "--convert-to", target, "--outdir", str(out_dir), str(source)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work,
                                env={**os.environ, "HOME": work}, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # soffice forks; the whole group must go
            proc.communicate()
            raise ConversionError(f"LibreOffice did not finish converting {name} within {timeout:.0f} s; "
                                  "the document may be damaged or very large") from None
        produced = out_dir / (Path(name).stem + ".pdf")
        if not produced.is_file():
            detail = (stderr or stdout or b"").decode("utf-8", "replace").strip().splitlines()
            raise ConversionError(f"LibreOffice could not convert {name} to PDF"
                                  f"{': ' + detail[-1] if detail else ''} (exit {proc.returncode})")
        return produced.read_bytes()
