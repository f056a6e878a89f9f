"""Slow documents are made outside the store's transactions.

A LibreOffice conversion takes seconds; cleaning a member's PDF runs in a
child process. Neither may run while SQLite's write lock is held, or every
other writer waits. So a step or a message handler never makes such a
document itself: it asks for it by a key (``pdf:<fingerprint>`` for a
document klg rendered, the attachment's SHA-256 for a cleaned member's PDF),
and when it is not made yet the request raises :class:`NotReady` with the
jobs that would make it. :func:`run` (around every step and every message,
in the engine and intake) rolls the transaction back, makes the documents
with no transaction open, stores them in ``pdf_cache`` (whose
``source_sha256`` column holds the key) and runs the step or the message
again. That is safe because a step and a message handler are functions of
the stored state and ``now``: the second run does the same work and finds
its documents. A caller that needs several documents asks for them all at
once (:func:`need_all`), so one round makes them all.

A failure that lies in the document (LibreOffice cannot convert it) is kept,
so it is not tried again; a failure of the moment (LibreOffice missing or too
slow) is remembered only until the run ends, and the next pass tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, TypeVar

from daemon import pdf as pdflib
from daemon import pdftags
from daemon.files import fingerprint
from daemon.store import Store, iso
from daemon.systemd import keepalive

log = logging.getLogger("klg.documents")

MAX_ROUNDS = 5
RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(hours=6)
T = TypeVar("T")


class Failed(Exception):
    """A document could not be made. ``lasting``: the document's fault, not tried again."""

    def __init__(self, message: str, lasting: bool = True):
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class Job:
    key: str  # what it makes, as stored in pdf_cache.source_sha256
    what: str  # for the log: "Dagordning KLG 2026-12-01.docx as PDF"
    make: Callable[[], bytes]  # the slow part; raises Failed


class NotReady(BaseException):
    """Documents a step or a handler needs are not made yet (``jobs``).

    A BaseException on purpose, like GeneratorExit: it is not a failure, and it
    must pass every ``except Exception`` between the request and :func:`run`,
    which would otherwise take it for one."""

    def __init__(self, jobs: list[Job]):
        super().__init__(", ".join(j.what for j in jobs))
        self.jobs = jobs


# Failures of the moment, remembered while one run lasts (see the module docstring).
_passing: dict[str, str] = {}


def _lookup(store: Store, key: str) -> bytes | Failed | None:
    row = store.one("SELECT * FROM pdf_cache WHERE source_sha256 = ?", [key])
    if row:
        return store.files.get(row["pdf_sha256"]) if row["pdf_sha256"] else Failed(row["error"] or "?")
    if key in _passing:
        return Failed(_passing[key], lasting=False)
    return None


def need_all(store: Store, jobs: list[Job]) -> list[bytes | Failed]:
    """Each job's document or its failure; NotReady (with every missing job) when any is not made yet."""
    found = [_lookup(store, job.key) for job in jobs]
    missing = [job for job, got in zip(jobs, found) if got is None]
    if missing:
        raise NotReady(missing)
    return found  # type: ignore[return-value]


def need(store: Store, job: Job) -> bytes:
    """The job's document; Failed when it could not be made; NotReady when it is not made yet."""
    [got] = need_all(store, [job])
    if isinstance(got, Failed):
        raise got
    return got


def make(store: Store, jobs: list[Job], now: datetime) -> None:
    """Make the documents of ``jobs`` (no transaction may be open) and keep them."""
    if store.db.conn.in_transaction and store.db.batching:
        store.commit()  # intake's batch: the messages before this one are whole; the write lock is not held while converting
    if store.db.conn.in_transaction:
        raise RuntimeError("documents are made outside the store's transactions")
    for job in jobs:
        if _lookup(store, job.key) is not None:
            continue
        keepalive()
        try:
            data, error = job.make(), None
        except Failed as exc:
            if not exc.lasting:
                log.warning("%s: %s (tried again on the next pass)", job.what, exc)
                _passing[job.key] = str(exc)
                continue
            data, error = None, str(exc)
            log.warning("%s: %s", job.what, exc)
        sha = store.files.put(data) if data is not None else None
        with store.atomic():
            store.db["pdf_cache"].insert({"source_sha256": job.key, "pdf_sha256": sha,
                                          "error": error[:300] if error else None, "made_at": iso(now)}, replace=True)


def ahead(store: Store, job: Job, now: datetime) -> str | None:
    """Make ``job``'s document before anything asks for it (no transaction may be open).

    Returns why it failed when the failure is of the moment (LibreOffice missing or
    too slow): then ``conversion_attempts`` says when to try again (:func:`retry_after`,
    doubling), so a document that hangs LibreOffice costs its timeout once per
    back-off. Such a failure is not remembered here otherwise: a step that needs
    the document later tries it itself."""
    try:
        make(store, [job], now)
        why = _passing.get(job.key)
    except Exception as exc:  # a bug or a document nobody foresaw must not stop every later pass
        log.exception("%s could not be made ahead", job.what)
        why = f"{type(exc).__name__}: {exc}"
    finally:
        _passing.pop(job.key, None)
    with store.atomic():
        if why is None:
            store.db.conn.execute("DELETE FROM conversion_attempts WHERE key = ?", [job.key])
            return None
        row = store.one("SELECT attempts FROM conversion_attempts WHERE key = ?", [job.key])
        attempts = (row["attempts"] if row else 0) + 1
        store.db["conversion_attempts"].insert({"key": job.key, "attempts": attempts, "failed_at": iso(now),
                                                "retry_at": iso(now + retry_after(attempts)), "error": why[:300]},
                                               replace=True)
    return why


def retry_after(attempts: int) -> timedelta:
    """How long a conversion that failed ``attempts`` times for the moment waits: 5 min, doubling, at most 6 h."""
    # the exponent is capped: a document that failed for weeks must not overflow timedelta
    return min(RETRY * 2 ** min(attempts - 1, 12), MAX_RETRY)


def run(store: Store, now: datetime, attempt: Callable[[], T]) -> T:
    """``attempt()`` (which opens its own transaction), made again after the documents it asked for are made."""
    try:
        for _ in range(MAX_ROUNDS):
            try:
                return attempt()
            except NotReady as wanted:
                make(store, wanted.jobs, now)
        return attempt()  # a last round: anything still missing now is a bug, and says so
    finally:
        _passing.clear()


# --- the documents klg asks for ------------------------------------------------------------


def _converting(data: bytes, name: str, options: str) -> Callable[[], bytes]:
    def convert() -> bytes:
        try:
            return pdftags.mark_artifacts(pdflib.to_pdf(data, name, filter_options=options))
        except pdflib.ConversionError as exc:
            passing = "not installed" in str(exc) or "did not finish" in str(exc)
            raise Failed(str(exc), lasting=not passing) from None
    return convert


def pdf_job(data: bytes, name: str, options: str | None = None) -> Job:
    """The job that turns a document klg rendered (``name``, e.g. the agenda's .docx) into PDF:
    accessible PDF/A-2b (``pdf.export_options``) unless ``options`` says otherwise."""
    options = pdflib.export_options() if options is None else options
    key = f"pdf:{fingerprint(data)}" + (f":{options}" if options else "")
    return Job(key, f"{name} as PDF", _converting(data, name, options))


def pdf(store: Store, data: bytes, name: str, options: str | None = None) -> bytes:
    """The PDF of a document klg rendered; ConversionError naming the cause when there is none."""
    try:
        return need(store, pdf_job(data, name, options))
    except Failed as exc:
        raise pdflib.ConversionError(str(exc)) from None
