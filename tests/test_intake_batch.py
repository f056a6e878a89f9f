"""Intake in batches (issue 19): a fetched batch of mail is committed once, and a
message leaves the inbox only after its effects are committed."""

from __future__ import annotations

import sqlite3
from collections import Counter

from daemon import intake
from tests.helpers import ERIK, LENA, MARIA, at, make_mail, recipients

NOW = at("2026-11-20 10:00")


def fill(inst) -> None:
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15 min"), name="1.eml")
    inst.drop(make_mail(ERIK, "Placeringar", "Typ: information"), name="2.eml")
    inst.drop(make_mail(LENA, "Skolskjuts", "Tid: 1 h"), name="3.eml")


def test_a_machine_failure_mid_batch_keeps_and_moves_only_what_was_finished(inst, monkeypatch):
    fill(inst)
    real = intake.handle
    calls = []

    def locked_on_the_second(ctx, raw, read=None):
        calls.append(raw)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database is locked")
        return real(ctx, raw, read)

    monkeypatch.setattr(intake, "handle", locked_on_the_second)
    try:
        inst.tick(NOW)
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the failure of the machine ends the pass")
    assert len(inst.folder("processed")) == 1 and len(inst.folder("inbox")) == 2
    store = inst.store()
    try:
        assert [i["title"] for i in store.all("SELECT title FROM items")] == ["Budgetuppföljning"]
    finally:
        store.close()

    monkeypatch.setattr(intake, "handle", real)
    inst.tick(NOW)
    assert inst.folder("inbox") == [] and len(inst.folder("processed")) == 3
    acks = Counter(tuple(recipients(m)) for m in inst.sent() if "Mottaget" in m["Subject"])
    assert acks == {(MARIA,): 1, (ERIK,): 1, (LENA,): 1}


def test_a_batch_is_one_commit(inst, monkeypatch):
    """Three messages, one batch: one COMMIT of the store for all three, then three moves."""
    fill(inst)
    from daemon.database import Database

    commits: list[int] = []
    real_commit = Database.commit

    def counting(db):
        if db.conn.in_transaction:
            commits.append(db.execute("SELECT COUNT(*) FROM messages_in").fetchone()[0])
        real_commit(db)

    monkeypatch.setattr(Database, "commit", counting)
    assert inst.tick(NOW)["messages"] == 3
    assert commits[0] == 3  # the first commit of the pass holds all three messages
    assert len(inst.folder("processed")) == 3 and len(inst.sent()) == 3
