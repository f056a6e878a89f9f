"""Reading a backlog ahead in a second process (``daemon/ahead.py``, issue 19):
what the worker reads is what the daemon would have read, and nothing depends on
the worker: one that dies, hangs or sends what a mail is not made of only means
the rest is read in the daemon. The worker never outlives the daemon."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from daemon import ahead
from daemon.ahead import ReadAhead, _Answers
from daemon.attachments import look
from daemon.mail import InboxMessage
from daemon.mail.limits import LimitExceeded, Limits
from daemon.mail.message import parse
from tests.agenda_helpers import tiny_pdf
from tests.helpers import MEMBERS, at, make_mail, new_instance, recipients

HERE = Path(__file__).parent
NOW = at("2026-11-20 10:00")


def corpus() -> list[Path]:
    """Real clients' mail (tests/corpus, origins in its SOURCES.md) and mail written to hurt (tests/hostile)."""
    return sorted(Path(p) for p in glob.glob(str(HERE / "corpus" / "**" / "*.eml"), recursive=True)) + \
        sorted(HERE.glob("hostile/*.eml"))


def facts(read) -> dict:
    """What intake gets from reading a message, comparable: the ParsedMail's fields, or the limit."""
    try:
        mail = read()
    except LimitExceeded as exc:
        return {"limit": (exc.what, str(exc))}
    found = dict(vars(mail))
    found["headers"] = mail.headers.items()
    found["over_limit"] = (mail.over_limit.what, str(mail.over_limit)) if mail.over_limit else None
    return found


def looked(mail):
    """``mail`` with its attachments looked at, as the worker hands them over."""
    for attachment in mail.attachments:
        look(attachment)
    return mail


