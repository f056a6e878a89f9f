-- Written procedure (skriftligt förfarande): an item circulated to the members
-- for comments before it is decided at a meeting.

CREATE TABLE circulations (
    id            INTEGER PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES items(id),
    state         TEXT NOT NULL,             -- open | compiled | withdrawn
    proposer      TEXT NOT NULL,             -- member e-mail
    started_by    TEXT NOT NULL,             -- member e-mail, or proposal | amendment | agenda-review
    started_at    TEXT NOT NULL,
    deadline      TEXT NOT NULL,             -- the end of the comment period (UTC instant)
    reminder_at   TEXT,                      -- NULL: no reminder
    planned_meeting TEXT,                    -- where the item was planned before it was circulated
    meeting       TEXT NOT NULL,             -- the meeting that decides it
    members       TEXT NOT NULL,             -- JSON list of the e-mails asked for comments
    compiled_at   TEXT,
    compilation_version INTEGER NOT NULL DEFAULT 0,
    compilation_attachment INTEGER REFERENCES attachments(id),
    closed_at     TEXT,
    closed_by     TEXT
);
CREATE INDEX circulations_state ON circulations (state);
-- at most one circulation per item that is not withdrawn
CREATE UNIQUE INDEX circulations_one_active ON circulations (item_id) WHERE state IN ('open', 'compiled');

-- Every reply that counted as a comment; a member's newer reply replaces the
-- older one (replaced_by), which stays for the record.
CREATE TABLE comments (
    id            INTEGER PRIMARY KEY,
    circulation_id INTEGER NOT NULL REFERENCES circulations(id),
    member        TEXT NOT NULL,             -- member e-mail
    message_id    TEXT NOT NULL,
    written_at    TEXT NOT NULL,             -- the mail's Date, bounded by start and receipt (UTC)
    received_at   TEXT NOT NULL,
    stance        TEXT,                      -- support | object | none | NULL (not stated)
    text          TEXT NOT NULL,
    late          INTEGER NOT NULL DEFAULT 0,
    replaced_by   INTEGER REFERENCES comments(id)
);
CREATE INDEX comments_circulation ON comments (circulation_id, member);
