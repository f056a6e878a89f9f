"""A long-lived LibreOffice that converts documents to PDF for klg, one per conversion slot.

Not imported by klg: it runs under the Python that has LibreOffice's ``uno``
module (Debian: /usr/bin/python3 with python3-uno), which is not klg's. klg
(:mod:`daemon.converter`) starts it in a new session; it starts one soffice
listening on a UNO pipe of its own, prints ``ready PID`` on stdout once it can
convert, and then answers one JSON request a connection on a Unix socket in the
slot folder (mode 0700, so only klg's user reaches it): ``{"source", "target",
"options"}`` (or ``{"ping": true}``) → ``{"ok": true}``, ``{"error": ...}`` (the document could not be
converted) or ``{"crashed": ...}`` (LibreOffice itself is gone; this process
then exits, and klg starts a new one). It exits after ``--idle`` seconds
without a request, so a quiet machine does not keep 200 MB per slot.

The per-document timeout is klg's: it holds the slot's lock while it waits for
the answer, and on a timeout kills this process's whole group, soffice with it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

try:
    import uno
    from com.sun.star.beans import PropertyValue
except ImportError:  # klg's own Python, or no python3-uno: main() says so and exits 3
    uno = None

CONNECT_WAIT = 90.0  # seconds for soffice to answer on its pipe (a cold start on a busy machine)
NO_UNO = 3
# The PDF export filter by the kind of document LibreOffice opened; the first it supports wins
# (a presentation is also a drawing document, a web page also a text document).
FILTERS = (("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
           ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
           ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
           ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
           ("com.sun.star.text.TextDocument", "writer_pdf_Export"))


def prop(name, value):
    item = PropertyValue()
    item.Name, item.Value = name, value
    return item


def filter_data(options: str) -> tuple:
    """The FilterData property from the JSON klg gives soffice's --convert-to (daemon.pdf.export_options)."""
    if not options:
        return ()
    values = []
    for name, spec in json.loads(options).items():
        kind, value = spec.get("type"), spec.get("value")
        if kind == "boolean":
            value = str(value).lower() == "true"
        elif kind in ("long", "short", "int"):
            value = int(value)
        values.append(prop(name, value))
    return (prop("FilterData", uno.Any("[]com.sun.star.beans.PropertyValue", tuple(values))),)


def convert(desktop, source: str, target: str, options: str) -> None:
    """Open ``source`` hidden and read-only (as soffice --convert-to does) and store it as PDF in ``target``."""
    document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                            (prop("Hidden", True), prop("ReadOnly", True)))
    if document is None:
        raise ValueError("LibreOffice could not open it")
    try:
        name = next((f for service, f in FILTERS if document.supportsService(service)), "writer_pdf_Export")
        document.storeToURL(uno.systemPathToFileUrl(target),
                            (prop("FilterName", name), prop("Overwrite", True)) + filter_data(options))
    finally:
        document.close(True)


def connect(pipe: str, office: subprocess.Popen):
    """The Desktop of the soffice on ``pipe``, polling until it answers (it takes a second or two)."""
    context = uno.getComponentContext()
    resolver = context.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", context)
    deadline = time.monotonic() + CONNECT_WAIT
    while True:
        try:
            remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
        except Exception as exc:  # NoConnectException until soffice listens
            if office.poll() is not None:
                raise RuntimeError(f"soffice exited ({office.returncode}) before it listened") from exc
            if time.monotonic() > deadline:
                raise RuntimeError(f"soffice did not listen within {CONNECT_WAIT:.0f} s") from exc
            time.sleep(0.1)


def serve(server: socket.socket, desktop, office: subprocess.Popen) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            return  # idle long enough
        with conn:
            conn.settimeout(None)
            request = json.loads(conn.makefile("rb").readline() or b"{}")
            if request.get("ping"):  # klg asks whether this listener is free before it hands it a document
                conn.sendall(b'{"ok": true}\n')
                continue
            try:
                convert(desktop, request["source"], request["target"], request.get("options", ""))
                reply = {"ok": True}
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}".strip()
                if office.poll() is not None or "disposed" in detail.lower():
                    conn.sendall(json.dumps({"crashed": detail}).encode() + b"\n")
                    return
                reply = {"error": detail}
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass  # klg gave up waiting (and will kill this group); nothing to answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unolistener")
    for name in ("--soffice", "--profile", "--socket", "--pipe", "--home"):
        parser.add_argument(name, required=True)
    parser.add_argument("--idle", type=float, default=1800.0)
    args = parser.parse_args(argv)
    if uno is None:
        print(f"error: {sys.executable} has no uno module (Debian: apt-get install python3-uno)", flush=True)
        return NO_UNO
    os.makedirs(args.home, mode=0o700, exist_ok=True)
    office = subprocess.Popen(
        [args.soffice, f"-env:UserInstallation={args.profile}", "--headless", "--invisible", "--norestore",
         "--nologo", "--nodefault", "--nolockcheck", "--nocrashreport",
         f"--accept=pipe,name={args.pipe};urp;StarOffice.ComponentContext"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=args.home, env={**os.environ, "HOME": args.home})
    try:
        desktop = connect(args.pipe, office)
        if os.path.exists(args.socket):
            os.unlink(args.socket)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(args.socket)
        os.chmod(args.socket, 0o600)
        server.listen(4)
        server.settimeout(args.idle)
    except Exception as exc:
        print(f"error: {exc}", flush=True)
        end(office)  # klg falls back to one LibreOffice run per document
        return 1
    print(f"ready {os.getpid()}", flush=True)
    sys.stdout.close()  # klg reads only the first line; a closed pipe must not kill us later
    try:
        serve(server, desktop, office)
    finally:
        server.close()
        try:
            os.unlink(args.socket)
        except OSError:
            pass
        try:
            desktop.terminate()
            office.wait(10)
        except Exception:
            pass
        end(office)
    return 0


def end(office: subprocess.Popen) -> None:
    """Kill soffice and whatever it forked (soffice.bin): the group klg started this process in."""
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)  # this process goes too, as it is about to anyway
    office.kill()


if __name__ == "__main__":
    sys.exit(main())
