"""Marking what LibreOffice leaves outside the structure of a tagged PDF as artifacts.

PDF/UA-1 wants every mark on a page either in the structure tree (real
content) or marked as an artifact (decoration), so a screen reader neither
misses text nor reads out rules and borders. LibreOffice 7.4 tags text,
tables and images, and marks headers, footers and cell shading as artifacts,
but draws a paragraph's border (the rule under the page header of klg's
templates) with neither. ``mark_artifacts`` wraps each such drawing, and
only those, in ``/Artifact BMC … EMC``; tagged content is left as it is.
"""

from __future__ import annotations

import io
import logging


log = logging.getLogger("klg.pdf")

PATH_START = {"m", "re"}
PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*"}
SHOW = {"Tj", "TJ", "'", '"', "Do", "sh", "INLINE IMAGE"}


def _marked(instructions: list) -> tuple[list, int]:
    """The instructions with every untagged drawing wrapped as an artifact, and how many were."""
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    out: list = []
    stack: list[bool] = []  # per open marked-content sequence: does it mark what is inside?
    path_at: int | None = None  # where in ``out`` the path being built began, when it is unmarked
    wrapped = 0
    for operands, operator in instructions:
        op = str(operator)
        inside = bool(stack) and stack[-1]
        if op in ("BDC", "BMC"):
            props = operands[1] if op == "BDC" and len(operands) > 1 else None
            marks = str(operands[0]) == "/Artifact" or (isinstance(props, pikepdf.Dictionary) and "/MCID" in props)
            stack.append(marks or inside)
        elif op == "EMC" and stack:
            stack.pop()
        if inside:
            out.append((operands, operator))
            continue
        if op in PATH_START and path_at is None:
            path_at = len(out)
        if op in PAINT or op in SHOW:
            start = path_at if op in PAINT and path_at is not None else len(out)
            out.insert(start, ([pikepdf.Name.Artifact], pikepdf.Operator("BMC")))
            out.append((operands, operator))
            out.append(([], pikepdf.Operator("EMC")))
            path_at = None
            wrapped += 1
            continue
        if op == "n":
            path_at = None
        out.append((operands, operator))
    return out, wrapped


def mark_artifacts(data: bytes) -> bytes:
    """``data`` (a tagged PDF) with every drawing outside its structure marked as an artifact;
    the same bytes when there is none, when the PDF is not tagged, or when it cannot be read
    here (then it is still the PDF LibreOffice made, only with those drawings unmarked)."""
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    try:
        return _mark(data)
    except pikepdf.PdfError as exc:
        log.warning("could not mark the untagged drawings of a PDF as artifacts: %s", exc)
        return data


def _mark(data: bytes) -> bytes:
    import pikepdf  # imported here, not at the top: start-up (issue 19)

    pdf = pikepdf.open(io.BytesIO(data))
    if "/StructTreeRoot" not in pdf.Root:
        return data
    changed = 0
    for page in pdf.pages:
        instructions, wrapped = _marked(list(pikepdf.parse_content_stream(page)))
        if wrapped:
            page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
            changed += wrapped
    if not changed:
        return data
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
