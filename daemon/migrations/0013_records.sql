-- Public records (issue 14): the case number (diarienummer) of an item, secrecy
-- markings on items and their documents, conflicts of interest (jäv), and the
-- registrar's copies waiting for a daily digest.

ALTER TABLE items ADD COLUMN case_number TEXT;            -- as written: "KS 2026/123"

-- A secrecy marking under OSL on a whole item (attachment_name NULL) or on one of
-- its documents (by name: a new version of the same document stays secret).
-- Markings are never deleted: lifting one fills lifted_*; the audit log has both.
CREATE TABLE secrecy (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items(id),
    attachment_name TEXT,
    provision       TEXT NOT NULL,      -- "OSL 39 kap. 3 §"
    reason          TEXT NOT NULL DEFAULT '',
    authority       TEXT NOT NULL,      -- the authority that marked it
    marked_on       TEXT NOT NULL,      -- YYYY-MM-DD, the marking's date
    set_by          TEXT NOT NULL,      -- e-mail of who marked it
    set_at          TEXT NOT NULL,
    lifted_by       TEXT,
    lifted_at       TEXT
);
CREATE INDEX secrecy_item ON secrecy (item_id) WHERE lifted_at IS NULL;

-- A member's declared conflict of interest in an item.
CREATE TABLE conflicts (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items(id),
    member          TEXT NOT NULL,      -- e-mail
    declared_at     TEXT NOT NULL,
    source_message  TEXT,
    UNIQUE (item_id, member)
);

-- What the registrar is to get (registrar_mode = "digest"): one row per proposal or late document.
CREATE TABLE registrar_queue (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items(id),
    what            TEXT NOT NULL,      -- new | documents
    attachment_ids  TEXT NOT NULL DEFAULT '[]',  -- JSON list of attachments.id
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    message_id      TEXT
);
CREATE INDEX registrar_queue_waiting ON registrar_queue (sent_at);
