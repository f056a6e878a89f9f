"""Opening Office files (.docx, .xlsx, .pptx: zip archives of XML) that came by
mail without letting them exhaust the machine.

Every place that looks inside such a file goes through here: attachment
inspection at intake, the returned agenda, the returned minutes form (before
python-docx sees it). Nothing is expanded on trust:

- the archive's own count of entries is read from its end record before the
  central directory is parsed, and more than ``max_entries`` is refused;
- the sizes the archive declares are checked (per entry, in total, the ratio);
- then each entry's compressed bytes are inflated here, in 64 kB pieces, with
  zlib: an entry whose real stream is longer than it declares (a "lying" zip
  bomb), shorter (a truncated file) or whose CRC does not match is refused,
  and no more than the limits is ever held;
- only stored and deflated entries are accepted (bzip2 and LZMA cannot be
  inflated with a bound on the output; Office never writes them), no
  encrypted ones and no zip64;
- XML parts are parsed with entities off and no network, and a part with a
  DTD (``<!DOCTYPE``: billion laughs, external entities) is refused.

``rebuild`` gives python-docx an archive of checked parts, so python-docx's
own zip reading (which inflates a whole entry at once) only ever sees honest
sizes; ``bad_row`` finds the table cells python-docx would choke on.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # annotations; lxml is imported where a part is parsed (start-up, issue 19)
    from lxml import etree

CHUNK = 64 * 1024
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_LOCAL = struct.Struct("<4s5H3L2H")  # the local file header (zipfile.structFileHeader)
XML_SUFFIXES = (".xml", ".rels")


class Refused(Exception):
    """An Office file klg will not open. ``reason`` is one of ``not_zip``,
    ``too_many_entries``, ``too_large``, ``bomb``, ``damaged``, ``unsupported``,
    ``dtd``; the message names the entry and the cause."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)

    def __reduce__(self):  # pickled by reason and message: found out in a second process (daemon.ahead)
        return (Refused, (self.reason, str(self)))

    @property
    def for_reader(self) -> str:
        """The reason as a reader of returned documents words it: ``not_docx``,
        ``too_large``, ``bomb``, ``dtd`` or ``damaged``."""
        return {"not_zip": "not_docx", "too_many_entries": "too_large", "unsupported": "damaged"}.get(
            self.reason, self.reason)


@dataclass(frozen=True)
class Limits:
    """What one Office file may expand to."""

    max_entries: int = 5000
    max_entry: int = 200 * 1024 * 1024  # one part, expanded
    max_total: int = 500 * 1024 * 1024  # all parts, expanded
    max_ratio: int = 100  # expanded/compressed, for parts larger than RATIO_FLOOR
    ratio_floor: int = 10 * 1024 * 1024


MAIL = Limits()  # a member's attachment, only inspected
RETURNED = Limits(max_entries=1000, max_entry=50 * 1024 * 1024, max_total=100 * 1024 * 1024)  # read back by klg


def _entry_count(data: bytes) -> int:
    """The number of entries the end-of-central-directory record announces."""
    at = data.rfind(_EOCD, max(0, len(data) - 65557))
    if at < 0 or len(data) < at + 22:
        raise Refused("not_zip", "it is not a zip archive (no end record)")
    if data.rfind(_ZIP64_LOCATOR, max(0, at - 20), at) >= 0:
        raise Refused("unsupported", "it is a zip64 archive, which Office documents of this size never are")
    total = struct.unpack_from("<H", data, at + 10)[0]
    return total