def workers() -> list[int]:
    """Pids of this process's read-ahead workers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == os.getpid() and b"daemon.ahead" in cmdline and stat[stat.rindex(")") + 2] != "Z":
            found.append(int(entry))
    return found


def batch(raws: list[bytes]) -> list[InboxMessage]:
    return [InboxMessage(key=str(n), raw=raw, last=n == len(raws) - 1) for n, raw in enumerate(raws)]


@pytest.fixture(autouse=True)
def patient(monkeypatch):
    """The daemon waits for the worker to start, so the worker reads every message from
    the ``START_AT``-th on and the tests compare them all (a pass does not wait)."""
    monkeypatch.setattr(ahead, "WAIT_READY", True)


def test_what_the_worker_reads_is_what_the_daemon_would_have_read():
    paths = corpus()
    assert len(paths) > 100
    limits = Limits()
    compared = 0
    with ReadAhead(lambda: limits, start_at=1) as reader:
        for message, read in reader.over(batch([p.read_bytes() for p in paths])):
            here = facts(lambda raw=message.raw: looked(parse(raw, limits)))
            if read is None:  # the first of the batch, or over ahead.MAX_BYTES
                assert message.key == "0" or len(message.raw) > ahead.MAX_BYTES
                continue
            assert facts(read.result) == here, paths[int(message.key)].name
            compared += 1
    assert compared >= len(paths) - 5
    assert any("limit" in facts(lambda path=p: parse(path.read_bytes(), limits)) for p in paths)  # limits were compared too


def test_a_worker_killed_mid_pass_only_means_the_rest_is_read_here(caplog):
    raws = [make_mail(MEMBERS[n % 8], f"Ärende {n}", "Tid: 10 min") for n in range(8)]
    handed: list[tuple[str, bool]] = []
    with caplog.at_level(logging.WARNING, "klg.intake"), ReadAhead(Limits, start_at=1) as reader:
        for message, read in reader.over(batch(raws)):
            handed.append((message.key, read is not None))
            if message.key == "2":
                (pid,) = workers()
                os.kill(pid, signal.SIGKILL)
            mail = read.result() if read else parse(message.raw)
            assert mail.subject == f"Ärende {message.key}"
    assert [k for k, _ in handed] == [str(n) for n in range(8)]  # every message, once, in order
    read_ahead = [by_worker for _, by_worker in handed]
    # the first is read here; the one the worker had when it was killed may have been answered already
    assert read_ahead[:3] == [False, True, True] and not any(read_ahead[4:])
    assert "reading mail ahead in a second process stopped" in caplog.text
    assert workers() == []


def test_a_worker_that_stops_answering_is_given_up(monkeypatch, caplog):
    monkeypatch.setattr(ahead, "GRACE_SECONDS", 0.5)
    raws = [make_mail(subject=f"Ärende {n}") for n in range(4)]
    handed = []
    is_ready = ReadAhead._is_ready

    def hangs_once_started(reader):
        if reader.ready:
            return True
        ready = is_ready(reader)
        os.kill(reader.worker.pid, signal.SIGSTOP)  # hung once it started: it gets message 1, never answers
        return ready

    monkeypatch.setattr(ReadAhead, "_is_ready", hangs_once_started)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "klg.intake"), ReadAhead(lambda: Limits(seconds=0.5), start_at=1) as reader:
        for message, read in reader.over(batch(raws)):
            handed.append(read is not None)
    assert handed == [False, False, False, False]
    assert time.monotonic() - started < 10
    assert "its answer did not come: TimeoutError" in caplog.text
    assert workers() == []  # killed, not left stopped


def test_the_daemon_does_not_wait_for_the_worker_to_start(monkeypatch, caplog):
    """A pass reads its messages itself while the worker is still starting (here: held
    stopped until the pass ends), and the worker, never used, ends with the pass."""
    monkeypatch.setattr(ahead, "WAIT_READY", False)
    start = ahead.start_worker

    def slow_to_start():
        worker = start()
        os.kill(worker.pid, signal.SIGSTOP)
        return worker

    monkeypatch.setattr(ahead, "start_worker", slow_to_start)
    raws = [make_mail(MEMBERS[n % 8], f"Ärende {n}", "Tid: 10 min") for n in range(6)]
    handed = []
    began = time.monotonic()
    with caplog.at_level(logging.INFO, "klg.intake"), ReadAhead(Limits, start_at=1) as reader:
        for message, read in reader.over(batch(raws)):
            handed.append(read is not None)
            assert parse(message.raw).subject == f"Ärende {message.key}"
        waited = time.monotonic() - began
        os.kill(reader.worker.pid, signal.SIGCONT)  # it starts now, finds its input closed and ends
    assert handed == [False] * 6 and waited < 1
    assert "stopped" not in caplog.text and "read ahead" not in caplog.text
    assert workers() == []


def test_what_the_worker_logs_while_reading_is_logged_by_the_daemon(caplog):
    """A damaged PDF has no page count (klg logs why) and pypdf warns about it: the
    journal gets the same lines whether the daemon or the worker read the mail."""
    damaged = b"%PDF-1.7\ngarbage"
    raws = [make_mail(MEMBERS[n % 8], f"Ärende {n}", "Tid: 10 min", attachments=[(f"bilaga-{n}.pdf", damaged,
                                                                                 "application/pdf")])
            for n in range(3)]

    def logged() -> list[tuple[str, int, str]]:
        lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name != "klg.intake"]
        caplog.clear()
        return lines

    with caplog.at_level(logging.INFO):
        for raw in raws[1:]:
            looked(parse(raw))
        here = logged()
        with ReadAhead(Limits, start_at=1) as reader:
            for message, read in reader.over(batch(raws)):
                if read is None:
                    assert message.key == "0"
                    logged()  # the first is read here, as above: not what is compared
                else:
                    read.result()
        ahead_ = logged()
    assert ("klg.attachments", logging.INFO, "no page count for bilaga-1.pdf: PdfStreamError: Stream has ended "
            "unexpectedly") in here
    assert any(name.startswith("pypdf") and level == logging.WARNING for name, level, _ in here)
    assert ahead_ == here


def test_only_what_a_mail_is_made_of_is_taken_from_the_worker():
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        _Answers(__import__("io").BytesIO(pickle.dumps(("mail", os.system, [])))).load()


def test_the_worker_ends_with_the_daemon(tmp_path):
    """A daemon killed outright (SIGKILL, OOM) leaves no worker behind: its input ends."""
    script = tmp_path / "a_daemon.py"
    script.write_text(
        "import sys, time\n"
        "from daemon.mail import InboxMessage\nfrom daemon.ahead import ReadAhead\nfrom daemon.mail.limits import Limits\n"
        "reader = ReadAhead(Limits, start_at=1)\n"
        "it = reader.over([InboxMessage('1', b'Subject: a\\r\\n\\r\\nx', last=False), InboxMessage('2', b'Subject: b\\r\\n\\r\\ny')])\n"
        "next(it)\nprint(reader.worker.pid, flush=True)\ntime.sleep(60)\n")
    daemon = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, cwd=HERE.parent,
                              env=dict(os.environ, PYTHONPATH=str(HERE.parent)))
    try:
        worker = int(daemon.stdout.readline())
        assert Path(f"/proc/{worker}").exists()
        daemon.kill()
        daemon.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{worker}").exists()
    finally:
        daemon.kill()
        daemon.wait()


def test_a_backlog_is_taken_in_whole_with_the_worker_reading_ahead(inst, monkeypatch, caplog):
    """Through the daemon's own pass on the embedded default: every proposal an item with its
    document and one acknowledgement, most of them read by the worker, and no worker left."""
    monkeypatch.setattr(ahead, "START_AT", 2)
    documents = {}
    for n in range(12):
        pdf = tiny_pdf(f"Underlag {n}")
        documents[f"Förslag {n}"] = hashlib.sha256(pdf).hexdigest()
        inst.drop(make_mail(MEMBERS[n % 8], f"Förslag {n}", "Tid: 10 min",
                            attachments=[(f"underlag-{n}.pdf", pdf, "application/pdf")]), name=f"{n:02}.eml")
    with caplog.at_level(logging.INFO, "klg.intake"):
        assert inst.tick(NOW)["messages"] == 12
    assert "11 of 12 messages were read ahead in a second process" in caplog.text
    store = inst.store()
    try:
        kept = {r["title"]: r["sha256"] for r in store.all(
            "SELECT items.title, attachments.sha256 FROM items JOIN attachments ON attachments.item_id = items.id")}
    finally:
        store.close()
    assert kept == documents
    acks = [m["Subject"] for m in inst.sent() if "Mottaget" in m["Subject"]]
    assert sorted(a.split("Mottaget: ")[1] for a in acks) == sorted(documents)
    assert inst.folder("inbox") == [] and len(inst.folder("processed")) == 12
    assert workers() == []


def test_hostile_and_real_mail_read_ahead_get_the_same_answers(tmp_path, monkeypatch, caplog):
    """The same inbox through two daemons, one reading ahead and one not: the same record
    of every message (classification, where it went, why) and the same mails sent."""
    inbox = [p.read_bytes() for p in corpus()] + [make_mail(subject="Ett förslag", body="Tid: 10 min")]
    outcomes = []
    for start_at in (1, 10**9):
        monkeypatch.setattr(ahead, "START_AT", start_at)
        inst = new_instance(tmp_path / str(start_at))
        for n, raw in enumerate(inbox):
            inst.drop(raw, name=f"{n:03}.eml")
        with caplog.at_level(logging.INFO, "klg.intake"):
            caplog.clear()
            inst.tick(NOW)
        if start_at == 1:
            (count,) = re.findall(r"(\d+) of \d+ messages were read ahead", caplog.text)
            assert int(count) > 100
        store = inst.store()
        try:
            rows = store.all("SELECT message_id, sender, subject, classification, disposition, detail FROM messages_in"
                             " ORDER BY message_id")
        finally:
            store.close()
        sent = sorted((m["Subject"], tuple(recipients(m))) for m in inst.sent())
        outcomes.append((rows, sent))
    (ahead_rows, ahead_sent), (here_rows, here_sent) = outcomes
    assert len(ahead_rows) > 100 and {r["disposition"] for r in here_rows} == {"processed", "quarantine"}
    assert ahead_rows == here_rows
    assert ahead_sent == here_sent and ahead_sent


def any_workers() -> set[int]:
    """Pids of every read-ahead worker on the machine, whoever started it."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and b"daemon.ahead" in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.add(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("point", ["ingest.in-batch:12", "intake.after-commit:12"])
