"""A country's public holidays from the ``holidays`` package, without the rest of it.

``holidays.country_holidays("SE")`` imports ``holidays.countries``, whose
``__init__`` imports every one of its ~280 countries: some 300 modules, the
largest part of what ``klg status`` and an idle daemon import and keep in
memory (issue 19). The one country's module needs only the package's base
classes, so it is loaded from its file by itself, under its usual name.
Should the package's layout ever differ (a newer version), the ordinary
``country_holidays`` is used instead; the table is the same either way.

Even alone, the package's base (calendars of four religions, its registry)
is a twentieth of a second of every command, and a year's table takes
milliseconds more. So what klg asked of it is kept in ``holidays.json`` in
the data folder (:class:`CachedTable`, :func:`countries`): the codes it
knows and each year's holidays, under the package's version, and the package
is imported only when the file lacks a year or the package changed. The
file is only a copy: deleted, it is written again.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

log = logging.getLogger("klg.schedule")
CACHE_NAME = "holidays.json"


def _country_class(code: str):
    """The holiday class for the ISO code ``code``, its module loaded alone; None if not found so."""
    import holidays  # imported here, not at the top: start-up (issue 19)
    from holidays.registry import COUNTRIES  # imported here, not at the top: start-up (issue 19)

    for module, (class_name, *codes) in COUNTRIES.items():
        if code.upper() not in codes:
            continue
        name = f"holidays.countries.{module}"
        loaded = sys.modules.get(name)
        if loaded is None:
            path = Path(holidays.__file__).parent / "countries" / f"{module}.py"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None or not path.is_file():
                return None
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[name] = loaded
            try:
                spec.loader.exec_module(loaded)
            except Exception:
                del sys.modules[name]
                raise
        return getattr(loaded, class_name, None)
    return None


def country_table(code: str, categories: tuple[str, ...], language: str = "sv"):
    """The holidays of ``code`` (e.g. "SE") in ``categories``, names in ``language``; a
    ``holidays.HolidayBase`` that fills in the years asked for."""
    try:
        cls = _country_class(code)
    except Exception as exc:  # the package's layout changed: the ordinary, slower way
        log.debug("holidays for %s loaded the ordinary way: %s", code, exc)
        cls = None
    if cls is None:
        import holidays  # imported here, not at the top: start-up (issue 19)

        return holidays.country_holidays(code, categories=categories, language=language)
    return cls(categories=categories, language=language)


def supported_countries() -> set[str]:
    """The country codes ``holidays`` knows, read from its registry: asking
    ``list_supported_countries()`` imports every country (a tenth of a second)."""
    try:
        from holidays.registry import COUNTRIES  # imported here, not at the top: start-up (issue 19)

        return {code for entry in COUNTRIES.values() for code in entry[1:] if code.isupper() and len(code) <= 3}
    except (ImportError, AttributeError, IndexError, TypeError):
        import holidays  # imported here, not at the top: start-up (issue 19)

        return set(holidays.list_supported_countries())


# --- what was asked, kept in the data folder -------------------------------------------------------


def _package_version() -> str | None:
    """Where the installed ``holidays`` is and when its version file was written, found without
    importing it (an upgrade writes a new file); None when it cannot be told so."""
    try:
        spec = importlib.util.find_spec("holidays")
        version = Path(spec.origin).parent / "version.py"
        stat = version.stat()
        return f"{version}:{stat.st_mtime_ns}:{stat.st_size}"
    except (ImportError, AttributeError, TypeError, OSError):
        return None


class _Cache:
    """``holidays.json`` in ``folder``: {"package": …, "countries": [...], "tables": {key: {year: [[day, name]]}}}.
    Read once; written whole through a temporary file, so a reader never sees half of it. A
    folder that is missing or read-only keeps nothing, and everything is asked of the package."""

    def __init__(self, folder: Path | None):
        self.path = folder / CACHE_NAME if folder is not None else None
        self.package = _package_version()
        self.data: dict = {"package": self.package, "tables": {}}
        if self.path is None or self.package is None:
            return
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(found, dict) and found.get("package") == self.package and isinstance(found.get("tables"), dict):
            self.data = found

    def save(self) -> None:
        if self.path is None or self.package is None or not self.path.parent.is_dir():
            return
        import tempfile  # imported here, not at the top: start-up (issue 19): random and shutil, for a write

        tmp = None
        try:
            if os.geteuid() == 0 and self.path.parent.stat().st_uid != 0:
                return  # root leaves the service user's data folder alone, as the store does (daemon/store.py)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".holidays-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.data, out, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError as exc:  # a copy only: the package answers next time too
            log.debug("holidays: %s not written: %s", self.path, exc)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def countries(folder: Path | None) -> set[str]:
    """:func:`supported_countries`, kept in ``folder``'s ``holidays.json``."""
    cache = _Cache(folder)
    if isinstance(cache.data.get("countries"), list):
        return set(cache.data["countries"])
    found = supported_countries()
    cache.data["countries"] = sorted(found)
    cache.save()
    return found


class CachedTable:
    """:func:`country_table`'s answers, ``get(day)`` → the holiday's name or None, each year
    kept in ``folder``'s ``holidays.json``; the package's table is made only for a year the file
    does not hold."""

    def __init__(self, code: str, categories: tuple[str, ...], language: str, folder: Path | None):
        self.code, self.categories, self.language = code, tuple(categories), language
        self.key = f"{code}|{','.join(self.categories)}|{language}"
        self._cache = _Cache(folder)
        self._years: dict[int, dict[date, str]] = {}
        self._table = None

    def _year(self, year: int) -> dict[date, str]:
        tables = self._cache.data["tables"]
        kept = tables.get(self.key, {}).get(str(year))
        if kept is None:
            if self._table is None:
                self._table = country_table(self.code, self.categories, self.language)
            self._table.get(date(year, 1, 1))  # the package fills in a year when asked for a day of it
            kept = sorted([d.isoformat(), name] for d, name in self._table.items() if d.year == year)
            tables.setdefault(self.key, {})[str(year)] = kept
            self._cache.save()
        return {date.fromisoformat(d): name for d, name in kept}

    def get(self, day: date) -> str | None:
        if day.year not in self._years:
            self._years[day.year] = self._year(day.year)
        return self._years[day.year].get(day)
