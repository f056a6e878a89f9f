"""Hostile documents as an attacker would make them, for tests/test_hostile_documents.py:
zip bombs that lie about their size, Office files with DTDs, Strict Open XML,
garbage merged cells, PDFs nested thousands deep or carrying JavaScript."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _zip(entries: list[tuple[str, bytes, bytes, int]]) -> bytes:
    """A zip archive from (name, content for the CRC and declared size, deflated body, declared size)."""
    out = io.BytesIO()
    central = []
    for name, content, body, size in entries:
        crc, offset, raw = zlib.crc32(content), out.tell(), name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size, len(raw), 0) + raw + body)
        central.append((raw, crc, len(body), size, offset))
    start = out.tell()
    for raw, crc, packed, size, offset in central:
        out.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, packed, size, len(raw), 0, 0, 0, 0, 0,
                              offset) + raw)
    end = out.tell()
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), end - start, start, 0))
    return out.getvalue()


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def lying_zip_bomb(base: bytes, part: str = "word/document.xml", expands_to: int = 2 * 1024 ** 3) -> bytes:
    """``base`` (a real .docx) with ``part`` replaced by a deflate stream of ``expands_to`` zero bytes
    that declares the size (and CRC) of the part it replaces: the "lying" zip bomb."""
    src = zipfile.ZipFile(io.BytesIO(base))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(b"\0" * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no back references
    bomb = segment * (expands_to >> 20) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # then an empty last block
    entries = []
    for info in src.infolist():
        content = src.read(info)
        entries.append((info.filename, content, bomb if info.filename == part else _deflate(content), len(content)))
    return _zip(entries)


def replace_part(base: bytes, part: str, content: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, content if info.filename == part else src.read(info))
    return out.getvalue()


def with_dtd(base: bytes) -> bytes:
    """``base`` whose document.xml declares entities (a billion laughs in small) and uses them in a cell."""
    xml = zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml").decode("utf-8")
    head, _, rest = xml.partition("?>")
    dtd = ('<!DOCTYPE w:document [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY x SYSTEM "file:///etc/passwd">]>')
    rest = rest.replace("Budgetuppföljning", "&c;&x;", 1)
    return replace_part(base, "word/document.xml", (head + "?>" + dtd + rest).encode("utf-8"))


def as_strict(base: bytes) -> bytes:
    """``base`` saved as Word's "Strict Open XML Document" (the main namespace is the Strict one)."""
    xml = zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml")
    xml = xml.replace(b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                      b"http://purl.oclc.org/ooxml/wordprocessingml/main")
    return replace_part(base, "word/document.xml", xml)


def garbage_span(base: bytes, row: int, value: str, what: str = "gridSpan") -> bytes:
    """``base`` with the first cell of row ``row`` (0: the header) of its item table (the first
    whose header has a "Nr" column, else the first) given ``w:<what> w:val=value``."""
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml"))
    tables = root.findall(f".//{W}tbl")
    table = next((t for t in tables if "Nr" in ["".join(c.itertext()).strip() for c in t.find(f"{W}tr")]), tables[0])
    tr = table.findall(f"{W}tr")[row]
    tc = tr.find(f"{W}tc")
    tcpr = tc.find(f"{W}tcPr")
    if tcpr is None:
        tcpr = etree.SubElement(tc, f"{W}tcPr")
        tc.insert(0, tcpr)
    for old in tcpr.findall(f"{W}{what}"):
        tcpr.remove(old)
    etree.SubElement(tcpr, f"{W}{what}").set(f"{W}val", value)
    return replace_part(base, "word/document.xml", etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- PDFs -----------------------------------------------------------------------------------


def pdf(objects: list[bytes]) -> bytes:
    """A PDF from its numbered objects (object 1 is the catalog)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


_PAGE = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
         b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>")


def _text(line: str) -> bytes:
    stream = f"BT /F1 20 Tf 72 760 Td ({line}) Tj ET".encode("latin-1")
    return b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"


def nested_annots(depth: int = 5000, line: str = "Nested") -> bytes:
    """A one-page PDF whose page /Annots lead through ``depth`` annotations, each the /Popup of the last."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               _PAGE + b" /Annots [5 0 R] >>", _text(line)]
    for i in range(depth):
        nxt = b" /Popup %d 0 R" % (6 + i) if i < depth - 1 else b""
        objects.append(b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10]" + nxt + b" >>")
    return pdf(objects)


def nested_arrays(depth: int = 300, line: str = "Arrays") -> bytes:
    """A one-page PDF whose /Annots is an array nested ``depth`` deep."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                _PAGE + b" /Annots " + b"[" * depth + b"]" * depth + b" >>", _text(line)])


def with_javascript(line: str = "Active") -> bytes:
    """A PDF that runs JavaScript on opening, launches a program from a link, and embeds an .exe."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /AA << /WC 5 0 R >> "
        b"/Names << /JavaScript << /Names [(x) 5 0 R] >> /EmbeddedFiles << /Names [(evil.exe) 7 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _PAGE + b" /AA << /O 5 0 R >> /Annots [6 0 R 9 0 R 10 0 R] >>",
        _text(line),
        b"<< /S /JavaScript /JS (app.alert\\('pwned'\\)) >>",
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /Launch /F (calc.exe) >> >>",
        b"<< /Type /Filespec /F (evil.exe) /EF << /F 8 0 R >> >>",
        b"<< /Length 4 >>\nstream\nMZ..\nendstream",
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS 7 0 R >>",
        b"<< /Type /Annot /Subtype /Link /Rect [100 100 200 200] /A << /S /URI /URI (https://example.org/) >> >>"])
