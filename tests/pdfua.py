"""PDF/UA-1 and PDF/A identification checks, read with pikepdf, each named by the
Matterhorn Protocol 1.02 failure condition it tests (the PDF Association's list
of what makes a PDF fail ISO 14289-1). veraPDF, the reference validator, is not
installable from the registries this project reaches (no Debian package; it is
a Java program from Maven), so these checks stand in for it: they test every
condition a generated document can fail by the machine, not the ones that need
a human (is the alt text meaningful, is the reading order the visual one).

``problems(data)`` returns the failed conditions as "<checkpoint> <what>" lines;
an empty list means the PDF passes every check here.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import pikepdf

# Standard structure types of PDF 1.7 (ISO 32000-1, 14.8.4): anything else must be role-mapped to one.
STANDARD = {
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index", "NonStruct", "Private",
    "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl", "LBody", "Table", "TR", "TH", "TD", "THead",
    "TBody", "TFoot", "Span", "Quote", "Note", "Reference", "BibEntry", "Code", "Link", "Annot", "Ruby", "RB", "RT",
    "RP", "Warichu", "WT", "WP", "Figure", "Formula", "Form",
}
# Content stream operators that put something on the page (text, paths painted, images, shadings).
PAINTING = {"Tj", "TJ", "'", '"', "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "Do", "sh", "BI", "INLINE IMAGE"}
PDFA = "{http://www.aiim.org/pdfa/ns/id/}"
PDFUA = "{http://www.aiim.org/pdfua/ns/id/}"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


def open_pdf(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


# --- the structure tree --------------------------------------------------------------------------


def elements(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every structure element, in the tree's order (which is the reading order)."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    stack = [root.get("/K")]
    seen: set = set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(reversed(list(node)))
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            yield node
            if "/K" in node:
                stack.append(node.K)


def role(pdf: pikepdf.Pdf, element: pikepdf.Dictionary) -> str:
    """The element's standard type, through the role map ("KLG Rubrik" → "P")."""
    role_map = pdf.Root.StructTreeRoot.get("/RoleMap", {})
    name = str(element.S)[1:]
    for _ in range(10):
        if name in STANDARD:
            return name
        mapped = role_map.get("/" + name)
        if mapped is None:
            return name
        name = str(mapped)[1:]
    return name


