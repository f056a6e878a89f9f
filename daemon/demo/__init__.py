"""``klg demo``: a whole week on the embedded default, in a new folder, with a
fast given clock. The members' mails are dropped into the Maildir inbox and the
real engine makes one pass at each moment of the script, so what the demo
shows is what the daemon does. It narrates each event in one line and leaves
the mailboxes, the database and the documents behind to look at.

The script is data (``script.py``); the driver (``play.Week``) turns each beat
into a mail, runs the engine at the beat's time and tells what came of it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from pathlib import Path

from daemon import pdf
from daemon.demo.play import AUDIENCES, Week
from daemon.demo.script import script
from daemon.errors import UsageError
from daemon.instance import write_instance


def make_instance(folder: Path, language: str) -> None:
    """The instance ``klg init`` writes, in ``language``, with addresses for the
    council and the union group so the signed minutes reach them too."""
    path = folder / "klg.toml"
    write_instance(folder, path)
    text = path.read_text(encoding="utf-8").replace('language = "sv"', f'language = "{language}"', 1)
    for audience, (address, _) in AUDIENCES.items():
        text = re.sub(rf'(name = "{audience}".*?\naddresses = )\[\]', rf'\1["{address}"]', text, count=1,
                      flags=re.DOTALL)
    path.write_text(text, encoding="utf-8")


def cmd_demo(args) -> int:
    """``klg demo [--folder DIR] [--language sv|en]``."""
    folder: Path = args.folder or Path(tempfile.mkdtemp(prefix="klg-demo-"))
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"--folder {folder} is not empty; name a new or empty folder")
    # the narration tells what happens; the engine's own log would repeat it in other words
    logging.getLogger("klg").setLevel(logging.CRITICAL)
    make_instance(folder, args.language)
    print(f"A week of the management group of Sjöviks kommun, played by klg in {folder}")
    print("Its members mail the shared mailbox klg@example.org; the meeting is on Tuesday 1 December 2026 "
          "(the clock runs fast).\n")
    try:
        pdf.soffice()
        has_pdf = True
    except pdf.ConversionError:
        has_pdf = False
        print("LibreOffice is not installed: the PDFs are skipped (the agenda goes out as Word only, and the "
              "signed minutes, which are PDF/A, cannot be made).\n")
    week = Week(folder, args.language)
    try:
        week.play(script(args.language))
        where(folder, has_pdf)
    except BrokenPipeError:  # `klg demo | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        week.close()
    return 0


def where(folder: Path, has_pdf: bool) -> None:
    """The closing words: where to look."""
    mailboxes, data = folder / "mailboxes", folder / "data"
    print(f"\nDone. Everything is in {folder}:")
    print(f"  {mailboxes / 'sent' / 'new'}/  every mail klg sent (open the .eml files in a mail client)")
    print(f"  {mailboxes / 'processed' / 'cur'}/  the members' mails, handled")
    print(f"  {mailboxes / 'quarantine' / 'cur'}/  the stranger's mail, kept and not answered")
    for folder_, words in ((data / "agendas" / "2026-12-01", "the final agenda as sent"),
                           (data / "intranet", "the signed minutes as published")):
        if folder_.is_dir():
            print(f"  {folder_}/  {words}: {', '.join(sorted(p.name for p in folder_.iterdir()))}")
    if not has_pdf:
        print("  No PDFs and no signed minutes: install LibreOffice (Debian: apt-get install "
              "libreoffice-writer-nogui) and run the demo again.")
    print(f"  klg --config {folder / 'klg.toml'} status --now 2026-12-02T17:00   the state of it all")
    sys.stdout.flush()
