"""Monday at 14:00: the final agenda against LibreOffice converting the same files.

``prepare DIR [--items 40]`` plays a week on the embedded default (Maildir +
SQLite) up to Monday 13:59: one proposal per item, each with a Word document
(converted ahead by the pass that takes it in, as the daemon does), the draft
at 10:05, the chancellery's OK. It keeps the instance in ``DIR/week`` and the
members' documents in ``DIR/files``.

``final DIR`` copies ``DIR/week`` (so every run starts from the same Monday
13:59) and runs ``klg tick --now 2026-11-30T14:00`` on the copy: the agenda is
rendered and converted, the meeting book merged, the mail to every member
written. It checks that the final agenda went out, with its PDF and the book.

``baseline DIR`` is the yardstick: one LibreOffice converting ``DIR/files``
(the same documents) to PDF in one process, as a clerk would by hand. Its
profile (``DIR/profile``) is kept between runs, as klg keeps one per slot.

``--converter`` says how the tick converts (the slots' locks and listeners in
``DIR/locks``): ``warm`` (default) through the listener the previous run left,
as a daemon that converted a member's document in the last half hour has one;
``cold`` stops it first, so the tick starts one; ``oneshot`` with one soffice
run per document, the way before the listener (``KLG_CONVERTER_LISTENER=0``).
``stop DIR`` stops the listeners when the runs are done.

Time them in turn, run by run, so that a drift of the machine's speed moves
both alike (README, "Performance"):

    .venv/bin/python bench/final_agenda.py prepare /tmp/fa
    for run in 1 2 3 4 5; do
        /usr/bin/time -f "final %e s, cpu %U+%S" .venv/bin/python bench/final_agenda.py final /tmp/fa
        /usr/bin/time -f "baseline %e s, cpu %U+%S" .venv/bin/python bench/final_agenda.py baseline /tmp/fa
    done
    .venv/bin/python bench/final_agenda.py stop /tmp/fa
"""

from __future__ import annotations

import argparse
import email
import os
import shutil
import subprocess
import sys
import tempfile
from email import policy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The timed commands (final, baseline) import no more than they use: klg's own imports are
# paid by the `klg tick` they run, the week's (docx, the test helpers) only by `prepare`.
MEMBERS = ["karin.berg@example.org", "johan.ek@example.org", "maria.holm@example.org", "erik.sandberg@example.org",
           "lena.akesson@example.org", "ahmed.karimi@example.org", "sofia.lund@example.org",
           "peter.nystrom@example.org"]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEETING = "2026-12-01"
FINAL_AT = "2026-11-30T14:00"
TEXT = ("Bakgrund. Förvaltningen har på uppdrag av ledningsgruppen sammanställt underlaget nedan. "
        "Ärendet berör flera verksamheter och kräver beslut om fördelning av medel under nästa år. ") * 6


def document(n: int) -> bytes:
    """A member's Word document of a page or two: a heading and some paragraphs."""
    from daemon.simulate import small_docx

    return small_docx(f"Underlag till ärende {n}", *(f"{k}. {TEXT}" for k in range(1, 9)))


def prepare(folder: Path, items: int) -> None:
    from tests.helpers import CHANCELLERY, at, make_mail, new_instance

    if folder.exists():
        shutil.rmtree(folder)
    files = folder / "files"
    files.mkdir(parents=True)
    inst = new_instance(folder / "week")
    inst.edit_config("replies_per_sender_per_hour = 30", "replies_per_sender_per_hour = 100000")
    senders = [m for m in MEMBERS if m != CHANCELLERY]
    for n in range(1, items + 1):
        name = f"Underlag {n:02d}.docx"
        data = document(n)
        (files / name).write_bytes(data)
        inst.drop(make_mail(senders[n % len(senders)], f"Ärende {n:02d}", "Tid: 5\nTyp: beslut\n\nSe underlaget.",
                            attachments=[(name, data, DOCX)]))
    inst.tick(at("2026-11-27 09:00"))  # Friday: the proposals, their documents converted ahead
    inst.tick(at("2026-11-30 10:05"))  # the draft
    [draft] = [m for m in inst.sent() if "Utkast till dagordning" in str(m["Subject"])]
    inst.drop(make_mail(CHANCELLERY, f"SV: {draft['Subject']}", "OK", reply_to=draft))
    inst.tick(at("2026-11-30 11:00"))
    inst.tick(at("2026-11-30 13:59"))
    store = inst.store()
    made = store.count("SELECT COUNT(*) FROM pdf_cache WHERE pdf_sha256 IS NOT NULL")
    store.close()
    print(f"prepared {items} items with {items} documents in {folder} ({made} clean PDFs made ahead)")


