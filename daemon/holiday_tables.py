"""A country's public holidays from the ``holidays`` package, without the rest of it.

``holidays.country_holidays("SE")`` imports ``holidays.countries``, whose
``__init__`` imports every one of its ~280 countries: some 300 modules, the
largest part of what ``klg status`` and an idle daemon import and keep in
memory (issue 19). The one country's module needs only the package's base
classes, so it is loaded from its file by itself, under its usual name.
Should the package's layout ever differ (a newer version), the ordinary
``country_holidays`` is used instead; the table is the same either way.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import holidays
from holidays.registry import COUNTRIES

log = logging.getLogger("klg.schedule")


def _country_class(code: str):
    """The holiday class for the ISO code ``code``, its module loaded alone; None if not found so."""
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
        return holidays.country_holidays(code, categories=categories, language=language)
    return cls(categories=categories, language=language)
