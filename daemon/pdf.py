"""PDF output through LibreOffice headless.

Each conversion gets its own LibreOffice profile folder (two conversions at
once would otherwise fight over one profile and hang) and a timeout; a missing
LibreOffice is an error that says what to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from daemon.files import safe_name
from daemon.systemd import keepalive

DEFAULT_TIMEOUT = 180.0
CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice")


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


def to_pdf(data: bytes, filename: str, *, filter_options: str = "", timeout: float | None = None) -> bytes:
    """Convert one document (docx, xlsx, pptx, odt, …) given as bytes to PDF bytes.

    ``filter_options`` is LibreOffice's JSON for the PDF export filter, e.g. to ask
    for PDF/A; empty means the default export. ``timeout`` defaults to
    :data:`DEFAULT_TIMEOUT` as it is when called.
    """
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    binary = soffice()
    keepalive()  # one conversion is bounded by ``timeout``; a step converting many pings between them
    name = safe_name(filename, "dokument.docx")
    with tempfile.TemporaryDirectory(prefix="klg-lo-") as work:
        work_path = Path(work)
        source = work_path / "in" / name
        source.parent.mkdir()
        source.write_bytes(data)
        out_dir = work_path / "out"
        target = "pdf" + (f":writer_pdf_Export:{filter_options}" if filter_options else "")
        cmd = [binary, f"-env:UserInstallation={(work_path / 'profile').as_uri()}", "--headless", "--norestore",
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
