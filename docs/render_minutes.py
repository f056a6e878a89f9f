#!/usr/bin/env python3
"""Render the picture of the minutes in the README (docs/minutes.png).

Plays the demo week (``klg demo``: proposals, agenda, meeting, the secretary's form,
signing) in a temporary folder and renders page 1 of the signed minutes the members
get with pdftoppm. Needs LibreOffice and poppler-utils.

    .venv/bin/python docs/render_minutes.py
"""

from __future__ import annotations

import email
import subprocess
import sys
import tempfile
from email import policy
from pathlib import Path

HERE = Path(__file__).resolve().parent


def signed_minutes(folder: Path) -> bytes:
    """The signed minutes' PDF from the mail with the most recipients (the members' copy)."""
    found = []
    for path in sorted(p for sub in ("new", "cur") for p in (folder / "mailboxes" / "sent" / sub).iterdir()):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in msg.iter_attachments():
            name = part.get_filename() or ""
            if name.startswith("Minnesanteckningar") and name.endswith(".pdf") and " v" not in name:
                found.append((len(msg.get_all("To", [])[0].split(",")), part.get_content()))
    if not found:
        raise SystemExit("the demo week sent no signed minutes")
    return max(found, key=lambda f: f[0])[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "klg"
        subprocess.run([sys.executable, "-m", "daemon", "demo", "--folder", str(folder), "--language", "sv"],
                       check=True, capture_output=True, cwd=HERE.parent, timeout=600)
        pdf = Path(tmp) / "minutes.pdf"
        pdf.write_bytes(signed_minutes(folder))
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(HERE / "minutes")], check=True)
    print(HERE / "minutes.png")


if __name__ == "__main__":
    main()
