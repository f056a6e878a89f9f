"""Putting WordprocessingML property elements in the order the schema demands.

Word refuses (offers to "repair") a document whose ``w:pPr``, ``w:tblPr`` or
``w:tcPr`` children are out of the order of ECMA-376; LibreOffice does not
care, so the mistake goes unnoticed until a chancellery opens the file. The
template builder and docxtpl's ``{% cellbg %}`` both add such children, so
every rendered agenda is put in order here.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations; lxml is imported where a document is ordered (start-up, issue 19)
    from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

SEQUENCES = {
    "pPr": ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
            "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
            "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
            "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
            "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"],
    "tblPr": ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
              "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook",
              "tblCaption", "tblDescription", "tblPrChange"],
    "tcPr": ["cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
             "textDirection", "tcFitText", "vAlign", "hideMark", "headers", "cellIns", "cellDel", "cellMerge",
             "tcPrChange"],
}


def order(root: etree._Element) -> None:
    """Sort the children of every pPr, tblPr and tcPr under ``root`` into schema order (in place)."""
    for local, sequence in SEQUENCES.items():
        rank = {f"{{{W}}}{name}": i for i, name in enumerate(sequence)}
        for el in root.iter(f"{{{W}}}{local}"):
            children = list(el)
            ordered = sorted(children, key=lambda c: rank.get(c.tag, len(sequence)))
            if ordered != children:
                for c in children:
                    el.remove(c)
                el.extend(ordered)


def order_docx(data: bytes) -> bytes:
    """``data`` (a .docx) with its body, headers and footers in schema order."""
    from lxml import etree  # imported here, not at the top: start-up (issue 19)

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            name = info.filename
            if name.startswith("word/") and name.endswith(".xml") and (
                    name in ("word/document.xml", "word/styles.xml") or name.startswith(("word/header", "word/footer"))):
                root = etree.fromstring(content)
                order(root)
                content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            dst.writestr(info, content)
    return out.getvalue()
