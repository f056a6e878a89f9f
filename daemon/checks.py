"""Checks of the instance beyond the TOML itself: the templates a chancellery
may have edited. Each problem names the file, the cause and the fix."""

from __future__ import annotations

from pathlib import Path

import jinja2

from daemon.config import Config

REFERENCE_LANGUAGE = "sv"


def templates(config: Config) -> list[str]:
    """Every template the Swedish set has must exist in the group's language and parse."""
    root = config.templates_dir
    lang = config.group.language
    problems = []
    reference = sorted(p.relative_to(root / REFERENCE_LANGUAGE) for p in (root / REFERENCE_LANGUAGE).rglob("*") if p.is_file())
    env = jinja2.Environment()
    for rel in reference:
        path = root / lang / rel
        if not path.is_file():
            problems.append(f"template {path} is missing: copy it from {root / REFERENCE_LANGUAGE / rel} and translate it")
            continue
        if path.suffix == ".txt":
            try:
                env.parse(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"template {path}, line {exc.lineno}: {exc.message}; fix the tag on that line")
            if not path.name.startswith("_") and not path.read_text(encoding="utf-8").startswith("Subject:"):
                problems.append(f"template {path} must start with a line 'Subject: …'")
        elif path.suffix == ".docx":
            problems += _docx(path)
    return problems


def _docx(path: Path) -> list[str]:
    from daemon import workflows

    problems = []
    for check in getattr(workflows, "DOCX_CHECKS", []):
        problems += check(path)
    return problems
