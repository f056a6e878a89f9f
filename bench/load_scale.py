"""Load and scale: does klg stay fast with ten years of history?

Builds two instances of the embedded default (Maildir + SQLite) in a
temporary folder: one empty, one with ten years of history written straight
into the store (about 500 meetings, 10,000 items, 15,000 attachments,
50,000 mails in, 50,000 mails out, 250,000 audit events, the steps that ran).
Then measures, with the real command line and an empty inbox:

- ``klg tick`` with nothing due, on the empty and on the big store;
- the pass itself (``Engine.tick`` in-process, without Python's start-up);
- ``klg status`` and ``klg status --json`` on the big store;
- ``klg log --item`` and the whole ``klg log`` on the big store.

Run:  .venv/bin/python bench/load_scale.py [--runs 7] [--keep]
Prints a Markdown table (pasted into README.md, "Operations") and writes the
figures as JSON into bench/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from daemon.backends import open_mailbox, open_transport  # noqa: E402
from daemon.backends.maildir import ensure_maildir  # noqa: E402
from daemon.checks import load_config  # noqa: E402
from daemon.engine import Engine  # noqa: E402
from daemon.instance import instance_config  # noqa: E402
from daemon.store import Store  # noqa: E402

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 25, 11, 0, tzinfo=TZ)  # a Wednesday late morning: nothing of the week is due
MEMBERS = ["karin.berg", "johan.ek", "maria.holm", "erik.sandberg", "lena.akesson", "ahmed.karimi", "sofia.lund",
           "peter.nystrom"]
ADDRESSES = [f"{m}@example.org" for m in MEMBERS]
MEETINGS, ITEMS_PER_MEETING, MAILS_IN, MAILS_OUT, EVENTS = 500, 20, 50_000, 50_000, 250_000


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def make_instance(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "klg.toml").write_text(instance_config("maildir", templates=str(REPO / "templates")), encoding="utf-8")
    for folder in ("inbox", "processed", "quarantine", "sent"):
        ensure_maildir(root / "mailboxes" / folder)
    return root / "klg.toml"


def fill(data_dir: Path) -> dict:
    """Ten years of a weekly group, written directly into the store."""
    rnd = random.Random(7)
    Store(data_dir).close()  # the schema, by the daemon's own migrations
    db = sqlite3.connect(data_dir / "klg.sqlite")
    first = NOW.date() - timedelta(days=(NOW.date().weekday() - 1) % 7 + 7 * MEETINGS)
    days = [first + timedelta(weeks=n) for n in range(MEETINGS)]  # Tuesdays, the last one yesterday
    meetings = [(d.isoformat(), "closed", 2, rnd.choice(ADDRESSES), None) for d in days]
    items, attachments, steps = [], [], []
    seq: dict[int, int] = {}
    for d in days:
        created = datetime.combine(d - timedelta(days=5), datetime.min.time(), TZ)
        for k in ("deadline", "draft", "final", "minutes-form", "signed", "distributed"):
            steps.append((f"{k}:{d.isoformat()}", utc(created + timedelta(days=4)), None))
        steps.append((f"digest:{(d - timedelta(days=1)).isoformat()}", utc(created + timedelta(days=4, hours=16)), None))
        for n in range(ITEMS_PER_MEETING):
            seq[d.year] = seq.get(d.year, 0) + 1
            item_id = f"KLG-{d.year}-{seq[d.year]:03d}"
            proposer = rnd.choice(ADDRESSES)
            items.append((item_id, d.year, seq[d.year], f"Ärende {item_id}", "Beskrivning " * 20, proposer.split("@")[0],
                          proposer, rnd.choice((5, 10, 15, 20, 30)), rnd.choice(("information", "diskussion", "beslut")),
                          int(n % 10 == 0), d.isoformat(), n + 1, rnd.choice(("decided", "done", "withdrawn")),
                          utc(created), utc(created)))
            for a in range(n % 3):
                sha = hashlib.sha256(f"{item_id}/{a}".encode()).hexdigest()
                attachments.append((item_id, "item", item_id, f"underlag-{a + 1}.pdf", sha, 250_000, "application/pdf",
                                    12, utc(created)))
    start, span = datetime.combine(days[0], datetime.min.time(), TZ), (NOW - datetime.combine(days[0], datetime.min.time(), TZ))
    mails_in = []
    for n in range(MAILS_IN):
        at = start + span * (n / MAILS_IN)
        cls = rnd.choices(("proposal", "amendment", "comment", "stranger", "auto-reply", "bounce", "spoofed"),
                          (40, 15, 30, 8, 4, 2, 1))[0]
        quarantined = cls in ("stranger", "spoofed")
        mails_in.append((f"in-{n}@example.org", utc(at), rnd.choice(ADDRESSES), f"Ämne {n}", cls,
                         "quarantine" if quarantined else "processed", None, None, 1))
    mails_out = []
    for n in range(MAILS_OUT):
        at = start + span * (n / MAILS_OUT)
        kind = rnd.choice(("ack", "amended", "draft", "final", "comment-ack", "minutes", "reminder", "digest"))
        to = rnd.choice(ADDRESSES)
        mails_out.append((f"klg.out{n}@example.org", kind, utc(at), "klg@example.org", json.dumps([to]), f"Ämne {n}",
                          hashlib.sha256(str(n).encode()).hexdigest(), "sent", 1, utc(at), utc(at),
                          to if kind in ("ack", "amended", "comment-ack") else None))
    events = []
    for n in range(EVENTS):
        at = start + span * (n / EVENTS)
        item = items[n * len(items) // EVENTS]
        events.append((utc(at), rnd.choice(ADDRESSES + ["klg"]), item[0], item[10], f"event {n}", '{"n": %d}' % n))
    with db:
        db.executemany("INSERT INTO meetings (date, state, agenda_version, secretary, note) VALUES (?,?,?,?,?)", meetings)
        db.executemany("INSERT INTO items (id, year, seq, title, description, presenter, proposer, minutes, kind, "
                       "written_procedure, meeting, position, state, created_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", items)
        db.executemany("INSERT INTO attachments (item_id, owner, owner_id, name, sha256, size, content_type, pages, "
                       "added_at) VALUES (?,?,?,?,?,?,?,?,?)", attachments)
        db.executemany("INSERT INTO messages_in (message_id, received_at, sender, subject, classification, disposition, "
                       "item_id, detail, notified) VALUES (?,?,?,?,?,?,?,?,?)", mails_in)
        db.executemany("INSERT INTO outbox (message_id, kind, created_at, sender, recipients, subject, raw_sha256, "
                       "state, attempts, next_attempt_at, sent_at, answer_to) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", mails_out)
        db.executemany("INSERT INTO steps (key, done_at, detail) VALUES (?,?,?)", steps)
        db.executemany("INSERT INTO events (at, actor, item_id, meeting, what, detail) VALUES (?,?,?,?,?,?)", events)
    db.close()
    return {"meetings": len(meetings), "items": len(items), "attachments": len(attachments), "mails_in": len(mails_in),
            "mails_out": len(mails_out), "events": len(events), "steps": len(steps)}


def clock(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return times


def alternate(first: list[str], second: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Both commands, taking turns, so a change in the machine's load hits both alike."""
    a, b = [], []
    for _ in range(runs):
        a += clock(first, 1)
        b += clock(second, 1)
    return a, b


