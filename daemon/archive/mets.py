"""The XML of an archive package: the package METS (E-ARK CSIP/SIP 2.1, which
FGS Paketstruktur 2.0 adopts), the PREMIS preservation metadata (objects with
their checksums, the events from the audit log, the agents, and the access
restrictions) and klg's descriptive metadata of the meeting, with its schema.

Pure: the functions take the files as they will lie in the package and return
bytes. Every file is listed with its size, SHA-256 and time; ``IDS`` are
unique within one METS document.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone

from daemon.archive.contents import Package

METS = "http://www.loc.gov/METS/"
CSIP = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS = "http://www.loc.gov/premis/v3"
MEETING_NS = "urn:klg:meeting:1"
SIP_PROFILE = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
CONTENT_TYPE = "Textual works – Digital"  # CSIP content category: text documents, born digital
CONTENT_INFO = "klg meeting record 1"  # csip:OTHERCONTENTINFORMATIONTYPE: what the package's content follows
MEETING_SCHEMA = "klg-meeting-1.xsd"

for prefix, uri in (("mets", METS), ("csip", CSIP), ("sip", SIP), ("xlink", XLINK), ("xsi", XSI),
                    ("premis", PREMIS), ("klg", MEETING_NS)):
    ET.register_namespace(prefix, uri)


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the package root, with "/"
    data: bytes
    mimetype: str
    created: datetime

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def stamp(moment: datetime) -> str:
    """xsd:dateTime in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _sub(parent, ns: str, name: str, text: str | None = None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, _q(ns, name), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _bytes(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _file_attrs(e: Entry) -> dict:
    return {"MIMETYPE": e.mimetype, "SIZE": str(len(e.data)), "CREATED": stamp(e.created), "CHECKSUM": e.sha256,
            "CHECKSUMTYPE": "SHA-256"}


def _locat(e: Entry) -> dict:
    return {"LOCTYPE": "URL", _q(XLINK, "type"): "simple", _q(XLINK, "href"): e.path}


def _root(objid: str, label: str, pkg: Package, now: datetime, version: str) -> ET.Element:
    """A METS root with its header: the software that made it, the archival creator, the submitter."""
    root = ET.Element(_q(METS, "mets"), {
        "OBJID": objid, "LABEL": label, "TYPE": CONTENT_TYPE, "PROFILE": SIP_PROFILE,
        _q(CSIP, "CONTENTINFORMATIONTYPE"): "OTHER", _q(CSIP, "OTHERCONTENTINFORMATIONTYPE"): CONTENT_INFO,
        _q(XSI, "schemaLocation"): f"{METS} http://www.loc.gov/standards/mets/mets.xsd "
                                   f"{XLINK} http://www.loc.gov/standards/mets/xlink.xsd "
                                   f"{CSIP} https://earkcsip.dilcis.eu/schema/DILCISExtensionMETS.xsd "
                                   f"{SIP} https://earksip.dilcis.eu/schema/DILCISExtensionSIPMETS.xsd",
    })
    hdr = _sub(root, METS, "metsHdr", CREATEDATE=stamp(now), LASTMODDATE=stamp(now), RECORDSTATUS="NEW",
               **{_q(CSIP, "OAISPACKAGETYPE"): "SIP"})
    software = _sub(hdr, METS, "agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    _sub(software, METS, "name", "klg")
    _sub(software, METS, "note", version, **{_q(CSIP, "NOTETYPE"): "SOFTWARE VERSION"})
    archivist = _sub(hdr, METS, "agent", ROLE="ARCHIVIST", TYPE="ORGANIZATION")
    _sub(archivist, METS, "name", pkg.organisation)
    submitter = _sub(hdr, METS, "agent", ROLE="OTHER", OTHERROLE="SUBMITTER", TYPE="ORGANIZATION")
    _sub(submitter, METS, "name", pkg.group)
    if pkg.submission_agreement:
        _sub(hdr, METS, "altRecordID", pkg.submission_agreement, TYPE="SUBMISSIONAGREEMENT")
    if pkg.reference_code:
        _sub(hdr, METS, "altRecordID", pkg.reference_code, TYPE="REFERENCECODE")
    return root


def _group(file_sec: ET.Element, gid: str, use: str, entries: list[Entry]) -> None:
    grp = _sub(file_sec, METS, "fileGrp", ID=gid, USE=use,
               **{_q(CSIP, "CONTENTINFORMATIONTYPE"): "OTHER", _q(CSIP, "OTHERCONTENTINFORMATIONTYPE"): CONTENT_INFO})
    for i, e in enumerate(entries, 1):
        f = _sub(grp, METS, "file", ID=f"{gid.replace('grp-', 'file-')}-{i}", **_file_attrs(e))
        _sub(f, METS, "FLocat", **_locat(e))


def package_mets(objid: str, pkg: Package, now: datetime, version: str, *, descriptive: Entry, premis: Entry,
                 documentation: list[Entry], schemas: list[Entry], representation: Entry) -> bytes:
    """The package's METS.xml; the documents themselves are listed by the representation's METS."""
    root = _root(objid, f"{pkg.group}, {pkg.meeting}", pkg, now, version)
    dmd = _sub(root, METS, "dmdSec", ID="dmd-meeting", CREATED=stamp(descriptive.created), STATUS="CURRENT")
    _sub(dmd, METS, "mdRef", MDTYPE="OTHER", OTHERMDTYPE="klg-meeting", **_locat(descriptive),
         **_file_attrs(descriptive))
    amd = _sub(root, METS, "amdSec")
    prov = _sub(amd, METS, "digiprovMD", ID="digiprov-premis", STATUS="CURRENT")
    _sub(prov, METS, "mdRef", MDTYPE="PREMIS", **_locat(premis), **_file_attrs(premis))

    file_sec = _sub(root, METS, "fileSec", ID="filesec")
    _group(file_sec, "grp-documentation", "Documentation", documentation)
    _group(file_sec, "grp-schemas", "Schemas", schemas)
    _group(file_sec, "grp-rep1", "Representations/rep1", [representation])

    smap = _sub(root, METS, "structMap", ID="structmap-csip", TYPE="PHYSICAL", LABEL="CSIP")
    top = _sub(smap, METS, "div", ID="div-package", LABEL=objid)
    _sub(top, METS, "div", ID="div-metadata", LABEL="Metadata", DMDID="dmd-meeting", ADMID="digiprov-premis")
    for gid, label in (("grp-documentation", "Documentation"), ("grp-schemas", "Schemas"),
                       ("grp-rep1", "Representations")):
        div = _sub(top, METS, "div", ID=f"div-{label.lower()}", LABEL=label)
        _sub(div, METS, "fptr", FILEID=gid)
    rep = _sub(div, METS, "div", ID="div-rep1", LABEL="Representations/rep1")
    _sub(rep, METS, "mptr", LOCTYPE="URL", **{_q(XLINK, "type"): "simple", _q(XLINK, "href"): representation.path,
                                              _q(XLINK, "title"): "grp-rep1"})
    return _bytes(root)


def representation_mets(objid: str, pkg: Package, now: datetime, version: str, data: list[Entry]) -> bytes:
    """The representation's METS.xml (``representations/rep1/METS.xml``): every document, its size and
    SHA-256, with paths relative to the representation's folder (``data/…``)."""
    root = _root(objid, f"{pkg.group}, {pkg.meeting}: rep1", pkg, now, version)
    file_sec = _sub(root, METS, "fileSec", ID="filesec-rep1")
    _group(file_sec, "grp-data", "Data", data)
    smap = _sub(root, METS, "structMap", ID="structmap-rep1", TYPE="PHYSICAL", LABEL="CSIP")
    top = _sub(smap, METS, "div", ID="div-rep1-root", LABEL=objid)
    div = _sub(top, METS, "div", ID="div-data", LABEL="Data")
    _sub(div, METS, "fptr", FILEID="grp-data")
    return _bytes(root)


def premis(pkg: Package, data: list[Entry], data_prefix: str) -> bytes:
    """PREMIS 3: every document (checksum, size, format), the events, their agents, the access restrictions."""
    root = ET.Element(_q(PREMIS, "premis"), {"version": "3.0"})
    for e in data:
        obj = _sub(root, PREMIS, "object", **{_q(XSI, "type"): "premis:file"})
        _ident(obj, "object", e.path)
        ch = _sub(obj, PREMIS, "objectCharacteristics")
        _sub(ch, PREMIS, "compositionLevel", "0")
        fx = _sub(ch, PREMIS, "fixity")
        _sub(fx, PREMIS, "messageDigestAlgorithm", "SHA-256")
        _sub(fx, PREMIS, "messageDigest", e.sha256)
        _sub(ch, PREMIS, "size", str(len(e.data)))
        fmt = _sub(_sub(ch, PREMIS, "format"), PREMIS, "formatDesignation")
        _sub(fmt, PREMIS, "formatName", e.mimetype)
        _sub(obj, PREMIS, "originalName", e.path.rpartition("/")[2])
    actors: dict[str, str] = {}
    for ev in pkg.events:
        el = _sub(root, PREMIS, "event")
        _ident(el, "event", ev.id)
        _sub(el, PREMIS, "eventType", ev.type)
        _sub(el, PREMIS, "eventDateTime", stamp(ev.at))
        _sub(_sub(el, PREMIS, "eventDetailInformation"), PREMIS, "eventDetail", ev.detail)
        agent = _sub(el, PREMIS, "linkingAgentIdentifier")
        _sub(agent, PREMIS, "linkingAgentIdentifierType", "local")
        _sub(agent, PREMIS, "linkingAgentIdentifierValue", ev.actor)
        actors[ev.actor] = "software" if ev.actor == "klg" else "person"
        for name in ev.objects:
            link = _sub(el, PREMIS, "linkingObjectIdentifier")
            _sub(link, PREMIS, "linkingObjectIdentifierType", "local")
            _sub(link, PREMIS, "linkingObjectIdentifierValue", f"{data_prefix}{name}")
    for actor, kind in actors.items():
        el = _sub(root, PREMIS, "agent")
        _ident(el, "agent", actor)
        _sub(el, PREMIS, "agentName", actor)
        _sub(el, PREMIS, "agentType", kind)
    for item in pkg.restricted:
        for n, marking in enumerate(item.secrecy, 1):
            stmt = _sub(_sub(root, PREMIS, "rights"), PREMIS, "rightsStatement")
            _ident(stmt, "rightsStatement", f"secrecy-{item.id}-{n}")
            _sub(stmt, PREMIS, "rightsBasis", "statute")
            statute = _sub(stmt, PREMIS, "statuteInformation")
            _sub(statute, PREMIS, "statuteJurisdiction", "SE")
            _sub(statute, PREMIS, "statuteCitation", marking.provision)
            granted = _sub(stmt, PREMIS, "rightsGranted")
            _sub(granted, PREMIS, "act", "disseminate")
            _sub(granted, PREMIS, "restriction", "secrecy (offentlighets- och sekretesslagen): examine before release")
            names = [marking.document] if marking.document else [d.name for d in pkg.documents if d.item == item.id]
            for name in names:
                link = _sub(stmt, PREMIS, "linkingObjectIdentifier")
                _sub(link, PREMIS, "linkingObjectIdentifierType", "local")
                _sub(link, PREMIS, "linkingObjectIdentifierValue", f"{data_prefix}{name}")
    return _bytes(root)


def _ident(parent, kind: str, value: str) -> None:
    ident = _sub(parent, PREMIS, f"{kind}Identifier")
    _sub(ident, PREMIS, f"{kind}IdentifierType", "local")
    _sub(ident, PREMIS, f"{kind}IdentifierValue", value)


def meeting_metadata(pkg: Package, data_prefix: str) -> bytes:
    """klg's description of the meeting (schema: ``MEETING_SCHEMA``): who, when, the items with their case
    numbers and access restrictions, and the role of each document."""
    root = ET.Element(_q(MEETING_NS, "meeting"), {"language": pkg.language})
    _sub(root, MEETING_NS, "organisation", pkg.organisation)
    _sub(root, MEETING_NS, "group", pkg.group)
    _sub(root, MEETING_NS, "short", pkg.short)
    _sub(root, MEETING_NS, "date", pkg.meeting)
    items = _sub(root, MEETING_NS, "items")
    for i in pkg.items:
        el = _sub(items, MEETING_NS, "item", id=i.id)
        _sub(el, MEETING_NS, "title", i.title)
        if i.case_number:
            _sub(el, MEETING_NS, "caseNumber", i.case_number)
        for m in i.secrecy:
            _sub(el, MEETING_NS, "accessRestriction", m.provision,
                 document=f"{data_prefix}{m.document}" if m.document else None)
    docs = _sub(root, MEETING_NS, "documents")
    for d in pkg.documents:
        _sub(docs, MEETING_NS, "document", role=d.role, file=f"{data_prefix}{d.name}", item=d.item)
    return _bytes(root)


MEETING_XSD = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- klg's descriptive metadata of one meeting (metadata/descriptive/meeting.xml). -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="{MEETING_NS}" targetNamespace="{MEETING_NS}"
           elementFormDefault="qualified">
  <xs:element name="meeting">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="organisation" type="xs:string"/>
        <xs:element name="group" type="xs:string"/>
        <xs:element name="short" type="xs:string"/>
        <xs:element name="date" type="xs:date"/>
        <xs:element name="items">
          <xs:complexType><xs:sequence>
            <xs:element name="item" minOccurs="0" maxOccurs="unbounded">
              <xs:complexType>
                <xs:sequence>
                  <xs:element name="title" type="xs:string"/>
                  <xs:element name="caseNumber" type="xs:string" minOccurs="0"/>
                  <xs:element name="accessRestriction" minOccurs="0" maxOccurs="unbounded">
                    <xs:annotation><xs:documentation>A secrecy marking in force (the provision of OSL);
                      with document: on that document only, else on the whole item.</xs:documentation></xs:annotation>
                    <xs:complexType><xs:simpleContent><xs:extension base="xs:string">
                      <xs:attribute name="document" type="xs:string"/>
                    </xs:extension></xs:simpleContent></xs:complexType>
                  </xs:element>
                </xs:sequence>
                <xs:attribute name="id" type="xs:string" use="required"/>
              </xs:complexType>
            </xs:element>
          </xs:sequence></xs:complexType>
        </xs:element>
        <xs:element name="documents">
          <xs:complexType><xs:sequence>
            <xs:element name="document" minOccurs="0" maxOccurs="unbounded">
              <xs:complexType>
                <xs:attribute name="role" use="required">
                  <xs:simpleType><xs:restriction base="xs:string">
                    <xs:enumeration value="agenda"/><xs:enumeration value="minutes"/>
                    <xs:enumeration value="item"/><xs:enumeration value="compilation"/>
                  </xs:restriction></xs:simpleType>
                </xs:attribute>
                <xs:attribute name="file" type="xs:string" use="required"/>
                <xs:attribute name="item" type="xs:string"/>
              </xs:complexType>
            </xs:element>
          </xs:sequence></xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="language" type="xs:language" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
""".encode("utf-8")
