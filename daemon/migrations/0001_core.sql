-- The core: items, meetings, mail in and out, steps that ran, and the audit log.

CREATE TABLE meetings (
    date          TEXT PRIMARY KEY,          -- YYYY-MM-DD in the group's time zone
    state         TEXT NOT NULL DEFAULT 'collecting',
    agenda_version INTEGER NOT NULL DEFAULT 0,
    secretary     TEXT,                      -- member e-mail
    note          TEXT
);

CREATE TABLE items (
    id            TEXT PRIMARY KEY,          -- KLG-2026-042
    year          INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    presenter     TEXT NOT NULL,             -- a name
    proposer      TEXT NOT NULL,             -- member e-mail
    minutes       INTEGER NOT NULL,
    kind          TEXT NOT NULL,             -- information | diskussion | beslut
    written_procedure INTEGER NOT NULL DEFAULT 0,
    meeting       TEXT,                      -- planned meeting date
    position      INTEGER,                   -- order within the meeting's agenda
    state         TEXT NOT NULL,             -- planned | withdrawn | postponed | ...
    late          INTEGER NOT NULL DEFAULT 0,
    long_document INTEGER NOT NULL DEFAULT 0,
    origin        TEXT NOT NULL DEFAULT 'proposal',
    source_message TEXT,                     -- Message-ID of the proposal
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX items_meeting ON items (meeting, state);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    item_id       TEXT REFERENCES items(id),
    owner         TEXT NOT NULL DEFAULT 'item', -- item | comment | minutes | ...
    owner_id      TEXT,
    name          TEXT NOT NULL,             -- sanitised file name
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    pages         INTEGER,
    added_at      TEXT NOT NULL,
    source_message TEXT,
    removed       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_item ON attachments (item_id);
CREATE INDEX attachments_owner ON attachments (owner, owner_id);

-- Every message taken from the inbox, by Message-ID: the exactly-once record.
CREATE TABLE messages_in (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,
    received_at   TEXT NOT NULL,
    sender        TEXT,
    subject       TEXT,
    classification TEXT NOT NULL,
    disposition   TEXT NOT NULL,             -- processed | quarantine
    item_id       TEXT,
    detail        TEXT,
    raw_sha256    TEXT,
    notified      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_in_class ON messages_in (classification, notified);

-- Every mail the daemon sends, stored before it is sent.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,             -- ack | amended | draft | final | ...
    created_at    TEXT NOT NULL,
    sender        TEXT NOT NULL,
    recipients    TEXT NOT NULL,             -- JSON list
    subject       TEXT NOT NULL,
    raw_sha256    TEXT NOT NULL,
    item_id       TEXT,
    meeting       TEXT,
    ref           TEXT,                      -- workflow-specific reference
    state         TEXT NOT NULL DEFAULT 'queued', -- queued | sent | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error    TEXT,
    failed_recipients TEXT,                  -- JSON list
    sent_at       TEXT
);
CREATE INDEX outbox_state ON outbox (state, next_attempt_at);
CREATE INDEX outbox_item ON outbox (item_id);
CREATE INDEX outbox_meeting ON outbox (meeting, kind);

-- Steps that ran: a step's key is inserted in the same transaction as its effects.
CREATE TABLE steps (
    key           TEXT PRIMARY KEY,
    done_at       TEXT NOT NULL,
    detail        TEXT
);

-- The audit log: append-only, enforced by triggers.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    item_id       TEXT,
    meeting       TEXT,
    what          TEXT NOT NULL,
    detail        TEXT
);
CREATE INDEX events_item ON events (item_id);
CREATE INDEX events_meeting ON events (meeting);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
