"""``[archive]``: where the meetings' archive packages go.

    [archive]
    folder = "/srv/e-arkiv/klg"   # optional: a package per meeting after its minutes are distributed
    timestamp = true              # add a document time-stamp (PAdES B-LTA) to the sealed minutes
                                  # in the package; needs a B-LT seal ([minutes] seal_tsa_url and
                                  # seal_revocation_files or seal_revocation_fetch)
    submission_agreement = "RA 2026/1234"   # optional: the delivery agreement (leveransöverenskommelse)
    reference_code = "SE/1234/KLG"           # optional: the archive's reference code of the records

Without ``folder`` no package is made by itself; `klg archive --meeting DATE
--out DIR` makes one whenever asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.config import Config
from daemon.config_reader import ConfigReader, validated

KNOWN = {"folder", "timestamp", "submission_agreement", "reference_code"}


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class ArchiveSettings:
    """``[archive]``, validated: where packages go (None: not made), the time-stamp, the agreement."""

    folder: Path | None
    timestamp: bool
    submission_agreement: str | None = None
    reference_code: str | None = None


def _parse(config: Config) -> tuple[ArchiveSettings, list[str]]:
    r = ConfigReader()
    raw = r.table(config.raw, "archive", "", KNOWN)
    folder = raw.get("folder")
    path: Path | None = None
    if folder is not None:
        if not isinstance(folder, str) or not folder.strip():
            r.bad("archive.folder", folder, 'expected the folder the archive packages go to, e.g. "/srv/e-arkiv/klg"')
        else:
            path = (config.path.parent / folder).resolve()
    timestamp = r.get(raw, "timestamp", "archive", bool, True, "expected true or false")
    ids = {}
    for key, example in (("submission_agreement", "RA 2026/1234"), ("reference_code", "SE/1234/KLG")):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            r.bad(f"archive.{key}", value, f'expected a text, e.g. "{example}", or leave the key out')
            value = None
        ids[key] = value.strip() if value else None
    return ArchiveSettings(path, bool(timestamp), **ids), r.problems


def check_config(config: Config) -> list[str]:
    """Every problem with ``[archive]``, each naming the key, the value and the fix."""
    return _parse(config)[1]


def settings(config: Config) -> ArchiveSettings:
    """The validated ``[archive]`` settings; ConfigError when a key is wrong."""
    return validated(config.path, _parse(config))
