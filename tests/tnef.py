"""A tiny writer of TNEF (winmail.dat) streams as Outlook produces them, so the
tests can check that attachments and text inside one are unpacked."""

import struct

SIGNATURE = 0x223E9F78


def _obj(level: int, name: int, kind: int, data: bytes) -> bytes:
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def winmail_dat(body: str, attachments: list[tuple[str, bytes]]) -> bytes:
    out = struct.pack("<IH", SIGNATURE, 0x0001)
    out += _obj(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _obj(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _obj(1, 0x800C, 0x0002, body.encode("cp1252"))  # attBody
    for name, data in attachments:
        out += _obj(2, 0x9002, 0x0006, bytes(14))  # attAttachRenddata starts an attachment
        out += _obj(2, 0x8010, 0x0001, name.encode("cp1252") + b"\0")  # attAttachTitle
        out += _obj(2, 0x800F, 0x0006, data)  # attAttachData
    return out