def klg(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "daemon", "--config", str(config), *args]


def pass_times(config_path: Path, runs: int) -> list[float]:
    """The pass itself, in-process: what the running daemon spends per wake-up."""
    config = load_config(config_path)
    store = Store(config.data_dir)
    try:
        engine = Engine(config, store, open_mailbox(config), open_transport(config))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = engine.tick(NOW)
            times.append(time.perf_counter() - t0)
            assert result["messages"] == 0 and not result["steps"] and result["outbox"]["sent"] == 0, result
        return times
    finally:
        store.close()


def status_times(config_path: Path, runs: int) -> list[float]:
    """``klg status``'s queries and rendering, in-process."""
    from daemon import status
    from daemon.context import Ctx

    config = load_config(config_path)
    store = Store(config.data_dir)
    try:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            data, sections = status.collect(Ctx(config, store, NOW))
            status.render_text(data, sections)
            times.append(time.perf_counter() - t0)
        return times
    finally:
        store.close()


# The planned-items queries every pass asks (agenda/workflow.py, meetings.py, agenda/common.py).
PLANNED_QUERIES = [
    ("SELECT DISTINCT meeting FROM items WHERE state = 'planned' AND meeting IS NOT NULL", []),
    ("SELECT DISTINCT meeting FROM items WHERE meeting > ? AND state = 'planned'", ["2026-12-08"]),
    ("SELECT * FROM items WHERE state = 'planned' AND late = 1 AND meeting > ? AND created_at >= ? ORDER BY id",
     ["2026-12-01", "2026-11-20T00:00:00+00:00"]),
    ("SELECT * FROM items WHERE meeting = ? AND state = 'planned' ORDER BY position, id", ["2026-12-01"]),
]