def test_klg_tick_killed_while_the_worker_reads_ahead_loses_and_repeats_nothing(inst, point):
    """A real ``klg tick`` over a backlog of 14, killed (SIGKILL) at the 12th message while the
    worker holds the 13th (the pass waits for the worker to start, KLG_READ_AHEAD_WAIT): no
    worker is left behind, and the next pass makes every proposal one item with one
    acknowledgement."""
    titles = [f"Förslag {n}" for n in range(14)]
    for n, title in enumerate(titles):
        inst.drop(make_mail(MEMBERS[n % 8], title, "Tid: 10 min"), name=f"{n:02}.eml")
    before = any_workers()
    first = inst.klg("--log-level", "DEBUG", "tick", "--now", NOW.isoformat(),
                     env={"KLG_CRASH_AT": point, "KLG_READ_AHEAD_WAIT": "1"})
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    assert "the read-ahead worker (pid" in first.stderr, first.stderr[-2000:]
    handed = re.findall(r"message (\S+) was handed to the read-ahead worker", first.stderr)
    # from the START_AT-th (the 10th) to the one after the 12th, where the pass died
    assert len(handed) == 14 - ahead.START_AT and "12.eml" in handed[-1], handed
    deadline = time.monotonic() + 10
    while any_workers() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any_workers() - before == set()  # its input ended with the daemon
    again = inst.klg("tick", "--now", NOW.isoformat())
    assert again.returncode == 0, again.stderr[-2000:]
    assert inst.folder("inbox") == [] and len(inst.folder("processed")) == 14
    store = inst.store()
    try:
        assert sorted(r["title"] for r in store.all("SELECT title FROM items")) == sorted(titles)
    finally:
        store.close()
    acks = Counter(m["Subject"].split("Mottaget: ")[1] for m in inst.sent() if "Mottaget" in m["Subject"])
    assert acks == Counter(titles)
