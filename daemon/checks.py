"""Loading the config with every check, and the checks of the instance beyond
the TOML itself (the templates a chancellery may have edited). Each problem
names the key or the file, the cause and the fix.

``load_config`` is how every part of klg gets its Config: ``daemon.config``
reads the file (core's keys), the backends check ``[mailbox]`` and
``[transport]``, the registry's workflows check their own sections, and no
section is left that nobody reads.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path


from daemon import config as configlib
from daemon import workflows
from daemon.backends import settings as backend_settings
from daemon.config import Config, ConfigError
from daemon.config_reader import unknown_sections

REFERENCE_LANGUAGE = "sv"
WORDPROCESSING_DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
DECORATIVE = "{http://schemas.microsoft.com/office/drawing/2017/decorative}decorative"


def load_config(path: str | Path) -> Config:
    """The config at ``path``, checked by core, the backends and the workflows;
    ConfigError with every problem at once (exit status 2 on the command line).

    The workflows' checks need a Config without core or backend problems, so
    they run once those are fixed (as ever)."""
    config, problems = configlib.read(path)
    mailbox, transport, found = backend_settings.check(config)
    problems += found
    problems += unknown_sections(config.raw, (*configlib.SECTIONS, *workflows.CONFIG_SECTIONS))
    if not problems:
        config = replace(config, mailbox=mailbox, transport=transport)
        problems = [problem for check in workflows.CONFIG_CHECKS for problem in check(config)]
    if problems:
        raise ConfigError(path, problems)
    return config


def templates(config: Config) -> list[str]:
    """Every template the Swedish set has must exist in the group's language and parse."""
    root = config.templates_dir
    lang = config.group.language
    problems = []
    reference = sorted(p.relative_to(root / REFERENCE_LANGUAGE) for p in (root / REFERENCE_LANGUAGE).rglob("*") if p.is_file())
    import jinja2  # imported here, not at the top: start-up (issue 19)

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
    problems = []
    for check in getattr(workflows, "DOCX_CHECKS", []):
        problems += check(path)
    return problems


def image_warnings(config: Config) -> list[str]:
    """An image (a logo the chancellery put in the header, say) in one of the group's Word
    templates without alternative text: the PDFs made from it would show a screen reader
    an image it cannot describe. Warnings, not errors: klg works as before."""
    from daemon import officezip  # noqa: PLC0415 -- start-up (issue 19): lxml only for klg check-config

    warnings = []
    for path in sorted((config.templates_dir / config.group.language).glob("*.docx")):
        try:
            found = officezip.parts(path.read_bytes(), only=lambda name: name.startswith("word/")
                                    and name.endswith(".xml") and "/_rels/" not in name)
        except (OSError, officezip.Refused):
            continue  # templates() already says what is wrong with the file
        for part, content in sorted(found.items()):
            try:
                root = officezip.parse_xml(content, part)
            except officezip.Refused:  # the template check names a broken template
                continue
            for doc_pr in root.iter(f"{WORDPROCESSING_DRAWING}docPr"):
                decorative = any(el.get("val") in ("1", "true") for el in doc_pr.iter(DECORATIVE))
                if not (doc_pr.get("descr") or "").strip() and not decorative:
                    where = part.removeprefix("word/").removesuffix(".xml")
                    warnings.append(f"the image \"{doc_pr.get('name', '?')}\" in {path} ({where}) has no alternative "
                                    "text, so a screen reader cannot say what it shows: in Word, right-click it, "
                                    "choose Edit Alt Text and describe it (or tick Mark as decorative)")
    return warnings