def planned_times(data_dir: Path, runs: int, without_index: bool = False) -> list[float]:
    """The planned-items queries of one pass; ``without_index`` drops 0012's index first (as before it)."""
    db = sqlite3.connect(data_dir / "klg.sqlite")
    try:
        if without_index:
            db.execute("DROP INDEX IF EXISTS items_state_meeting")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            for sql, params in PLANNED_QUERIES:
                db.execute(sql, params).fetchall()
            times.append(time.perf_counter() - t0)
        return times
    finally:
        db.close()


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "ram_gb": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "os": platform.platform()}


def ms(values: list[float]) -> str:
    def one(v: float) -> str:
        return f"{v * 1000:.2f}" if v < 0.001 else f"{v * 1000:.1f}" if v < 0.01 else f"{v * 1000:.0f}"

    return f"{one(statistics.median(values))} ms (min {one(min(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (the median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the instances and print where")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="klg-ops-load-scale-"))
    empty, big = make_instance(work / "empty"), make_instance(work / "big")
    t0 = time.perf_counter()
    counts = fill(load_config(big).data_dir)
    build = time.perf_counter() - t0
    now = ["--now", NOW.isoformat()]
    for config in (empty, big):  # whatever was due (if a workflow finds old work) runs once; then nothing is due
        clock(klg(config, "tick", *now), 1)
    tick_empty, tick_big = alternate(klg(empty, "tick", *now), klg(big, "tick", *now), args.runs)
    figures = {
        "tick_empty": tick_empty,
        "tick_big": tick_big,
        "pass_empty": pass_times(empty, args.runs * 3),
        "pass_big": pass_times(big, args.runs * 3),
        "status_big": clock(klg(big, "status", "--now", NOW.isoformat()), args.runs),
        "status_inproc_empty": status_times(empty, args.runs * 3),
        "status_inproc_big": status_times(big, args.runs * 3),
        "status_json_big": clock(klg(big, "status", "--json", "--now", NOW.isoformat()), args.runs),
        "log_item_big": clock(klg(big, "log", "--item", "KLG-2025-100"), args.runs),
        "log_all_big": clock(klg(big, "log"), 3),
        "startup": clock([sys.executable, "-c", "import daemon.cli, daemon.workflows"], args.runs),
        "planned_big": planned_times(load_config(big).data_dir, args.runs * 30),
    }
    figures["planned_big_noindex"] = planned_times(load_config(big).data_dir, args.runs * 30, without_index=True)
    size_mb = (load_config(big).data_dir / "klg.sqlite").stat().st_size / 1024 / 1024
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores available, {info['ram_gb']} GB RAM; "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    print(f"Big store: {', '.join(f'{v:,} {k}' for k, v in counts.items())}; {size_mb:.0f} MB on disk, "
          f"built in {build:.0f} s")
    print()
    print("| measurement | empty store | ten years |")
    print("|---|---|---|")
    print(f"| `klg tick`, nothing due (whole command) | {ms(figures['tick_empty'])} | {ms(figures['tick_big'])} |")
    print(f"| the pass itself (in the running daemon) | {ms(figures['pass_empty'])} | {ms(figures['pass_big'])} |")
    print(f"| `klg status` | | {ms(figures['status_big'])} |")
    print(f"| `klg status --json` | | {ms(figures['status_json_big'])} |")
    print(f"| the status itself (queries and text) | {ms(figures['status_inproc_empty'])} | "
          f"{ms(figures['status_inproc_big'])} |")
    print(f"| `klg log --item` | | {ms(figures['log_item_big'])} |")
    print(f"| `klg log`, all {counts['events']:,} events | | {ms(figures['log_all_big'])} |")
    print(f"| Python start-up and imports alone | {ms(figures['startup'])} | |")
    print(f"| the planned-items queries of a pass, with `items (state, meeting)` | | {ms(figures['planned_big'])} |")
    print(f"| … without that index (before 0012) | | {ms(figures['planned_big_noindex'])} |")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"load_scale-{stamp}.json").write_text(json.dumps(
        {"machine": info, "counts": counts, "size_mb": size_mb, "seconds": figures}, indent=1))
    if args.keep:
        print(f"\nInstances kept in {work}")
    else:
        import shutil

        shutil.rmtree(work)


if __name__ == "__main__":
    main()
