-- `klg quarantine release ID`: a quarantined message handed back to intake,
-- once. Its bytes are in the file store (messages_in.raw_sha256, kept for
-- quarantined mail from now on); this row marks its Message-ID released, so
-- it is handled again only this once and never counted as a duplicate.
CREATE TABLE quarantine_releases (
    id          INTEGER PRIMARY KEY,
    message_in  INTEGER NOT NULL UNIQUE REFERENCES messages_in (id),
    message_id  TEXT NOT NULL UNIQUE,
    released_at TEXT NOT NULL,           -- UTC, ISO 8601
    released_by TEXT NOT NULL,           -- the operator (the login running the command)
    as_member   TEXT,                    -- --as-member: the member it was read as
    was         TEXT NOT NULL,           -- the classification that quarantined it
    outcome     TEXT NOT NULL,           -- what it was when released
    item_id     TEXT
);
