"""Ten years of history stay flat: the planned-items queries use an index
that starts with the state (``0012_planned_index.sql``), so they read only the
planned items, not every item ever proposed."""

from __future__ import annotations

import pytest

from daemon.store import Store

# The queries the agenda and the meetings run on every pass (daemon/agenda/workflow.py,
# daemon/meetings.py, daemon/agenda/common.py), with parameters of the right shape.
PLANNED_QUERIES = [
    ("SELECT DISTINCT meeting FROM items WHERE state = 'planned' AND meeting IS NOT NULL", []),
    ("SELECT DISTINCT meeting FROM items WHERE meeting > ? AND state = 'planned'", ["2026-12-07"]),
    ("SELECT * FROM items WHERE state = 'planned' AND late = 1 AND meeting > ? AND created_at >= ? ORDER BY id",
     ["2026-12-07", "2026-12-01T00:00:00+00:00"]),
    ("SELECT * FROM items WHERE meeting = ? AND state = 'planned' ORDER BY position, id", ["2026-12-07"]),
]


def _fill(store: Store, years: int = 10) -> None:
    """Ten years of items, all handled but the last 40, which are planned. No ANALYZE: klg never runs it,
    so the planner sees what a production store shows it."""
    rows = []
    for n in range(years * 1000):
        year = 2017 + n // 1000
        week = (n // 20) % 50
        meeting = f"{year}-{1 + week // 4 + 0:02d}-{1 + (week % 4) * 7:02d}"
        state = "planned" if n >= years * 1000 - 40 else "handled"
        rows.append((f"KLG-{year}-{n % 1000 + 1:03d}", year, n % 1000 + 1, f"Ärende {n}", "Lena", "lena@x.se", 10,
                     "information", meeting, n % 20, state, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"))
    with store.atomic():
        store.db.conn.executemany(
            "INSERT INTO items (id, year, seq, title, presenter, proposer, minutes, kind, meeting, position, state, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.mark.parametrize("sql,params", PLANNED_QUERIES)
def test_planned_items_queries_use_an_index_not_a_scan(tmp_path, sql, params):
    store = Store(tmp_path / "data")
    try:
        _fill(store)
        plan = " | ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert "SCAN items" not in plan.replace("USING COVERING INDEX", "USING INDEX"), plan
        assert "USING" in plan and "INDEX items_" in plan, plan
        if "meeting = ?" not in sql:  # the by-state queries are the ones the new index serves
            assert "items_state_meeting" in plan, plan
    finally:
        store.close()


# What a new item asks for its number and its place (daemon/store.py, daemon/items.py): asked for
# every proposal, so a backlog of a thousand for one meeting must not read the meeting's items each time.
NEXT_NUMBER_QUERIES = [
    ("SELECT COALESCE(MAX(position), 0) + 1 FROM items WHERE meeting = ?", ["2026-12-07"], "items_meeting_position"),
    ("SELECT COALESCE(MAX(seq), 0) + 1 FROM items WHERE year = ?", [2026], "sqlite_autoindex_items_2"),  # UNIQUE (year, seq)
]


@pytest.mark.parametrize("sql,params,index", NEXT_NUMBER_QUERIES)
def test_a_new_items_number_and_position_come_from_an_index(tmp_path, sql, params, index):
    store = Store(tmp_path / "data")
    try:
        _fill(store)
        plan = " | ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert "SCAN items" not in plan and "USING COVERING INDEX " + index in plan, plan
    finally:
        store.close()
