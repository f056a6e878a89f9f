"""A machine for a whole municipality: many groups, one Monday 14:00.

``prepare DIR [--items 20]`` plays one group's week up to Monday 13:59
(``final_agenda.prepare``: proposals with a Word document each, converted
ahead, the draft, the OK).

``run DIR [--groups 100]`` copies it into ``DIR/groups/g001`` … ``g100``: a
hundred instances with the default times, each with its own store, Maildirs
and documents. Then it starts every group's ``klg tick --now 2026-11-30T14:00`` at the same
moment, as a hundred daemons all wake at 14:00, sharing one pool of
LibreOffice slots (``KLG_CONVERTERS``, default the cores; the locks in
``DIR/locks``). It samples, every half second, the resident memory of all the
groups' processes together (klg, the slots' listeners and their LibreOffices)
and how many LibreOffices run, and prints when each group's final agenda was
out, checking that every group's went to all its members with its PDF and
meeting book. ``--converter`` is final_agenda's: ``cold`` (default: no
listener runs at 14:00, the first ticks start them), ``warm`` or ``oneshot``;
the listeners are stopped after the run.

    .venv/bin/python bench/many_groups.py prepare /tmp/mg
    .venv/bin/python bench/many_groups.py run /tmp/mg --groups 100
"""

from __future__ import annotations

import argparse
import email
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from email import policy
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import final_agenda
from _common import machine

REPO = BENCH.parent


def copies(folder: Path, groups: int) -> list[Path]:
    """``groups`` fresh copies of ``DIR/week`` (Monday 13:59) in ``DIR/groups``."""
    shutil.rmtree(folder / "groups", ignore_errors=True)
    for n in range(1, groups + 1):
        shutil.copytree(folder / "week", folder / "groups" / f"g{n:03d}", symlinks=True)
    return sorted((folder / "groups").iterdir())


def _tree(roots: set[int]) -> set[int]:
    """``roots`` and every process descending from them, from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found = set(roots) & set(parent)
    grew = True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found and pid not in found}
        found |= more
        grew = bool(more)
    return found


def _listeners(locks: Path) -> set[int]:
    """The slots' listeners and their LibreOffices: each listener leads a process group of its own,
    and outlives the tick that started it (its parent is then init, so _tree does not find it)."""
    leaders = set()
    for state in locks.glob("listener-*.json"):
        try:
            leaders.add(int(json.loads(state.read_text())["pid"]))
        except (OSError, ValueError, KeyError):
            continue
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) in leaders:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _sample(pids: set[int]) -> tuple[int, int]:
    """(resident kB of all ``pids`` together, how many of them are LibreOffice)."""
    rss = office = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("Name:") and "soffice.bin" in line:  # not its launcher and oosplash
                office += 1
    return rss, office


def run(folder: Path, count: int, converter: str = "cold") -> dict:
    groups = copies(folder, count)
    env = final_agenda.converter_env(folder, converter)
    load_before = os.getloadavg()
    started = time.monotonic()
    procs = {subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(g / "klg.toml"), "tick", "--now",
                               final_agenda.FINAL_AT], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
                              env=env): g for g in groups}
    done: dict[Path, float] = {}
    peak_rss = peak_office = 0
    failures = []
    while len(done) < len(procs):
        rss, office = _sample(_tree({p.pid for p in procs if p.returncode is None}) | _listeners(folder / "locks"))
        peak_rss, peak_office = max(peak_rss, rss), max(peak_office, office)
        for proc, group in procs.items():
            if group not in done and proc.poll() is not None:
                done[group] = time.monotonic() - started
                if proc.returncode:
                    failures.append(f"{group.name}: exit {proc.returncode}: {proc.stderr.read()[-500:]!r}")
        time.sleep(0.5)
    for proc in procs:
        proc.stderr.close()
    final_agenda.stop(folder)
    missing = [g.name for g in groups if not _final_sent(g)]
    times = sorted(done.values())
    result = {
        "machine": machine(), "groups": len(groups), "load_before": load_before, "load_after": os.getloadavg(),
        "all_out_s": round(times[-1], 1), "median_s": round(statistics.median(times), 1),
        "p90_s": round(times[int(0.9 * (len(times) - 1))], 1), "first_s": round(times[0], 1),
        "peak_rss_mb": round(peak_rss / 1024), "peak_libreoffices": peak_office,
        "converters": os.environ.get("KLG_CONVERTERS") or os.cpu_count(), "converter": converter,
        "failed": failures, "without_final_agenda": missing,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if failures or missing:
        sys.exit(1)
    return result


def _final_sent(group: Path) -> bool:
    sent = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for sub in ("new", "cur") for p in (group / "mailboxes" / "sent" / sub).iterdir()]
    return any("Dagordning tisdag" in str(m["Subject"]) for m in sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["prepare", "run"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--converter", choices=["warm", "cold", "oneshot"], default="cold")
    args = parser.parse_args()
    if args.what == "prepare":
        final_agenda.prepare(args.folder, args.items)
    else:
        run(args.folder, args.groups, args.converter)


if __name__ == "__main__":
    main()
