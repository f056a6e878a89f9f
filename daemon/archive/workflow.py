"""The archive package made by itself: with ``[archive] folder``, once per
meeting after its signed minutes are distributed (the step
``archive:<meeting>``, on the pass after distribution or any later one while
the meeting is recent). The document time-stamp of the minutes (B-LTA) is a
network call, so it is asked for as a document job (``daemon.documents``) and
made with no transaction open.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from daemon.archive.settings import settings
from daemon.context import Ctx
from daemon.steps import Step

LOOKBACK_DAYS = 60  # distributed minutes this recent still get their package (the daemon may have been down)


def due(ctx: Ctx) -> list[Step]:
    """``archive:<meeting>`` for every recently distributed meeting, when ``[archive] folder`` is set."""
    if settings(ctx.config).folder is None:
        return []
    since = (ctx.now - timedelta(days=LOOKBACK_DAYS)).isoformat()
    rows = ctx.store.all("SELECT meeting FROM minutes WHERE state = 'distributed' AND distributed_at >= ? "
                         "ORDER BY meeting", [since])
    return [Step(f"archive:{r['meeting']}", partial(make, meeting=r["meeting"]),
                 f"make the archive package of {r['meeting']}") for r in rows]


def make(ctx: Ctx, meeting: str) -> None:
    """Write the package of ``meeting`` to ``[archive] folder`` and log it (a step)."""
    # Imported here, when a package is due: METS, E-ARK and the contents' readers are no part of
    # an idle pass (start-up, issue 19).
    from daemon.archive import package  # noqa: PLC0415 -- start-up (issue 19)
    from daemon.archive.contents import NothingToArchive, gather  # noqa: PLC0415 -- start-up (issue 19)
    from daemon import documents  # noqa: PLC0415 -- start-up (issue 19): LibreOffice's plumbing

    folder = settings(ctx.config).folder
    try:
        pkg = gather(ctx.store, ctx.config, meeting)
    except NothingToArchive as exc:
        ctx.event(f"archive: no package for {meeting}: {exc}", meeting=meeting)
        return
    minutes_pdf = None
    if package.timestamp_wanted(ctx.config):
        signed = next(d for d in pkg.documents if d.role == "minutes")
        minutes_pdf = documents.need(ctx.store, package.lta_job(ctx.config, signed.data))
    name, entries, level = package.build(pkg, ctx.config, ctx.now, minutes_pdf=minutes_pdf)
    path = package.write(folder, name, entries)
    ctx.event(f"archive: package {name} written", meeting=meeting,
              detail={"path": str(path), "files": len(entries), "minutes": level})
