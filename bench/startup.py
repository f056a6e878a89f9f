"""Start-up and the idle daemon: how long `klg --help`, `klg status` and
`klg tick` (nothing due) take as whole commands, beside bare Python, and what
an idle `klg run` costs in private memory and CPU.

Runs are alternated (bare Python, then each command, round after round) so
a machine shared with other work affects every figure alike; the median and
the fastest are reported. With ``--baseline DIR`` (another checkout of klg,
e.g. main before issue 19) the same commands run from there too, with this
interpreter, and the ratio is printed.

Run:  .venv/bin/python bench/startup.py [--runs 15] [--baseline /work/main]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-25T11:00"  # a Wednesday late morning: nothing of the week is due


def make_instance(root: Path, tree: Path) -> Path:
    subprocess.run([sys.executable, "-m", "daemon", "init", str(root)], cwd=tree, check=True, capture_output=True)
    config = root / "klg.toml"
    subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "tick", "--now", NOW], cwd=tree,
                   check=True, capture_output=True)
    return config


def once(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0


def commands(config: Path) -> dict[str, list[str]]:
    klg = [sys.executable, "-m", "daemon"]
    return {
        "bare Python (`python -c pass`)": [sys.executable, "-c", "pass"],
        "`klg --help`": [*klg, "--help"],
        "`klg status`": [*klg, "--config", str(config), "status", "--now", NOW],
        "`klg tick`, nothing due": [*klg, "--config", str(config), "tick", "--now", NOW],
    }


def idle_daemon(config: Path, tree: Path, seconds: float) -> dict:
    """Private memory (kB) and CPU share of an idle `klg run` after it caught up."""
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)  # started, first pass done, waiting for mail
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        share = (cpu() - c0) / (time.monotonic() - t0)
        rollup = {line.split(":")[0]: int(line.split()[1]) for line in
                  Path(f"/proc/{proc.pid}/smaps_rollup").read_text().splitlines()[1:] if line.split()[-1] == "kB"}
        return {"private_kb": rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0),
                "rss_kb": rollup.get("Rss", 0), "cpu_share": share}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another klg checkout to compare with (e.g. /work/main)")
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    trees = {"this tree": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    work = Path(tempfile.mkdtemp(prefix="klg-bench-startup-"))
    configs = {name: make_instance(work / name.replace(" ", "-"), tree) for name, tree in trees.items()}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for name, tree in trees.items():
            for what, cmd in commands(configs[name]).items():
                times.setdefault((name, what), []).append(once(cmd, tree))
    idle = {name: idle_daemon(configs[name], tree, args.idle_seconds) for name, tree in trees.items()}
    load = os.getloadavg()
    print(f"{args.runs} alternated runs; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
          f"{len(os.sched_getaffinity(0))} cores; Python {sys.version.split()[0]}")
    print()
    print("| command | " + " | ".join(trees) + (" | ratio |" if len(trees) > 1 else ""))
    print("|---|" + "---|" * (len(trees) + (1 if len(trees) > 1 else 0)))
    for what in commands(configs["this tree"]):
        cells = [fmt(times[(name, what)]) for name in trees]
        ratio = (f" | {statistics.median(times[('this tree', what)]) / statistics.median(times[('baseline', what)]):.2f}×"
                 if len(trees) > 1 else "")
        print(f"| {what} | " + " | ".join(cells) + ratio + " |")
    cells = [f"{idle[n]['private_kb'] / 1024:.1f} MB private ({idle[n]['rss_kb'] / 1024:.1f} MB RSS), "
             f"{idle[n]['cpu_share'] * 100:.2f} % of a core" for n in trees]
    print(f"| idle `klg run` (Maildir), {args.idle_seconds:.0f} s | " + " | ".join(cells) + (" | |" if len(trees) > 1 else " |"))


if __name__ == "__main__":
    main()
