"""The engine: one pass reads the inbox, runs the steps due, and empties the
outbox. ``klg tick`` is one pass; ``klg run`` repeats passes when mail arrives
or the scheduler says a configured time has come.

The order inside a pass is what makes crashes harmless: a message is moved
out of the inbox only after its effects are committed, and mail leaves only
from the stored outbox.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, Callable, Generator, Iterable

from daemon import outbox, workflows
from daemon.config import Config
from daemon.context import Ctx
from daemon.faults import crash_point
from daemon.mail import InboxMessage, Mailbox, MailError, Transport
from daemon.store import Store, disk_full, disk_full_message
from daemon.systemd import keepalive
from daemon.texts import plural

log = logging.getLogger("klg.engine")

MAX_STEP_ROUNDS = 20
SLOW_MESSAGE_SECONDS = 5.0
BATCH_SECONDS = 1.0  # a batch's effects are committed after this long at the latest (the write lock is held)
STEP_RETRY = timedelta(minutes=5)
PREPARE_SECONDS = 20.0  # converting ahead yields to the inbox this often


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class Engine:
    def __init__(self, config: Config, store: Store, mailbox: Mailbox, transport: Transport):
        self.config = config
        self.store = store
        self.mailbox = mailbox
        self.transport = transport
        self.stop = threading.Event()
        self._failed_steps: dict[str, datetime] = {}

    def ctx(self, now: datetime) -> Ctx:
        return Ctx(self.config, self.store, now)

    # --- the three parts of a pass ---------------------------------------------

    def ingest(self, now: datetime) -> int:
        """Handle every message in the inbox; return how many were handled.

        ``intake.handle`` quarantines whatever a message causes, so one bad
        message never keeps the ones behind it waiting; only a failure of the
        machine (disk, database, mailbox) ends the pass early, and the
        messages not yet moved stay in the inbox for the next one.

        The messages of one fetched batch (``InboxMessage.last``; at most
        ``BATCH_SECONDS`` of work) are handled in one store transaction, each in
        a savepoint of its own, and committed together with one sync of the files
        (``Store.batch``); only then are they moved out of the inbox. A crash in
        between loses the batch's uncommitted effects and leaves its messages in
        the inbox: the next pass handles them again, and sends nothing twice,
        because nothing of them was kept."""
        handled = 0
        ctx = self.ctx(now)
        ready: list[tuple[str, str]] = []  # committed, to be moved
        messages = self.mailbox.fetch()
        reads = self._read_ahead(ctx, messages)
        try:
            with self.store.batch():
                opened: float | None = None
                for message, read in reads:
                    from daemon import intake  # noqa: PLC0415 -- start-up (issue 19): parsing loads only when mail came
                    started = time.monotonic()  # a duration for the log, not the time of day
                    opened = opened or started
                    outcome = intake.handle(ctx, message.raw, read)
                    took = time.monotonic() - started
                    if took > SLOW_MESSAGE_SECONDS:
                        log.warning("message %s took %.1f s to handle (%s)", message.key, took, outcome.classification)
                    # moved once its effects are committed; never if they are rolled back
                    self.store.db.after_commit(partial(ready.append, (message.key, outcome.disposition)))
                    handled += 1
                    if message.last or self.stop.is_set() or time.monotonic() - opened >= BATCH_SECONDS:
                        self.store.commit()
                        self._move(ready)
                        opened = None
                    else:
                        crash_point("ingest.in-batch")  # handled, not committed: the batch is done again
                    keepalive()
                    if self.stop.is_set():
                        break
        finally:
            try:
                reads.close()  # the read-ahead worker ends with the pass
                self._move(ready)  # what the batch's end committed
            finally:
                close = getattr(messages, "close", None)
                if close is not None:
                    close()  # the backend's own end of the fetch (IMAP: the moves it collected)
        return handled

    def _read_ahead(self, ctx: Ctx, messages: Iterable[InboxMessage]) -> Generator[tuple[InboxMessage, Any], None, None]:
        """Each message with what a second process read of it while the one before was
        handled (``daemon.ahead``; None for a message read here)."""
        stream = iter(messages)
        first = next(stream, None)
        if first is None:
            return
        from daemon import intake  # noqa: PLC0415 -- start-up (issue 19): parsing loads only when mail came
        from daemon.ahead import ReadAhead  # noqa: PLC0415 -- as intake

        with ReadAhead(partial(intake.limits_for, ctx)) as ahead:
            yield from ahead.over(itertools.chain([first], stream))

    def _move(self, ready: list[tuple[str, str]]) -> None:
        while ready:
            key, disposition = ready[0]
            self.mailbox.move(key, disposition)
            del ready[0]
            crash_point("ingest.after-move")

    def run_steps(self, now: datetime) -> list[str]:
        """Run every step due at ``now`` that has not run; repeat while steps make
        new ones due (a daemon back after days runs them all, in order)."""
        attempted: set[str] = set()
        done: list[str] = []
        ctx = self.ctx(now)
        for _ in range(MAX_STEP_ROUNDS):
            fresh = [s for due in workflows.STEPS for s in due(ctx)
                     if s.key not in attempted and not self.store.step_done(s.key) and self._may_retry(s.key, now)]
            if not fresh:
                break
            for step in fresh:
                attempted.add(step.key)  # done or failed: not again in this pass
                if self._run_step(ctx, step):
                    done.append(step.key)
                keepalive()
        return done

    def _may_retry(self, key: str, now: datetime) -> bool:
        failed_at = self._failed_steps.get(key)
        return failed_at is None or now - failed_at >= STEP_RETRY

    def _run_step(self, ctx: Ctx, step) -> bool:
        from daemon import documents  # noqa: PLC0415 -- start-up (issue 19): LibreOffice's plumbing only when a step runs

        try:
            if not documents.run(self.store, ctx.now, lambda: self._commit_step(ctx, step)):
                return True  # it had run already
            crash_point("step.after-commit")
            self._failed_steps.pop(step.key, None)
            log.info("step %s: %s", step.key, step.what)
            return True
        except Exception as exc:
            self._failed_steps[step.key] = ctx.now
            if disk_full(exc, self.config.data_dir):
                # nothing of the step was kept, and a notice could not be stored either
                log.error("step %s (%s) did not run: %s", step.key, step.what, disk_full_message(self.config.data_dir))
                return False
            log.error("step %s (%s) failed: %s\n%s", step.key, step.what, exc, traceback.format_exc())
            self._report_step_failure(ctx, step, exc)
            return False

    def _commit_step(self, ctx: Ctx, step) -> bool:
        """The step and the marker that it ran, in one transaction (run again by
        ``documents.run`` when the step needs a document made first); False if it had run."""
        with self.store.atomic():
            if self.store.step_done(step.key):
                return False
            step.run(ctx)
            self.store.mark_step(step.key, ctx.now)
            ctx.event(f"step: {step.what}", detail={"step": step.key})
            crash_point("step.before-commit")
        return True

    def _report_step_failure(self, ctx: Ctx, step, exc: Exception) -> None:
        """Tell the chancellery once per step that it could not run, and why."""
        key = f"failure-notice:{step.key}"
        try:
            with self.store.atomic():
                ctx.event(f"step failed: {step.what}: {exc}", detail={"step": step.key})
                if not self.store.step_done(key):
                    self.store.mark_step(key, ctx.now)
                    ctx.send("step_failed", ctx.chancellery(), {"what": step.what, "step": step.key, "error": str(exc)[:800]},
                             kind="step-failed")
        except Exception:
            log.error("could not record the failure of step %s:\n%s", step.key, traceback.format_exc())

    def flush(self, now: datetime) -> dict:
        ctx = self.ctx(now)

        def on_failure(row: dict, recipients: list[str], reason: str) -> None:
            from daemon import intake  # noqa: PLC0415 -- start-up (issue 19): only when a mail could not go
            intake.tell_delivery_failure(ctx, row, recipients, reason)

        return outbox.flush(self.store, self.transport, now, on_failure=on_failure)

    def prepare(self, now: datetime, budget: float = PREPARE_SECONDS) -> bool:
        """Make the documents steps will need (``workflows.PREPARE``) before they need
        them: a member's attachment is converted for the meeting book once, when it
        has arrived, not at 14:00 with everyone else's. Runs with no transaction open
        and after the outbox, so no acknowledgement waits for LibreOffice; stops after
        ``budget`` seconds (the inbox comes first) and returns True if more are left."""
        started = time.monotonic()  # a duration, not the time of day
        for pending in workflows.PREPARE:
            while jobs := pending(self.store, now):  # each job leaves the list: made, failed, or waiting
                from daemon import documents  # noqa: PLC0415 -- start-up (issue 19): only when a document waits

                for job in jobs:
                    if self.stop.is_set() or time.monotonic() - started >= budget:
                        return True
                    documents.ahead(self.store, job, now)  # a failure of the moment waits in conversion_attempts
                    keepalive()
        return False

    def tick(self, now: datetime) -> dict:
        """One full pass at ``now``: the inbox, the steps due, the outbox, then the
        documents converted ahead for later steps."""
        handled = self.ingest(now)
        steps = self.run_steps(now)
        sent = self.flush(now)
        self.prepare(now, budget=float("inf"))
        return {"messages": handled, "steps": steps, "outbox": sent}

    # --- the daemon loop ----------------------------------------------------------

    def run(self, clock: Callable[[], datetime] = system_clock, waker=None, notify=None) -> None:
        """Pass after pass until ``stop`` is set. ``waker`` (the scheduler) tells
        when a configured time has come; between passes the mailbox waits for mail."""
        notify = notify or (lambda *_: None)
        poll = self.config.intake.poll_seconds
        steps_wanted = first_pass = True
        more = False
        notify("READY=1")
        while not self.stop.is_set():
            now = clock()
            more = False
            try:
                handled = self.ingest(now)
                early = self.flush(now) if handled else None  # the acknowledgements before the steps' work
                steps: list[str] = []
                if handled or steps_wanted or (waker and waker.take()):
                    steps = self.run_steps(now)
                    steps_wanted = False
                sent = self.flush(now)
                if early:
                    sent = {k: sent.get(k, 0) + early.get(k, 0) for k in {*sent, *early}}
                more = self.prepare(now)
                if sent["sent"] or handled:
                    steps_wanted = True  # a sent mail or a reply can make a step due
                if handled or steps or sent["sent"] or sent["failed"]:
                    local = now.astimezone(self.config.group.timezone)
                    notify(f"STATUS=Last activity {local:%Y-%m-%d %H:%M}: "
                           f"{plural(handled, 'message', 'messages', 'en')}, {plural(len(steps), 'step', 'steps', 'en')}, "
                           f"{plural(sent['sent'], 'mail', 'mails', 'en')} sent, {sent['failed']} failed")
            except MailError as exc:
                log.error("mail backend: %s; retrying in %ss", exc, poll)
                self.stop.wait(poll)
            except Exception as exc:  # the daemon must not die of one bad pass
                if disk_full(exc, self.config.data_dir):
                    log.error("%s; retrying in %ss", disk_full_message(self.config.data_dir), poll)
                else:
                    log.error("pass failed:\n%s", traceback.format_exc())
                self.stop.wait(poll)
            notify("WATCHDOG=1")
            if first_pass:
                log.info("caught up; waiting for mail (checking every %g s)", poll)
                first_pass = False
            if self.stop.is_set():
                break
            if more:
                continue  # documents left to convert: look at the inbox, then go on with them
            try:
                self.mailbox.wait(poll)
            except MailError as exc:
                log.error("mail backend: %s", exc)
                self.stop.wait(poll)
        notify("STOPPING=1")
