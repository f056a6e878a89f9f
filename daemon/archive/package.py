"""A meeting's archive package as a folder: put together (:func:`build`), written
atomically (:func:`write`: a reader or a transfer job never sees half a
package; a package made again replaces the earlier one), and `klg archive`.

The layout is E-ARK CSIP's::

    KLG-2026-12-01/
      METS.xml                              the package's inventory (mets.package_mets)
      metadata/descriptive/meeting.xml      the meeting, the items, case numbers, secrecy
      metadata/preservation/premis.xml      checksums, the audit log's events, restrictions
      representations/rep1/METS.xml         the documents' inventory (mets.representation_mets)
      representations/rep1/data/            the agenda as sent, the signed minutes, the items' documents
      schemas/klg-meeting-1.xsd             the schema of meeting.xml
      documentation/Om arkivpaketet.txt     what the package is, in the group's language

With ``[archive] timestamp`` (default) and ``[minutes] seal_tsa_url``, the sealed
minutes in the package get a document time-stamp over their validation data
(PAdES B-LTA, ``minutes.seal.archive_timestamp``); the stored minutes stay as
they were distributed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from datetime import date, datetime, timezone
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path

from daemon import documents
from daemon.archive import mets
from daemon.archive.contents import NothingToArchive, Package, gather
from daemon.archive.settings import settings as archive_settings
from daemon.config import Config
from daemon.errors import UsageError
from daemon.files import fingerprint
from daemon.minutes import settings as minutes_settings
from daemon.minutes.seal import SealError, archive_timestamp, trust_anchors
from daemon.minutes.sealcheck import verify
from daemon.store import Store
from daemon.texts import plural, render

REPRESENTATION = "representations/rep1/"
DATA = f"{REPRESENTATION}data/"


def klg_version() -> str:
    try:
        return dist_version("klg")
    except PackageNotFoundError:
        return "development"


def objid(config: Config, meeting: str) -> str:
    """The package's name and METS OBJID: the group's short name and the date, e.g. ``KLG-2026-12-01``."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', config.group.short)}-{meeting}"


def minutes_level(config: Config, pdf: bytes) -> str:
    """The seal's PAdES level in ``pdf`` as `klg verify` finds it (``unsealed`` without a signature)."""
    s = minutes_settings.settings(config)
    try:
        anchors = trust_anchors(s) + trust_anchors(None, list(s.seal_tsa_trust))
    except SealError:  # the seal's password is not at hand here: the level without trust, as a reader sees it
        anchors = []
    report = verify(pdf, anchors)
    return report.signatures[0].level if report.signatures else "unsealed"


def timestamp_wanted(config: Config) -> bool:
    """A document time-stamp is added to the minutes in the package (B-LTA): the seal is B-LT, so the
    revocation information the archive time-stamp's own chain needs can be had the same way."""
    s = minutes_settings.settings(config)
    return archive_settings(config).timestamp and s.seal_pkcs12 is not None and s.long_term


def lta_job(config: Config, pdf: bytes) -> documents.Job:
    """The document time-stamp of the sealed minutes as a document job (a network call: outside transactions)."""
    s = minutes_settings.settings(config)

    def make() -> bytes:
        try:
            return archive_timestamp(pdf, s)
        except SealError as exc:
            raise documents.Failed(str(exc), lasting=False) from None

    return documents.Job(f"lta:{fingerprint(pdf)}", "the archive time-stamp (B-LTA) of the minutes", make)