def _infos(data: bytes, limits: Limits) -> list[zipfile.ZipInfo]:
    count = _entry_count(data)
    if count > limits.max_entries:
        raise Refused("too_many_entries", f"it holds {count} parts (at most {limits.max_entries})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Refused("damaged", f"the zip archive is damaged ({exc})") from None
    if len(infos) > limits.max_entries:
        raise Refused("too_many_entries", f"it holds {len(infos)} parts (at most {limits.max_entries})")
    declared = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("unsupported", f"the part {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused("unsupported", f"the part {info.filename} uses compression method {info.compress_type}")
        if info.file_size > limits.max_entry:
            raise Refused("too_large", f"the part {info.filename} would expand to {info.file_size} bytes")
        declared += info.file_size
        if declared > limits.max_total:
            raise Refused("too_large", f"the parts would expand to more than {limits.max_total} bytes")
        _check_ratio(info.filename, info.file_size, info.compress_size, limits)
    return infos


def _check_ratio(name: str, size: int, packed: int, limits: Limits) -> None:
    if size > limits.ratio_floor and size > limits.max_ratio * max(packed, 1):
        raise Refused("bomb", f"the part {name} expands {size // max(packed, 1)} times (at most {limits.max_ratio})")


def _raw(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The entry's compressed bytes, located through its local header."""
    start = info.header_offset
    if start + _LOCAL.size > len(data):
        raise Refused("damaged", f"the part {info.filename} lies outside the file (truncated?)")
    fields = _LOCAL.unpack_from(data, start)
    if fields[0] != b"PK\x03\x04":
        raise Refused("damaged", f"the part {info.filename} has no local header (truncated or altered file)")
    begin = start + _LOCAL.size + fields[9] + fields[10]  # name and extra field lengths
    end = begin + info.compress_size
    if end > len(data):
        raise Refused("damaged", f"the part {info.filename} is cut off (the file is truncated)")
    return memoryview(data)[begin:end]


def _inflate(data: bytes, info: zipfile.ZipInfo, budget: int) -> Iterator[bytes]:
    """The entry's content in pieces, checked against its declared size, CRC and ``budget``."""
    raw = _raw(data, info)
    limit = min(info.file_size, budget)
    produced = 0
    crc = 0
    if info.compress_type == zipfile.ZIP_STORED:
        pieces: Iterator[bytes] = (bytes(raw[i:i + CHUNK]) for i in range(0, len(raw), CHUNK))
        inflater = None
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        pieces = _deflated(inflater, raw, info.filename)
    for piece in pieces:
        produced += len(piece)
        if produced > limit:
            if produced > info.file_size:
                raise Refused("bomb", f"the part {info.filename} expands beyond the {info.file_size} bytes it "
                                      "declares (a zip bomb)")
            raise Refused("too_large", f"the part {info.filename} expands to more than the {budget} bytes still allowed")
        crc = zlib.crc32(piece, crc)
        yield piece
    if inflater is not None and not inflater.eof:
        raise Refused("damaged", f"the part {info.filename} ends before its data does (truncated file)")
    if produced != info.file_size:
        raise Refused("damaged", f"the part {info.filename} has {produced} bytes, not the {info.file_size} it declares")
    if crc != info.CRC:
        raise Refused("damaged", f"the part {info.filename} fails its checksum (damaged file)")


def _deflated(inflater, raw: memoryview, name: str) -> Iterator[bytes]:
    """Inflate ``raw`` giving at most CHUNK bytes at a time, however much one piece of input expands."""
    try:
        for i in range(0, len(raw), CHUNK):
            tail = raw[i:i + CHUNK]
            while tail and not inflater.eof:
                piece = inflater.decompress(tail, CHUNK)
                tail = inflater.unconsumed_tail
                yield piece
            if inflater.eof:
                return
        while not inflater.eof:  # output zlib still holds after the last input
            piece = inflater.decompress(b"", CHUNK)
            if not piece:
                return
            yield piece
    except zlib.error as exc:
        raise Refused("damaged", f"the part {name} cannot be inflated ({exc})") from None


_PROLOG = re.compile(r"\A\ufeff?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)


def _prolog_check(name: str, first: bytes) -> None:
    """Refuse an XML part whose prolog declares a DTD, from its first piece alone (a DTD can
    only stand before the root element), in UTF-8 or UTF-16."""
    if first[:2] in (b"\xff\xfe", b"\xfe\xff") or first[:2] in (b"<\0", b"\0<"):
        text = first.decode("utf-16-be" if first[:1] in (b"\xfe", b"\0") else "utf-16-le", "ignore")
    else:
        text = first.decode("utf-8", "ignore")
    rest = text[_PROLOG.match(text).end():]
    if rest.startswith("<!"):
        raise Refused("dtd", f"the part {name} declares a DTD (<!DOCTYPE …>), which Office never writes")
    if not rest and len(first) >= CHUNK:  # comments and whitespace to hide a DTD behind
        raise Refused("dtd", f"the part {name} has more than {CHUNK} bytes before its first element")


def _walk(data: bytes, limits: Limits, keep: Callable[[str], bool]) -> dict[str, bytes]:
    infos = _infos(data, limits)
    found: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        wanted = keep(info.filename)
        xml = info.filename.lower().endswith(XML_SUFFIXES)
        pieces = []
        head = b"" if xml else None  # the part's first CHUNK bytes, for the prolog check
        size = 0
        for piece in _inflate(data, info, limits.max_total - total):
            if head is not None:
                head += piece[:CHUNK - len(head)]
                if len(head) >= CHUNK:
                    _prolog_check(info.filename, head)
                    head = None
            size += len(piece)
            if wanted:
                pieces.append(piece)
        if head is not None:
            _prolog_check(info.filename, head)
        total += size
        if wanted:
            found[info.filename] = b"".join(pieces)
    return found


def scan(data: bytes, limits: Limits = MAIL) -> None:
    """Refused unless the whole archive expands honestly within ``limits`` and no XML part
    declares a DTD; keeps nothing."""
    _walk(data, limits, lambda name: False)


def parts(data: bytes, limits: Limits = RETURNED, only: Callable[[str], bool] | None = None) -> dict[str, bytes]:
    """Every part's content (or those ``only`` selects), each checked as the module says;
    XML parts with a DTD are refused."""
    found = _walk(data, limits, only or (lambda name: True))
    for name, content in found.items():  # the prolog check saw the start; the parser sees the whole
        if name.lower().endswith(XML_SUFFIXES):
            parse_xml(content, name)
    return found


def member(data: bytes, name: str, max_bytes: int, limits: Limits = MAIL) -> bytes | None:
    """One part's content when it exists and is at most ``max_bytes``, else None; the
    archive's declared sizes are checked first, the part's real ones while it is read."""
    infos = _infos(data, limits)
    info = next((i for i in infos if i.filename == name), None)
    if info is None or info.file_size > max_bytes:
        return None
    return b"".join(_inflate(data, info, max_bytes))


_PARSER = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False)


def parse_xml(content: bytes, name: str = "XML") -> etree._Element:
    """An XML part parsed without entities or network; Refused when it has a DTD or is not XML."""
    from lxml import etree  # imported here, not at the top: start-up (issue 19)

    try:
        root = etree.fromstring(content, parser=etree.XMLParser(**_PARSER))
    except etree.XMLSyntaxError as exc:
        raise Refused("damaged", f"the part {name} is not well-formed XML ({exc})") from None
    if root.getroottree().docinfo.doctype:
        raise Refused("dtd", f"the part {name} declares a DTD (<!DOCTYPE …>), which Word never writes")
    return root


def rebuild(found: dict[str, bytes]) -> bytes:
    """An archive of checked parts (stored, not compressed, honest sizes): what python-docx may open."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, content in found.items():
            z.writestr(name, content)
    return out.getvalue()


# --- WordprocessingML that readers of tables must not trust ---------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT_W = "http://purl.oclc.org/ooxml/wordprocessingml/main"
MAX_COLUMNS = 63  # Word's own limit for a table
_SPANS = {f"{{{W}}}gridSpan": (1, MAX_COLUMNS), f"{{{W}}}gridBefore": (0, MAX_COLUMNS),
          f"{{{W}}}gridAfter": (0, MAX_COLUMNS)}
_MERGE = {None, "restart", "continue"}


def is_strict(root: etree._Element) -> bool:
    """True for a document saved as Strict Open XML (Word's "Strict Open XML Document"),
    which python-docx and klg's readers do not understand."""
    return isinstance(root.tag, str) and root.tag.startswith(f"{{{STRICT_W}}}")


def bad_row(tr: etree._Element) -> str | None:
    """What in a table row ``w:tr`` a reader cannot trust (a span that is no small number,
    a vertical merge that is neither restart nor continue), or None. python-docx turns a
    span into that many cells, so gridSpan="999999999" must never reach it."""
    for el in tr.iter(*_SPANS, f"{{{W}}}vMerge"):
        value = el.get(f"{{{W}}}val")
        local = el.tag.rpartition("}")[2]
        if local == "vMerge":
            if value not in _MERGE:
                return f'vMerge="{value[:20]}"'
            continue
        low, high = _SPANS[el.tag]
        if value is None or not (value.isascii() and value.isdigit() and len(value) <= 2 and low <= int(value) <= high):
            return f'{local}="{(value or "")[:20]}"'
    return None
