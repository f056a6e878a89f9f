"""The ``archive`` section of `klg status`: where the packages go, the packages
written in the last 30 days, and the meetings whose package is still to come
(its step has not run, e.g. while the time-stamp service does not answer).

JSON: ``archive`` is ``folder`` (null without ``[archive] folder``),
``packages`` (newest first: ``meeting``, ``path``, ``at`` as local ISO 8601,
``minutes``: the seal's PAdES level in the package) and ``pending`` (meeting
dates).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from daemon.archive import workflow
from daemon.archive.settings import settings
from daemon.context import Ctx
from daemon.store import iso

RECENT_DAYS = 30


def section(ctx: Ctx) -> tuple[str, dict, list[str]]:
    folder = settings(ctx.config).folder
    tz = ctx.config.group.timezone
    rows = ctx.store.all("SELECT * FROM events WHERE what LIKE 'archive: package % written' AND at >= ? "
                         "ORDER BY id DESC", [iso(ctx.now - timedelta(days=RECENT_DAYS))])
    packages = []
    for r in rows:
        detail = json.loads(r["detail"] or "{}")
        packages.append({"meeting": r["meeting"], "path": detail.get("path"), "minutes": detail.get("minutes"),
                         "at": datetime.fromisoformat(r["at"]).astimezone(tz).isoformat(timespec="minutes")})
    pending = [s.key.partition(":")[2] for s in workflow.due(ctx) if not ctx.store.step_done(s.key)]
    lines = []
    if folder is not None or packages:
        lines.append(f"Archive packages ({folder or 'no [archive] folder: klg archive --out DIR'}):")
        lines += [f"  {p['meeting']}  {p['path']}  (minutes PAdES {p['minutes']}, {p['at']})" for p in packages]
        lines += [f"  {m}  waiting to be made (see klg log --meeting {m})" for m in pending]
        if not packages and not pending:
            lines.append(f"  none in the last {RECENT_DAYS} days")
    return "archive", {"folder": str(folder) if folder else None, "packages": packages, "pending": pending}, lines