def build(pkg: Package, config: Config, now: datetime, *,
          minutes_pdf: bytes | None = None) -> tuple[str, list[mets.Entry], str]:
    """The package's name, its files (the METS first) and the minutes' seal level. ``minutes_pdf``
    replaces the signed minutes (the B-LTA copy)."""
    name = objid(config, pkg.meeting)
    a = archive_settings(config)
    pkg.submission_agreement, pkg.reference_code = a.submission_agreement, a.reference_code
    if minutes_pdf is not None:
        pkg.documents = [d if d.role != "minutes" else type(d)(d.role, d.name, minutes_pdf, d.mimetype, now)
                         for d in pkg.documents]
    level = minutes_level(config, next(d.data for d in pkg.documents if d.role == "minutes"))
    data = [mets.Entry(DATA + d.name, d.data, d.mimetype, d.created) for d in pkg.documents]
    descriptive = mets.Entry("metadata/descriptive/meeting.xml", mets.meeting_metadata(pkg, DATA), "text/xml", now)
    premis = mets.Entry("metadata/preservation/premis.xml", mets.premis(pkg, data, DATA), "text/xml", now)
    schema = mets.Entry(f"schemas/{mets.MEETING_SCHEMA}", mets.MEETING_XSD, "text/xml", now)
    sealed = level != "unsealed"
    about = render(config.templates_dir, config.group.language, "archive_about", {
        "group": pkg.group, "organisation": pkg.organisation, "meeting": pkg.meeting, "version": klg_version(),
        "created": now.astimezone(config.group.timezone).strftime("%Y-%m-%d %H:%M"),
        "cases": any(i.case_number for i in pkg.items), "sealed": sealed, "level": level,
        "restricted": ", ".join(i.id for i in pkg.restricted),
    })
    documentation = mets.Entry(f"documentation/{about.subject}.txt", about.body.encode("utf-8"), "text/plain", now)
    in_rep = [mets.Entry(e.path.removeprefix(REPRESENTATION), e.data, e.mimetype, e.created) for e in data]
    representation = mets.Entry(f"{REPRESENTATION}METS.xml",
                                mets.representation_mets(f"{name}-rep1", pkg, now, klg_version(), in_rep),
                                "application/mets+xml", now)
    root = mets.package_mets(name, pkg, now, klg_version(), descriptive=descriptive, premis=premis,
                             documentation=[documentation], schemas=[schema], representation=representation)
    return name, [mets.Entry("METS.xml", root, "application/mets+xml", now), descriptive, premis, schema,
                  documentation, representation, *data], level


def write(folder: Path, name: str, entries: list[mets.Entry]) -> Path:
    """Write the package as ``folder/name`` at once (made beside it, then renamed into place)."""
    target = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f".{name}.klg-*"):  # left by a run that was killed halfway
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{name}.klg-"))
        for e in entries:
            path = tmp / e.path
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(e.data)
                fh.flush()
                os.fsync(fh.fileno())
        for d in sorted({p for p in tmp.rglob("*") if p.is_dir()} | {tmp}):
            os.chmod(d, 0o755)
        for p in tmp.rglob("*"):
            if p.is_file():
                os.chmod(p, 0o644)
        old = None
        if target.exists():
            old = folder / f".{name}.klg-old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise OSError(f"cannot write the archive package {target} ({exc.strerror}): check [archive] folder (or --out) "
                      "and that the klg user may write there") from None
    return target


def add_cli(subparsers) -> None:
    """Register `klg archive --meeting DATE [--out DIR]`."""
    p = subparsers.add_parser("archive", help="make a meeting's archive package (E-ARK SIP, FGS 2.0)")
    p.add_argument("--meeting", required=True, help="the meeting's date, YYYY-MM-DD")
    p.add_argument("--out", type=Path, help="the folder the package goes in (default: [archive] folder)")
    p.set_defaults(handler=cmd_archive)


def cmd_archive(config: Config, args) -> int:
    """Exit 0 with the package's path; 1 when the meeting is not done yet."""
    try:
        meeting = date.fromisoformat(args.meeting.strip()).isoformat()
    except ValueError:
        raise UsageError(f"--meeting {args.meeting!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01") from None
    folder = args.out or archive_settings(config).folder
    if folder is None:
        raise UsageError("klg archive: say where the package goes: --out DIR, or set [archive] folder in the config")
    now = datetime.now(timezone.utc)
    store = Store(config.data_dir)
    try:
        pkg = gather(store, config, meeting)
    except NothingToArchive as exc:
        print(f"klg archive: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    minutes_pdf = None
    if timestamp_wanted(config):
        signed = next(d for d in pkg.documents if d.role == "minutes")
        try:
            minutes_pdf = archive_timestamp(signed.data, minutes_settings.settings(config))
        except SealError as exc:
            print(f"klg archive: the minutes go in without an archive time-stamp (B-LTA): {exc}", file=sys.stderr)
    name, entries, level = build(pkg, config, now, minutes_pdf=minutes_pdf)
    path = write(Path(folder), name, entries)
    print(f"{path} ({plural(len(entries), 'file', 'files', 'en')}, "
          f"{sum(len(e.data) for e in entries)} bytes; minutes "
          + ("unsealed" if level == "unsealed" else f"PAdES {level}") + ")")
    return 0