def attributes(element: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    attrs = element.get("/A")
    if attrs is None:
        return []
    return [a for a in (attrs if isinstance(attrs, pikepdf.Array) else [attrs]) if isinstance(a, pikepdf.Dictionary)]


def structure_tree(pdf: pikepdf.Pdf) -> list[str]:
    """ISO 14289-1 7.1 (Matterhorn checkpoint 01): a tagged PDF, with a structure tree and /MarkInfo /Marked true."""
    out = []
    if "/StructTreeRoot" not in pdf.Root:
        out.append("01 no structure tree (/StructTreeRoot): the PDF is not tagged")
    if not bool(pdf.Root.get("/MarkInfo", {}).get("/Marked", False)):
        out.append("01 /MarkInfo /Marked is not true")
    return out


def cp_02_001(pdf: pikepdf.Pdf) -> list[str]:
    """02-001: a non-standard structure type is not mapped to a standard one."""
    bad = sorted({str(e.S) for e in elements(pdf) if role(pdf, e) not in STANDARD})
    return [f"02-001 structure types without a standard role: {', '.join(bad)}"] if bad else []


def headings(pdf: pikepdf.Pdf) -> list[int]:
    """The levels of the numbered headings, in reading order."""
    return [int(r[1]) for r in (role(pdf, e) for e in elements(pdf)) if len(r) == 2 and r[0] == "H" and r[1].isdigit()]


def cp_14(pdf: pikepdf.Pdf) -> list[str]:
    """Headings present (WCAG 2.4.6 for a document with a title), 14-002 the first is H1,
    14-003 no level skipped going down (H1 → H3)."""
    levels = headings(pdf)
    if not levels:
        return ["14 no headings (H1, H2 …): a screen reader finds no way through the document"]
    out = [] if levels[0] == 1 else [f"14-002 the first heading is H{levels[0]}, not H1"]
    out += [f"14-003 H{a} is followed by H{b}" for a, b in itertools.pairwise(levels) if b > a + 1]
    return out


def cp_09_004(pdf: pikepdf.Pdf) -> list[str]:
    """09-004: table elements where the standard puts them (TR in a table or its head, body
    or foot; TH and TD in a TR)."""
    out = []
    for e in elements(pdf):
        kind = role(pdf, e)
        parent = role(pdf, e.P) if "/P" in e and isinstance(e.P, pikepdf.Dictionary) and "/S" in e.P else ""
        if kind == "TR" and parent not in ("Table", "THead", "TBody", "TFoot"):
            out.append(f"09-004 a TR in {parent or 'no table'}")
        if kind in ("TH", "TD") and parent != "TR":
            out.append(f"09-004 a {kind} in {parent or 'no row'}")
    return out


def table_headers(pdf: pikepdf.Pdf) -> list[int]:
    """How many TH cells each table has, in reading order."""
    counts: list[int] = []
    for e in elements(pdf):
        kind = role(pdf, e)
        if kind == "Table":
            counts.append(0)
        elif kind == "TH" and counts:
            counts[-1] += 1
    return counts


def cp_15_003(pdf: pikepdf.Pdf) -> list[str]:
    """15-003: a TH cell without a /Scope (in a table not organised with /Headers and IDs)."""
    missing = 0
    for e in elements(pdf):
        if role(pdf, e) == "TH" and not any(
                str(a.get("/O", "")) == "/Table" and "/Scope" in a for a in attributes(e)):
            missing += 1
    return [f"15-003 {missing} table header cell(s) (TH) without /Scope"] if missing else []


def cp_13_004(pdf: pikepdf.Pdf) -> list[str]:
    """13-004: a Figure without alternative text (/Alt) or replacement text (/ActualText)."""
    missing = sum(1 for e in elements(pdf)
                  if role(pdf, e) == "Figure" and not (str(e.get("/Alt", "")).strip() or "/ActualText" in e))
    return [f"13-004 {missing} figure(s) without alternative text (/Alt)"] if missing else []


# --- the pages' content --------------------------------------------------------------------------------


def unmarked(page: pikepdf.Page) -> int:
    """How many painting operators of the page's content are neither in an artifact nor in
    tagged content (marked content with an MCID)."""
    count = 0
    stack: list[bool] = []  # per open marked-content sequence: does it mark the content (artifact or MCID)?
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op in ("BDC", "BMC"):
            tag = str(operands[0])
            props = operands[1] if op == "BDC" and len(operands) > 1 else None
            marks = tag == "/Artifact" or (isinstance(props, pikepdf.Dictionary) and "/MCID" in props)
            stack.append(marks or (bool(stack) and stack[-1]))
        elif op == "EMC":
            if stack:
                stack.pop()
        elif op in PAINTING and not (stack and stack[-1]):
            count += 1
    return count


def cp_01_005(pdf: pikepdf.Pdf, pages: range | None = None) -> list[str]:
    """01-005: content neither marked as an artifact nor tagged as real content (on ``pages``, default all)."""
    out = []
    for n in pages if pages is not None else range(len(pdf.pages)):
        found = unmarked(pdf.pages[n])
        if found:
            out.append(f"01-005 page {n + 1}: {found} drawing operation(s) outside the structure and not artifacts")
    return out


# --- the catalog and the metadata ----------------------------------------------------------------------


def metadata(pdf: pikepdf.Pdf) -> dict[str, str]:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        return {k: str(v) for k, v in meta.items()}


def cp_06(pdf: pikepdf.Pdf) -> list[str]:
    """06-001 an XMP metadata stream in the catalog; 06-002 with the PDF/UA identifier; 06-003 with dc:title."""
    if "/Metadata" not in pdf.Root:
        return ["06-001 no XMP metadata stream in the catalog"]
    meta = metadata(pdf)
    out = [] if meta.get(PDFUA + "part") == "1" else ["06-002 the metadata do not say PDF/UA-1 (pdfuaid:part)"]
    return out + ([] if meta.get(DC_TITLE, "").strip() else ["06-003 the metadata have no dc:title"])


def cp_07(pdf: pikepdf.Pdf) -> list[str]:
    """07-001/07-002: the viewer shows the document's title, not its file name (DisplayDocTitle true)."""
    prefs = pdf.Root.get("/ViewerPreferences")
    if prefs is None or "/DisplayDocTitle" not in prefs:
        return ["07-001 /ViewerPreferences has no /DisplayDocTitle"]
    return [] if bool(prefs.DisplayDocTitle) else ["07-002 /DisplayDocTitle is false"]


def cp_11_006(pdf: pikepdf.Pdf) -> list[str]:
    """11-006: the document's natural language cannot be determined (no /Lang in the catalog)."""
    return [] if str(pdf.Root.get("/Lang", "")).strip() else ["11-006 no /Lang in the catalog"]


def bookmarks(pdf: pikepdf.Pdf) -> list[str]:
    """Bookmarks (PDF/UA-1 7.17 and WCAG 2.4.5 for documents with headings): an outline with entries."""
    with pdf.open_outline() as outline:
        return [] if outline.root else ["bookmarks: the PDF has no outline"]


def pdfa(pdf: pikepdf.Pdf) -> list[str]:
    """PDF/A-2 identification (ISO 19005-2 6.6.4: pdfaid:part 2 and a conformance level in the
    XMP), an output intent (6.2.3) and every font embedded (6.2.11.4)."""
    meta = metadata(pdf) if "/Metadata" in pdf.Root else {}
    out = []
    if meta.get(PDFA + "part") != "2" or meta.get(PDFA + "conformance") not in ("A", "B", "U"):
        out.append(f"PDF/A identification: part {meta.get(PDFA + 'part')!r}, "
                   f"conformance {meta.get(PDFA + 'conformance')!r} (want 2 and A, B or U)")
    if not len(pdf.Root.get("/OutputIntents", [])):
        out.append("PDF/A 6.2.3: no output intent")
    unembedded = sorted(set(fonts_not_embedded(pdf)))
    if unembedded:
        out.append(f"PDF/A 6.2.11.4: fonts not embedded: {', '.join(unembedded)}")
    return out


def fonts_not_embedded(pdf: pikepdf.Pdf) -> Iterator[str]:
    """The names of the fonts (on any page, in any form XObject) whose program is not in the file."""
    seen: set = set()
    stack = [page.obj.get("/Resources") for page in pdf.pages]
    while stack:
        resources = stack.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        for font in resources.get("/Font", {}).values():
            if str(font.get("/Subtype", "")) == "/Type3":
                continue
            described = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor", {})
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                yield str(font.get("/BaseFont", "?"))[1:]
        for xobject in resources.get("/XObject", {}).values():
            if str(xobject.get("/Subtype", "")) == "/Form":
                stack.append(xobject.get("/Resources"))


# --- all of it ------------------------------------------------------------------------------------------


def accessibility(pdf: pikepdf.Pdf, pages: range | None = None) -> list[str]:
    """Every PDF/UA check on ``pdf`` (the content check on ``pages``, default all)."""
    out = structure_tree(pdf)
    if out:
        return out + cp_06(pdf) + cp_07(pdf) + cp_11_006(pdf)
    return (cp_01_005(pdf, pages) + cp_02_001(pdf) + cp_06(pdf) + cp_07(pdf) + cp_09_004(pdf) + cp_11_006(pdf)
            + cp_13_004(pdf) + cp_14(pdf) + cp_15_003(pdf) + bookmarks(pdf))


def problems(data: bytes, pages: range | None = None) -> list[str]:
    """The PDF/UA and PDF/A-2 conditions ``data`` fails (see the module docstring)."""
    pdf = open_pdf(data)
    return accessibility(pdf, pages) + pdfa(pdf)


def language(data: bytes) -> str:
    """The document's /Lang ("sv-SE")."""
    pdf = open_pdf(data)
    return str(pdf.Root.get("/Lang", ""))
