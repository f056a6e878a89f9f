"""What a Word document klg renders says about itself: its language, title and author.

A screen reader picks its voice from the document's language, and LibreOffice
writes that language (the default of the document's styles, ``w:docDefaults``)
into the PDF as ``/Lang``; it writes the title of the core properties as the
PDF's title, which a PDF viewer shows in its window title. So every document
klg renders gets the group's language in both places (a chancellery's template
made on an English Word otherwise says en-US), and a title and author that
name the document and the group instead of the template's.
"""

from __future__ import annotations

import io


# The group's language (``[group] language``) as the language tag documents carry.
LOCALES = {"sv": "sv-SE", "en": "en-GB"}


def locale(language: str) -> str:
    """The language tag (BCP 47) of documents in ``language`` ("sv" → "sv-SE")."""
    return LOCALES.get(language, language)


def label(data: bytes, *, lang: str, title: str | None = None, author: str | None = None) -> bytes:
    """``data`` (.docx) in the language ``lang`` (e.g. "sv-SE") and, where given, with this
    title and author in its core properties; the text itself is not touched."""
    from docx import Document  # imported here, not at the top: start-up (issue 19)
    from docx.oxml import OxmlElement  # imported here, not at the top: start-up (issue 19)
    from docx.oxml.ns import qn  # imported here, not at the top: start-up (issue 19)

    doc = Document(io.BytesIO(data))
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        doc.styles.element.insert(0, defaults)
    run_defaults = defaults.find(qn("w:rPrDefault"))
    if run_defaults is None:
        run_defaults = OxmlElement("w:rPrDefault")
        defaults.insert(0, run_defaults)
    rpr = run_defaults.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run_defaults.append(rpr)
    language = rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        rpr.append(language)  # w:lang is the last child of w:rPr that a template's defaults carry
    for attr in ("w:val", "w:eastAsia"):
        language.set(qn(attr), lang)
    props = doc.core_properties
    props.language = lang
    if title is not None:
        props.title = title
    if author is not None:
        props.author = author
        props.last_modified_by = author
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
