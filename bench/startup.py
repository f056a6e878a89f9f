"""Start-up and the idle daemon: how long `klg --help`, `klg status` and
`klg tick` (nothing due) take as whole commands, beside bare Python, and what
an idle `klg run` costs in private memory and CPU.

Runs are alternated (bare Python, then each command, round after round) so
a machine shared with other work affects every figure alike; the median and
the fastest are reported, for the wall time and for the CPU time the kernel
counted (user + system, which the load of other work changes much less), and
the sum of ``python -X importtime``'s self times. With ``--baseline DIR``
(another checkout of klg, e.g. main before issue 19) the same commands run
from there too, with this interpreter, and the ratio is printed.

Each tree's bytecode is kept in its own folder (``PYTHONPYCACHEPREFIX``) and
a first round is not counted, as an installed klg has its ``.pyc`` files
(with ``PYTHONDONTWRITEBYTECODE`` set, every run would compile every module).

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


def environment(work: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(work / "pycache" / name.replace(" ", "-"))}


def make_instance(root: Path, tree: Path, env: dict[str, str]) -> Path:
    subprocess.run([sys.executable, "-m", "daemon", "init", str(root)], cwd=tree, check=True, capture_output=True,
                   env=env)
    config = root / "klg.toml"
    for command in ("tick", "status"):  # the data folder made, and what the first commands keep in it
        subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), command, "--now", NOW], cwd=tree,
                       check=True, capture_output=True, env=env)
    return config


def once(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, as the kernel counted them) of one whole run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed with exit status {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def imports(cmd: list[str], cwd: Path, env: dict[str, str], runs: int = 5) -> tuple[int, float]:
    """How many modules the command imports, and the sum of ``-X importtime``'s self times (the
    least of ``runs``; a wall time, so a loaded machine still inflates it)."""
    sums, count = [], 0
    for _ in range(runs):
        result = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")
                 and "self [us]" not in line]
        count = len(lines)
        sums.append(sum(int(line.split("|")[0].split(":")[1]) for line in lines) / 1e6)
    return count, min(sums)


def commands(config: Path) -> dict[str, list[str]]:
    klg = [sys.executable, "-m", "daemon"]
    return {
        "bare Python (`python -c pass`)": [sys.executable, "-c", "pass"],
        "`klg --help`": [*klg, "--help"],
        "`klg status`": [*klg, "--config", str(config), "status", "--now", NOW],
        "`klg tick`, nothing due": [*klg, "--config", str(config), "tick", "--now", NOW],
    }


def idle_daemon(config: Path, tree: Path, seconds: float, env: dict[str, str]) -> dict:
    """Private memory (kB) and CPU share of an idle `klg run` after it caught up."""
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=tree, env=env,
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
    return f"{statistics.median(values) * 1000:.0f} ms ({min(values) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another klg checkout to compare with (e.g. /work/main)")
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    trees = {"this tree": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    work = Path(tempfile.mkdtemp(prefix="klg-bench-startup-"))
    envs = {name: environment(work, name) for name in trees}
    configs = {name: make_instance(work / name.replace(" ", "-"), tree, envs[name]) for name, tree in trees.items()}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(args.runs + 1):  # the first round compiles the bytecode and is not counted
        for name, tree in trees.items():
            for what, cmd in commands(configs[name]).items():
                took = once(cmd, tree, envs[name])
                if round_:
                    times.setdefault((name, what), []).append(took)
    imported = {(name, what): imports(cmd, tree, envs[name])
               for name, tree in trees.items() for what, cmd in commands(configs[name]).items()}
    idle = {name: idle_daemon(configs[name], tree, args.idle_seconds, envs[name]) for name, tree in trees.items()}
    load = os.getloadavg()
    print(f"{args.runs} alternated runs; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
          f"{len(os.sched_getaffinity(0))} cores; Python {sys.version.split()[0]}; median (fastest)")
    print()
    columns = ["wall", "CPU", "modules, importtime"]
    heads = [f"{c}, {n}" for n in trees for c in columns] + (["ratio wall", "ratio CPU"] if len(trees) > 1 else [])
    print("| command | " + " | ".join(heads) + " |")
    print("|---|" + "---|" * len(heads))
    for what in commands(configs["this tree"]):
        cells = []
        for name in trees:
            runs = times[(name, what)]
            count, seconds = imported[(name, what)]
            cells += [fmt([w for w, _ in runs]), fmt([c for _, c in runs]), f"{count}, {seconds * 1000:.0f} ms"]
        if len(trees) > 1:
            for k in (0, 1):
                ours = statistics.median(t[k] for t in times[("this tree", what)])
                theirs = statistics.median(t[k] for t in times[("baseline", what)])
                cells.append(f"{ours / theirs:.2f}×")
        print(f"| {what} | " + " | ".join(cells) + " |")
    for name in trees:
        i = idle[name]
        print(f"idle `klg run` (Maildir), {args.idle_seconds:.0f} s, {name}: {i['private_kb'] / 1024:.1f} MB private "
              f"({i['rss_kb'] / 1024:.1f} MB RSS), {i['cpu_share'] * 100:.2f} % of a core")


if __name__ == "__main__":
    main()
