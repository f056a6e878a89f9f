"""A klg instance on disk: its config, Maildirs, data folder and templates.

``klg init`` writes one for a group; ``klg demo`` writes one to play its week in;
the tests start from the same config text. What is written is the embedded
default (``daemon/defaults/klg.toml``) with the chosen backend's sections.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from daemon.backends.maildir import ensure_maildir

DEFAULTS = Path(__file__).resolve().parent / "defaults"
# templates/ at the top of the repository; daemon/templates links to it, and a
# built wheel carries a copy there (pyproject.toml, package-data)
PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
BACKENDS = ("maildir", "imap", "exchange", "graph")


def instance_config(backend: str, root: str = "mailboxes", data: str = "data", templates: str | None = "templates") -> str:
    """The text of a new instance's klg.toml for ``backend``."""
    text = (DEFAULTS / "klg.toml").read_text(encoding="utf-8")
    if backend != "maildir":
        head, _, rest = text.partition("[mailbox]")
        _, _, tail = rest.partition("[storage]")
        text = head + (DEFAULTS / f"mail-{backend}.toml").read_text(encoding="utf-8").rstrip() + "\n\n[storage]" + tail
    text = text.replace('root = "mailboxes"', f'root = "{root}"').replace('data = "data"', f'data = "{data}"')
    if templates:
        text = text.replace('data = "' + data + '"', f'data = "{data}"\ntemplates = "{templates}"   # restyle the Word files here')
    return text


def _make_folder(path: Path, mode: int) -> None:
    """Create ``path`` with ``mode`` and any missing parents open to traverse
    (0755), whatever the umask: the service user must reach /etc/klg and
    /var/lib/klg even when root created them."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir()
        os.chmod(folder, mode if folder == path else 0o755)


def write_instance(target: Path, config_path: Path, backend: str = "maildir") -> None:
    """Write a self-contained instance into ``target``: its config at ``config_path``,
    Maildirs for the embedded default, the data folder and a copy of the templates.
    ``klg init`` and ``klg demo`` both make their instance here."""
    _make_folder(target, 0o700)
    _make_folder(config_path.parent, 0o755 if config_path.resolve().parent != target.resolve() else 0o700)
    if config_path.resolve().parent == target.resolve():
        text = instance_config(backend)
    else:
        home = target.resolve()
        text = instance_config(backend, root=str(home / "mailboxes"), data=str(home / "data"),
                               templates=str(home / "templates"))
    config_path.write_text(text, encoding="utf-8")
    if backend == "maildir":
        for folder in ("inbox", "processed", "quarantine", "sent"):
            ensure_maildir(target / "mailboxes" / folder)
    (target / "data").mkdir(exist_ok=True, mode=0o700)
    if not (target / "templates").exists():
        shutil.copytree(PACKAGE_TEMPLATES, target / "templates")


def init(target: Path, config_path: Path, backend: str, force: bool) -> int:
    """``klg init``: write an instance into ``target`` and tell the operator what
    comes next. With the config elsewhere (e.g. /etc/klg/klg.toml) it names
    ``target``'s folders by absolute path. Exit status 2 when the config exists
    and ``force`` is not given."""
    if config_path.exists() and not force:
        print(f"klg: {config_path} already exists; use --force to overwrite it", file=sys.stderr)
        return 2
    write_instance(target, config_path, backend)
    print(f"Wrote {config_path}")
    if config_path.resolve().parent != target.resolve():
        print(f"The service user must be able to read it: chgrp klg {config_path} && chmod 640 {config_path}")
    if backend == "maildir":
        print(f"Mailboxes: {target / 'mailboxes'} (drop .eml files into inbox/new/)")
    else:
        print(f"Fill in the [mailbox] and [transport] sections, then run: klg --config {config_path} check-config")
    return 0
