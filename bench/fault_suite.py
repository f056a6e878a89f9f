"""The fault suite (issue 7), one command:

    .venv/bin/python bench/fault_suite.py --kills 200 --seed 1 [--days 30] [--profile both] [--daemon both]

The real daemon is driven through a simulated month with a given clock: as
``klg tick --now`` (one process per pass) and as ``klg run`` (one long-lived
process on a test clock, ``KLG_TEST_CLOCK``, stopped with SIGTERM too). It is
killed with SIGKILL at random moments and at named crash points, Dovecot is
restarted, Postfix stopped and started, and the data disk (a tmpfs) filled and
freed. Members propose, comment and approve; the secretary returns the minutes
form, a signatory asks for a change, both sign, and the signed minutes go to
the members, the council, the union and the intranet folder. Afterwards every
proposal must be exactly one item, every mail sent exactly once per recipient
and per audience, the shared inbox empty; the figures are printed. Needs root (tmpfs, Dovecot, Postfix).
Exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import mail_servers  # noqa: E402
from tests.faultsim import Simulation  # noqa: E402
from tests.faultsim_run import RunSimulation  # noqa: E402


def machine() -> str:
    """CPU count, memory and software, for the report."""
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores, {int(mem) / 1024 / 1024:.1f} GB RAM, {platform.python_version()}, "
            f"load average {load:.1f} at the end")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs per profile, at least (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=30, help="simulated days (default 30)")
    parser.add_argument("--profile", choices=["maildir", "imap", "both"], default="both")
    parser.add_argument("--daemon", choices=["tick", "run", "both"], default="both",
                        help="klg tick --now per pass, klg run on a test clock, or both (default)")
    parser.add_argument("--sigterms", type=int, default=10, help="SIGTERMs per klg run profile (default 10)")
    parser.add_argument("--push", action="store_true",
                        help="IMAP profile: klg takes Dovecot's push ([mailbox] push_listen; matters for klg run)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("the fault suite mounts a tmpfs and starts Dovecot and Postfix: run it as root")
    log = (lambda text: None) if args.quiet else (lambda text: print(f"  {text}", flush=True))
    results = []
    t0 = time.monotonic()
    runs = [(p, d) for d in (["tick", "run"] if args.daemon == "both" else [args.daemon])
            for p in (["maildir", "imap"] if args.profile == "both" else [args.profile])]
    for profile, daemon in runs:
        root = Path(tempfile.mkdtemp(prefix=f"klg-faults-{profile}-{daemon}-"))
        print(f"== {profile}, klg {daemon}: {args.days} days, at least {args.kills} kills, seed {args.seed}", flush=True)
        kind, extra = (RunSimulation, {"sigterms": args.sigterms}) if daemon == "run" else (Simulation, {})
        try:
            if profile == "imap":
                with mail_servers() as servers:
                    figures = kind(root, args.seed, args.kills, args.days, servers=servers, log=log, push=args.push,
                                   **extra).run()
            else:
                figures = kind(root, args.seed, args.kills, args.days, log=log, **extra).run()
        finally:
            subprocess.run(["umount", "-l", str(root / "disk")], capture_output=True)
            shutil.rmtree(root, ignore_errors=True)
        print(figures.report(), flush=True)
        results.append(figures)
    print(f"\nmachine: {machine()}; total wall time {time.monotonic() - t0:.0f} s")
    print(f"command: .venv/bin/python bench/fault_suite.py --kills {args.kills} --seed {args.seed} "
          f"--days {args.days} --profile {args.profile} --daemon {args.daemon} --sigterms {args.sigterms}"
          + (" --push" if args.push else ""))
    return 0 if all(f.ok() for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
