"""The compilation of a written procedure (sammanställning av synpunkter): a Word
document rendered from ``templates/<language>/compilation.docx`` with docxtpl,
autoescaped, so whatever a member wrote appears as text and never as markup.

``render`` is pure apart from reading the template; ``check`` is the
``klg check-config`` test of a template the chancellery may have restyled.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docxtpl import Listing


TEMPLATE = "compilation.docx"
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


class CompilationProblem(Exception):
    """The compilation template is missing or broken; the message names the file and the fix."""


def text(value: str) -> Listing:
    """Multi-line text for a template cell: line breaks kept, markup escaped."""
    from docxtpl import Listing  # imported here, not at the top: start-up (issue 19)

    return Listing(_XML_UNSAFE.sub("", (value or "").replace("\r\n", "\n").replace("\t", "    ")))


def template_path(templates_dir: Path, language: str) -> Path:
    return Path(templates_dir) / language / TEMPLATE


def render(path: Path, context: dict[str, Any]) -> bytes:
    """The .docx bytes of the template at ``path`` filled with ``context``."""
    if not path.is_file():
        raise CompilationProblem(f"the Word template {path} is missing: restore it from the klg package "
                                 f"(templates/build_compilation.py builds it)")
    from docxtpl import DocxTemplate  # imported here, not at the top: start-up (issue 19)

    try:
        doc = DocxTemplate(str(path))
        doc.render(context, autoescape=True)
        out = io.BytesIO()
        doc.save(out)
    except CompilationProblem:
        raise
    except Exception as exc:  # jinja2 and docx errors: name the file and the likely fix
        raise CompilationProblem(f"the Word template {path} could not be filled ({type(exc).__name__}: {exc}); "
                                 f"check the {{{{ … }}}} and {{%tr … %}} tags there or restore the file") from None
    return out.getvalue()


def sample_context() -> dict[str, Any]:
    """Values for trying a template: every key a real compilation has."""
    comment = {"name": "Anna Exempel", "time": "2026-12-07 09:12", "stance": "Tillstyrker", "text": text("Bra.\nTvå rader."),
               "late": False, "attachments": "promemoria.pdf", "earlier": "2026-12-02 10:00: Avstyrker"}
    return {
        "group": "Kommunledningsgruppen", "organisation": "Exempel kommun",
        "item": {"id": "KLG-2026-001", "title": "Exempel"}, "proposer": "Anna Exempel",
        "description": text("Beskrivning."), "documents": ["underlag.pdf"], "started": "2026-12-01 10:00",
        "deadline": "2026-12-08 16:00", "meeting": "2026-12-15", "compiled": "2026-12-08 16:00", "version": 1,
        "comments": [comment], "silent": ["Bo Exempel"],
        "counts": {"support": 1, "object": 0, "none": 0, "unstated": 0, "silent": 1, "asked": 2, "late": 0},
    }


def check(path: Path) -> list[str]:
    """Problems with a compilation template (for ``klg check-config``); other .docx files are not ours."""
    if Path(path).name != TEMPLATE:
        return []
    try:
        render(Path(path), sample_context())
    except CompilationProblem as exc:
        return [str(exc)]
    return []