def converter_env(folder: Path, converter: str) -> dict[str, str]:
    """The environment of a tick that converts the ``converter`` way (warm, cold, oneshot), slots in DIR/locks."""
    env = {**os.environ, "KLG_CONVERTER_LOCKS": str(folder / "locks")}
    if converter == "oneshot":
        env["KLG_CONVERTER_LISTENER"] = "0"
    elif converter == "cold":
        stop(folder)
    return env


def stop(folder: Path) -> None:
    """Stop the listeners of ``DIR/locks`` (a cold start, or the end of the runs)."""
    from daemon import pdf

    os.environ["KLG_CONVERTER_LOCKS"] = str(folder / "locks")
    pdf.stop_listeners()


def final(folder: Path, converter: str = "warm") -> None:
    env = converter_env(folder, converter)
    with tempfile.TemporaryDirectory(prefix="klg-final-") as work:
        week = Path(work) / "week"
        shutil.copytree(folder / "week", week, symlinks=True)
        result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(week / "klg.toml"), "tick",
                                 "--now", FINAL_AT], capture_output=True, text=True, cwd=REPO, timeout=900, env=env)
        if result.returncode:
            sys.exit(f"klg tick failed: {result.stderr[-2000:]}")
        sent = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for sub in ("new", "cur") for p in (week / "mailboxes" / "sent" / sub).iterdir()]
        finals = [m for m in sent if "Dagordning tisdag" in str(m["Subject"])]
        names = [a.get_filename() for m in finals for a in m.iter_attachments()]
        books = list((week / "data" / "agendas" / MEETING).glob("Mötesbok*.pdf"))
        if len(finals) != 1 or _recipients(finals[0]) != sorted(MEMBERS) or f"Dagordning KLG {MEETING}.pdf" not in names \
                or not books:
            sys.exit(f"the final agenda did not go out as it should: {len(finals)} mails, {names}, {books}")


def _recipients(msg) -> list[str]:
    return sorted(a.addr_spec.lower() for h in ("To", "Cc") for a in (msg[h].addresses if msg[h] else []))


def baseline(folder: Path) -> None:
    from daemon.pdf import soffice

    with tempfile.TemporaryDirectory(prefix="klg-lo-") as work:
        out = Path(work) / "out"
        sources = sorted(str(p) for p in (folder / "files").iterdir())
        subprocess.run([soffice(), f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                        "--norestore", "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf",
                        "--outdir", str(out), *sources], capture_output=True, check=True, timeout=900,
                       env={"PATH": "/usr/bin:/bin", "HOME": work})
        made = list(out.glob("*.pdf"))
        if len(made) != len(sources):
            sys.exit(f"LibreOffice made {len(made)} PDFs of {len(sources)} documents")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["prepare", "final", "baseline", "stop"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--converter", choices=["warm", "cold", "oneshot"], default="warm")
    args = parser.parse_args()
    if args.what == "prepare":
        prepare(args.folder, args.items)
    elif args.what == "final":
        final(args.folder, args.converter)
    elif args.what == "stop":
        stop(args.folder)
    else:
        baseline(args.folder)


if __name__ == "__main__":
    main()
