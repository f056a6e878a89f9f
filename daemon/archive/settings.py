"""``[archive]``: where the meetings' archive packages go.

    [archive]
    folder = "/srv/e-arkiv/klg"   # optional: a package per meeting after its minutes are distributed
    timestamp = true              # add a document time-stamp (PAdES B-LTA) to the sealed minutes
                                  # in the package; needs a B-LT seal ([minutes] seal_tsa_url and
                                  # seal_revocation_files or seal_revocation_fetch)

Without ``folder`` no package is made by itself; `klg archive --meeting DATE
--out DIR` makes one whenever asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.config import Config, ConfigError
from daemon.config_reader import ConfigReader

KNOWN = {"folder", "timestamp"}


@dataclass(frozen=True)
class ArchiveSettings:
    folder: Path | None
    timestamp: bool


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
    return ArchiveSettings(path, bool(timestamp)), r.problems


def check_config(config: Config) -> list[str]:
    """Every problem with ``[archive]``, each naming the key, the value and the fix."""
    return _parse(config)[1]


def settings(config: Config) -> ArchiveSettings:
    """The validated ``[archive]`` settings; ConfigError when a key is wrong."""
    value, problems = _parse(config)
    if problems:
        raise ConfigError(config.path, problems)
    return value
