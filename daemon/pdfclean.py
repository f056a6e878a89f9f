"""Making a member's PDF fit to go into klg's own documents (the meeting book).

A PDF from mail may be broken in ways that crash the library reading it:
pypdf raises RecursionError on annotations nested thousands deep, and qpdf
(under pikepdf) overflows its C++ stack on reference chains a hundred
thousand long, which kills the whole process. So ``clean`` never opens the
document in the daemon: a child process (``python -m daemon.pdfclean``, with
a memory limit and a timeout) opens it with pikepdf, refuses structures
nested deeper than ``MAX_DEPTH``, strips active content and writes a fresh
PDF of the pages. Whatever happens to the child, the daemon gets clean
bytes or ``Unusable`` with the reason.

Active content that is not carried over: the document's JavaScript, open
actions and embedded files (only the pages are copied), every page's and
annotation's additional actions (/AA), annotations that play or carry files
(FileAttachment, Sound, Movie, Screen, RichMedia, 3D), and every action but
links to web pages and to places in the document (JavaScript, Launch,
SubmitForm, ImportData, GoToR, …).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

CHILD_TIMEOUT = 60.0
CHILD_MEMORY = 1536 * 1024 * 1024  # address space of the child
MAX_DEPTH = 200  # objects nested (directly or by reference) below a page; real documents stay under 30
MAX_OBJECTS = 2_000_000
DROPPED_ANNOTATIONS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
KEPT_ACTIONS = {"/URI", "/GoTo", "/Named"}
URI_SCHEMES = ("http://", "https://", "mailto:")


class Unusable(Exception):
    """A PDF that cannot go into the meeting book; the message says why, in English."""


def clean(source: bytes | os.PathLike, timeout: float = CHILD_TIMEOUT) -> bytes:
    """``source`` (the PDF's bytes, or a file holding them) as a fresh PDF of its pages,
    without active content; Unusable when the document cannot be read, is nested
    absurdly deep, or crashes or outlasts the reader.

    A file is handed to the child as its stdin, and the child writes to a
    temporary file: the daemon then holds only the clean PDF, once, instead of
    the document, what the pipe read and their join (a 25 MB document took the
    daemon 66 MB above idle, more than intake took for its mail)."""
    import tempfile  # imported here, not at the top: start-up (issue 19)
    from contextlib import nullcontext

    as_bytes = isinstance(source, (bytes, bytearray, memoryview))
    with tempfile.TemporaryFile() as out, (nullcontext() if as_bytes else open(source, "rb")) as given:
        try:
            proc = subprocess.run([sys.executable, "-m", "daemon.pdfclean"], input=source if as_bytes else None,
                                  stdin=given, stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Unusable(f"reading the PDF took more than {timeout:.0f} s") from None
        out.seek(0)
        made = out.read() if proc.returncode == 0 else b""
    if made.startswith(b"%PDF-"):
        return made
    why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode < 0:
        raise Unusable(f"the PDF crashed its reader (signal {-proc.returncode})")
    raise Unusable(why[-1] if why else f"the PDF could not be read (exit {proc.returncode})")


def _limits() -> None:
    """The child's own limits, set first thing (not with preexec_fn, which is unsafe in the threaded daemon)."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# --- in the child -------------------------------------------------------------------


def _depth(page, pikepdf) -> int:
    """How deep objects nest below ``page`` (not following /Parent), counted without recursion."""
    seen: set = set()
    deepest = 0
    stack = [(page, 0)]
    count = 0
    while stack:
        obj, depth = stack.pop()
        if not isinstance(obj, pikepdf.Object):
            continue  # numbers and booleans come back as Python values
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if obj.is_indirect:
            key = obj.objgen
            if key in seen:
                continue
            seen.add(key)
        count += 1
        if count > MAX_OBJECTS:
            raise Unusable(f"the PDF has more than {MAX_OBJECTS} objects on one page")
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            stack.extend((v, depth + 1) for k, v in obj.items() if k != "/Parent")
        elif isinstance(obj, pikepdf.Array):
            stack.extend((v, depth + 1) for v in obj)
    return deepest


def _safe_action(action, pikepdf) -> bool:
    if not isinstance(action, pikepdf.Dictionary):
        return False
    kind = str(action.get("/S", ""))
    if kind not in KEPT_ACTIONS:
        return False
    if kind == "/URI":
        uri = str(action.get("/URI", "")).strip().lower()
        return uri.startswith(URI_SCHEMES)
    return True


def _strip_page(page, pikepdf) -> None:
    """Remove the page's active content (see the module docstring), in place."""
    for key in ("/AA",):
        if key in page:
            del page[key]
    annots = page.get("/Annots")
    if annots is None:
        return
    kept = pikepdf.Array()
    for annot in annots if isinstance(annots, pikepdf.Array) else []:
        if not isinstance(annot, pikepdf.Dictionary) or str(annot.get("/Subtype", "")) in DROPPED_ANNOTATIONS:
            continue
        for key in ("/AA", "/Popup", "/IRT", "/Parent"):  # actions, and links to other annotations or form fields
            if key in annot:
                del annot[key]
        if "/A" in annot:
            if _safe_action(annot["/A"], pikepdf):
                if "/Next" in annot["/A"]:
                    del annot["/A"]["/Next"]
            else:
                del annot["/A"]
        kept.append(annot)
    if len(kept):
        page["/Annots"] = kept
    else:
        del page["/Annots"]


def _child() -> int:
    import io

    import pikepdf

    _limits()
    data = sys.stdin.buffer.read()
    try:
        src = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        print("the PDF is password-protected", file=sys.stderr)
        return 3
    except Exception as exc:
        print(f"the PDF cannot be read ({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
        return 3
    if len(src.pages) == 0:
        print("the PDF has no readable pages", file=sys.stderr)
        return 3
    for page in src.pages:
        if _depth(page.obj, pikepdf) > MAX_DEPTH:
            if "/Annots" in page.obj:
                del page.obj["/Annots"]  # the usual place for such nesting: drop the annotations, keep the page
            if _depth(page.obj, pikepdf) > MAX_DEPTH:
                print(f"the PDF nests objects more than {MAX_DEPTH} deep", file=sys.stderr)
                return 3
        _strip_page(page.obj, pikepdf)
    out = pikepdf.new()
    out.pages.extend(src.pages)
    buffer = io.BytesIO()
    out.save(buffer)
    os.write(1, buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(_child())
