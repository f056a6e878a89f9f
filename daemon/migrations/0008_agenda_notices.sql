-- Notices to the chair and the chancellery about item changes after the draft
-- (a late proposal, a withdrawal, a proposer's change), gathered so that a
-- burst of changes is told in one mail (daemon/agenda/notices.py).
CREATE TABLE agenda_notices (
    id            INTEGER PRIMARY KEY,
    meeting       TEXT NOT NULL,             -- the agenda the notice is about
    item_id       TEXT NOT NULL REFERENCES items(id),
    what          TEXT NOT NULL,             -- late | withdrawn | amended
    detail        TEXT NOT NULL,             -- JSON: differences, added, row, now_row
    created_at    TEXT NOT NULL,
    sent_at       TEXT,                      -- NULL while it waits to be told
    message_id    TEXT                       -- the notice mail that told it
);
CREATE INDEX agenda_notices_pending ON agenda_notices (meeting, sent_at);
